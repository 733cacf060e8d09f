package source

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
)

// Row images are decoded by the reader, not by go-mysql's parser.
//
// The syncer's RowsEventDecodeFunc, readRowsEvent, reads a rows event's
// header only and leaves the event's row images in it undecoded. The
// reader then decodes them only for the tables the task reads, and for a
// table whose columns are all of the common types (integers, DECIMAL,
// FLOAT, DOUBLE, DATE, DATETIME, TIMESTAMP, YEAR, character and binary
// strings, BLOB and TEXT) it decodes each value straight into its event
// value (fastImage): go-mysql boxes every value into an interface and
// builds text through fmt and strings.Builder, which made about half of a
// busy node's CPU time. Every other table, and every MariaDB compressed or
// MySQL partial-JSON event, is decoded by go-mysql as before
// (decodeRowsData) and converted by tableInfo.convert. The two paths give
// equal values for equal images: TestFastImageMatchesGoMySQL and
// FuzzFastImage decode the same images both ways.

// rawRows is the row images of a rows event that readRowsEvent left
// undecoded, as the event's only row, with its only value.
type rawRows []byte

// readRowsEvent is the BinlogSyncerConfig.RowsEventDecodeFunc of every
// syncer: it decodes the event's header (table id, flags, column bitmaps,
// table map) and keeps the rest, the row images, for the reader. The
// parser that go-mysql clones for the events of a compressed MySQL
// transaction inherits it. The images stay valid: go-mysql reads every
// packet into memory of its own (packet.Conn.ReadPacket) and decompresses
// a payload into a new buffer.
func readRowsEvent(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	e.Rows = [][]any{{rawRows(data[pos:])}}
	e.SkippedColumns = nil
	return nil
}

// deferredRows returns the row images readRowsEvent left in e.
func deferredRows(e *replication.RowsEvent) (rawRows, bool) {
	if len(e.Rows) != 1 || len(e.Rows[0]) != 1 {
		return nil, false
	}
	raw, ok := e.Rows[0][0].(rawRows)
	return raw, ok
}

// plainRows reports whether events of type typ hold row images as they
// are, neither compressed (MariaDB) nor with partial JSON (MySQL).
func plainRows(typ replication.EventType) bool {
	switch typ {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2:
		return true
	}
	return false
}

// fastColumn reports whether fastImage decodes column i of a table map
// whose type is tp and metadata meta, given the column's kind.
func fastColumn(tp byte, meta uint16, k kind) bool {
	switch tp {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG:
		return k == kindInt || k == kindUint
	case mysql.MYSQL_TYPE_YEAR:
		return k == kindYear
	case mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE, mysql.MYSQL_TYPE_DATE:
		return k == kindPass
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		return k == kindPass && decimalBinSize(int(meta>>8), int(meta&0xff)) > 0
	case mysql.MYSQL_TYPE_DATETIME2:
		return k == kindDatetime && meta <= 6
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		return k == kindTimestamp && meta <= 6
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING:
		return k == kindText || k == kindCharset || k == kindBytes
	case mysql.MYSQL_TYPE_STRING:
		real, _ := stringType(meta)
		return real == mysql.MYSQL_TYPE_STRING && (k == kindText || k == kindCharset || k == kindBytes)
	case mysql.MYSQL_TYPE_BLOB:
		return meta >= 1 && meta <= 4 && (k == kindText || k == kindCharset || k == kindBytes)
	}
	return false
}

// fastImage appends the values of the next row image in r, whose columns
// are those set in bitmap, to dst, as tableInfo.convert would give them
// from go-mysql's values: events.Absent for a column the image leaves
// out, nil for NULL. Strings and byte slices point into the image.
func (t *tableInfo) fastImage(dst []any, r *imageReader, bitmap []byte) ([]any, error) {
	n := len(t.kinds)
	if len(bitmap) < (n+7)/8 {
		return dst, fmt.Errorf("a column bitmap of %d bytes for %d columns", len(bitmap), n)
	}
	nulls, err := r.take((countBits(bitmap, n) + 7) / 8)
	if err != nil {
		return dst, err
	}
	nullIndex := 0
	for c := range n {
		if !bitSet(bitmap, c) {
			dst = append(dst, events.Absent)
			continue
		}
		nullIndex++
		if bitSet(nulls, nullIndex-1) {
			dst = append(dst, nil)
			continue
		}
		v, err := t.fastValue(c, r)
		if err != nil {
			return dst, fmt.Errorf("column %s: %w", t.columns[c], err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// fastValue decodes the value of column c at r.
func (t *tableInfo) fastValue(c int, r *imageReader) (any, error) {
	tp, meta := t.types[c], t.meta[c]
	switch tp {
	case mysql.MYSQL_TYPE_TINY:
		return t.integer(c, r, 1)
	case mysql.MYSQL_TYPE_SHORT:
		return t.integer(c, r, 2)
	case mysql.MYSQL_TYPE_INT24:
		return t.integer(c, r, 3)
	case mysql.MYSQL_TYPE_LONG:
		return t.integer(c, r, 4)
	case mysql.MYSQL_TYPE_LONGLONG:
		return t.integer(c, r, 8)
	case mysql.MYSQL_TYPE_YEAR:
		b, err := r.take(1)
		if err != nil {
			return nil, err
		}
		if b[0] == 0 {
			return int64(0), nil
		}
		return int64(b[0]) + 1900, nil
	case mysql.MYSQL_TYPE_FLOAT:
		b, err := r.take(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
	case mysql.MYSQL_TYPE_DOUBLE:
		b, err := r.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		prec, scale := int(meta>>8), int(meta&0xff)
		b, err := r.take(decimalBinSize(prec, scale))
		if err != nil {
			return nil, err
		}
		return decimalText(b, prec, scale)
	case mysql.MYSQL_TYPE_DATE:
		b, err := r.take(3)
		if err != nil {
			return nil, err
		}
		return dateText(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16), nil
	case mysql.MYSQL_TYPE_DATETIME2:
		b, err := r.take(5 + (int(meta)+1)/2)
		if err != nil {
			return nil, err
		}
		return t.datetime2(c, b, int(meta))
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		b, err := r.take(4 + (int(meta)+1)/2)
		if err != nil {
			return nil, err
		}
		return t.timestamp2(c, b, int(meta))
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING:
		return t.characters(c, r, int(meta))
	case mysql.MYSQL_TYPE_STRING:
		_, length := stringType(meta)
		return t.characters(c, r, length)
	case mysql.MYSQL_TYPE_BLOB:
		size, err := lengthPrefixed(r.data[r.pos:], int(meta))
		if err != nil {
			return nil, err
		}
		b, _ := r.take(size)
		return t.bytesValue(c, b[meta:])
	}
	return nil, fmt.Errorf("column type %d has no fast decoder", tp)
}

// integer decodes a little-endian integer of size bytes: an int64 for a
// signed column, a uint64 for an unsigned one.
func (t *tableInfo) integer(c int, r *imageReader, size int) (any, error) {
	b, err := r.take(size)
	if err != nil {
		return nil, err
	}
	var u uint64
	for i := size - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if t.kinds[c] == kindUint {
		return u, nil
	}
	shift := 64 - 8*size
	return int64(u<<shift) >> shift, nil
}

// characters decodes a CHAR, VARCHAR or BINARY value: its length in one
// byte when the column holds at most 255 bytes, else in two.
func (t *tableInfo) characters(c int, r *imageReader, maxLength int) (any, error) {
	k := 1
	if maxLength > 255 {
		k = 2
	}
	size, err := lengthPrefixed(r.data[r.pos:], k)
	if err != nil {
		return nil, err
	}
	b, _ := r.take(size)
	return t.bytesValue(c, b[k:])
}

// bytesValue is the value of character or binary data b of column c.
func (t *tableInfo) bytesValue(c int, b []byte) (any, error) {
	switch t.kinds[c] {
	case kindText:
		if len(b) == 0 {
			return "", nil
		}
		// The image's own bytes, as go-mysql's strings are: the packet
		// they are in is never reused.
		return unsafe.String(&b[0], len(b)), nil
	case kindCharset:
		return t.decode[c](b)
	}
	return padTo(b, t.pad[c]), nil
}

// datetime2 decodes a DATETIME(meta) value as go-mysql's decodeDatetime2
// reads it (a zero date, and a date before 1970 or with a zero month or
// day, as their text; any other as a time.Time), then as tableInfo.value
// writes it. It writes a time.Time's fields as they are, though, so a day
// the calendar lacks (2024-02-30, which ALLOW_INVALID_DATES stores) stays
// as MySQL shows it where a time.Time would become the next month's.
func (t *tableInfo) datetime2(c int, b []byte, dec int) (any, error) {
	intPart := int64(bigEndian(b[:5])) - 0x8000000000
	frac := fraction(b[5:], dec)
	if intPart == 0 {
		return datetimeFields(0, 0, 0, 0, 0, 0, int(frac), dec, 'T', false), nil
	}
	tmp := intPart<<24 + frac
	if tmp < 0 {
		tmp = -tmp
	}
	ymdhms := tmp >> 24
	ymd, hms := ymdhms>>17, ymdhms%(1<<17)
	ym := ymd >> 5
	day, month, year := int(ymd%(1<<5)), int(ym%13), int(ym/13)
	second, minute, hour := int(hms%(1<<6)), int((hms>>6)%(1<<6)), int(hms>>12)
	if intPart < 107420450816 || month == 0 || day == 0 { // before 1970-01-01 00:00:00
		return datetimeFields(year, month, day, hour, minute, second, int(frac), dec, 'T', false), nil
	}
	if year > 9999 || hour > 23 || minute > 59 || second > 59 || frac > 999999 {
		// No server writes these; the time.Time go-mysql makes of them
		// carries over, and so does its text.
		tm := time.Date(year, time.Month(month), day, hour, minute, second, int(frac*1000), time.UTC)
		return datetimeText(tm, t.fsp[c], false), nil
	}
	return datetimeFields(year, month, day, hour, minute, second, int(frac), t.fsp[c], 'T', false), nil
}

// timestamp2 decodes a TIMESTAMP(meta) value, seconds since the epoch,
// as go-mysql's decodeTimestamp2 and then tableInfo.value do.
func (t *tableInfo) timestamp2(c int, b []byte, dec int) (any, error) {
	sec := int64(binary.BigEndian.Uint32(b[:4]))
	usec := fraction(b[4:], dec)
	if sec == 0 {
		return datetimeFields(0, 0, 0, 0, 0, 0, int(usec), dec, 'T', true), nil
	}
	return datetimeText(time.Unix(sec, usec*1000).UTC(), t.fsp[c], true), nil
}

// fraction reads the fractional seconds of a temporal value with dec
// digits, in microseconds.
func fraction(b []byte, dec int) int64 {
	switch dec {
	case 1, 2:
		return int64(b[0]) * 10000
	case 3, 4:
		return int64(binary.BigEndian.Uint16(b)) * 100
	case 5, 6:
		return int64(bigEndian(b[:3]))
	}
	return 0
}

func bigEndian(b []byte) uint64 {
	var n uint64
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	return n
}

// datetimeFields writes "YYYY-MM-DD", sep, "hh:mm:ss" and, when dec > 0,
// the first dec of the six digits of frac (as fmt's "%06d" cut to dec
// digits from its end), then a "Z" when zone is set.
func datetimeFields(year, month, day, hour, minute, second, frac, dec int, sep byte, zone bool) string {
	var a [48]byte
	b := appendPadded(a[:0], year, 4)
	b = appendPadded(append(b, '-'), month, 2)
	b = appendPadded(append(b, '-'), day, 2)
	b = appendPadded(append(b, sep), hour, 2)
	b = appendPadded(append(b, ':'), minute, 2)
	b = appendPadded(append(b, ':'), second, 2)
	if dec > 0 { // dec is at most 6: fastColumn and setKind see to it
		b = appendPadded(append(b, '.'), frac, 6)
		b = b[:len(b)-(6-dec)]
	}
	if zone {
		b = append(b, 'Z')
	}
	return string(b)
}

// dateText is a DATE's text, as go-mysql writes it.
func dateText(v uint32) string {
	if v == 0 {
		return "0000-00-00"
	}
	var a [16]byte
	b := appendPadded(a[:0], int(v/(16*32)), 4)
	b = appendPadded(append(b, '-'), int(v/32%16), 2)
	b = appendPadded(append(b, '-'), int(v%32), 2)
	return string(b)
}

// appendPadded appends n (not negative) in decimal, zero-padded to width.
func appendPadded(b []byte, n, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// decimalText is the text of a DECIMAL(prec, scale) in MySQL's binary
// form (decimal2bin): groups of nine digits in four big-endian bytes, the
// leftover digits of each side in as few bytes as they need, every byte
// inverted for a negative number and the first byte's top bit flipped.
// It writes what go-mysql's decodeDecimal writes: no leading zeros, "0"
// for a zero integral part, every digit of the scale.
func decimalText(b []byte, prec, scale int) (string, error) {
	integral := prec - scale
	fullInt, fullFrac := integral/9, scale/9
	partInt, partFrac := integral-fullInt*9, scale-fullFrac*9
	var mask byte // 0xff for a negative number
	if b[0]&0x80 == 0 {
		mask = 0xff
	}
	var a [96]byte
	out := a[:0]
	if mask != 0 {
		out = append(out, '-')
	}
	// group reads the next n bytes, big-endian, each XORed with the mask
	// (the first byte with its sign bit flipped too).
	pos := 0
	group := func(n int) uint64 {
		var v uint64
		for i := range n {
			x := b[pos+i] ^ mask
			if pos+i == 0 {
				x ^= 0x80
			}
			v = v<<8 | uint64(x)
		}
		pos += n
		return v
	}
	leading := true
	if v := group(decimalDigitBytes[partInt]); v != 0 {
		leading = false
		out = strconv.AppendUint(out, v, 10)
	}
	for range fullInt {
		v := group(4)
		if leading {
			if v != 0 {
				leading = false
				out = strconv.AppendUint(out, v, 10)
			}
			continue
		}
		var err error
		if out, err = appendGroup(out, v, 9); err != nil {
			return "", err
		}
	}
	if leading {
		out = append(out, '0')
	}
	if pos < len(b) {
		out = append(out, '.')
		for range fullFrac {
			var err error
			if out, err = appendGroup(out, group(4), 9); err != nil {
				return "", err
			}
		}
		if n := decimalDigitBytes[partFrac]; n > 0 {
			v := group(n)
			var d [20]byte
			s := strconv.AppendUint(d[:0], v, 10)
			for i := len(s); i < partFrac; i++ {
				out = append(out, '0')
			}
			out = append(out, s...)
		}
	}
	return string(out), nil
}

// appendGroup appends v as exactly digits digits; a value with more is
// not a DECIMAL's.
func appendGroup(out []byte, v uint64, digits int) ([]byte, error) {
	var d [20]byte
	s := strconv.AppendUint(d[:0], v, 10)
	if len(s) > digits {
		return out, fmt.Errorf("a DECIMAL group of %d, more than %d digits", v, digits)
	}
	for i := len(s); i < digits; i++ {
		out = append(out, '0')
	}
	return append(out, s...), nil
}
