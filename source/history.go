package source

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/dataingest/dataingest/schema"
)

// A task's schema history is the stream P:task:schema:{ID}. Each record is
// JSON of a historyRecord:
//
//   - kind "catalog": every tracked table and database at a position (the
//     seed, read from information_schema at the task's start or snapshot
//     position);
//   - kind "table": one table's definition after a DDL statement (Table nil:
//     dropped or renamed away);
//   - kind "database": one database's defaults after CREATE or ALTER
//     DATABASE (Defaults nil: dropped).
//
// Records are written in the same fenced write as the events and the
// checkpoint after them, so the history always ends at the checkpoint: a
// task that resumes, here or on another node, replays the records from the
// newest catalog on and has the schema true at its checkpoint.
type historyRecord struct {
	Kind     string             `json:"kind"`
	Pos      string             `json:"pos"` // the checkpoint after the record, as text
	DDL      string             `json:"ddl,omitempty"`
	Catalog  *catalogRecord     `json:"catalog,omitempty"`
	Ref      *schema.TableRef   `json:"ref,omitempty"`
	Table    *schema.Table      `json:"table,omitempty"`
	DB       string             `json:"db,omitempty"`
	Defaults *schema.DBDefaults `json:"defaults,omitempty"`
}

// catalogRecord is a schema.Catalog without its Track function, with its
// tables as a list (JSON has no struct map keys).
type catalogRecord struct {
	Flavor          string                       `json:"flavor"`
	ServerCharset   string                       `json:"server_charset"`
	ServerCollation string                       `json:"server_collation"`
	DBs             map[string]schema.DBDefaults `json:"dbs"`
	Tables          []*schema.Table              `json:"tables"`
}

const (
	recordCatalog  = "catalog"
	recordTable    = "table"
	recordDatabase = "database"
)

// catalogRecordOf encodes a whole catalog as a history record.
func catalogRecordOf(c *schema.Catalog, pos string) SchemaRecord {
	cr := &catalogRecord{Flavor: c.Flavor, ServerCharset: c.ServerCharset, ServerCollation: c.ServerCollation, DBs: c.DBs}
	refs := slices.SortedFunc(maps.Keys(c.Tables), func(a, b schema.TableRef) int {
		if a.DB != b.DB {
			return cmp.Compare(a.DB, b.DB)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for _, ref := range refs {
		cr.Tables = append(cr.Tables, c.Tables[ref])
	}
	return encodeRecord("", historyRecord{Kind: recordCatalog, Pos: pos, Catalog: cr})
}

// tableRecordOf encodes one table's new definition (nil: gone).
func tableRecordOf(ref schema.TableRef, t *schema.Table, stmt, pos string) SchemaRecord {
	return encodeRecord(ref.String(), historyRecord{Kind: recordTable, Pos: pos, DDL: stmt, Ref: &ref, Table: t})
}

// databaseRecordOf encodes one database's new defaults (nil: dropped).
func databaseRecordOf(db string, d *schema.DBDefaults, stmt, pos string) SchemaRecord {
	return encodeRecord("", historyRecord{Kind: recordDatabase, Pos: pos, DDL: stmt, DB: db, Defaults: d})
}

func encodeRecord(table string, r historyRecord) SchemaRecord {
	b, err := json.Marshal(r)
	if err != nil { // only plain data: cannot happen
		panic(fmt.Sprintf("encoding a schema record: %v", err))
	}
	return SchemaRecord{Table: table, Data: b}
}

// replayHistory rebuilds the catalog at the end of a schema history: the
// newest catalog record with every later table and database record
// applied. ok is false when the history holds no catalog record (a new
// task, or one from before schema histories were kept). Records that are
// not history records (the ddl entries older versions kept there) are
// passed over.
func replayHistory(recs [][]byte, track func(db string) bool) (c *schema.Catalog, n int, ok bool, err error) {
	start := -1
	parsed := make([]historyRecord, len(recs))
	for i, data := range recs {
		if json.Unmarshal(data, &parsed[i]) != nil {
			parsed[i] = historyRecord{}
			continue
		}
		if parsed[i].Kind == recordCatalog && parsed[i].Catalog != nil {
			start = i
		}
	}
	if start < 0 {
		return nil, 0, false, nil
	}
	cr := parsed[start].Catalog
	c = schema.NewCatalog(cr.Flavor, cr.ServerCharset, cr.ServerCollation, track)
	maps.Copy(c.DBs, cr.DBs)
	for _, t := range cr.Tables {
		c.Tables[t.Ref()] = t
	}
	for _, r := range parsed[start+1:] {
		switch r.Kind {
		case recordTable:
			if r.Ref == nil {
				return nil, 0, false, fmt.Errorf("schema history: a table record at %s names no table", r.Pos)
			}
			if r.Table == nil {
				delete(c.Tables, *r.Ref)
			} else {
				c.Tables[*r.Ref] = r.Table
			}
		case recordDatabase:
			if r.Defaults == nil {
				delete(c.DBs, r.DB)
			} else {
				c.DBs[r.DB] = *r.Defaults
			}
		}
	}
	return c, len(recs) - start, true, nil
}

// historyRecords returns the records that say what a DDL statement changed:
// the definition after it of every changed table and the defaults of every
// database whose defaults it changed (before and after are the catalog's
// databases around the statement).
func historyRecords(changes []schema.Change, dbsBefore, dbsAfter map[string]schema.DBDefaults, stmt, pos string) []SchemaRecord {
	var out []SchemaRecord
	for _, db := range slices.Sorted(maps.Keys(dbsBefore)) {
		if _, ok := dbsAfter[db]; !ok {
			out = append(out, databaseRecordOf(db, nil, stmt, pos))
		}
	}
	for _, db := range slices.Sorted(maps.Keys(dbsAfter)) {
		if d, ok := dbsBefore[db]; !ok || d != dbsAfter[db] {
			nd := dbsAfter[db]
			out = append(out, databaseRecordOf(db, &nd, stmt, pos))
		}
	}
	for _, ch := range changes {
		if ch.Kind == "RENAME" && ch.From != ch.Table {
			out = append(out, tableRecordOf(ch.From, nil, stmt, pos))
		}
		if ch.Kind == "TRUNCATE" {
			continue // the definition stays
		}
		out = append(out, tableRecordOf(ch.Table, ch.Def, stmt, pos))
	}
	return out
}
