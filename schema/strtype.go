package schema

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// setString sets a character or binary-string type: CHAR, VARCHAR, the TEXT
// family, ENUM and SET, or BINARY, VARBINARY and the BLOB family. The
// character set is the column's own (CHARACTER SET, or that of its COLLATE),
// else the table's; CHARACTER SET binary makes CHAR BINARY, VARCHAR
// VARBINARY and TEXT BLOB, while the BINARY attribute (CHAR(3) BINARY)
// selects the character set's _bin collation.
func (c *Catalog) setString(col *Column, tp *types.FieldType, collate string, t *Table, national bool) error {
	cs := tp.GetCharset()
	if national && cs == "" {
		cs = "utf8mb3"
	}
	cs, co, err := c.resolveCharset(cs, collate, t.Charset, t.Collation)
	if err != nil {
		return err
	}
	if mysql.HasBinaryFlag(tp.GetFlag()) && collate == "" && cs != "binary" {
		co = binCollation(cs)
	}
	col.Charset, col.Collation = cs, co
	binary := cs == "binary"
	switch tp.GetType() {
	case mysql.TypeString:
		setSized(col, pick(binary, "binary", "char"), max(tp.GetFlen(), 0), tp.GetFlen() < 0)
	case mysql.TypeVarchar:
		setSized(col, pick(binary, "varbinary", "varchar"), tp.GetFlen(), false)
	case mysql.TypeEnum, mysql.TypeSet:
		col.DataType = pick(tp.GetType() == mysql.TypeSet, "set", "enum")
		col.Labels = append([]string(nil), tp.GetElems()...)
		col.Type = col.DataType + "(" + quoteLabels(col.Labels) + ")"
	default:
		return c.setText(col, tp, binary)
	}
	return nil
}

// setSized sets CHAR, VARCHAR, BINARY or VARBINARY of length n (1 when
// unspecified).
func setSized(col *Column, name string, n int, unspecified bool) {
	if unspecified {
		n = 1
	}
	col.DataType, col.Length = name, n
	col.Type = fmt.Sprintf("%s(%d)", name, n)
}

// blobSizes are the most bytes each TEXT / BLOB type holds.
var blobSizes = map[byte]int{
	mysql.TypeTinyBlob:   255,
	mysql.TypeBlob:       65535,
	mysql.TypeMediumBlob: 16777215,
	mysql.TypeLongBlob:   4294967295,
}

// setText sets a TEXT or BLOB type. TEXT(n) and BLOB(n) become the smallest
// type that holds n characters (BLOB: bytes), as the servers do.
func (c *Catalog) setText(col *Column, tp *types.FieldType, binary bool) error {
	size := blobSizes[tp.GetType()]
	if tp.GetType() == mysql.TypeBlob && tp.GetFlen() >= 0 {
		size = tp.GetFlen()
		if !binary {
			n, err := maxLen(col.Charset)
			if err != nil {
				return err
			}
			size *= n
		}
	}
	col.DataType = textType(size, binary)
	col.Type = col.DataType
	return nil
}

// textType names the smallest TEXT (or BLOB) type that holds size bytes.
func textType(size int, binary bool) string {
	prefix := ""
	switch {
	case size <= 255:
		prefix = "tiny"
	case size <= 65535:
	case size <= 16777215:
		prefix = "medium"
	default:
		prefix = "long"
	}
	return prefix + pick(binary, "blob", "text")
}

// textSizes are the most bytes each TEXT type holds.
var textSizes = map[string]int{"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295}

// quoteLabels renders ENUM or SET labels as COLUMN_TYPE shows them: quoted,
// with ' doubled and \, newline, carriage return and NUL escaped.
func quoteLabels(labels []string) string {
	var b strings.Builder
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		for j := 0; j < len(l); j++ {
			switch l[j] {
			case '\'':
				b.WriteString("''")
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case 0:
				b.WriteString(`\0`)
			default:
				b.WriteByte(l[j])
			}
		}
		b.WriteByte('\'')
	}
	return b.String()
}

// pick returns a if cond, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
