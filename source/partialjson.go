package source

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// go-mysql v1.16.0 decodes only the first diff of each partially updated
// JSON column of a PARTIAL_UPDATE_ROWS_EVENT (see jsondiff.go). This file
// reads the rest: decodeRowsData, which the reader calls for the row
// images readRowsEvent (the syncer's RowsEventDecodeFunc) keeps, lets
// go-mysql decode the event, then walks the raw row images again exactly
// as MySQL wrote them (pack_row in sql/rpl_record.cc; go-mysql's
// decodeRows and decodeImage read the same layout) and puts each partial
// column's whole diff vector in the after image.
//
// A row event's rows are image after image; an update's are before image,
// after image, for each row. An image is:
//
//   - in a PARTIAL_UPDATE_ROWS_EVENT's after images only: value_options
//     (a length-encoded integer, 0 or PARTIAL_JSON = 1) and, when it is 1,
//     partial_bits: one bit per JSON column of the table, whether it is in
//     the image or not, set when the column holds a diff vector;
//   - null_bits: one bit per column in the image (per the event's column
//     bitmap for the image), set when it is NULL;
//   - each column in the image that is not NULL, encoded by its type and
//     table-map metadata (encodedSize), or, when partial, as a diff vector:
//     a 4-byte length, then diffs, each an operation byte (0 replace,
//     1 insert, 2 remove), the path (length-encoded length, bytes) and,
//     unless it removes, the value (length-encoded length, binary JSON).
//
// On MySQL 9.7.4 an after image with diffs also marks partial, each with
// an empty vector, the JSON columns the statement leaves alone (UPDATE …
// SET j1 = JSON_SET(j1, …) logs j2 so; TestPartialJSONLive checks it).
// go-mysql gives those as an empty []byte, which a reader cannot tell
// from an empty document; decodeRowsEvent gives them as an empty
// []*replication.JsonDiff: the before image's document, unchanged.

// errShortRowImage is wrapped by the errors about row images that end
// before their columns do.
var errShortRowImage = errors.New("the row image ends early")

// decodeRowsEvent decodes a rows event wholly with go-mysql: data is the
// event's body (no common header, no checksum), as go-mysql's parser
// hands it to a RowsEventDecodeFunc. It decodes as e.Decode does (DecodeHeader, then DecodeData
// from where the header ends), and then, for a PARTIAL_UPDATE_ROWS_EVENT,
// replaces the value of each partially updated JSON column of each after
// image (the one *replication.JsonDiff go-mysql read, or the empty []byte
// it gives a vector of no diffs) with the column's whole vector, a
// []*replication.JsonDiff (empty, not nil, for no diffs).
//
// It decodes against a copy of the event's table map without its
// signedness bitmap: go-mysql rebuilds a map of it for every row image
// (TableMapEvent.UnsignedMap), an eighth of the node's CPU under a bulk
// load, and the bitmap only chooses between int64 and uint64 for integer
// columns, which tableInfo.value reinterprets by the schema history's
// signedness anyway (toUint64; crossCheck has checked the two agree). The
// copy is the event's own, so the syncer's shared table map, which the
// reader may be reading, is never written.
func decodeRowsEvent(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	return decodeRowsData(e, data[pos:])
}

// decodeRowsData decodes rows, the row images of e (the event's body
// after its header), as decodeRowsEvent does.
func decodeRowsData(e *replication.RowsEvent, rows []byte) error {
	e.Rows, e.SkippedColumns = nil, nil
	shared := e.Table
	if shared != nil && len(shared.SignednessBitmap) > 0 {
		bare := *shared
		bare.SignednessBitmap = nil
		e.Table = &bare
	}
	err := e.DecodeData(0, rows)
	e.Table = shared
	if err != nil {
		return err
	}
	if !isPartialUpdate(e) {
		return nil
	}
	if err := setJSONDiffs(e, rows); err != nil {
		return fmt.Errorf("reading the JSON diffs of a partial update of %s.%s: %w", e.Table.Schema, e.Table.Table, err)
	}
	return nil
}

// isPartialUpdate reports whether e is a PARTIAL_UPDATE_ROWS_EVENT.
// go-mysql keeps a rows event's type unexported; its Type() names every
// other kind it decodes (write, update and delete, versions 0 to 2 and
// MariaDB's compressed ones) and returns Unknown for this one alone, which
// has an after image's column bitmap like an update.
// TestIsPartialUpdateMatchesTheParser pins this against the parser.
func isPartialUpdate(e *replication.RowsEvent) bool {
	return e.Type() == replication.EnumRowsEventTypeUnknown && e.ColumnBitmap2 != nil
}

// setJSONDiffs walks rows, the row images of the partial update e, and
// sets the diff vectors in e.Rows, which go-mysql filled from them.
func setJSONDiffs(e *replication.RowsEvent, rows []byte) error {
	r := imageReader{table: e.Table, data: rows}
	if len(e.Table.ColumnType) != int(e.ColumnCount) || len(e.Table.ColumnMeta) != int(e.ColumnCount) {
		return fmt.Errorf("the event has %d columns, its table map %d", e.ColumnCount, len(e.Table.ColumnType))
	}
	n := 0
	for ; r.pos < len(r.data); n += 2 {
		if _, err := r.image(e.ColumnBitmap1, false); err != nil {
			return fmt.Errorf("the before image of row %d: %w", n/2+1, err)
		}
		cols, err := r.image(e.ColumnBitmap2, true)
		if err != nil {
			return fmt.Errorf("the after image of row %d: %w", n/2+1, err)
		}
		if n+1 >= len(e.Rows) {
			return fmt.Errorf("go-mysql decoded %d images, fewer than the event holds", len(e.Rows))
		}
		if err := setRowDiffs(e.Rows[n+1], cols); err != nil {
			return fmt.Errorf("the after image of row %d: %w", n/2+1, err)
		}
	}
	if n != len(e.Rows) {
		return fmt.Errorf("the event holds %d images, go-mysql decoded %d", n, len(e.Rows))
	}
	return nil
}

// setRowDiffs puts the diff vector of each partial column of cols in row,
// go-mysql's values for the same after image.
func setRowDiffs(row []any, cols []imageColumn) error {
	for c, col := range cols {
		if !col.partial {
			continue
		}
		if col.raw == nil {
			return fmt.Errorf("JSON column %d is marked partial and holds no value", c+1)
		}
		diffs, err := parseJSONDiffVector(col.raw)
		if err != nil {
			return fmt.Errorf("JSON column %d: %w", c+1, err)
		}
		if err := checkFirstDiff(row[c], diffs); err != nil {
			return fmt.Errorf("JSON column %d: %w", c+1, err)
		}
		row[c] = diffs
	}
	return nil
}

// checkFirstDiff checks that go-mysql's value v of a partial column agrees
// with the vector read here: its one diff is the vector's first, or v is
// go-mysql's empty value and the vector is empty. A disagreement means one
// of the two misread the image. go-mysql leaves nil where it failed to
// read the first diff (it prints the error and carries on); the vector
// read here stands then.
func checkFirstDiff(v any, diffs []*replication.JsonDiff) error {
	switch x := v.(type) {
	case nil:
		return nil
	case *replication.JsonDiff:
		if len(diffs) > 0 && diffs[0].Op == x.Op && diffs[0].Path == x.Path {
			return nil
		}
	case []byte:
		if len(x) == 0 && len(diffs) == 0 {
			return nil
		}
	default:
		return fmt.Errorf("go-mysql decoded a partial JSON value as %T", v)
	}
	return fmt.Errorf("go-mysql read %v and this reader %d diffs %v: the row image is misread", v, len(diffs), diffs)
}

// imageColumn is one column of a row image as it is encoded.
type imageColumn struct {
	raw     []byte // the encoded value; nil when the column is absent or NULL
	partial bool   // a JSON column stored as a diff vector
}

// imageReader walks the row images of one rows event.
type imageReader struct {
	table *replication.TableMapEvent
	data  []byte
	pos   int
}

// take returns the next n bytes.
func (r *imageReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.data)-r.pos {
		return nil, fmt.Errorf("%d bytes needed at offset %d of %d: %w", n, r.pos, len(r.data), errShortRowImage)
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

// image reads the next image, whose columns are those set in bitmap;
// partialAfter says it is the after image of a partial update.
func (r *imageReader) image(bitmap []byte, partialAfter bool) ([]imageColumn, error) {
	var partial []byte
	if partialAfter {
		var err error
		if partial, err = r.partialBits(); err != nil {
			return nil, err
		}
	}
	types := r.table.ColumnType
	nulls, err := r.take((countBits(bitmap, len(types)) + 7) / 8)
	if err != nil {
		return nil, err
	}
	cols := make([]imageColumn, len(types))
	jsonIndex, nullIndex := 0, 0
	for c, tp := range types {
		if tp == mysql.MYSQL_TYPE_JSON {
			cols[c].partial = partial != nil && bitSet(partial, jsonIndex)
			jsonIndex++
		}
		if !bitSet(bitmap, c) {
			continue
		}
		nullIndex++
		if bitSet(nulls, nullIndex-1) {
			continue
		}
		if cols[c].raw, err = r.value(c, cols[c].partial); err != nil {
			return nil, fmt.Errorf("column %d (type %d, metadata %#x): %w", c+1, tp, r.table.ColumnMeta[c], err)
		}
	}
	return cols, nil
}

// partialBits reads an after image's value_options and, when they say
// PARTIAL_JSON, returns its partial_bits; nil when they do not.
func (r *imageReader) partialBits() ([]byte, error) {
	opts, n, err := readLenenc(r.data[r.pos:])
	if err != nil {
		return nil, fmt.Errorf("value_options: %w", err)
	}
	r.pos += n
	switch opts {
	case 0:
		return nil, nil
	case uint64(replication.EnumBinlogRowValueOptionsPartialJsonUpdates):
		return r.take((int(r.table.JsonColumnCount()) + 7) / 8)
	}
	return nil, fmt.Errorf("value_options %d, of which only PARTIAL_JSON (1) is known", opts)
}

// value reads column c's encoded value.
func (r *imageReader) value(c int, partial bool) ([]byte, error) {
	data := r.data[r.pos:]
	var size int
	var err error
	if partial {
		size, err = lengthPrefixed(data, 4) // Json_diff_vector::write_binary's length
	} else {
		size, err = encodedSize(r.table.ColumnType[c], r.table.ColumnMeta[c], data)
	}
	if err != nil {
		return nil, err
	}
	return r.take(size)
}

// encodedSize returns the size of a value of a column of type tp and
// table-map metadata meta encoded at the start of data, as go-mysql's
// decodeValue reads it (and MySQL's calc_field_size computes it).
func encodedSize(tp byte, meta uint16, data []byte) (int, error) {
	length := int(meta)
	if tp == mysql.MYSQL_TYPE_STRING {
		tp, length = stringType(meta)
	}
	if n, ok := fixedSize(tp, meta); ok {
		if n < 0 {
			return 0, fmt.Errorf("metadata %#x does not fit type %d", meta, tp)
		}
		return n, nil
	}
	switch tp {
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_STRING:
		if length > 255 { // a 2-byte length for a maximum of more than 255 bytes
			return lengthPrefixed(data, 2)
		}
		return lengthPrefixed(data, 1)
	case mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_GEOMETRY, mysql.MYSQL_TYPE_JSON, mysql.MYSQL_TYPE_VECTOR:
		if meta < 1 || meta > 4 {
			return 0, fmt.Errorf("a length of %d bytes", meta)
		}
		return lengthPrefixed(data, int(meta))
	}
	return 0, fmt.Errorf("column type %d is not one a MySQL row image holds", tp)
}

// stringType returns the real type of a MYSQL_TYPE_STRING column (CHAR,
// BINARY, ENUM or SET) and, for CHAR and BINARY, its maximum length in
// bytes, from its metadata: real type in the high byte and length in the
// low one, with bits 4 and 5 of the high byte, inverted, as bits 8 and 9
// of the length when they are not both set.
func stringType(meta uint16) (tp byte, length int) {
	if meta < 256 {
		return mysql.MYSQL_TYPE_STRING, int(meta)
	}
	b0, b1 := byte(meta>>8), byte(meta)
	if b0&0x30 != 0x30 {
		return b0 | 0x30, int(uint16(b1) | uint16((b0&0x30)^0x30)<<4)
	}
	return b0, int(b1)
}

// fixedSize returns the size of a value of type tp when the type and
// metadata alone give it, -1 for metadata that does not fit the type.
func fixedSize(tp byte, meta uint16) (int, bool) {
	fsp := (int(meta) + 1) / 2 // the fractional seconds' bytes
	switch tp {
	case mysql.MYSQL_TYPE_NULL:
		return 0, true
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_YEAR:
		return 1, true
	case mysql.MYSQL_TYPE_SHORT:
		return 2, true
	case mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_TIME:
		return 3, true
	case mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_TIMESTAMP:
		return 4, true
	case mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_DOUBLE, mysql.MYSQL_TYPE_DATETIME:
		return 8, true
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		return 4 + fsp, true
	case mysql.MYSQL_TYPE_DATETIME2:
		return 5 + fsp, true
	case mysql.MYSQL_TYPE_TIME2:
		return 3 + fsp, true
	case mysql.MYSQL_TYPE_NEWDECIMAL: // precision in the high byte, scale in the low
		return decimalBinSize(int(meta>>8), int(meta&0xff)), true
	case mysql.MYSQL_TYPE_BIT: // whole bytes in the high byte, the bits left over in the low
		return (int(meta>>8)*8 + int(meta&0xff) + 7) / 8, true
	case mysql.MYSQL_TYPE_ENUM, mysql.MYSQL_TYPE_SET: // the pack length in the low byte
		return int(meta & 0xff), true
	}
	return 0, false
}

// lengthPrefixed returns the size of a value after its k-byte
// little-endian length at the start of data, the length included.
func lengthPrefixed(data []byte, k int) (int, error) {
	if len(data) < k {
		return 0, fmt.Errorf("a %d-byte length: %w", k, errShortRowImage)
	}
	var n uint64
	for i := k - 1; i >= 0; i-- {
		n = n<<8 | uint64(data[i])
	}
	if n > uint64(len(data)-k) {
		return 0, fmt.Errorf("a length of %d with %d bytes left: %w", n, len(data)-k, errShortRowImage)
	}
	return k + int(n), nil
}

// parseJSONDiffVector parses a partial column's value, a diff vector as
// Json_diff_vector::write_binary writes it: a 4-byte length, then the
// diffs. The result is empty, not nil, when there are none.
func parseJSONDiffVector(raw []byte) ([]*replication.JsonDiff, error) {
	body := raw[4:] // lengthPrefixed checked that the length is the rest
	diffs := []*replication.JsonDiff{}
	for len(body) > 0 {
		d, n, err := parseJSONDiff(body)
		if err != nil {
			return nil, fmt.Errorf("diff %d: %w", len(diffs)+1, err)
		}
		diffs = append(diffs, d)
		body = body[n:]
	}
	return diffs, nil
}

// parseJSONDiff parses one diff at the start of b, as MySQL's
// read_json_diff does, and returns it and its size. Its value is rendered
// as JSON text by jsonbText.
func parseJSONDiff(b []byte) (*replication.JsonDiff, int, error) {
	op := replication.JsonDiffOperation(b[0])
	if op > replication.JsonDiffOperationRemove {
		return nil, 0, fmt.Errorf("unknown operation %d: %w", b[0], replication.ErrCorruptedJSONDiff)
	}
	path, n, err := lenencBytes(b[1:])
	if err != nil {
		return nil, 0, fmt.Errorf("the path: %w", err)
	}
	d := &replication.JsonDiff{Op: op, Path: string(path)}
	size := 1 + n
	if op == replication.JsonDiffOperationRemove {
		return d, size, nil
	}
	val, n, err := lenencBytes(b[size:])
	if err != nil {
		return nil, 0, fmt.Errorf("the value at %s: %w", d.Path, err)
	}
	text, err := jsonbText(val)
	if err != nil {
		return nil, 0, fmt.Errorf("the value at %s: %w", d.Path, err)
	}
	d.Value = string(text)
	return d, size + n, nil
}

// lenencBytes reads bytes after their length-encoded length and returns
// them and the bytes read.
func lenencBytes(b []byte) ([]byte, int, error) {
	n, k, err := readLenenc(b)
	if err != nil {
		return nil, 0, err
	}
	if n > uint64(len(b)-k) {
		return nil, 0, fmt.Errorf("a length of %d with %d bytes left: %w", n, len(b)-k, errShortRowImage)
	}
	return b[k : k+int(n)], k + int(n), nil
}

// readLenenc reads a length-encoded integer (net_field_length): one byte
// below 251, else 0xfc, 0xfd or 0xfe and 2, 3 or 8 little-endian bytes.
// 0xfb (NULL) and 0xff are errors, as in net_field_length_checked's
// callers.
func readLenenc(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("a length-encoded integer: %w", errShortRowImage)
	}
	var size int
	switch b[0] {
	case 0xfb, 0xff:
		return 0, 0, fmt.Errorf("a length-encoded integer starting 0x%02x", b[0])
	case 0xfc:
		size = 2
	case 0xfd:
		size = 3
	case 0xfe:
		size = 8
	default:
		return uint64(b[0]), 1, nil
	}
	if len(b) < 1+size {
		return 0, 0, fmt.Errorf("a %d-byte length-encoded integer: %w", size, errShortRowImage)
	}
	var v uint64
	for i := size; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, 1 + size, nil
}

// bitSet reports whether bit i of the little-endian bitmap b is set.
func bitSet(b []byte, i int) bool {
	return b[i>>3]&(1<<(uint(i)&7)) != 0
}

// countBits counts the bits set among the first n of bitmap.
func countBits(bitmap []byte, n int) int {
	count := 0
	for i := 0; i < n/8; i++ {
		count += bits.OnesCount8(bitmap[i])
	}
	if n%8 != 0 {
		count += bits.OnesCount8(bitmap[n/8] & (1<<(n%8) - 1))
	}
	return count
}
