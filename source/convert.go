package source

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// kind says how one column's decoded binlog value becomes an event value.
type kind uint8

const (
	kindPass      kind = iota // float32, float64, DECIMAL text, DATE text
	kindInt                   // signed integer -> int64
	kindUint                  // unsigned integer -> uint64
	kindBit                   // BIT -> uint64
	kindYear                  // YEAR -> int64
	kindDatetime              // "2024-01-31 12:34:56.5" -> "2024-01-31T12:34:56.5"
	kindTimestamp             // same, in UTC with "Z"
	kindTime                  // "-838:59:59", with the column's fractional digits
	kindEnum                  // index -> label
	kindSet                   // bitmask -> "a,b"
	kindText                  // UTF-8 character data -> string
	kindCharset               // character data in another charset -> UTF-8 string
	kindBytes                 // binary data -> []byte, BINARY(n) padded to n
	kindJSON                  // JSON text (or a partial update of it) -> events.JSON
	kindVector                // VECTOR float32s -> events.JSON array
	kindUUID                  // MariaDB UUID bytes -> canonical text
	kindInet6                 // MariaDB INET6 bytes -> text
	kindInet4                 // MariaDB INET4 bytes -> text
)

// tableInfo is what converting one table's rows needs: the table's
// definition at the rows' position, checked against the binlog's table map.
type tableInfo struct {
	db, name string
	columns  []string
	types    []byte   // the table map's column types, to recognise the same map again
	meta     []uint16 // the table map's column metadata
	fast     bool     // every column's values are decoded by fastImage
	key      []int
	kinds    []kind
	labels   [][]string                     // ENUM/SET labels by column
	pad      []int                          // BINARY(n) length by column, 0 for others
	fsp      []int                          // fractional digits of DATETIME, TIMESTAMP and TIME columns
	decode   []func([]byte) (string, error) // text decoders of kindCharset columns
	blobby   []bool                         // BLOB/TEXT/JSON/GEOMETRY: what NOBLOB leaves out
}

// describe builds a tableInfo from a table's definition at the event's
// position and checks it against the event: a column count, type or name
// (names come with binlog_row_metadata=FULL) that differs means the
// history is wrong, and the task must stop rather than guess.
func describe(e *replication.TableMapEvent, def *schema.Table, at string) (*tableInfo, error) {
	n := int(e.ColumnCount)
	t := &tableInfo{db: string(e.Schema), name: string(e.Table),
		types: append([]byte(nil), e.ColumnType...), kinds: make([]kind, n), labels: make([][]string, n),
		pad: make([]int, n), fsp: make([]int, n), decode: make([]func([]byte) (string, error), n), blobby: make([]bool, n)}
	if err := crossCheck(e, def, at); err != nil {
		return nil, err
	}
	t.columns = make([]string, n)
	for i := range def.Columns {
		c := &def.Columns[i]
		t.columns[i] = c.Name
		if err := t.setKind(i, c); err != nil {
			return nil, Permanentf("table %s.%s column %s: %v", t.db, t.name, c.Name, err)
		}
	}
	t.key = def.KeyIndexes()
	t.meta = append([]uint16(nil), e.ColumnMeta...)
	t.fast = len(t.meta) == n
	for i := 0; t.fast && i < n; i++ {
		t.fast = fastColumn(t.types[i], t.meta[i], t.kinds[i])
	}
	return t, nil
}

// sameMap reports whether e describes the table as t was built from.
func (t *tableInfo) sameMap(e *replication.TableMapEvent) bool {
	return string(t.types) == string(e.ColumnType)
}

func (t *tableInfo) setKind(i int, c *schema.Column) error {
	dt := strings.ToLower(c.DataType)
	switch {
	case c.JSON || dt == "json":
		t.kinds[i], t.blobby[i] = kindJSON, true
		return nil
	case isSpatial(dt):
		t.kinds[i], t.blobby[i] = kindBytes, true
		return nil
	}
	switch dt {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		t.kinds[i] = kindInt
		if c.Unsigned {
			t.kinds[i] = kindUint
		}
	case "bit":
		t.kinds[i] = kindBit
	case "year":
		t.kinds[i] = kindYear
	case "datetime":
		t.kinds[i], t.fsp[i] = kindDatetime, min(c.Scale, 6)
	case "timestamp":
		t.kinds[i], t.fsp[i] = kindTimestamp, min(c.Scale, 6)
	case "time":
		t.kinds[i], t.fsp[i] = kindTime, min(c.Scale, 6)
	case "date", "decimal", "numeric", "float", "double", "real":
		t.kinds[i] = kindPass
	case "enum":
		t.kinds[i], t.labels[i] = kindEnum, c.Labels
	case "set":
		t.kinds[i], t.labels[i] = kindSet, c.Labels
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		t.kinds[i] = kindBytes
		t.blobby[i] = strings.HasSuffix(dt, "blob")
		if dt == "binary" {
			t.pad[i] = c.Length
		}
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		t.blobby[i] = strings.HasSuffix(dt, "text")
		return t.setText(i, c)
	case "vector":
		t.kinds[i], t.blobby[i] = kindVector, true
	case "uuid":
		t.kinds[i] = kindUUID
	case "inet6":
		t.kinds[i] = kindInet6
	case "inet4":
		t.kinds[i] = kindInet4
	default:
		return fmt.Errorf("type %s (%s) has no decoder", c.DataType, c.Type)
	}
	return nil
}

// setText picks the decoder of a character column by its charset.
func (t *tableInfo) setText(i int, c *schema.Column) error {
	switch strings.ToLower(c.Charset) {
	case "binary":
		t.kinds[i] = kindBytes
		if strings.EqualFold(c.DataType, "char") {
			t.pad[i] = c.Length
		}
		return nil
	case "", "utf8mb4", "utf8mb3", "utf8", "ascii":
		t.kinds[i] = kindText
		return nil
	}
	dec, err := textDecoder(c.Charset)
	if err != nil {
		return err
	}
	t.kinds[i], t.decode[i] = kindCharset, dec
	return nil
}

func isSpatial(dt string) bool {
	switch dt {
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return true
	}
	return false
}

// convert appends row's values, converted per the contract's type rules,
// to dst; a column the row image leaves out (skipped) becomes
// events.Absent. prev is the converted before image of an update (nil
// otherwise): a partial JSON update applies to its document. Values may
// point into the binlog event: use them before the next event is read.
func (t *tableInfo) convert(dst []any, row []any, skipped []int, prev []any) ([]any, error) {
	if len(row) != len(t.kinds) {
		return dst, fmt.Errorf("row has %d values, table has %d columns", len(row), len(t.kinds))
	}
	base := len(dst)
	for i, v := range row {
		if v == nil {
			dst = append(dst, nil)
			continue
		}
		out, err := t.value(i, v, prev)
		if err != nil {
			return dst, fmt.Errorf("column %s: %w", t.columns[i], err)
		}
		dst = append(dst, out)
	}
	for _, i := range skipped {
		if i >= 0 && i < len(t.kinds) {
			dst[base+i] = events.Absent
		}
	}
	return dst, nil
}

func (t *tableInfo) value(i int, v any, prev []any) (any, error) {
	switch t.kinds[i] {
	case kindInt, kindYear:
		if _, ok := v.(int64); ok {
			return v, nil // boxing it again would allocate
		}
		return toInt64(v)
	case kindUint, kindBit:
		n, err := toUint64(v)
		if t.types[i] == mysql.MYSQL_TYPE_INT24 {
			n &= 0xFFFFFF // decoded as a signed 24-bit value
		}
		return n, err
	case kindDatetime:
		switch x := v.(type) {
		case time.Time: // the binlog reader's (ParseTime)
			return datetimeText(x, t.fsp[i], false), nil
		case string: // a zero or pre-1970 date, or a snapshot's text
			return strings.Replace(x, " ", "T", 1), nil
		}
	case kindTimestamp:
		switch x := v.(type) {
		case time.Time:
			return datetimeText(x.UTC(), t.fsp[i], true), nil
		case string:
			return strings.Replace(x, " ", "T", 1) + "Z", nil
		}
	case kindTime:
		if s, ok := v.(string); ok {
			// The decoder drops a zero fraction; the column's precision
			// says how many digits the value has.
			if f := t.fsp[i]; f > 0 && !strings.Contains(s, ".") {
				return s + ".000000"[:f+1], nil
			}
			return s, nil
		}
	case kindEnum:
		n, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		if n >= 1 && int(n) <= len(t.labels[i]) {
			return t.labels[i][n-1], nil
		}
		return "", nil // MySQL's invalid-value enum index 0
	case kindSet:
		n, err := toUint64(v)
		if err != nil {
			return nil, err
		}
		return setLabels(n, t.labels[i]), nil
	case kindText:
		switch x := v.(type) {
		case string:
			return v, nil // not x: boxing it again would allocate
		case []byte:
			return string(x), nil
		}
	case kindCharset:
		return t.decode[i](rawBytes(v))
	case kindBytes:
		b := rawBytes(v)
		if b == nil {
			return nil, fmt.Errorf("unexpected %T for binary data", v)
		}
		return padTo(b, t.pad[i]), nil
	case kindJSON:
		return t.jsonValue(i, v, prev)
	case kindVector:
		return vectorJSON(rawBytes(v))
	case kindUUID:
		return mariadbUUIDText(rawBytes(v))
	case kindInet6:
		var a [16]byte
		copy(a[:], rawBytes(v))
		return netip.AddrFrom16(a).String(), nil
	case kindInet4:
		var a [4]byte
		switch x := v.(type) {
		case string, []byte:
			copy(a[:], rawBytes(x))
		default:
			n, err := toUint64(v)
			if err != nil {
				return nil, err
			}
			binary.BigEndian.PutUint32(a[:], uint32(n))
		}
		return netip.AddrFrom4(a).String(), nil
	default:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

// datetimeText renders t as 2006-01-02T15:04:05 with fsp fractional
// digits (and a Z for a TIMESTAMP), as the binlog reader's text would be
// after the space became a T; without fmt, which made a third of a busy
// node's CPU time when every row has a DATETIME.
func datetimeText(t time.Time, fsp int, zone bool) string {
	var b [32]byte
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	buf := append(b[:0], byte('0'+year/1000%10), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	buf = append2(buf, int(month), '-')
	buf = append2(buf, day, 'T')
	buf = append2(buf, hour, ':')
	buf = append2(buf, minute, ':')
	buf = append2(buf, sec, 0)
	if fsp > 0 {
		buf = append(buf, '.')
		frac := t.Nanosecond() / 1000
		var digits [6]byte
		for k := 5; k >= 0; k-- {
			digits[k] = byte('0' + frac%10)
			frac /= 10
		}
		buf = append(buf, digits[:fsp]...)
	}
	if zone {
		buf = append(buf, 'Z')
	}
	return string(buf)
}

// append2 appends n as two digits, then sep unless it is 0.
func append2(buf []byte, n int, sep byte) []byte {
	buf = append(buf, byte('0'+n/10%10), byte('0'+n%10))
	if sep != 0 {
		buf = append(buf, sep)
	}
	return buf
}

// jsonValue is a JSON column's value: its text, or for a partial update
// (binlog_row_value_options=PARTIAL_JSON) the before image's document with
// the update applied.
func (t *tableInfo) jsonValue(i int, v any, prev []any) (any, error) {
	var diffs []*replication.JsonDiff
	switch x := v.(type) {
	case string:
		if x == "" {
			return events.JSON("null"), nil
		}
		return events.JSON(x), nil
	case []byte:
		if len(x) == 0 {
			return events.JSON("null"), nil
		}
		return events.JSON(x), nil
	case *replication.JsonDiff:
		diffs = []*replication.JsonDiff{x}
	case []*replication.JsonDiff:
		diffs = x
	default:
		return nil, fmt.Errorf("unexpected %T for JSON", v)
	}
	if i >= len(prev) {
		return nil, fmt.Errorf("a partial JSON update without a before image")
	}
	doc, ok := prev[i].(events.JSON)
	if !ok {
		return nil, fmt.Errorf("a partial JSON update, and the before image does not hold the document " +
			"(binlog_row_value_options=PARTIAL_JSON needs binlog_row_image=FULL)")
	}
	out, err := applyJSONDiffs(doc, diffs)
	if err != nil {
		return nil, err
	}
	return events.JSON(out), nil
}

func rawBytes(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	}
	return nil
}

// padTo pads b with zero bytes to n: the binlog drops a BINARY(n) value's
// trailing zeros.
func padTo(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	p := make([]byte, n)
	copy(p, b)
	return p
}

func setLabels(mask uint64, labels []string) string {
	var b strings.Builder
	for j, l := range labels {
		if j < 64 && mask&(1<<uint(j)) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(l)
		}
	}
	return b.String()
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	}
	return 0, fmt.Errorf("unexpected %T for an integer", v)
}

func toUint64(v any) (uint64, error) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case int8: // decoded as signed without metadata: reinterpret the bits
		return uint64(uint8(x)), nil
	case int16:
		return uint64(uint16(x)), nil
	case int32:
		return uint64(uint32(x)), nil
	case int64:
		return uint64(x), nil
	case int:
		return uint64(x), nil
	}
	return 0, fmt.Errorf("unexpected %T for an unsigned integer", v)
}
