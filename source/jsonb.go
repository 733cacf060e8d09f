package source

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// MySQL's binary JSON (sql-common/json_binary.cc), the form the values of
// partial-update diffs take in the binlog: a type byte, then the value.
// jsonbText renders it as text the way MySQL's SELECT does
// (Json_wrapper::to_string in sql-common/json_dom.cc), but compact, without
// the space MySQL puts after ',' and ':' — the form go-mysql's
// RenderJSONAsMySQLText gives whole documents, which is what the rest of
// the source compares and stores. go-mysql's decoder is unexported, and it
// differs from MySQL where MySQL's text is the one to keep:
//
//   - doubles: MySQL prints my_gcvt's text (2.5e300, 1e-7, 1e15), go-mysql
//     strconv's (2500…0.0 with 301 digits, 1e-07, 1000000000000000.0);
//   - opaque values of type VAR_STRING print as JSON strings, as MySQL's
//     wrapper_to_string does, not as base64;
//   - other opaque values print as MySQL's base64_encode does, with a
//     newline (escaped, \n) after every 76 characters;
//   - zero TIME, DATETIME and TIMESTAMP values keep their six fractional
//     digits (00:00:00.000000), as my_TIME_to_str prints them.

// The type bytes of binary JSON values (json_binary.h).
const (
	jsonbSmallObject = 0x00
	jsonbLargeObject = 0x01
	jsonbSmallArray  = 0x02
	jsonbLargeArray  = 0x03
	jsonbLiteral     = 0x04
	jsonbInt16       = 0x05
	jsonbUint16      = 0x06
	jsonbInt32       = 0x07
	jsonbUint32      = 0x08
	jsonbInt64       = 0x09
	jsonbUint64      = 0x0a
	jsonbDouble      = 0x0b
	jsonbString      = 0x0c
	jsonbOpaque      = 0x0f
)

// The bytes of the literals (a jsonbLiteral's value).
const (
	jsonbNull  = 0x00
	jsonbTrue  = 0x01
	jsonbFalse = 0x02
)

// jsonbMaxDepth is MySQL's JSON_DOCUMENT_MAX_DEPTH: it neither stores nor
// prints a document with arrays and objects nested deeper.
const jsonbMaxDepth = 100

// jsonbScalarSize is the size of each fixed-size scalar's value.
var jsonbScalarSize = map[byte]int{
	jsonbLiteral: 1, jsonbInt16: 2, jsonbUint16: 2, jsonbInt32: 4, jsonbUint32: 4,
	jsonbInt64: 8, jsonbUint64: 8, jsonbDouble: 8,
}

// errJSONBCorrupt is wrapped by every error about bytes that are not binary
// JSON as MySQL writes it.
var errJSONBCorrupt = errors.New("corrupt binary JSON")

// jsonbText returns the JSON text of doc, a binary JSON value: MySQL's
// text, compact (see the comment at the top of this file).
func jsonbText(doc []byte) ([]byte, error) {
	if len(doc) == 0 {
		return nil, fmt.Errorf("an empty value: %w", errJSONBCorrupt)
	}
	return appendJSONB(nil, doc[0], doc[1:], 0)
}

// appendJSONB appends the text of the value of type tp whose bytes start
// data (data may run past the value's end); depth counts the arrays and
// objects around it.
func appendJSONB(dst []byte, tp byte, data []byte, depth int) ([]byte, error) {
	switch tp {
	case jsonbSmallObject, jsonbLargeObject, jsonbSmallArray, jsonbLargeArray:
		return appendJSONBContainer(dst, tp, data, depth+1)
	case jsonbString:
		s, _, err := jsonbVarBytes(data)
		if err != nil {
			return nil, fmt.Errorf("a string: %w", err)
		}
		return appendMySQLJSONString(dst, s), nil
	case jsonbOpaque:
		return appendJSONBOpaque(dst, data)
	}
	return appendJSONBScalar(dst, tp, data)
}

// appendJSONBScalar appends a literal or a number.
func appendJSONBScalar(dst []byte, tp byte, data []byte) ([]byte, error) {
	size, ok := jsonbScalarSize[tp]
	if !ok {
		return nil, fmt.Errorf("unknown value type 0x%02x: %w", tp, errJSONBCorrupt)
	}
	if len(data) < size {
		return nil, fmt.Errorf("a value of type 0x%02x is cut short: %w", tp, errJSONBCorrupt)
	}
	le := binary.LittleEndian
	switch tp {
	case jsonbLiteral:
		return appendJSONBLiteral(dst, data[0])
	case jsonbInt16:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(data))), 10), nil
	case jsonbUint16:
		return strconv.AppendUint(dst, uint64(le.Uint16(data)), 10), nil
	case jsonbInt32:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(data))), 10), nil
	case jsonbUint32:
		return strconv.AppendUint(dst, uint64(le.Uint32(data)), 10), nil
	case jsonbInt64:
		return strconv.AppendInt(dst, int64(le.Uint64(data)), 10), nil
	case jsonbUint64:
		return strconv.AppendUint(dst, le.Uint64(data), 10), nil
	}
	return appendMySQLDouble(dst, math.Float64frombits(le.Uint64(data)))
}

// appendJSONBLiteral appends null, true or false.
func appendJSONBLiteral(dst []byte, b byte) ([]byte, error) {
	switch b {
	case jsonbNull:
		return append(dst, "null"...), nil
	case jsonbTrue:
		return append(dst, "true"...), nil
	case jsonbFalse:
		return append(dst, "false"...), nil
	}
	return nil, fmt.Errorf("unknown literal 0x%02x: %w", b, errJSONBCorrupt)
}

// jsonbContainer is an object or an array being read: its bytes, from its
// element count to its end.
type jsonbContainer struct {
	data   []byte
	small  bool // 16-bit counts and offsets; 32-bit when large
	object bool
	count  int // elements (members of an object)
	header int // the bytes before the keys and values
}

// newJSONBContainer reads the header of a container of type tp.
func newJSONBContainer(tp byte, data []byte) (*jsonbContainer, error) {
	c := &jsonbContainer{
		small:  tp == jsonbSmallObject || tp == jsonbSmallArray,
		object: tp == jsonbSmallObject || tp == jsonbLargeObject,
	}
	w := c.width()
	if len(data) < 2*w {
		return nil, fmt.Errorf("a container header is cut short: %w", errJSONBCorrupt)
	}
	count, size := c.uint(data, 0), c.uint(data, w)
	if size > len(data) || count > size {
		return nil, fmt.Errorf("a container of %d bytes and %d elements in %d bytes: %w", size, count, len(data), errJSONBCorrupt)
	}
	c.data, c.count = data[:size], count
	c.header = 2*w + count*(1+w) // the counts, then a value entry per element
	if c.object {
		c.header += count * (w + 2) // a key entry per member: offset, 16-bit length
	}
	if c.header > size {
		return nil, fmt.Errorf("a container's entries overrun its %d bytes: %w", size, errJSONBCorrupt)
	}
	return c, nil
}

// width is the size of the container's counts and offsets.
func (c *jsonbContainer) width() int {
	if c.small {
		return 2
	}
	return 4
}

// uint reads a count or an offset at off of b.
func (c *jsonbContainer) uint(b []byte, off int) int {
	if c.small {
		return int(binary.LittleEndian.Uint16(b[off:]))
	}
	return int(binary.LittleEndian.Uint32(b[off:]))
}

// appendJSONBContainer appends an object or an array at depth.
func appendJSONBContainer(dst []byte, tp byte, data []byte, depth int) ([]byte, error) {
	if depth > jsonbMaxDepth {
		return nil, fmt.Errorf("arrays and objects nested deeper than %d: %w", jsonbMaxDepth, errJSONBCorrupt)
	}
	c, err := newJSONBContainer(tp, data)
	if err != nil {
		return nil, err
	}
	open, closing := byte('['), byte(']')
	if c.object {
		open, closing = '{', '}'
	}
	dst = append(dst, open)
	for i := range c.count {
		if i > 0 {
			dst = append(dst, ',')
		}
		if c.object {
			key, err := c.key(i)
			if err != nil {
				return nil, err
			}
			dst = append(appendMySQLJSONString(dst, key), ':')
		}
		if dst, err = c.appendValue(dst, i, depth); err != nil {
			return nil, err
		}
	}
	return append(dst, closing), nil
}

// key returns the key of member i.
func (c *jsonbContainer) key(i int) ([]byte, error) {
	w := c.width()
	entry := 2*w + i*(w+2)
	off, n := c.uint(c.data, entry), int(binary.LittleEndian.Uint16(c.data[entry+w:]))
	if off < c.header || off+n > len(c.data) {
		return nil, fmt.Errorf("key %d lies outside its object: %w", i+1, errJSONBCorrupt)
	}
	return c.data[off : off+n], nil
}

// appendValue appends element i's value: inline in its entry, or at the
// entry's offset.
func (c *jsonbContainer) appendValue(dst []byte, i, depth int) ([]byte, error) {
	w := c.width()
	entry := 2*w + i*(1+w)
	if c.object {
		entry += c.count * (w + 2)
	}
	tp := c.data[entry]
	if jsonbInline(tp, c.small) {
		return appendJSONB(dst, tp, c.data[entry+1:entry+1+w], depth)
	}
	off := c.uint(c.data, entry+1)
	if off < c.header || off >= len(c.data) {
		return nil, fmt.Errorf("value %d lies outside its container: %w", i+1, errJSONBCorrupt)
	}
	return appendJSONB(dst, tp, c.data[off:], depth)
}

// jsonbInline reports whether a value of type tp is stored in its entry
// rather than at an offset.
func jsonbInline(tp byte, small bool) bool {
	switch tp {
	case jsonbLiteral, jsonbInt16, jsonbUint16:
		return true
	case jsonbInt32, jsonbUint32:
		return !small
	}
	return false
}

// jsonbVarBytes reads bytes after their variable-length size (7 bits a
// byte, least significant first, at most 5 bytes, at most 2^32-1) and
// returns them and the bytes read.
func jsonbVarBytes(data []byte) ([]byte, int, error) {
	var n uint64
	for i := 0; i < 5 && i < len(data); i++ {
		n |= uint64(data[i]&0x7f) << (7 * i)
		if data[i]&0x80 != 0 {
			continue
		}
		if n > math.MaxUint32 || n > uint64(len(data)-i-1) {
			return nil, 0, fmt.Errorf("a length of %d with %d bytes left: %w", n, len(data)-i-1, errJSONBCorrupt)
		}
		return data[i+1 : i+1+int(n)], i + 1 + int(n), nil
	}
	return nil, 0, fmt.Errorf("a bad variable-length size: %w", errJSONBCorrupt)
}

// appendJSONBOpaque appends an opaque value: a MySQL field type byte, then
// the value's bytes with their variable-length size.
func appendJSONBOpaque(dst []byte, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("an opaque value without a type: %w", errJSONBCorrupt)
	}
	ft := data[0]
	val, _, err := jsonbVarBytes(data[1:])
	if err != nil {
		return nil, fmt.Errorf("an opaque value of type %d: %w", ft, err)
	}
	switch ft {
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		return appendJSONBDecimal(dst, val)
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_TIME:
		return appendJSONBTemporal(dst, ft, val)
	case mysql.MYSQL_TYPE_VAR_STRING:
		return appendMySQLJSONString(dst, val), nil // wrapper_to_string prints it as a string
	}
	return appendMySQLJSONString(dst, mysqlBase64Opaque(ft, val)), nil
}

// mysqlBase64Opaque returns "base64:typeN:" and val in base64 as MySQL's
// base64_encode writes it: standard alphabet and padding, and a newline
// after every 76 characters.
func mysqlBase64Opaque(ft byte, val []byte) []byte {
	out := strconv.AppendUint([]byte("base64:type"), uint64(ft), 10)
	out = append(out, ':')
	enc := base64.StdEncoding.EncodeToString(val)
	for len(enc) > 76 {
		out = append(append(out, enc[:76]...), '\n')
		enc = enc[76:]
	}
	return append(out, enc...)
}

// appendJSONBTemporal appends a DATE ("2024-01-31"), DATETIME or TIMESTAMP
// ("2024-01-31 12:34:56.500000") or TIME ("-838:59:59.000000"), stored as
// MySQL's 8-byte packed integer, quoted as my_TIME_to_str(t, 6) prints it.
func appendJSONBTemporal(dst []byte, ft byte, val []byte) ([]byte, error) {
	if len(val) != 8 {
		return nil, fmt.Errorf("a temporal value of type %d in %d bytes, not 8: %w", ft, len(val), errJSONBCorrupt)
	}
	packed := int64(binary.LittleEndian.Uint64(val))
	neg := packed < 0
	if neg {
		packed = -packed
	}
	frac, hms := packed%(1<<24), packed>>24
	if ft == mysql.MYSQL_TYPE_TIME { // TIME_from_longlong_time_packed
		sign := ""
		if neg {
			sign = "-"
		}
		return fmt.Appendf(dst, `"%s%02d:%02d:%02d.%06d"`, sign, (hms>>12)%(1<<10), (hms>>6)%(1<<6), hms%(1<<6), frac), nil
	}
	ymd, hms := hms>>17, hms%(1<<17) // TIME_from_longlong_datetime_packed
	ym := ymd >> 5
	if ft == mysql.MYSQL_TYPE_DATE {
		return fmt.Appendf(dst, `"%04d-%02d-%02d"`, ym/13, ym%13, ymd%(1<<5)), nil
	}
	return fmt.Appendf(dst, `"%04d-%02d-%02d %02d:%02d:%02d.%06d"`,
		ym/13, ym%13, ymd%(1<<5), hms>>12, (hms>>6)%(1<<6), hms%(1<<6), frac), nil
}

// decimalDigitBytes is the bytes MySQL's binary DECIMAL gives a group of 0
// to 9 decimal digits (dig2bytes in strings/decimal.cc).
var decimalDigitBytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

// decimalBinSize is the size of a binary DECIMAL(precision, scale)
// (decimal_bin_size), or -1 when the two are not a DECIMAL's. A column's
// precision is at most 65, but a JSON value's is its my_decimal's digits,
// which may be more (MySQL 9.7 stores a DECIMAL(65,30) value as precision
// 66): the limit here is my_decimal's buffer, 81 digits.
func decimalBinSize(precision, scale int) int {
	if precision < 1 || precision > 81 || scale < 0 || scale > 30 || scale > precision {
		return -1
	}
	intg := precision - scale
	return intg/9*4 + decimalDigitBytes[intg%9] + scale/9*4 + decimalDigitBytes[scale%9]
}

// appendJSONBDecimal appends a DECIMAL stored as its precision, its scale
// and its binary form, as decimal2string prints it: every digit of the
// scale kept (-1.50), no leading zeros but one (0.50).
func appendJSONBDecimal(dst []byte, val []byte) ([]byte, error) {
	if len(val) < 2 {
		return nil, fmt.Errorf("a DECIMAL without precision and scale: %w", errJSONBCorrupt)
	}
	precision, scale := int(val[0]), int(val[1])
	bin := val[2:]
	if size := decimalBinSize(precision, scale); size < 0 || size != len(bin) {
		return nil, fmt.Errorf("a DECIMAL(%d,%d) in %d bytes: %w", precision, scale, len(bin), errJSONBCorrupt)
	}
	r := decimalReader{b: slices.Clone(bin)}
	neg := r.b[0]&0x80 == 0 // the sign bit is set for positive values
	r.b[0] ^= 0x80
	if neg {
		for i := range r.b {
			r.b[i] = ^r.b[i]
		}
	}
	intg := precision - scale
	ip, err := r.digits(nil, intg%9, intg/9, true)
	if err != nil {
		return nil, err
	}
	fp, err := r.digits(nil, scale%9, scale/9, false)
	if err != nil {
		return nil, err
	}
	for len(ip) > 1 && ip[0] == '0' {
		ip = ip[1:]
	}
	if neg {
		dst = append(dst, '-')
	}
	if len(ip) == 0 {
		ip = []byte("0")
	}
	dst = append(dst, ip...)
	if scale > 0 {
		dst = append(append(dst, '.'), fp...)
	}
	return dst, nil
}

// decimalReader reads the digit groups of a binary DECIMAL, its sign
// already removed.
type decimalReader struct {
	b   []byte
	pos int
}

// digits appends a part's digits: a partial group of part digits and full
// groups of nine, the partial group first for the integer part and last
// for the fraction.
func (r *decimalReader) digits(dst []byte, part, full int, partFirst bool) ([]byte, error) {
	var err error
	if partFirst && part > 0 {
		if dst, err = r.group(dst, part); err != nil {
			return nil, err
		}
	}
	for range full {
		if dst, err = r.group(dst, 9); err != nil {
			return nil, err
		}
	}
	if !partFirst && part > 0 {
		return r.group(dst, part)
	}
	return dst, nil
}

// group appends one group of n digits, zero-padded to n.
func (r *decimalReader) group(dst []byte, n int) ([]byte, error) {
	size := decimalDigitBytes[n]
	var v uint64
	for _, b := range r.b[r.pos : r.pos+size] {
		v = v<<8 | uint64(b)
	}
	r.pos += size
	s := strconv.FormatUint(v, 10)
	if len(s) > n {
		return nil, fmt.Errorf("a DECIMAL digit group of %d holds %s: %w", n, s, errJSONBCorrupt)
	}
	for range n - len(s) {
		dst = append(dst, '0')
	}
	return append(dst, s...), nil
}

// The parameters of my_gcvt as Json_wrapper::to_string calls it for a
// double (include/mysql/strings/dtoa.h).
const (
	gcvtMaxFieldWidth = 15 + 4 + gcvtMaxDecptF // MY_GCVT_MAX_FIELD_WIDTH: DBL_DIG + 4 + max(5, MAX_DECPT_FOR_F_FORMAT)
	gcvtMaxDecptF     = 15                     // MAX_DECPT_FOR_F_FORMAT: DBL_DIG
)

// appendMySQLDouble appends f as MySQL prints a JSON double: my_gcvt(f,
// MY_GCVT_ARG_DOUBLE, MY_GCVT_MAX_FIELD_WIDTH), then ".0" when that has
// neither a '.' nor an 'e' (1.0, 2.5e300, 1e-7, 0.0001, 1e15,
// 100000000000000.0).
func appendMySQLDouble(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("a double of %v: %w", f, errJSONBCorrupt)
	}
	// dtoa mode 4 with more than 17 digits allowed gives the shortest
	// digits that round-trip, as strconv's -1 precision does.
	e := strconv.AppendFloat(nil, math.Abs(f), 'e', -1, 64)
	mant, exp, _ := bytes.Cut(e, []byte{'e'})
	digits := slices.DeleteFunc(slices.Clone(mant), func(c byte) bool { return c == '.' })
	x, _ := strconv.Atoi(string(exp))
	decpt := x + 1 // dtoa's decimal point position: digits × 10^(decpt-len)
	if math.Signbit(f) {
		dst = append(dst, '-')
	}
	width := gcvtMaxFieldWidth
	if f < 0 {
		width-- // not for -0: my_gcvt tests x < 0.
	}
	start := len(dst)
	if gcvtUsesF(len(digits), decpt, width) {
		dst = appendGcvtF(dst, digits, decpt)
	} else {
		dst = appendGcvtE(dst, digits, decpt)
	}
	if !slices.ContainsFunc(dst[start:], func(c byte) bool { return c == '.' || c == 'e' }) {
		dst = append(dst, ".0"...)
	}
	return dst, nil
}

// gcvtUsesF reports whether my_gcvt prints n significant digits with
// decimal point position decpt in the 'f' format, given width: when they
// fit, unless |x| < 1e-15 or x is above 10^15 with no fraction. (my_gcvt
// may also choose 'f' when they do not fit, but only for decpt ≥ -2, and
// with at most 17 digits and a width of at least 33 those always fit.)
func gcvtUsesF(n, decpt, width int) bool {
	var size int
	switch {
	case decpt <= 0:
		size = n - decpt + 2 // 0.000ddd
	case decpt < n:
		size = n + 1 // ddd.ddd
	default:
		size = decpt // ddd000
	}
	return size <= width && decpt >= -gcvtMaxDecptF+1 && (decpt <= gcvtMaxDecptF || n > decpt)
}

// appendGcvtF appends digits in the 'f' format.
func appendGcvtF(dst, digits []byte, decpt int) []byte {
	if decpt <= 0 {
		dst = append(dst, "0."...)
		for range -decpt {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	for i, d := range digits {
		if i == decpt {
			dst = append(dst, '.')
		}
		dst = append(dst, d)
	}
	for range decpt - len(digits) {
		dst = append(dst, '0')
	}
	return dst
}

// appendGcvtE appends digits in the 'e' format: d.ddde-N, no '+', no
// leading zeros in the exponent.
func appendGcvtE(dst, digits []byte, decpt int) []byte {
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(append(dst, '.'), digits[1:]...)
	}
	return strconv.AppendInt(append(dst, 'e'), int64(decpt-1), 10)
}

// appendMySQLJSONString appends s as a JSON string the way MySQL's
// double_quote does: '"', '\' and \b \f \n \r \t escaped by letter, the
// other control characters as \u00XX (0x1F too, as MySQL 9.7 does; older
// servers left it raw), every other byte as it is (MySQL's JSON text is
// utf8mb4).
func appendMySQLJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
