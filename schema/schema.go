// Package schema describes the tables a task reads: their columns as the
// source database's information_schema lists them. The binlog's table-map
// events (with binlog_row_metadata=FULL) carry the column names, signedness,
// charsets and ENUM/SET labels true at the moment of each change; a Table
// fills in what the binlog does not say (MariaDB's JSON columns, which are
// LONGTEXT with a json_valid CHECK) and stands in for the metadata on servers
// that do not send it.
package schema

import (
	"strings"
)

// Table is one table's columns in ordinal order.
type Table struct {
	DB      string
	Name    string
	Columns []Column
}

// Column is one column of a Table.
type Column struct {
	Name     string
	DataType string // information_schema DATA_TYPE, e.g. "bigint", "varchar"
	Type     string // COLUMN_TYPE, e.g. "bigint(20) unsigned", "enum('a','b')"
	Unsigned bool
	Binary   bool     // binary charset: BINARY, VARBINARY, BLOB
	Latin1   bool     // latin1 charset (Windows-1252 in MySQL)
	JSON     bool     // JSON type, or MariaDB's json_valid-checked LONGTEXT
	Labels   []string // ENUM or SET labels, in declaration order
	Key      bool     // part of the primary key
	Length   int      // CHARACTER_OCTET_LENGTH for BINARY(n) padding
}

// Column returns the column named name, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// ParseLabels returns the labels of an ENUM or SET COLUMN_TYPE such as
// "enum('a','b')" (a quote inside a label is doubled); nil for other types.
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
			cur.WriteByte(body[i+1])
			i++
		case in:
			cur.WriteByte(c)
		}
	}
	return labels
}
