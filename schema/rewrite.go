package schema

import (
	"fmt"
	"strings"
)

// placeholderPrefix starts the one label of the ENUM that stands in for a
// type the TiDB grammar lacks; the label ends with the type's index.
const placeholderPrefix = "dataingest placeholder type #"

// specialTypes are the column types MySQL or MariaDB know and the TiDB
// grammar does not: spatial types, and MariaDB's UUID, INET4 and INET6.
var specialTypes = map[string]bool{
	"GEOMETRY": true, "POINT": true, "LINESTRING": true, "POLYGON": true,
	"MULTIPOINT": true, "MULTILINESTRING": true, "MULTIPOLYGON": true,
	"GEOMETRYCOLLECTION": true, "GEOMCOLLECTION": true,
	"UUID": true, "INET4": true, "INET6": true,
}

// rewriter collects the edits of one statement.
type rewriter struct {
	sql      string
	toks     []token
	edits    []edit
	specials []string // the types the placeholders stand for, lower case
}

// rewrite returns sql with the MySQL and MariaDB syntax that the TiDB
// grammar lacks rewritten into syntax it has, without changing what the
// statement does to columns, and the real types of the placeholders it put
// in (see placeholderTypes):
//   - CREATE OR REPLACE TABLE -> CREATE TABLE; ALTER ONLINE TABLE -> ALTER
//     TABLE; MariaDB's WAIT n / NOWAIT after the table name dropped; the
//     START TRANSACTION that ends the CREATE TABLE MySQL 8 logs for a
//     CREATE TABLE ... SELECT dropped;
//   - a spatial, UUID or INET type in a column definition -> a placeholder
//     ENUM; its SRID n (MySQL) or REF_SYSTEM_ID=n (MariaDB) dropped, and
//     SPATIAL INDEX -> INDEX;
//   - MariaDB's PERSISTENT generated columns -> STORED;
//   - the ASCII, UNICODE and BYTE attributes of CHAR and VARCHAR ->
//     CHARACTER SET latin1, ucs2, binary;
//   - the INVISIBLE / VISIBLE column attributes dropped (the columns are in
//     information_schema and in row images all the same); ALTER COLUMN c
//     SET INVISIBLE -> ALTER COLUMN c DROP DEFAULT (neither changes a column
//     of the catalog).
//
// Only a statement that failed to parse is rewritten.
func rewrite(sql string, toks []token) (string, []string) {
	r := &rewriter{sql: sql, toks: toks}
	start := r.prefix()
	for i := start; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokWord && specialTypes[t.upper] && typePosition(toks, i):
			r.replace(i, i+1, fmt.Sprintf("ENUM('%s%d') ", placeholderPrefix, len(r.specials)))
			r.specials = append(r.specials, strings.ToLower(t.text))
		case t.is("SRID") && r.isNumber(i+1):
			r.replace(i, i+2, "")
			i++
		case t.is("REF_SYSTEM_ID") && r.isPunct(i+1, "=") && r.isNumber(i+2):
			r.replace(i, i+3, "")
			i += 2
		case t.is("SPATIAL") && (r.word(i+1) == "INDEX" || r.word(i+1) == "KEY"):
			r.replace(i, i+1, "")
		case t.is("PERSISTENT") && r.isPunct(i-1, ")"):
			r.replace(i, i+1, "STORED ")
		case (t.is("ASCII") || t.is("UNICODE") || t.is("BYTE")) && r.isAttribute(i):
			r.replace(i, i+1, "CHARACTER SET "+shorthandCharsets[t.upper]+" ")
		case (t.is("INVISIBLE") || t.is("VISIBLE")) && r.word(i-1) == "SET":
			r.replace(i-1, i+1, "DROP DEFAULT ")
		case (t.is("INVISIBLE") || t.is("VISIBLE")) && !namePosition(toks, i):
			r.replace(i, i+1, "")
		}
	}
	if n := len(toks); n > 2 && r.word(0) == "CREATE" && r.word(n-2) == "START" && r.word(n-1) == "TRANSACTION" {
		r.replace(n-2, n, "")
	}
	return applyEdits(sql, r.edits), r.specials
}

// shorthandCharsets are the character sets that the ASCII, UNICODE and
// BYTE attributes of a character type stand for.
var shorthandCharsets = map[string]string{"ASCII": "latin1", "UNICODE": "ucs2", "BYTE": "binary"}

// isAttribute reports whether word i is a column attribute: not a name, not
// a character set name, not a function call.
func (r *rewriter) isAttribute(i int) bool {
	w := r.word(i - 1)
	return !namePosition(r.toks, i) && w != "SET" && w != "CHARSET" && w != "COLLATE" && !r.isPunct(i+1, "(")
}

// prefix rewrites the statement's start and returns the index of the first
// token after it.
func (r *rewriter) prefix() int {
	switch {
	case r.word(0) == "CREATE" && r.word(1) == "OR" && r.word(2) == "REPLACE":
		r.replace(1, 3, "")
		return 3
	case r.word(0) == "ALTER":
		i := 1
		if r.word(1) == "ONLINE" {
			r.replace(1, 2, "")
			i = 2
		}
		if r.word(i) == "IGNORE" {
			i++
		}
		if r.word(i) != "TABLE" {
			return i
		}
		i += 2 // TABLE name
		if r.isPunct(i, ".") {
			i += 2 // .name
		}
		switch {
		case r.word(i) == "WAIT" && r.isNumber(i+1):
			r.replace(i, i+2, "")
			return i + 2
		case r.word(i) == "NOWAIT":
			r.replace(i, i+1, "")
			return i + 1
		}
		return i
	}
	return 0
}

// replace replaces tokens i to j-1, and the space after them, with text.
// Edits must come in statement order.
func (r *rewriter) replace(i, j int, text string) {
	end := len(r.sql)
	if j < len(r.toks) {
		end = r.toks[j].start
	}
	r.edits = append(r.edits, edit{start: r.toks[i].start, end: end, text: text})
}

// word returns token i's keyword (upper case), or "" if it is not an
// unquoted word or out of range.
func (r *rewriter) word(i int) string {
	if i < 0 || i >= len(r.toks) || r.toks[i].kind != tokWord {
		return ""
	}
	return r.toks[i].upper
}

// isPunct reports whether token i is the punctuation p.
func (r *rewriter) isPunct(i int, p string) bool {
	return i >= 0 && i < len(r.toks) && r.toks[i].kind == tokPunct && r.toks[i].text == p
}

// isNumber reports whether token i is a number.
func (r *rewriter) isNumber(i int) bool {
	return i >= 0 && i < len(r.toks) && r.toks[i].kind == tokNumber
}

// typePosition reports whether token i is where a column definition's type
// goes: right after the column's name, which follows "(", ",", COLUMN, ADD,
// MODIFY or IF [NOT] EXISTS, or after CHANGE [COLUMN] old new.
func typePosition(toks []token, i int) bool {
	if i < 2 || !toks[i-1].isName() {
		return false
	}
	p := toks[i-2]
	if p.kind == tokPunct && (p.text == "(" || p.text == ",") ||
		p.is("COLUMN") || p.is("ADD") || p.is("MODIFY") || p.is("EXISTS") {
		return true
	}
	return i >= 3 && p.isName() && (toks[i-3].is("CHANGE") || toks[i-3].is("COLUMN") || toks[i-3].is("EXISTS"))
}

// nameWords are the keywords after which a word names something.
var nameWords = map[string]bool{
	"COLUMN": true, "ADD": true, "MODIFY": true, "CHANGE": true, "AFTER": true, "TO": true, "AS": true,
	"TABLE": true, "EXISTS": true, "INDEX": true, "KEY": true, "CONSTRAINT": true, "BY": true, "ON": true,
	"DROP": true, "RENAME": true,
}

// namePosition reports whether token i names a column, table or index
// rather than being an attribute keyword.
func namePosition(toks []token, i int) bool {
	if i == 0 {
		return true
	}
	p := toks[i-1]
	if p.kind == tokPunct && strings.Contains("(,.=", p.text) || p.kind == tokWord && nameWords[p.upper] {
		return true
	}
	if i >= 2 && p.isName() {
		pp := toks[i-2]
		return pp.is("CHANGE") || pp.is("INDEX") || pp.is("KEY") || pp.is("COLUMN") && i >= 3 && toks[i-3].is("CHANGE")
	}
	return false
}

// nationalColumns returns the lower-case names of the columns that toks
// declare NCHAR, NVARCHAR or NATIONAL CHAR / VARCHAR (utf8mb3 columns).
func nationalColumns(toks []token) map[string]bool {
	var m map[string]bool
	for i, t := range toks {
		if (t.is("NCHAR") || t.is("NVARCHAR") || t.is("NATIONAL")) && typePosition(toks, i) {
			if m == nil {
				m = map[string]bool{}
			}
			m[strings.ToLower(toks[i-1].text)] = true
		}
	}
	return m
}

// setStatementBody returns the statement inside MariaDB's SET STATEMENT
// var=value [, ...] FOR statement.
func setStatementBody(sql string, toks []token) (string, bool) {
	if len(toks) < 2 || !toks[0].is("SET") || !toks[1].is("STATEMENT") {
		return "", false
	}
	depth := 0
	for i, t := range toks {
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.is("FOR") && i+1 < len(toks):
			return sql[toks[i+1].start:], true
		}
	}
	return "", false
}

// isTableDDL reports whether toks start a statement that may change tables
// or database defaults: CREATE [OR REPLACE] TABLE / DATABASE / SCHEMA, ALTER
// [ONLINE] [IGNORE] TABLE, ALTER DATABASE / SCHEMA, DROP TABLE / DATABASE /
// SCHEMA, RENAME TABLE, TRUNCATE. Statements on temporary tables are not.
func isTableDDL(toks []token) bool {
	r := &rewriter{toks: toks}
	i := 1
	switch r.word(0) {
	case "CREATE":
		if r.word(1) == "OR" && r.word(2) == "REPLACE" {
			i = 3
		}
		w := r.word(i)
		return w == "TABLE" || w == "DATABASE" || w == "SCHEMA"
	case "ALTER":
		for r.word(i) == "ONLINE" || r.word(i) == "IGNORE" {
			i++
		}
		w := r.word(i)
		return w == "TABLE" || w == "DATABASE" || w == "SCHEMA"
	case "DROP":
		w := r.word(1)
		return w == "TABLE" || w == "TABLES" || w == "DATABASE" || w == "SCHEMA"
	case "RENAME":
		return r.word(1) == "TABLE" || r.word(1) == "TABLES"
	case "TRUNCATE":
		return true
	}
	return false
}
