package source

import (
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/schema"
)

// tableCache maps the binlog's table ids to what converting their rows
// needs, built from the task's schema catalog at the reader's position.
// Table-map events repeat before every rows event, so a known id is a map
// lookup; a new id, or a known one with other column types, is described
// once from the catalog and checked against the event.
type tableCache struct {
	conn    *client.Conn
	ep      Endpoint
	flavor  string
	match   func(db, table string) bool
	log     zerolog.Logger
	catalog *schema.Catalog
	byID    map[uint64]*tableInfo // nil value: a table the task skips
}

func newTableCache(conn *client.Conn, ep Endpoint, flavor string, match func(db, table string) bool, catalog *schema.Catalog, log zerolog.Logger) *tableCache {
	return &tableCache{conn: conn, ep: ep, flavor: flavor, match: match, log: log, catalog: catalog,
		byID: map[uint64]*tableInfo{}}
}

func (c *tableCache) get(id uint64) *tableInfo { return c.byID[id] }

// changed forgets every described table: a DDL statement changed the
// catalog.
func (c *tableCache) changed() { clear(c.byID) }

// learn records the table of a table-map event at position at.
func (c *tableCache) learn(e *replication.TableMapEvent, at string) error {
	if t, ok := c.byID[e.TableID]; ok && (t == nil || t.sameMap(e)) {
		return nil
	}
	db, name := string(e.Schema), string(e.Table)
	if !c.match(db, name) {
		c.byID[e.TableID] = nil
		return nil
	}
	ref := schema.TableRef{DB: db, Name: name}
	def := c.catalog.Tables[ref]
	if def == nil {
		var err error
		if def, err = c.lookUp(ref, at); err != nil {
			return err
		}
	}
	t, err := describe(e, def, at)
	if err != nil {
		return err
	}
	c.byID[e.TableID] = t
	return nil
}

// lookUp reads a table the history does not know from information_schema:
// a table created in a way whose columns the statement does not say
// (CREATE TABLE ... SELECT, a rename from an untracked database). The
// table map's cross-check still guards the result.
func (c *tableCache) lookUp(ref schema.TableRef, at string) (*schema.Table, error) {
	def, err := loadTable(c.conn, c.ep, c.flavor, ref.DB, ref.Name)
	if err != nil {
		return nil, err
	}
	if def == nil {
		return nil, Permanentf("table %s has changes at %s, and neither the task's schema history nor %s knows its columns (it was dropped since)",
			ref, at, c.ep.Addr())
	}
	c.log.Warn().Str("table", ref.String()).Str("position", at).
		Msg("table not in the schema history: using its definition in information_schema now, checked against the binlog")
	c.catalog.Tables[ref] = def
	return def, nil
}
