package task

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TableFilter is the set of tables a task captures, built from its
// cdcTables: "db.table" selects one table, "db.*" every table of db, also
// those created later.
//
// Names are compared exactly and case-sensitively, as given: the binlog and
// information_schema report names as the server stores them, so on a server
// with lower_case_table_names=1 (Windows, macOS defaults) write them in lower
// case. The zero TableFilter, and a nil one, match nothing. A TableFilter is
// read-only after NewTableFilter and safe for concurrent use.
type TableFilter struct {
	dbs map[string]*dbTables
}

// dbTables is the selection within one database.
type dbTables struct {
	all    bool                // "db.*"
	tables map[string]struct{} // "db.table"
}

// NewTableFilter builds the filter of patterns ("db.table" or "db.*").
// Duplicates and overlaps ("shop.*" with "shop.orders") are allowed. The
// error names the first bad pattern.
func NewTableFilter(patterns []string) (*TableFilter, error) {
	f := &TableFilter{dbs: map[string]*dbTables{}}
	for i, p := range patterns {
		db, table, err := splitTable(p)
		if err != nil {
			return nil, invalid(fmt.Sprintf("cdcTables[%d]", i), err.Error())
		}
		d := f.dbs[db]
		if d == nil {
			d = &dbTables{tables: map[string]struct{}{}}
			f.dbs[db] = d
		}
		if table == "*" {
			d.all = true
		} else {
			d.tables[table] = struct{}{}
		}
	}
	return f, nil
}

// TableFilter is NewTableFilter(c.CDCTables).
func (c *Config) TableFilter() (*TableFilter, error) { return NewTableFilter(c.CDCTables) }

// Match reports whether the task captures table of db.
func (f *TableFilter) Match(db, table string) bool {
	if f == nil {
		return false
	}
	d := f.dbs[db]
	if d == nil {
		return false
	}
	if d.all {
		return true
	}
	_, ok := d.tables[table]
	return ok
}

// Databases lists, sorted, the databases that have a selected table, for
// example to limit a snapshot or a schema load.
func (f *TableFilter) Databases() []string {
	if f == nil {
		return nil
	}
	dbs := make([]string, 0, len(f.dbs))
	for db := range f.dbs {
		dbs = append(dbs, db)
	}
	slices.Sort(dbs)
	return dbs
}

// splitTable splits a cdcTables pattern into its database and table ("*"
// for all). The table part may not contain '.', since "a.b.c" is ambiguous,
// and '*' is a wildcard only on its own. The error quotes the pattern (its
// first 128 bytes).
func splitTable(p string) (db, table string, err error) {
	db, table, ok := strings.Cut(p, ".")
	bad := func(why string) error {
		return fmt.Errorf("%s is not db.table or db.*%s", quote(p), why)
	}
	switch {
	case !ok || db == "" || table == "" || strings.Contains(table, "."):
		return "", "", bad("")
	case db == "*":
		return "", "", bad(" (the database must be named)")
	case table != "*" && strings.Contains(table, "*"):
		return "", "", bad(" (\"*\" is a wildcard only as the whole table name)")
	case strings.ContainsAny(p, "`"):
		return "", "", bad(" (write names without backquotes)")
	}
	if err := checkIdentifier(db); err != nil {
		return "", "", bad(" (database name " + err.Error() + ")")
	}
	if table != "*" {
		if err := checkIdentifier(table); err != nil {
			return "", "", bad(" (table name " + err.Error() + ")")
		}
	}
	return db, table, nil
}

// checkIdentifier rejects names MySQL would not have: longer than 64
// characters, with control characters, or with blanks at either end.
func checkIdentifier(name string) error {
	switch {
	case utf8.RuneCountInString(name) > MaxIdentifierChars:
		return fmt.Errorf("is longer than %d characters", MaxIdentifierChars)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("has control characters")
	case strings.TrimSpace(name) != name:
		return errors.New("has blanks at an end")
	}
	return nil
}
