package schema

import (
	"maps"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// rename moves table from to the name to, as one pair of RENAME TABLE or
// ALTER TABLE ... RENAME does. A known table keeps its definition under the
// new name (and leaves tracking when to is in an untracked database); an
// unknown table renamed into a tracked database must be looked up.
func (a *applier) rename(from, to TableRef) {
	fromTracked, toTracked := a.c.tracks(from.DB), a.c.tracks(to.DB)
	t, known := a.table(from)
	switch {
	case known:
		n := t.Clone()
		n.DB, n.Name = to.DB, to.Name
		a.put(from, nil)
		a.put(to, n)
		if !toTracked {
			n = nil
		}
		if fromTracked || toTracked {
			a.record(ChangeRename, to, from, n)
		}
	case toTracked:
		reason := "renamed from " + from.String() + ", which the catalog does not hold"
		if r, ok := a.unknown[from]; ok {
			reason = r
		}
		delete(a.unknown, from)
		a.markUnknown(to, reason)
	default:
		delete(a.unknown, from)
		a.put(to, nil)
	}
}

// drop removes table ref (DROP TABLE).
func (a *applier) drop(ref TableRef) {
	_, known := a.table(ref)
	wasUnknown := a.isUnknown(ref)
	a.put(ref, nil)
	if (known || wasUnknown) && a.c.tracks(ref.DB) {
		a.record(ChangeDrop, ref, TableRef{}, nil)
	}
}

// truncate records a TRUNCATE of a tracked table; its definition stays.
func (a *applier) truncate(ref TableRef) {
	if !a.c.tracks(ref.DB) || a.isUnknown(ref) {
		return
	}
	t, ok := a.table(ref)
	if !ok {
		a.markUnknown(ref, "TRUNCATE of a table the catalog does not hold")
		return
	}
	a.record(ChangeTruncate, ref, TableRef{}, t)
}

// dbDefaults returns the staged or stored defaults of db.
func (a *applier) dbDefaults(db string) (DBDefaults, bool) {
	if d, ok := a.dbs[db]; ok {
		if d == nil {
			return DBDefaults{}, false
		}
		return *d, true
	}
	d, ok := a.c.DBs[db]
	return d, ok
}

// databaseOptions returns the CHARACTER SET and COLLATE of a CREATE or ALTER
// DATABASE.
func databaseOptions(opts []*ast.DatabaseOption) (cs, co string) {
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			cs = o.Value
		case ast.DatabaseOptionCollate:
			co = o.Value
		}
	}
	return cs, co
}

// createDatabase records a new database's defaults.
func (a *applier) createDatabase(s *ast.CreateDatabaseStmt) error {
	if _, exists := a.dbDefaults(s.Name.O); exists && s.IfNotExists {
		return nil
	}
	cs, co := databaseOptions(s.Options)
	cs, co, err := a.c.resolveCharset(cs, co, a.c.ServerCharset, a.c.ServerCollation)
	if err != nil {
		return err
	}
	a.dbs[s.Name.O] = &DBDefaults{Charset: cs, Collation: co}
	return nil
}

// alterDatabase changes a database's defaults (the default database's when
// the statement names none).
func (a *applier) alterDatabase(s *ast.AlterDatabaseStmt) error {
	db := s.Name.O
	if db == "" {
		db = a.defaultDB
	}
	cs, co := databaseOptions(s.Options)
	if cs == "" && co == "" {
		return nil // READ ONLY, ENCRYPTION, COMMENT, ...
	}
	cur, _ := a.dbDefaults(db)
	cs, co, err := a.c.resolveCharset(cs, co, cur.Charset, cur.Collation)
	if err != nil {
		return err
	}
	a.dbs[db] = &DBDefaults{Charset: cs, Collation: co}
	return nil
}

// dropDatabase forgets a database and drops its tables.
func (a *applier) dropDatabase(db string) {
	a.dbs[db] = nil
	refs := map[TableRef]bool{}
	for _, m := range []map[TableRef]*Table{a.c.Tables, a.tables} {
		for ref := range m {
			if ref.DB == db {
				refs[ref] = true
			}
		}
	}
	for ref := range a.unknown {
		if ref.DB == db {
			refs[ref] = true
		}
	}
	for _, ref := range slices.SortedFunc(maps.Keys(refs), compareRefs) {
		a.drop(ref)
	}
}

// isPrimary reports whether an index name is the primary key's.
func isPrimary(index string) bool { return strings.EqualFold(index, "PRIMARY") }
