package schema

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values for the parser (it panics without a driver)

	"github.com/dataingest/dataingest/internal/tidbcharset"
)

// registry guards the TiDB charset package's global tables. The parser
// rejects every character set TiDB does not implement (latin2, cp1251,
// utf16, ...) and every collation it does not list (MariaDB's *_nopad_*),
// although MySQL and MariaDB take them; the only way to make it accept them
// is to register them in those tables, which the parser reads while parsing.
// So this package registers them (all character sets on first use,
// collations when a statement names one) under mu's write lock, and parses
// under its read lock. go-mysql's client reads those tables too, in every
// handshake, so the lock is tidbcharset's, which connections hold.
var registry = struct {
	mu     *sync.RWMutex
	once   sync.Once
	nextID int // the ID of the next collation registered
}{mu: &tidbcharset.Mu}

// parsed is a statement's syntax tree and what the parser could not say.
type parsed struct {
	stmts []ast.StmtNode
	fix   *fixups
}

// fixups are facts about a statement's columns that its tree lacks.
type fixups struct {
	types    map[*ast.ColumnDef]string // columns parsed with a placeholder type: their real type
	national map[string]bool           // lower-case names of columns declared NCHAR or NATIONAL ...
}

// special returns the real type of a column parsed with a placeholder.
func (f *fixups) special(d *ast.ColumnDef) string {
	if f == nil {
		return ""
	}
	return f.types[d]
}

// isNational reports whether the column name was declared NCHAR, NVARCHAR or
// NATIONAL CHAR/VARCHAR, whose character set is utf8mb3.
func (f *fixups) isNational(name string) bool {
	return f != nil && f.national[strings.ToLower(name)]
}

// parse parses stmt. It returns nil and no error for a statement that
// cannot change a table even though the TiDB grammar does not know it
// (XA, CREATE TRIGGER with a DEFINER, ...). A table DDL statement that the
// grammar does not know is rewritten (see rewrite) and parsed again.
func (c *Catalog) parse(stmt string) (*parsed, error) {
	registry.once.Do(registerCharsets)
	if c.parser == nil {
		c.parser = parser.New()
		c.parser.SetMariaDB(c.Flavor == FlavorMariaDB)
	}
	stmts, err := c.parseSQL(stmt)
	if err == nil {
		if !hasColumnDefs(stmts) {
			return &parsed{stmts: stmts}, nil
		}
		toks, lexErr := lex(stmt)
		if lexErr != nil {
			return nil, &ParseError{Stmt: stmt, Err: lexErr}
		}
		return &parsed{stmts: stmts, fix: &fixups{national: nationalColumns(toks)}}, nil
	}
	toks, lexErr := lex(stmt)
	if body, ok := setStatementBody(stmt, toks); ok {
		return c.parse(body)
	}
	if !isTableDDL(toks) {
		return nil, nil
	}
	if lexErr != nil {
		return nil, &ParseError{Stmt: stmt, Err: lexErr}
	}
	registerCollations(toks)
	sql, specials := rewrite(stmt, toks)
	stmts, err2 := c.parseSQL(sql)
	if err2 != nil {
		return nil, &ParseError{Stmt: stmt, Err: err}
	}
	fix := &fixups{national: nationalColumns(toks)}
	if fix.types, err = placeholderTypes(stmts, specials); err != nil {
		return nil, &ParseError{Stmt: stmt, Err: err}
	}
	return &parsed{stmts: stmts, fix: fix}, nil
}

// parseSQL runs the TiDB parser, in the default SQL mode (double quotes
// delimit strings, backslashes escape).
func (c *Catalog) parseSQL(sql string) ([]ast.StmtNode, error) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	stmts, _, err := c.parser.Parse(sql, "", "")
	return stmts, err
}

// hasColumnDefs reports whether stmts define columns.
func hasColumnDefs(stmts []ast.StmtNode) bool {
	for _, s := range stmts {
		switch s.(type) {
		case *ast.CreateTableStmt, *ast.AlterTableStmt:
			return true
		}
	}
	return false
}

// registerCharsets makes the parser accept every character set its charset
// package knows.
func registerCharsets() {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	seen := map[string]bool{}
	for id := 1; id <= 4096; id++ {
		co, err := charset.GetCollationByID(id)
		if err != nil || seen[co.CharsetName] {
			continue
		}
		seen[co.CharsetName] = true
		if info, err := charset.GetCharsetInfo(co.CharsetName); err != nil && info != nil {
			charset.AddCharset(info)
		}
	}
	registry.nextID = 100000
}

// registerCollations makes the parser accept the collations that toks name
// (after COLLATE) which it does not know but whose names start with a
// character set it knows.
func registerCollations(toks []token) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i := 0; i+1 < len(toks); i++ {
		if !toks[i].is("COLLATE") {
			continue
		}
		n := toks[i+1]
		if n.kind == tokPunct && n.text == "=" && i+2 < len(toks) {
			n = toks[i+2]
		}
		name := strings.ToLower(n.text)
		if _, err := charset.GetCollationByName(name); err == nil {
			continue
		}
		cs, _, _ := strings.Cut(name, "_")
		info, err := charsetInfo(cs)
		switch {
		case charsetless(name):
			info = &charset.Charset{} // its character set comes from the context
		case err != nil:
			continue // the parser will reject it
		}
		charset.AddCollation(&charset.Collation{ID: registry.nextID, CharsetName: info.Name, Name: name, Sortlen: 1, PadAttribute: charset.PadSpace})
		registry.nextID++
	}
}

// placeholderTypes maps the column definitions that the parser was shown a
// placeholder type in to the type it stands for.
func placeholderTypes(stmts []ast.StmtNode, specials []string) (map[*ast.ColumnDef]string, error) {
	types := map[*ast.ColumnDef]string{}
	for _, d := range columnDefs(stmts) {
		if d.Tp == nil || d.Tp.GetType() != mysql.TypeEnum || len(d.Tp.GetElems()) != 1 {
			continue
		}
		rest, ok := strings.CutPrefix(d.Tp.GetElems()[0], placeholderPrefix)
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || i >= len(specials) {
			return nil, fmt.Errorf("bad placeholder %q", rest)
		}
		types[d] = specials[i]
	}
	if len(types) != len(specials) {
		return nil, fmt.Errorf("%d of %d special types are not in column definitions", len(specials)-len(types), len(specials))
	}
	return types, nil
}

// columnDefs returns every column definition in stmts.
func columnDefs(stmts []ast.StmtNode) []*ast.ColumnDef {
	var defs []*ast.ColumnDef
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.CreateTableStmt:
			defs = append(defs, s.Cols...)
		case *ast.AlterTableStmt:
			for _, spec := range s.Specs {
				defs = append(defs, spec.NewColumns...)
			}
		}
	}
	return defs
}

// CollationCharsetByID returns the character set name of the collation
// with id in the TiDB parser's tables (as TiDB spells it: "utf8" for
// utf8mb3), under the lock that guards the tables this package extends.
func CollationCharsetByID(id int) (string, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	c, err := charset.GetCollationByID(id)
	if err != nil {
		return "", false
	}
	return c.CharsetName, true
}
