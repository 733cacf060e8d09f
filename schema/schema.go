// Package schema keeps the tables a task reads as they were at each point
// of the binlog. A Catalog holds every tracked table's definition; it is
// seeded from information_schema (TableFromInfo, with the Info*Query texts)
// at the task's start position and moved forward by Catalog.Apply, which
// parses each query event of the binlog with a real MySQL grammar (the TiDB
// parser) and applies it to the previous version. Every changed table gets
// a new *Table, so the definitions a Change returns form the table's
// history; the binlog reader decodes each row with the version true at the
// row's position and cross-checks it against the binlog's table map.
//
// Definitions are written the way the flavor's information_schema shows
// them (MySQL 8+ "int unsigned", MariaDB "int(10) unsigned"; MariaDB's JSON
// is LONGTEXT with a json_valid CHECK), so that a seeded table and one built
// from DDL compare equal; a test checks this against real MariaDB and MySQL
// servers for every type family, character set and collation. Syntax the
// TiDB grammar lacks (MariaDB's UUID and INET types, spatial types, CREATE
// OR REPLACE, ...) is rewritten first, with the TiDB lexer, never with
// regular expressions. What the catalog cannot know it says, with
// *ParseError, *UnknownTableError and *NeedsLookupError: unknown means stop.
//
// This package does no I/O: callers load information_schema rows and store
// versions.
package schema

import (
	"strings"
)

// TableRef names a table.
type TableRef struct {
	DB   string `json:"db"`
	Name string `json:"name"`
}

// String is db.name.
func (r TableRef) String() string { return r.DB + "." + r.Name }

// Table is one table's definition: its columns in ordinal order.
type Table struct {
	DB         string   `json:"db"`
	Name       string   `json:"name"`
	Columns    []Column `json:"columns"`
	PrimaryKey []string `json:"primary_key,omitempty"` // key column names in key order; nil without a primary key
	Charset    string   `json:"charset,omitempty"`     // table default character set
	Collation  string   `json:"collation,omitempty"`   // table default collation
}

// Ref is the table's name.
func (t *Table) Ref() TableRef { return TableRef{DB: t.DB, Name: t.Name} }

// Column is one column of a Table.
type Column struct {
	Name string `json:"name"`
	// Type is the full column type, lower case, as information_schema's
	// COLUMN_TYPE shows it: "int unsigned", "varchar(32)", "binary(16)",
	// "enum('a','b')", "decimal(10,2)", "datetime(6)".
	Type string `json:"type"`
	// DataType is the base type, lower case: "int", "varchar", "enum",
	// "json", "uuid", "point", "vector".
	DataType string `json:"data_type"`
	Unsigned bool   `json:"unsigned,omitempty"`
	// Charset and Collation of a character or binary-string column:
	// "utf8mb4", "latin2", ..., or "binary" for BINARY, VARBINARY and BLOB
	// columns; "" for other types.
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	// Length is the declared length: characters for CHAR and VARCHAR,
	// bytes for BINARY and VARBINARY (BINARY(n) values are padded to n),
	// dimensions for VECTOR; 0 for other types.
	Length int `json:"length,omitempty"`
	// Precision and Scale of DECIMAL; Scale is also the fractional digits
	// of TIME, DATETIME and TIMESTAMP.
	Precision int      `json:"precision,omitempty"`
	Scale     int      `json:"scale,omitempty"`
	Labels    []string `json:"labels,omitempty"` // ENUM or SET labels, in declaration order
	Nullable  bool     `json:"nullable,omitempty"`
	// JSON is true for JSON columns, MariaDB's included (LONGTEXT with a
	// json_valid CHECK).
	JSON bool `json:"json,omitempty"`
}

// Column returns the column named name (column names compare without
// case, as MySQL's do), or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

// Index returns the position of the column named name, or -1.
func (t *Table) Index(name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// KeyIndexes returns the positions of the primary key's columns, in key
// order; nil without a primary key.
func (t *Table) KeyIndexes() []int {
	var out []int
	for _, k := range t.PrimaryKey {
		if i := t.Index(k); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// Clone returns a deep copy of t.
func (t *Table) Clone() *Table {
	c := *t
	c.Columns = make([]Column, len(t.Columns))
	for i, col := range t.Columns {
		col.Labels = append([]string(nil), col.Labels...)
		c.Columns[i] = col
	}
	c.PrimaryKey = append([]string(nil), t.PrimaryKey...)
	return &c
}

// ParseLabels returns the labels of an ENUM or SET COLUMN_TYPE such as
// "enum('a','b')" (a quote inside a label is doubled; a backslash, newline,
// carriage return or NUL is escaped with a backslash); nil for other types.
func ParseLabels(columnType string) []string {
	lower := strings.ToLower(columnType)
	var body string
	switch {
	case strings.HasPrefix(lower, "enum("):
		body = columnType[5:]
	case strings.HasPrefix(lower, "set("):
		body = columnType[4:]
	default:
		return nil
	}
	var labels []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case !in && c == '\'':
			in = true
			cur.Reset()
		case in && c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case in && c == '\'':
			in = false
			labels = append(labels, cur.String())
		case in && c == '\\' && i+1 < len(body):
			cur.WriteByte(unescape(body[i+1]))
			i++
		case in:
			cur.WriteByte(c)
		}
	}
	return labels
}

// unescape returns the byte that a backslash followed by c stands for in a
// COLUMN_TYPE label.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case '0':
		return 0
	case 'Z':
		return 0x1a
	}
	return c
}
