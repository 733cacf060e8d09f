package schema

import (
	"errors"
	"maps"
	"slices"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// applier applies one Apply call's statements to a staged view of the
// catalog, so that a statement that fails midway changes nothing: the
// catalog itself is written only by commit.
type applier struct {
	c         *Catalog
	defaultDB string
	fix       *fixups
	tables    map[TableRef]*Table    // staged definitions; a nil value is a dropped table
	unknown   map[TableRef]string    // tables whose definition became unknowable, and why
	dbs       map[string]*DBDefaults // staged database defaults; nil is a dropped database
	changes   []Change
}

func newApplier(c *Catalog, defaultDB string, fix *fixups) *applier {
	return &applier{c: c, defaultDB: defaultDB, fix: fix,
		tables: map[TableRef]*Table{}, unknown: map[TableRef]string{}, dbs: map[string]*DBDefaults{}}
}

// errLookup aborts the handling of one table whose definition the statement
// leaves unknowable; the handler marks the table unknown.
type errLookup struct{ reason string }

func (e *errLookup) Error() string { return e.reason }

// statement applies one parsed statement.
func (a *applier) statement(s ast.StmtNode) error {
	switch s := s.(type) {
	case *ast.CreateTableStmt:
		return a.createTable(s)
	case *ast.AlterTableStmt:
		return a.alterTable(s)
	case *ast.RenameTableStmt:
		for _, tt := range s.TableToTables {
			a.rename(a.ref(tt.OldTable), a.ref(tt.NewTable))
		}
	case *ast.DropTableStmt:
		if !s.IsView && s.TemporaryKeyword == ast.TemporaryNone {
			for _, tn := range s.Tables {
				a.drop(a.ref(tn))
			}
		}
	case *ast.TruncateTableStmt:
		a.truncate(a.ref(s.Table))
	case *ast.CreateIndexStmt:
		a.touch(a.ref(s.Table), nil)
	case *ast.DropIndexStmt:
		a.touch(a.ref(s.Table), func(t *Table) {
			if isPrimary(s.IndexName) {
				t.PrimaryKey = nil
			}
		})
	case *ast.CreateDatabaseStmt:
		return a.createDatabase(s)
	case *ast.AlterDatabaseStmt:
		return a.alterDatabase(s)
	case *ast.DropDatabaseStmt:
		a.dropDatabase(s.Name.O)
	}
	return nil
}

// ref names the table tn, qualified with the default database.
func (a *applier) ref(tn *ast.TableName) TableRef {
	db := tn.Schema.O
	if db == "" {
		db = a.defaultDB
	}
	return TableRef{DB: db, Name: tn.Name.O}
}

// table returns the staged or stored definition of ref.
func (a *applier) table(ref TableRef) (*Table, bool) {
	if t, ok := a.tables[ref]; ok {
		return t, t != nil
	}
	t, ok := a.c.Tables[ref]
	return t, ok
}

// isUnknown reports whether ref's definition became unknowable earlier in
// this Apply call.
func (a *applier) isUnknown(ref TableRef) bool {
	_, ok := a.unknown[ref]
	return ok
}

// put stages t as the definition of ref (nil: gone).
func (a *applier) put(ref TableRef, t *Table) {
	a.tables[ref] = t
	delete(a.unknown, ref)
}

// markUnknown stages ref as a table whose definition must be looked up.
func (a *applier) markUnknown(ref TableRef, reason string) {
	a.tables[ref] = nil
	a.unknown[ref] = reason
}

// record appends a change of a tracked table.
func (a *applier) record(kind string, ref, from TableRef, def *Table) {
	a.changes = append(a.changes, Change{Kind: kind, Table: ref, From: from, Def: def})
}

// touch records an ALTER of a known tracked table that changes no column;
// edit, when not nil, may change the key of a copy.
func (a *applier) touch(ref TableRef, edit func(*Table)) {
	t, ok := a.table(ref)
	if !ok || !a.c.tracks(ref.DB) {
		return
	}
	if edit != nil {
		t = t.Clone()
		edit(t)
		a.put(ref, t)
	}
	a.record(ChangeAlter, ref, TableRef{}, t)
}

// commit writes the staged tables and databases into the catalog and
// returns a *NeedsLookupError for every tracked table left unknown.
func (a *applier) commit() []error {
	for _, ref := range slices.SortedFunc(maps.Keys(a.tables), compareRefs) {
		t := a.tables[ref]
		if t == nil || !a.c.tracks(ref.DB) {
			delete(a.c.Tables, ref)
			continue
		}
		a.c.Tables[ref] = t
	}
	for db, d := range a.dbs {
		if d == nil {
			delete(a.c.DBs, db)
		} else {
			a.c.DBs[db] = *d
		}
	}
	var errs []error
	for _, ref := range slices.SortedFunc(maps.Keys(a.unknown), compareRefs) {
		if a.c.tracks(ref.DB) {
			errs = append(errs, &NeedsLookupError{Table: ref, Reason: a.unknown[ref]})
		}
	}
	return errs
}

// compareRefs orders table names by database, then name.
func compareRefs(x, y TableRef) int {
	if x.DB != y.DB {
		if x.DB < y.DB {
			return -1
		}
		return 1
	}
	switch {
	case x.Name < y.Name:
		return -1
	case x.Name > y.Name:
		return 1
	}
	return 0
}

// asLookup reports whether err asks for a lookup, and why.
func asLookup(err error) (string, bool) {
	var l *errLookup
	if errors.As(err, &l) {
		return l.reason, true
	}
	return "", false
}
