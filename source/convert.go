package source

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// kind says how one column's decoded binlog value becomes an event value.
type kind uint8

const (
	kindPass      kind = iota // float32, float64, DECIMAL text, DATE, TIME text
	kindInt                   // signed integer -> int64
	kindUint                  // unsigned integer -> uint64
	kindBit                   // BIT -> uint64
	kindYear                  // YEAR -> int64
	kindDatetime              // "2024-01-31 12:34:56.5" -> "2024-01-31T12:34:56.5"
	kindTimestamp             // same, in UTC with "Z"
	kindTime                  // "-838:59:59", with the column's fractional digits
	kindEnum                  // index -> label
	kindSet                   // bitmask -> "a,b"
	kindText                  // character data -> string
	kindLatin1                // latin1 (cp1252) character data -> UTF-8 string
	kindBytes                 // binary data -> []byte
	kindJSON                  // JSON text -> events.JSON
)

// tableInfo is what converting one table's rows needs.
type tableInfo struct {
	db, name string
	columns  []string
	key      []int
	kinds    []kind
	labels   [][]string // ENUM/SET labels by column
	pad      []int      // BINARY(n) length by column, 0 for others
	fsp      []int      // fractional digits of TIME columns
}

// describe builds a tableInfo from a table-map event and the table's
// information_schema columns. Names, signedness, charsets and labels come
// from the event's metadata when the server sends it (they are true at the
// moment of the change), else from information_schema.
func describe(e *replication.TableMapEvent, s *schema.Table) (*tableInfo, error) {
	n := int(e.ColumnCount)
	t := &tableInfo{db: string(e.Schema), name: string(e.Table),
		kinds: make([]kind, n), labels: make([][]string, n), pad: make([]int, n), fsp: make([]int, n)}
	t.columns = e.ColumnNameString()
	if len(t.columns) != n {
		if len(s.Columns) != n {
			return nil, fmt.Errorf("table %s.%s has %d columns in the binlog and %d in information_schema, and the binlog carries no column names: set binlog_row_metadata=FULL",
				t.db, t.name, n, len(s.Columns))
		}
		t.columns = make([]string, n)
		for i := range s.Columns {
			t.columns[i] = s.Columns[i].Name
		}
	}
	unsigned := e.UnsignedMap()
	collations := e.CollationMap()
	enums, sets := e.EnumStrValueMap(), e.SetStrValueMap()
	for i := 0; i < n; i++ {
		sc := s.Column(t.columns[i])
		if sc == nil {
			sc = &schema.Column{}
		}
		isUnsigned := sc.Unsigned
		if len(unsigned) > 0 {
			isUnsigned = unsigned[i]
		}
		isBinary, isLatin1 := sc.Binary, sc.Latin1
		if coll, ok := collations[i]; ok {
			isBinary, isLatin1 = coll == 63, latin1Collations[coll]
		}
		switch {
		case e.IsEnumColumn(i):
			t.kinds[i], t.labels[i] = kindEnum, firstNonEmpty(enums[i], sc.Labels)
		case e.IsSetColumn(i):
			t.kinds[i], t.labels[i] = kindSet, firstNonEmpty(sets[i], sc.Labels)
		default:
			t.kinds[i] = kindOf(e.ColumnType[i], isUnsigned, isBinary, sc.JSON)
			if t.kinds[i] == kindText && isLatin1 {
				t.kinds[i] = kindLatin1
			}
			if t.kinds[i] == kindBytes && strings.EqualFold(sc.DataType, "binary") {
				t.pad[i] = sc.Length
			}
			if e.ColumnType[i] == mysql.MYSQL_TYPE_TIME2 {
				t.kinds[i], t.fsp[i] = kindTime, int(min(e.ColumnMeta[i], 6))
			}
		}
	}
	if len(e.PrimaryKey) > 0 {
		for _, k := range e.PrimaryKey {
			t.key = append(t.key, int(k))
		}
	} else {
		for i, c := range t.columns {
			if sc := s.Column(c); sc != nil && sc.Key {
				t.key = append(t.key, i)
			}
		}
	}
	return t, nil
}

func firstNonEmpty(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

func kindOf(tp byte, unsigned, binary, json bool) kind {
	switch tp {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG:
		if unsigned {
			return kindUint
		}
		return kindInt
	case mysql.MYSQL_TYPE_BIT:
		return kindBit
	case mysql.MYSQL_TYPE_YEAR:
		return kindYear
	case mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_DATETIME2:
		return kindDatetime
	case mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_TIMESTAMP2:
		return kindTimestamp
	case mysql.MYSQL_TYPE_JSON:
		return kindJSON
	case mysql.MYSQL_TYPE_GEOMETRY:
		return kindBytes
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_STRING,
		mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB:
		switch {
		case json:
			return kindJSON
		case binary:
			return kindBytes
		default:
			return kindText
		}
	}
	return kindPass
}

// convert appends row's values, converted per the contract's type rules,
// to dst. Values may point into the binlog event: use them before the next
// event is read.
func (t *tableInfo) convert(dst []any, row []any) ([]any, error) {
	if len(row) != len(t.kinds) {
		return dst, fmt.Errorf("row has %d values, table has %d columns", len(row), len(t.kinds))
	}
	for i, v := range row {
		if v == nil {
			dst = append(dst, nil)
			continue
		}
		out, err := t.value(i, v)
		if err != nil {
			return dst, fmt.Errorf("column %s: %w", t.columns[i], err)
		}
		dst = append(dst, out)
	}
	return dst, nil
}

func (t *tableInfo) value(i int, v any) (any, error) {
	switch t.kinds[i] {
	case kindInt:
		return toInt64(v)
	case kindUint:
		return toUint64(v)
	case kindBit:
		return toUint64(v)
	case kindYear:
		return toInt64(v)
	case kindDatetime:
		if s, ok := v.(string); ok {
			return strings.Replace(s, " ", "T", 1), nil
		}
	case kindTimestamp:
		if s, ok := v.(string); ok {
			return strings.Replace(s, " ", "T", 1) + "Z", nil
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
			return x, nil
		case []byte:
			return string(x), nil
		}
	case kindLatin1:
		switch x := v.(type) {
		case string:
			return latin1ToUTF8([]byte(x)), nil
		case []byte:
			return latin1ToUTF8(x), nil
		}
	case kindBytes:
		var b []byte
		switch x := v.(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		default:
			return nil, fmt.Errorf("unexpected %T for binary data", v)
		}
		if n := t.pad[i]; len(b) < n {
			p := make([]byte, n)
			copy(p, b)
			b = p
		}
		return b, nil
	case kindJSON:
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
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %T", v)
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

// latin1Collations are the collation ids of MySQL's latin1, which is
// Windows-1252.
var latin1Collations = map[uint64]bool{5: true, 8: true, 15: true, 31: true, 47: true, 48: true, 49: true, 94: true}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252 to Unicode; the other
// bytes are their own code points. Unassigned bytes map to themselves, as
// MySQL does.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// latin1ToUTF8 decodes MySQL latin1 text.
func latin1ToUTF8(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(cp1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
