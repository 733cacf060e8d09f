package source

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dataingest/dataingest/schema"
)

// The information_schema reads that seed a task's schema history, and that
// a snapshot session uses for the tables it reads: the definitions true
// now, which is right only at the position read with them.

// loadCatalog reads every base table of the databases dbs, with the
// databases' and the server's defaults.
func loadCatalog(conn *client.Conn, ep Endpoint, flavor string, dbs []string, track func(string) bool) (*schema.Catalog, error) {
	r, err := conn.Execute("SELECT @@character_set_server, @@collation_server")
	if err != nil {
		return nil, classify(fmt.Errorf("reading the server's character set on %s: %w", ep.Addr(), err))
	}
	cs, _ := r.GetString(0, 0)
	coll, _ := r.GetString(0, 1)
	c := schema.NewCatalog(flavor, cs, coll, track)
	if len(dbs) == 0 {
		return c, nil
	}
	in, args := inList(dbs)
	r, err = conn.Execute("SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN "+in, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("reading databases on %s: %w", ep.Addr(), err))
	}
	for i := 0; i < r.RowNumber(); i++ {
		db, _ := r.GetString(i, 0)
		d := schema.DBDefaults{}
		d.Charset, _ = r.GetString(i, 1)
		d.Collation, _ = r.GetString(i, 2)
		c.DBs[db] = d
	}
	tables, err := loadTables(conn, ep, flavor, "TABLE_SCHEMA IN "+in, args)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		c.Tables[t.Ref()] = t
	}
	return c, nil
}

// loadTable reads one table's definition; nil when it does not exist.
func loadTable(conn *client.Conn, ep Endpoint, flavor, db, name string) (*schema.Table, error) {
	tables, err := loadTables(conn, ep, flavor, "TABLE_SCHEMA = ? AND TABLE_NAME = ?", []any{db, name})
	if err != nil || len(tables) == 0 {
		return nil, err
	}
	return tables[0], nil
}

// loadTables reads the base tables that where (a condition on TABLE_SCHEMA
// and TABLE_NAME, with args) selects, in name order.
func loadTables(conn *client.Conn, ep Endpoint, flavor, where string, args []any) ([]*schema.Table, error) {
	query := func(what, q string) (*mysql.Result, error) {
		r, err := conn.Execute(q, args...)
		if err != nil {
			return nil, classify(fmt.Errorf("reading %s from information_schema on %s: %w", what, ep.Addr(), err))
		}
		return r, nil
	}
	tr, err := query("tables", "SELECT TABLE_SCHEMA, TABLE_NAME, IFNULL(TABLE_COLLATION, '') FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return nil, err
	}
	cr, err := query("columns", `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE,
		IFNULL(CHARACTER_SET_NAME, ''), IFNULL(COLLATION_NAME, ''), IS_NULLABLE, COLUMN_KEY,
		IFNULL(CHARACTER_MAXIMUM_LENGTH, 0), IFNULL(NUMERIC_PRECISION, 0), IFNULL(NUMERIC_SCALE, 0), IFNULL(DATETIME_PRECISION, 0)
		FROM information_schema.COLUMNS WHERE `+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		return nil, err
	}
	kr, err := query("primary keys", "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' AND "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		return nil, err
	}
	cols := map[schema.TableRef][]schema.InfoColumn{}
	for i := 0; i < cr.RowNumber(); i++ {
		ref := refAt(cr, i)
		var ic schema.InfoColumn
		ic.Name, _ = cr.GetString(i, 2)
		pos, _ := cr.GetInt(i, 3)
		ic.OrdinalPosition = int(pos)
		ic.DataType, _ = cr.GetString(i, 4)
		ic.ColumnType, _ = cr.GetString(i, 5)
		ic.CharsetName, _ = cr.GetString(i, 6)
		ic.CollationName, _ = cr.GetString(i, 7)
		ic.IsNullable, _ = cr.GetString(i, 8)
		ic.ColumnKey, _ = cr.GetString(i, 9)
		ic.CharMaxLength, _ = cr.GetInt(i, 10)
		ic.NumericPrecision, _ = cr.GetInt(i, 11)
		ic.NumericScale, _ = cr.GetInt(i, 12)
		ic.DatetimePrecision, _ = cr.GetInt(i, 13)
		cols[ref] = append(cols[ref], ic)
	}
	keys := map[schema.TableRef][]string{}
	for i := 0; i < kr.RowNumber(); i++ {
		name, _ := kr.GetString(i, 2)
		keys[refAt(kr, i)] = append(keys[refAt(kr, i)], name)
	}
	jsonCols, err := mariadbJSONColumns(conn, ep, flavor, where, args)
	if err != nil {
		return nil, err
	}
	var out []*schema.Table
	for i := 0; i < tr.RowNumber(); i++ {
		ref := refAt(tr, i)
		coll, _ := tr.GetString(i, 2)
		out = append(out, schema.TableFromInfo(ref.DB, ref.Name, cols[ref], keys[ref], coll, jsonCols[ref]))
	}
	return out, nil
}

func refAt(r *mysql.Result, i int) schema.TableRef {
	db, _ := r.GetString(i, 0)
	name, _ := r.GetString(i, 1)
	return schema.TableRef{DB: db, Name: name}
}

var jsonCheck = regexp.MustCompile("json_valid\\(`((?:[^`]|``)+)`\\)")

// mariadbJSONColumns finds MariaDB's JSON columns: LONGTEXT with a
// json_valid CHECK, which is all that marks them.
func mariadbJSONColumns(conn *client.Conn, ep Endpoint, flavor, where string, args []any) (map[schema.TableRef][]string, error) {
	out := map[schema.TableRef][]string{}
	if flavor != mysql.MariaDBFlavor {
		return out, nil
	}
	where = strings.ReplaceAll(where, "TABLE_SCHEMA", "CONSTRAINT_SCHEMA")
	r, err := conn.Execute("SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "+where, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("reading checks from information_schema on %s: %w", ep.Addr(), err))
	}
	for i := 0; i < r.RowNumber(); i++ {
		clause, _ := r.GetString(i, 2)
		for _, m := range jsonCheck.FindAllStringSubmatch(clause, -1) {
			out[refAt(r, i)] = append(out[refAt(r, i)], strings.ReplaceAll(m[1], "``", "`"))
		}
	}
	return out, nil
}

// inList returns "(?, ?, ...)" and its arguments.
func inList(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}
