package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dataingest/dataingest/internal/testenv"
)

// TestCatalogMatchesServer runs every serverCase on a real MariaDB and a
// real MySQL, applies the same statements to a Catalog, and checks that
// every table the case leaves equals what TableFromInfo builds from the
// server's information_schema.
func TestCatalogMatchesServer(t *testing.T) {
	for _, flavor := range []string{FlavorMariaDB, FlavorMySQL} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			var srv *testenv.DB
			if flavor == FlavorMariaDB {
				srv = testenv.StartMariaDB(t)
			} else {
				srv = testenv.StartMySQL(t)
			}
			conn := srv.Conn(t)
			if err := conn.SetCharset("utf8mb4"); err != nil {
				t.Fatal(err)
			}
			cat := serverCatalog(t, conn, flavor)
			for _, tc := range append(serverCases, sweepCases(t, conn, cat)...) {
				if tc.only != "" && tc.only != flavor {
					continue
				}
				t.Run(tc.name, func(t *testing.T) { runServerCase(t, conn, cat, tc) })
			}
		})
	}
}

// serverCase is a sequence of statements run in a fresh database.
type serverCase struct {
	name  string
	only  string   // a flavor, or "" for both
	db    string   // options of the case's CREATE DATABASE
	stmts []string // run with the case's database as default database
}

// serverCatalog returns an empty catalog with the server's defaults and its
// databases' defaults.
func serverCatalog(t *testing.T, conn *client.Conn, flavor string) *Catalog {
	t.Helper()
	r := query(t, conn, InfoServerQuery)
	cs, _ := r.GetString(0, 0)
	co, _ := r.GetString(0, 1)
	cat := NewCatalog(flavor, cs, co, nil)
	r = query(t, conn, InfoSchemataQuery)
	for i := range r.RowNumber() {
		db, _ := r.GetString(i, 0)
		cs, _ := r.GetString(i, 1)
		co, _ := r.GetString(i, 2)
		cat.DBs[db] = DBDefaults{Charset: canonicalCharset(cs), Collation: canonicalCollation(co)}
	}
	return cat
}

// runServerCase runs tc on the server and applies it to two catalogs: cat
// gets the statements as the case has them, a fresh one the query events
// the server wrote to its binlog for them (which servers rewrite: MySQL logs
// CREATE TABLE ... SELECT as CREATE TABLE (columns) START TRANSACTION).
// Both must end up equal to the server's information_schema.
func runServerCase(t *testing.T, conn *client.Conn, cat *Catalog, tc serverCase) {
	db := "c_" + tc.name
	bin := NewCatalog(cat.Flavor, cat.ServerCharset, cat.ServerCollation, nil)
	stmts := append([]string{"CREATE DATABASE `" + db + "` " + tc.db}, tc.stmts...)
	sessionDB := ""
	for _, stmt := range stmts {
		file, pos := binlogPosition(t, conn)
		if _, err := conn.Execute(stmt); err != nil {
			t.Fatalf("server: %s: %v", stmt, err)
		}
		apply(t, conn, cat, db, stmt)
		for _, ev := range queryEvents(t, conn, file, pos, sessionDB) {
			apply(t, conn, bin, ev.db, ev.query)
		}
		if err := conn.UseDB(db); err != nil {
			t.Fatal(err)
		}
		sessionDB = db
	}
	compareDB(t, conn, cat, db, "statements")
	compareDB(t, conn, bin, db, "binlog")
}

// apply applies stmt as a caller does: a table that must be looked up is
// read from information_schema at once, before anything else changes it.
func apply(t *testing.T, conn *client.Conn, cat *Catalog, db, stmt string) {
	t.Helper()
	_, err := cat.Apply(db, stmt)
	var lookup *NeedsLookupError
	for err != nil && errors.As(err, &lookup) {
		t.Logf("%s: %v", stmt, lookup)
		cat.Tables[lookup.Table] = loadTable(t, conn, cat.Flavor, lookup.Table)
		err = withoutLookup(err, lookup)
	}
	if err != nil {
		t.Fatalf("catalog: %s: %v", stmt, err)
	}
}

// withoutLookup returns err (one error or a join of them) without one.
func withoutLookup(err error, done *NeedsLookupError) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var rest []error
		for _, e := range j.Unwrap() {
			if e != error(done) {
				rest = append(rest, e)
			}
		}
		return errors.Join(rest...)
	}
	if err == error(done) {
		return nil
	}
	return err
}

// compareDB checks that the catalog holds exactly the server's tables of db,
// with equal definitions.
func compareDB(t *testing.T, conn *client.Conn, cat *Catalog, db, from string) {
	t.Helper()
	r := query(t, conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", db)
	var names []string
	for i := range r.RowNumber() {
		name, _ := r.GetString(i, 0)
		names = append(names, name)
	}
	for ref := range cat.Tables {
		if ref.DB == db && !slices.Contains(names, ref.Name) {
			t.Errorf("the catalog from the %s has %s, the server does not", from, ref)
		}
	}
	for _, name := range names {
		ref := TableRef{DB: db, Name: name}
		want := loadTable(t, conn, cat.Flavor, ref)
		got, ok := cat.Tables[ref]
		if !ok {
			t.Errorf("the server has %s, the catalog from the %s does not", ref, from)
			continue
		}
		if d := tableDiff(want, got); d != "" {
			t.Errorf("%s differs (- server, + catalog from the %s):\n%s", ref, from, d)
		}
	}
}

// loadTable reads a table from information_schema with the package's
// queries, as the binlog reader does.
func loadTable(t *testing.T, conn *client.Conn, flavor string, ref TableRef) *Table {
	t.Helper()
	args := []any{ref.DB, ref.Name, ref.DB, ref.Name}
	r := query(t, conn, InfoColumnsQuery, args...)
	var cols []InfoColumn
	for i := range r.RowNumber() {
		var c InfoColumn
		for j, p := range []*string{&c.Name, &c.DataType, &c.ColumnType, &c.CharsetName, &c.CollationName, &c.IsNullable, &c.ColumnKey} {
			*p, _ = r.GetString(i, j)
		}
		pos, _ := r.GetInt(i, 7)
		c.OrdinalPosition = int(pos)
		for j, p := range []*int64{&c.CharMaxLength, &c.NumericPrecision, &c.NumericScale, &c.DatetimePrecision} {
			*p, _ = r.GetInt(i, 8+j)
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		t.Fatalf("information_schema has no columns of %s", ref)
	}
	var key []string
	r = query(t, conn, InfoPrimaryKeyQuery, args...)
	for i := range r.RowNumber() {
		k, _ := r.GetString(i, 0)
		key = append(key, k)
	}
	collation, _ := query(t, conn, InfoTableCollationQuery, args...).GetString(0, 0)
	var jsonCols []string
	if flavor == FlavorMariaDB {
		r = query(t, conn, InfoChecksQuery, args...)
		for i := range r.RowNumber() {
			clause, _ := r.GetString(i, 0)
			cs, err := JSONValidColumns(clause)
			if err != nil {
				t.Fatal(err)
			}
			jsonCols = append(jsonCols, cs...)
		}
	}
	return TableFromInfo(ref.DB, ref.Name, cols, key, collation, jsonCols)
}

// query runs a query and fails the test on an error.
func query(t *testing.T, conn *client.Conn, q string, args ...any) *mysql.Result {
	t.Helper()
	r, err := conn.Execute(q, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", strings.Join(strings.Fields(q), " "), args, err)
	}
	return r
}

// tableDiff describes how got differs from want, line by line, or "".
func tableDiff(want, got *Table) string {
	w, g := strings.Split(describe(want), "\n"), strings.Split(describe(got), "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		wl, gl := line(w, i), line(g, i)
		if wl != gl {
			fmt.Fprintf(&b, "- %s\n+ %s\n", wl, gl)
		}
	}
	return b.String()
}

// line returns lines[i], or "" past the end.
func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}
