package schema

import (
	"fmt"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// createTable applies CREATE TABLE (also ... LIKE, ... SELECT, and MariaDB's
// CREATE OR REPLACE, which the parser sees as a plain CREATE). Temporary
// tables never reach the binlog as rows and are ignored.
func (a *applier) createTable(s *ast.CreateTableStmt) error {
	ref := a.ref(s.Table)
	if s.TemporaryKeyword != ast.TemporaryNone || !a.c.tracks(ref.DB) {
		return nil
	}
	if _, exists := a.table(ref); s.IfNotExists && (exists || a.isUnknown(ref)) {
		return nil
	}
	switch {
	case s.ReferTable != nil:
		return a.createLike(ref, a.ref(s.ReferTable))
	case s.Select != nil:
		a.markUnknown(ref, "CREATE TABLE ... SELECT: the columns come from the query")
		return nil
	}
	t, err := a.buildTable(ref, s.Cols, s.Constraints, s.Options)
	if reason, ok := asLookup(err); ok {
		a.markUnknown(ref, reason)
		return nil
	}
	if err != nil {
		return fmt.Errorf("CREATE TABLE %s: %w", ref, err)
	}
	a.put(ref, t)
	a.record(ChangeCreate, ref, TableRef{}, t)
	return nil
}

// createLike applies CREATE TABLE ref LIKE src: a copy of src's columns,
// key and defaults.
func (a *applier) createLike(ref, src TableRef) error {
	t, ok := a.table(src)
	if !ok {
		if a.isUnknown(src) {
			a.markUnknown(ref, "a copy of "+src.String()+", whose definition is unknown")
			return nil
		}
		return &UnknownTableError{Table: src}
	}
	n := t.Clone()
	n.DB, n.Name = ref.DB, ref.Name
	a.put(ref, n)
	a.record(ChangeCreate, ref, TableRef{}, n)
	return nil
}

// buildTable makes a table from CREATE TABLE's columns, constraints and
// options.
func (a *applier) buildTable(ref TableRef, cols []*ast.ColumnDef, cons []*ast.Constraint, opts []*ast.TableOption) (*Table, error) {
	t := &Table{DB: ref.DB, Name: ref.Name}
	if err := a.setTableCharset(t, opts, false); err != nil {
		return nil, err
	}
	for _, d := range cols {
		col, pk, err := a.c.buildColumn(d, t, a.fix)
		if err != nil {
			return nil, err
		}
		if t.Column(col.Name) != nil {
			return nil, fmt.Errorf("duplicate column %q", col.Name)
		}
		t.Columns = append(t.Columns, col)
		if pk {
			t.PrimaryKey = []string{col.Name}
		}
	}
	for _, k := range cons {
		if err := a.c.addConstraint(t, k); err != nil {
			return nil, err
		}
	}
	return t, setPrimaryKey(t, t.PrimaryKey)
}

// setTableCharset sets t's default character set and collation from table
// options: CHARACTER SET, COLLATE, or neither (or CHARACTER SET DEFAULT):
// the database's defaults. In an ALTER TABLE whose options name neither, t
// keeps its defaults.
func (a *applier) setTableCharset(t *Table, opts []*ast.TableOption, alter bool) error {
	var cs, co string
	given := false
	for _, o := range opts {
		switch o.Tp {
		case ast.TableOptionCharset:
			given = true
			if !o.Default {
				cs = o.StrValue
			}
		case ast.TableOptionCollate:
			given, co = true, o.StrValue
		}
	}
	if alter && !given {
		return nil
	}
	defCS, defCO := t.Charset, t.Collation
	if !alter || cs == "" && co == "" {
		if d, ok := a.dbDefaults(t.DB); ok {
			defCS, defCO = d.Charset, d.Collation
		} else if cs == "" && (co == "" || charsetless(co)) {
			return &errLookup{"the default character set of database " + t.DB + " is unknown"}
		}
	}
	var err error
	t.Charset, t.Collation, err = a.c.resolveCharset(cs, co, defCS, defCO)
	return err
}

// addConstraint applies a table constraint: PRIMARY KEY sets the key, and
// on MariaDB a CHECK (json_valid(col)) makes a LONGTEXT col a JSON column.
// Other constraints change no column.
func (c *Catalog) addConstraint(t *Table, k *ast.Constraint) error {
	switch k.Tp {
	case ast.ConstraintPrimaryKey:
		var names []string
		for _, part := range k.Keys {
			if part.Column == nil {
				return fmt.Errorf("primary key on an expression")
			}
			names = append(names, part.Column.Name.O)
		}
		return setPrimaryKey(t, names)
	case ast.ConstraintCheck:
		if c.Flavor == FlavorMariaDB {
			for _, name := range jsonValidColumns(k.Expr) {
				if col := t.Column(name); col != nil && col.DataType == "longtext" {
					col.JSON = true
				}
			}
		}
	}
	return nil
}

// setPrimaryKey makes names, spelled as the columns are, t's primary key,
// and its columns NOT NULL.
func setPrimaryKey(t *Table, names []string) error {
	if len(names) == 0 {
		t.PrimaryKey = nil
		return nil
	}
	key := make([]string, len(names))
	for i, name := range names {
		col := t.Column(name)
		if col == nil {
			return fmt.Errorf("primary key column %q does not exist", name)
		}
		col.Nullable = false
		key[i] = col.Name
	}
	t.PrimaryKey = key
	return nil
}

// jsonValidColumns returns the columns c of every json_valid(c) that expr
// requires: expr itself, or a term of an AND.
func jsonValidColumns(expr ast.ExprNode) []string {
	switch e := expr.(type) {
	case *ast.ParenthesesExpr:
		return jsonValidColumns(e.Expr)
	case *ast.BinaryOperationExpr:
		if e.Op == opcode.LogicAnd {
			return append(jsonValidColumns(e.L), jsonValidColumns(e.R)...)
		}
	case *ast.FuncCallExpr:
		if e.FnName.L == "json_valid" && len(e.Args) == 1 {
			if col, ok := e.Args[0].(*ast.ColumnNameExpr); ok {
				return []string{col.Name.Name.O}
			}
		}
	}
	return nil
}
