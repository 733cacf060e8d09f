package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// alterTable applies ALTER TABLE: its specs, in order, to a copy of the
// table, then the rename if there is one. A table renamed by the statement
// gives one RENAME change whose Def has the other specs applied too.
func (a *applier) alterTable(s *ast.AlterTableStmt) error {
	ref := a.ref(s.Table)
	to := ref
	for _, spec := range s.Specs {
		if spec.Tp == ast.AlterTableRenameTable {
			to = a.ref(spec.NewTable)
		}
	}
	if !a.c.tracks(ref.DB) && !a.c.tracks(to.DB) {
		return nil
	}
	old, known := a.table(ref)
	switch {
	case !known && to != ref:
		a.rename(ref, to)
		return nil
	case !known:
		if !a.isUnknown(ref) {
			a.markUnknown(ref, "ALTER TABLE of a table the catalog does not hold")
		}
		return nil
	}
	t := old.Clone()
	for _, spec := range s.Specs {
		err := a.alterSpec(t, spec)
		if reason, ok := asLookup(err); ok {
			a.put(ref, nil)
			a.markUnknown(to, reason)
			return nil
		}
		if err != nil {
			return fmt.Errorf("ALTER TABLE %s: %w", ref, err)
		}
	}
	a.put(ref, t)
	if to != ref {
		a.rename(ref, to)
	} else if a.c.tracks(ref.DB) {
		a.record(ChangeAlter, ref, TableRef{}, t)
	}
	return nil
}

// alterSpec applies one ALTER TABLE spec to t. Specs that change no column
// or key (indexes, engine, partitions, comments, defaults, ...) do nothing.
func (a *applier) alterSpec(t *Table, spec *ast.AlterTableSpec) error {
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		return a.addColumns(t, spec)
	case ast.AlterTableAddConstraint:
		return a.c.addConstraint(t, spec.Constraint)
	case ast.AlterTableDropColumn:
		return dropColumn(t, spec.OldColumnName.Name.O, spec.IfExists)
	case ast.AlterTableDropPrimaryKey:
		t.PrimaryKey = nil
	case ast.AlterTableDropIndex:
		if isPrimary(spec.Name) {
			t.PrimaryKey = nil
		}
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		return a.replaceColumn(t, spec)
	case ast.AlterTableRenameColumn:
		return renameColumn(t, spec.OldColumnName.Name.O, spec.NewColumnName.Name.O)
	case ast.AlterTableOption:
		return a.alterOptions(t, spec.Options)
	case ast.AlterTableDropCheck:
		if a.c.Flavor == FlavorMariaDB && slices.ContainsFunc(t.Columns, func(c Column) bool { return c.JSON }) {
			return &errLookup{"a dropped CHECK may have been a json_valid check"}
		}
	}
	return nil
}

// addColumns applies ADD COLUMN, of one column (FIRST / AFTER x) or of a
// parenthesised list (at the end, with constraints).
func (a *applier) addColumns(t *Table, spec *ast.AlterTableSpec) error {
	for _, d := range spec.NewColumns {
		if spec.IfNotExists && t.Column(d.Name.Name.O) != nil {
			continue
		}
		col, pk, err := a.c.buildColumn(d, t, a.fix)
		if err != nil {
			return err
		}
		if t.Column(col.Name) != nil {
			return fmt.Errorf("duplicate column %q", col.Name)
		}
		at, err := position(t, spec.Position, len(t.Columns))
		if err != nil {
			return err
		}
		t.Columns = slices.Insert(t.Columns, at, col)
		if pk {
			if err := setPrimaryKey(t, []string{col.Name}); err != nil {
				return err
			}
		}
	}
	for _, k := range spec.NewConstraints {
		if err := a.c.addConstraint(t, k); err != nil {
			return err
		}
	}
	return nil
}

// position returns where a column goes: FIRST, AFTER x, or def.
func position(t *Table, pos *ast.ColumnPosition, def int) (int, error) {
	if pos == nil {
		return def, nil
	}
	switch pos.Tp {
	case ast.ColumnPositionFirst:
		return 0, nil
	case ast.ColumnPositionAfter:
		i := t.Index(pos.RelativeColumn.Name.O)
		if i < 0 {
			return 0, fmt.Errorf("AFTER %q: no such column", pos.RelativeColumn.Name.O)
		}
		return i + 1, nil
	}
	return def, nil
}

// replaceColumn applies MODIFY (same name) or CHANGE (old name, new name):
// the column takes its new definition, in place or at its new position, and
// keeps its place in the primary key.
func (a *applier) replaceColumn(t *Table, spec *ast.AlterTableSpec) error {
	d := spec.NewColumns[0]
	oldName := d.Name.Name.O
	if spec.OldColumnName != nil {
		oldName = spec.OldColumnName.Name.O
	}
	i := t.Index(oldName)
	if i < 0 {
		if spec.IfExists {
			return nil
		}
		return fmt.Errorf("no column %q", oldName)
	}
	old := t.Columns[i]
	col, pk, err := a.c.buildColumn(d, t, a.fix)
	if err != nil {
		return err
	}
	if j := t.Index(col.Name); j >= 0 && j != i {
		return fmt.Errorf("duplicate column %q", col.Name)
	}
	if a.c.Flavor == FlavorMariaDB && old.JSON && col.DataType == "longtext" && !col.JSON {
		return &errLookup{"column " + old.Name + " lost its JSON type, but a table-level json_valid CHECK may still hold"}
	}
	if renameInKey(t, old.Name, col.Name) {
		col.Nullable = false
	}
	t.Columns = slices.Delete(t.Columns, i, i+1)
	at, err := position(t, spec.Position, i)
	if err != nil {
		return err
	}
	t.Columns = slices.Insert(t.Columns, at, col)
	if pk {
		return setPrimaryKey(t, []string{col.Name})
	}
	return nil
}

// renameInKey renames a primary key column and reports whether it is one.
func renameInKey(t *Table, from, to string) bool {
	for i, k := range t.PrimaryKey {
		if strings.EqualFold(k, from) {
			t.PrimaryKey[i] = to
			return true
		}
	}
	return false
}

// dropColumn applies DROP COLUMN; the column leaves the primary key too
// (as MySQL does), which goes when it has no column left.
func dropColumn(t *Table, name string, ifExists bool) error {
	i := t.Index(name)
	if i < 0 {
		if ifExists {
			return nil
		}
		return fmt.Errorf("no column %q", name)
	}
	t.Columns = slices.Delete(t.Columns, i, i+1)
	t.PrimaryKey = slices.DeleteFunc(t.PrimaryKey, func(k string) bool { return strings.EqualFold(k, name) })
	if len(t.PrimaryKey) == 0 {
		t.PrimaryKey = nil
	}
	return nil
}

// renameColumn applies RENAME COLUMN.
func renameColumn(t *Table, from, to string) error {
	i := t.Index(from)
	if i < 0 {
		return fmt.Errorf("no column %q", from)
	}
	if j := t.Index(to); j >= 0 && j != i {
		return fmt.Errorf("duplicate column %q", to)
	}
	renameInKey(t, t.Columns[i].Name, to)
	t.Columns[i].Name = to
	return nil
}

// alterOptions applies table options: [DEFAULT] CHARACTER SET / COLLATE
// change the table's defaults only; CONVERT TO CHARACTER SET also converts
// every character column.
func (a *applier) alterOptions(t *Table, opts []*ast.TableOption) error {
	if err := a.setTableCharset(t, opts, true); err != nil {
		return err
	}
	for _, o := range opts {
		if o.Tp == ast.TableOptionCharset && o.UintValue == ast.TableOptionCharsetWithConvertTo {
			return convertColumns(t)
		}
	}
	return nil
}

// convertColumns gives every character column t's default character set and
// collation. ENUM and SET labels keep their bytes (see reinterpretLabels).
// A TEXT column grows to the smallest TEXT type that holds as
// many characters as before in the new character set, as the servers do
// (TINYTEXT in latin1 holds 255 characters; in utf8mb4 that takes a TEXT).
func convertColumns(t *Table) error {
	if t.Charset == "binary" {
		return errors.New("CONVERT TO CHARACTER SET binary is not supported")
	}
	for i := range t.Columns {
		col := &t.Columns[i]
		if col.Charset == "" || col.Charset == "binary" {
			continue
		}
		if col.Labels != nil && col.Charset != t.Charset {
			labels, ok := reinterpretLabels(col.Labels, col.Charset, t.Charset)
			if !ok {
				return &errLookup{"CONVERT TO reinterprets the bytes of " + col.Name + "'s labels in " + t.Charset}
			}
			col.Labels = labels
			col.Type = col.DataType + "(" + quoteLabels(labels) + ")"
		}
		if size, ok := textSizes[col.DataType]; ok {
			from, err := maxLen(col.Charset)
			if err != nil {
				return err
			}
			to, err := maxLen(t.Charset)
			if err != nil {
				return err
			}
			col.DataType = textType(size/from*to, false)
			col.Type = col.DataType
		}
		col.Charset, col.Collation = t.Charset, t.Collation
	}
	return nil
}

// wideCharsets are the character sets that do not encode ASCII as ASCII,
// and how many bytes they give an ASCII character, and where in those
// bytes it goes.
var wideCharsets = map[string]struct{ width, at int }{
	"ucs2": {2, 1}, "utf16": {2, 1}, "utf16le": {2, 0}, "utf32": {4, 3},
}

// reinterpretLabels returns ENUM or SET labels after CONVERT TO CHARACTER
// SET from charset from to charset to. Both servers copy the labels' bytes
// without converting them (enum('x') in ucs2 becomes enum('\0x') in
// utf8mb4), so the labels are the old bytes read in the new character set.
// It can tell for ASCII labels leaving a character set that encodes ASCII
// as ASCII or as ucs2, utf16, utf16le or utf32 do, into one that encodes
// ASCII as ASCII; ok is false for the rest.
func reinterpretLabels(labels []string, from, to string) (out []string, ok bool) {
	if _, wide := wideCharsets[to]; wide || to == "binary" || from == "binary" {
		return nil, false
	}
	w, wide := wideCharsets[from]
	for _, l := range labels {
		var b []byte
		for i := 0; i < len(l); i++ {
			if l[i] >= 0x80 {
				return nil, false
			}
			if !wide {
				b = append(b, l[i])
				continue
			}
			unit := make([]byte, w.width)
			unit[w.at] = l[i]
			b = append(b, unit...)
		}
		out = append(out, string(b))
	}
	return out, true
}
