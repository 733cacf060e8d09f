package source

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// The snapshot reads rows through the text protocol; these functions turn
// its values into event values equal to the binlog reader's, and key
// values back into SQL literals for the next chunk's query.

// textKind is how a column's text-protocol values become event values,
// decided once per table from the column's type (textKindOf) so that a
// row's values need no look at type names.
type textKind uint8

const (
	textString    textKind = iota // UTF-8 text: the connection's character set
	textFloat32                   // FLOAT: a float32, as the binlog has it
	textBit                       // BIT: its bytes as an unsigned integer
	textDatetime                  // DATETIME: ISO form
	textTimestamp                 // TIMESTAMP: ISO form in UTC, with Z
	textExact                     // DECIMAL, DATE, TIME, ENUM, SET: the server's text
	textYear                      // YEAR: an integer
	textJSON                      // JSON (MariaDB's LONGTEXT too): the document
	textVector                    // VECTOR: a JSON array of numbers
	textBytes                     // BINARY, BLOB, spatial: the bytes
)

// textKindOf is the kind of c's values.
func textKindOf(c *schema.Column) textKind {
	dt := strings.ToLower(c.DataType)
	switch dt {
	case "bit":
		return textBit
	case "datetime":
		return textDatetime
	case "timestamp":
		return textTimestamp
	case "decimal", "numeric", "date", "time", "enum", "set":
		return textExact
	case "year":
		return textYear
	}
	switch {
	case dt == "float":
		return textFloat32
	case c.JSON:
		return textJSON
	case dt == "vector":
		return textVector
	case isSpatial(dt) || isBinary(c):
		return textBytes // spatial: SRID and WKB, as the binlog has them
	}
	return textString
}

// textValue converts a text-protocol value to an event value, by the
// column's type, as the binlog reader converts binlog values.
func textValue(c *schema.Column, fv *mysql.FieldValue) (any, error) {
	return textKindOf(c).value(fv)
}

// value converts a text-protocol value of a column of kind k. Strings and
// bytes are copies: fv's memory is the client's to reuse.
func (k textKind) value(fv *mysql.FieldValue) (any, error) {
	switch fv.Type {
	case mysql.FieldValueTypeNull:
		return nil, nil
	case mysql.FieldValueTypeSigned:
		return fv.AsInt64(), nil
	case mysql.FieldValueTypeUnsigned:
		return fv.AsUint64(), nil
	case mysql.FieldValueTypeFloat:
		if k == textFloat32 {
			return float32(fv.AsFloat64()), nil
		}
		return fv.AsFloat64(), nil
	}
	s := fv.AsString()
	switch k {
	case textBit:
		var n uint64
		for _, b := range s {
			n = n<<8 | uint64(b)
		}
		return n, nil
	case textDatetime:
		return isoDatetime(s, ""), nil
	case textTimestamp:
		return isoDatetime(s, "Z"), nil
	case textExact:
		return string(s), nil
	case textYear:
		return strconv.ParseInt(string(s), 10, 64)
	case textJSON:
		return events.JSON(bytes.Clone(s)), nil
	case textVector:
		return vectorJSON(s)
	case textBytes:
		return bytes.Clone(s), nil
	}
	return string(s), nil
}

// isoDatetime is the server's "2024-01-31 12:34:56.123456" as
// "2024-01-31T12:34:56.123456" followed by zone, in one allocation.
func isoDatetime(s []byte, zone string) string {
	var b strings.Builder
	b.Grow(len(s) + len(zone))
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		b.Write(s[:i])
		b.WriteByte('T')
		s = s[i+1:]
	}
	b.Write(s)
	b.WriteString(zone)
	return b.String()
}

// appendText appends a text-protocol value as the server sent it.
func appendText(dst []byte, fv *mysql.FieldValue) []byte {
	switch fv.Type {
	case mysql.FieldValueTypeUnsigned:
		return strconv.AppendUint(dst, fv.AsUint64(), 10)
	case mysql.FieldValueTypeSigned:
		return strconv.AppendInt(dst, fv.AsInt64(), 10)
	case mysql.FieldValueTypeFloat:
		return strconv.AppendFloat(dst, fv.AsFloat64(), 'g', -1, 64)
	}
	return append(dst, fv.AsString()...)
}

// textOf is a text-protocol value as the server sent it, in new memory.
func textOf(fv *mysql.FieldValue) []byte { return appendText(nil, fv) }

// keyText is the snapshot cursor of a row: the hex of the text of each of
// its key columns.
func keyText(row []mysql.FieldValue, keyCols []int) []string {
	key := make([]string, 0, len(keyCols))
	for _, k := range keyCols {
		key = append(key, hex.EncodeToString(textOf(&row[k])))
	}
	return key
}

// literal writes a key value read in text form back as an SQL literal of
// the column's type.
func literal(c *schema.Column, raw []byte) string {
	switch {
	case isNumeric(c.DataType):
		return string(raw)
	case isBinary(c) || strings.EqualFold(c.DataType, "bit"):
		return "X'" + hex.EncodeToString(raw) + "'"
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, ch := range raw {
		switch ch {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func isNumeric(dataType string) bool {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "year":
		return true
	}
	return false
}

// isBinary reports whether a column holds bytes rather than text.
func isBinary(c *schema.Column) bool {
	switch strings.ToLower(c.DataType) {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return strings.EqualFold(c.Charset, "binary")
}
