package source

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/internal/testenv"
)

// fakeColumn is a column of a hand-built table map: its binlog type, its
// metadata as the table map stores it, and a value encoded for a row
// image.
type fakeColumn struct {
	tp    byte
	meta  []byte
	value []byte
}

// fakeTable is a hand-built table d.t of table id 1.
type fakeTable struct{ cols []fakeColumn }

// tableMap returns the TABLE_MAP_EVENT of the table.
func (ft fakeTable) tableMap() []byte {
	body := append(le(6, 1), 1, 0)               // table id, flags
	body = append(body, 1, 'd', 0, 1, 't', 0)    // schema, table
	body = append(body, lenenc(len(ft.cols))...) // column count
	var meta []byte
	for _, c := range ft.cols {
		body = append(body, c.tp)
		meta = append(meta, c.meta...)
	}
	body = append(append(body, lenenc(len(meta))...), meta...)
	body = append(body, slices.Repeat([]byte{0xff}, (len(ft.cols)+7)/8)...) // all nullable
	return binlogEvent(replication.TABLE_MAP_EVENT, body)
}

// le is v in n little-endian bytes.
func le(n int, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(nil, v)[:n]
}

// lenenc is n as a length-encoded integer.
func lenenc(n int) []byte { return mysql.PutLengthEncodedInt(uint64(n)) }

// binlogEvent is an event of type tp: a common header, then body (no
// checksum).
func binlogEvent(tp replication.EventType, body []byte) []byte {
	h := le(4, 1700000000)
	h = append(h, byte(tp))
	h = append(h, le(4, 1)...)                    // server id
	h = append(h, le(4, uint64(19+len(body)))...) // event size
	h = append(h, le(4, 0)...)                    // log position
	h = append(h, 0, 0)                           // flags
	return append(h, body...)
}

// formatDescription is a MySQL 9.7 FORMAT_DESCRIPTION_EVENT without
// checksums: 6-byte table ids, version-2 rows events.
func formatDescription() []byte {
	body := append([]byte{4, 0}, append([]byte("9.7.4"), make([]byte, 45)...)...)
	body = append(body, 0, 0, 0, 0, 19)
	lengths := slices.Repeat([]byte{8}, 42)
	for _, tp := range []replication.EventType{replication.WRITE_ROWS_EVENTv2, replication.UPDATE_ROWS_EVENTv2,
		replication.DELETE_ROWS_EVENTv2, replication.PARTIAL_UPDATE_ROWS_EVENT} {
		lengths[tp-1] = 10
	}
	body = append(append(body, lengths...), byte(replication.BINLOG_CHECKSUM_ALG_OFF), 0, 0, 0, 0)
	return binlogEvent(replication.FORMAT_DESCRIPTION_EVENT, body)
}

// rowsEvent is a rows event of type tp on table 1 with ncols columns, the
// given column bitmaps (bitmap2 for updates) and row images; it ends the
// statement.
func rowsEvent(tp replication.EventType, ncols int, bitmap1, bitmap2, rows []byte) []byte {
	body := append(le(6, 1), 1, 0) // table id, STMT_END_F
	if tp >= replication.WRITE_ROWS_EVENTv2 {
		body = append(body, 2, 0) // no extra data
	}
	body = append(append(body, lenenc(ncols)...), bitmap1...)
	body = append(append(body, bitmap2...), rows...)
	return binlogEvent(tp, body)
}

// rowImage is an image: null bits, then the values of the columns not
// NULL.
func rowImage(nulls []bool, vals ...[]byte) []byte {
	bits := make([]byte, (len(nulls)+7)/8)
	for i, null := range nulls {
		if null {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return slices.Concat(append([][]byte{bits}, vals...)...)
}

// partialAfter is a partial update's after image: value_options 1 and the
// partial bits, then image.
func partialAfter(partial []bool, image []byte) []byte {
	bits := make([]byte, (len(partial)+7)/8)
	for i, p := range partial {
		if p {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return slices.Concat([]byte{1}, bits, image)
}

// jsonColumn is a JSON column's value: a 4-byte length, then doc.
func jsonColumn(doc []byte) []byte { return append(le(4, uint64(len(doc))), doc...) }

// diffVector is a partial JSON column's value: a 4-byte length, then the
// diffs.
func diffVector(diffs ...[]byte) []byte { return jsonColumn(slices.Concat(diffs...)) }

// diff is one encoded diff; value is nil for a remove.
func diff(op replication.JsonDiffOperation, path string, value []byte) []byte {
	b := append(append([]byte{byte(op)}, lenenc(len(path))...), path...)
	if op == replication.JsonDiffOperationRemove {
		return b
	}
	return append(append(b, lenenc(len(value))...), value...)
}

// parseFakeBinlog parses a format description event, then events, with a
// parser set up as the source's syncer is (RenderJSONAsMySQLText), using
// decode as its RowsEventDecodeFunc when it is not nil.
func parseFakeBinlog(t *testing.T, decode func(*replication.RowsEvent, []byte) error, events ...[]byte) []*replication.BinlogEvent {
	t.Helper()
	evs, err := parseFakeBinlogE(decode, events...)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// parseFakeBinlogE is parseFakeBinlog returning the first error.
func parseFakeBinlogE(decode func(*replication.RowsEvent, []byte) error, events ...[]byte) ([]*replication.BinlogEvent, error) {
	p := replication.NewBinlogParser()
	p.SetFlavor(mysql.MySQLFlavor)
	p.SetRenderJSONAsMySQLText(true)
	p.SetRowsEventDecodeFunc(decode)
	return parseEvents(p, events...)
}

// parseEvents parses events with p after a format description.
func parseEvents(p *replication.BinlogParser, events ...[]byte) ([]*replication.BinlogEvent, error) {
	var evs []*replication.BinlogEvent
	for _, data := range append([][]byte{formatDescription()}, events...) {
		ev, err := p.Parse(data)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// wideTable has a column of every kind a MySQL row image holds, three of
// them JSON (7, 9 and 24).
func wideTable() fakeTable {
	return fakeTable{cols: []fakeColumn{
		{mysql.MYSQL_TYPE_LONG, nil, le(4, 1)},
		{mysql.MYSQL_TYPE_VARCHAR, le(2, 1200), append(le(2, 3), "abc"...)}, // VARCHAR(300) utf8mb4
		{mysql.MYSQL_TYPE_NEWDECIMAL, []byte{10, 2}, decimalBin("12.50", 10, 2)},
		{mysql.MYSQL_TYPE_DATETIME2, []byte{3}, []byte{0x99, 0xb2, 0x3e, 0xc8, 0xb8, 0x01, 0xf4}},
		{mysql.MYSQL_TYPE_BLOB, []byte{2}, append(le(2, 2), 0, 1)},
		{mysql.MYSQL_TYPE_STRING, []byte{mysql.MYSQL_TYPE_ENUM, 1}, []byte{2}},
		{mysql.MYSQL_TYPE_STRING, []byte{mysql.MYSQL_TYPE_STRING, 40}, append([]byte{2}, "hi"...)}, // CHAR(10) utf8mb4
		{mysql.MYSQL_TYPE_JSON, []byte{4}, jsonColumn(jbObject(false, "a", jbInt(jsonbInt16, 1)).doc())},
		{mysql.MYSQL_TYPE_BIT, []byte{1, 1}, []byte{1, 0xff}}, // BIT(9)
		{mysql.MYSQL_TYPE_JSON, []byte{4}, jsonColumn(jbArray(false, jbInt(jsonbInt16, 1)).doc())},
		{mysql.MYSQL_TYPE_VARCHAR, le(2, 20), append([]byte{1}, 'x')},
		{mysql.MYSQL_TYPE_STRING, []byte{0xee, 0x90}, append(le(2, 2), "yz"...)}, // CHAR(100) utf8mb4: 400 bytes
		{mysql.MYSQL_TYPE_STRING, []byte{mysql.MYSQL_TYPE_SET, 2}, le(2, 5)},
		{mysql.MYSQL_TYPE_TIME2, []byte{6}, []byte{0x80, 0xd3, 0xcf, 0x00, 0x00, 0x01}},
		{mysql.MYSQL_TYPE_TIMESTAMP2, []byte{0}, []byte{0x65, 0x00, 0x00, 0x01}},
		{mysql.MYSQL_TYPE_YEAR, nil, []byte{124}},
		{mysql.MYSQL_TYPE_DATE, nil, le(3, 2024*16*32+1*32+31)},
		{mysql.MYSQL_TYPE_DOUBLE, []byte{8}, le(8, 0x3ff8000000000000)},
		{mysql.MYSQL_TYPE_FLOAT, []byte{4}, le(4, 0x3fc00000)},
		{mysql.MYSQL_TYPE_TINY, nil, []byte{7}},
		{mysql.MYSQL_TYPE_SHORT, nil, le(2, 7)},
		{mysql.MYSQL_TYPE_INT24, nil, le(3, 7)},
		{mysql.MYSQL_TYPE_LONGLONG, nil, le(8, 7)},
		{mysql.MYSQL_TYPE_GEOMETRY, []byte{4}, append(le(4, 3), 1, 2, 3)},
		{mysql.MYSQL_TYPE_JSON, []byte{4}, jsonColumn(jbLit(jsonbTrue).doc())},
		{mysql.MYSQL_TYPE_VECTOR, []byte{4}, append(le(4, 4), 0, 0, 0x80, 0x3f)},
		{mysql.MYSQL_TYPE_TIMESTAMP2, []byte{5}, []byte{0x65, 0x00, 0x00, 0x01, 0, 0, 1}},
		{mysql.MYSQL_TYPE_VARCHAR, le(2, 256), append(le(2, 1), 'w')}, // VARCHAR(64) utf8mb4: 256 bytes
		{mysql.MYSQL_TYPE_VARCHAR, le(2, 255), append([]byte{1}, 'w')},
		{mysql.MYSQL_TYPE_STRING, []byte{0xee, 0x00}, append(le(2, 1), 'w')},  // CHAR(64) utf8mb4
		{mysql.MYSQL_TYPE_STRING, []byte{0xfe, 0xff}, append([]byte{1}, 'w')}, // CHAR(255) latin1
	}}
}

// values returns the table's values, with those of the columns in
// replace changed.
func (ft fakeTable) values(replace map[int][]byte) [][]byte {
	vals := make([][]byte, len(ft.cols))
	for i, c := range ft.cols {
		vals[i] = c.value
		if v, ok := replace[i]; ok {
			vals[i] = v
		}
	}
	return vals
}

// present returns the values of the columns whose bit is set in bitmap
// and that are not NULL, and the null bits of those whose bit is set.
func present(vals [][]byte, bitmap []byte, nulls map[int]bool) ([]bool, [][]byte) {
	var nullBits []bool
	var out [][]byte
	for i, v := range vals {
		if !bitSet(bitmap, i) {
			continue
		}
		nullBits = append(nullBits, nulls[i])
		if !nulls[i] {
			out = append(out, v)
		}
	}
	return nullBits, out
}

// partialUpdate is a PARTIAL_UPDATE_ROWS_EVENT of wideTable with three
// rows: column 7 partial with three diffs and column 9 with none; no
// partial column (value_options 0) and NULLs; column 7 NULL and 9 partial
// with a remove. The after images leave out columns 4 and 11.
func partialUpdate(t *testing.T) []byte {
	t.Helper()
	ft := wideTable()
	n := len(ft.cols)
	all := slices.Repeat([]byte{0xff}, (n+7)/8)
	after := slices.Clone(all)
	after[0] &^= 1 << 4
	after[1] &^= 1 << 3
	image := func(bitmap []byte, vals [][]byte, nulls map[int]bool) []byte {
		nb, v := present(vals, bitmap, nulls)
		return rowImage(nb, v...)
	}
	v1 := diffVector(
		diff(replication.JsonDiffOperationReplace, "$.a", jbInt(jsonbInt16, 3).doc()),
		diff(replication.JsonDiffOperationInsert, `$."c d"`, jbObject(false, "x", jbDouble(2.5e300)).doc()),
		diff(replication.JsonDiffOperationRemove, "$.bb[1]", nil))
	v3 := diffVector(diff(replication.JsonDiffOperationRemove, "$[0]", nil))
	var rows []byte
	rows = append(rows, image(all, ft.values(nil), nil)...)
	rows = append(rows, partialAfter([]bool{true, true, false}, image(after, ft.values(map[int][]byte{7: v1, 9: diffVector()}), nil))...)
	nulls := map[int]bool{2: true, 9: true, 25: true}
	rows = append(rows, image(all, ft.values(nil), nulls)...)
	rows = append(rows, 0) // value_options 0: no partial bits
	rows = append(rows, image(after, ft.values(map[int][]byte{0: le(4, 2)}), nulls)...)
	rows = append(rows, image(all, ft.values(nil), nil)...)
	rows = append(rows, partialAfter([]bool{false, true, false}, image(after, ft.values(map[int][]byte{9: v3}), map[int]bool{7: true}))...)
	return rowsEvent(replication.PARTIAL_UPDATE_ROWS_EVENT, n, all, after, rows)
}

// TestDecodeRowsEventPartialUpdate reads a hand-built partial update of a
// table with every column type through go-mysql's parser and checks that
// each partial column holds its whole diff vector and that every other
// value is go-mysql's own.
func TestDecodeRowsEventPartialUpdate(t *testing.T) {
	ft, ev := wideTable(), partialUpdate(t)
	got := parseFakeBinlog(t, decodeRowsEvent, ft.tableMap(), ev)[2].Event.(*replication.RowsEvent)
	base := parseFakeBinlog(t, nil, ft.tableMap(), ev)[2].Event.(*replication.RowsEvent)
	if len(got.Rows) != 6 || len(base.Rows) != 6 {
		t.Fatalf("%d and %d images, want 6", len(got.Rows), len(base.Rows))
	}
	want := map[[2]int]any{
		{1, 7}: []*replication.JsonDiff{replaceDiff("$.a", "3"), insertDiff(`$."c d"`, `{"x":2.5e300}`), removeDiff("$.bb[1]")},
		{1, 9}: []*replication.JsonDiff{},
		{5, 9}: []*replication.JsonDiff{removeDiff("$[0]")},
	}
	if d, ok := base.Rows[1][7].(*replication.JsonDiff); !ok || d.Path != "$.a" {
		t.Errorf("go-mysql alone gives %v for the first partial column, the first diff only", base.Rows[1][7])
	}
	for i, row := range got.Rows {
		for c, v := range row {
			w, ok := want[[2]int{i, c}]
			if !ok {
				w = base.Rows[i][c]
			}
			if !reflect.DeepEqual(v, w) {
				t.Errorf("image %d column %d: got %#v, want %#v", i, c, v, w)
			}
		}
	}
	if got.Rows[1][4] != nil || got.Rows[3][2] != nil {
		t.Errorf("absent and NULL columns hold %v, %v", got.Rows[1][4], got.Rows[3][2])
	}
}

// TestDecodeRowsEventCorrupt checks that a partial update this reader
// cannot walk fails instead of passing go-mysql's partial values on.
func TestDecodeRowsEventCorrupt(t *testing.T) {
	jsonOnly := fakeTable{cols: []fakeColumn{{mysql.MYSQL_TYPE_LONG, nil, nil}, {mysql.MYSQL_TYPE_JSON, []byte{4}, nil}}}
	before := rowImage([]bool{false, false}, le(4, 1), jsonColumn(jbObject(false, "a", jbInt(jsonbInt16, 1)).doc()))
	update := func(after []byte) []byte {
		return rowsEvent(replication.PARTIAL_UPDATE_ROWS_EVENT, 2, []byte{3}, []byte{3}, append(slices.Clone(before), after...))
	}
	valid := diff(replication.JsonDiffOperationReplace, "$.a", jbInt(jsonbInt16, 2).doc())
	tests := []struct {
		name  string
		after []byte
	}{
		{"bad value", partialAfter([]bool{true}, rowImage([]bool{false, false}, le(4, 1),
			diffVector(valid, diff(replication.JsonDiffOperationReplace, "$.b", []byte{0x0d}))))},
		{"unknown operation in a later diff", partialAfter([]bool{true}, rowImage([]bool{false, false}, le(4, 1),
			diffVector(valid, []byte{3, 3, '$', '.', 'b'})))},
		{"a path past the vector", partialAfter([]bool{true}, rowImage([]bool{false, false}, le(4, 1),
			diffVector(valid, []byte{2, 9, '$'})))},
		{"unknown value options", slices.Concat([]byte{2}, rowImage([]bool{false, false}, le(4, 1), jsonColumn(jbLit(jsonbNull).doc())))},
	}
	for _, tc := range tests {
		_, err := parseFakeBinlogE(decodeRowsEvent, jsonOnly.tableMap(), update(tc.after))
		if err == nil || !strings.Contains(err.Error(), "partial update of d.t") {
			t.Errorf("%s: %v, want an error about the partial update", tc.name, err)
		}
	}
	if _, err := parseFakeBinlogE(decodeRowsEvent, jsonOnly.tableMap(),
		update(partialAfter([]bool{true}, rowImage([]bool{false, false}, le(4, 1), diffVector(valid))))); err != nil {
		t.Errorf("the valid update: %v", err)
	}
}

// TestIsPartialUpdateMatchesTheParser pins isPartialUpdate's reading of
// go-mysql: of the rows events its parser makes, only a
// PARTIAL_UPDATE_ROWS_EVENT has Type() Unknown and an after image bitmap.
func TestIsPartialUpdateMatchesTheParser(t *testing.T) {
	ft := fakeTable{cols: []fakeColumn{{mysql.MYSQL_TYPE_LONG, nil, nil}}}
	image := rowImage([]bool{false}, le(4, 1))
	for _, tp := range []replication.EventType{
		replication.WRITE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv1,
		replication.WRITE_ROWS_EVENTv2, replication.UPDATE_ROWS_EVENTv2, replication.DELETE_ROWS_EVENTv2,
		replication.PARTIAL_UPDATE_ROWS_EVENT,
	} {
		var bitmap2, rows []byte
		switch tp {
		case replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2:
			bitmap2, rows = []byte{1}, slices.Concat(image, image)
		case replication.PARTIAL_UPDATE_ROWS_EVENT:
			bitmap2, rows = []byte{1}, slices.Concat(image, []byte{0}, image)
		default:
			rows = image
		}
		evs := parseFakeBinlog(t, decodeRowsEvent, ft.tableMap(), rowsEvent(tp, 1, []byte{1}, bitmap2, rows))
		e := evs[2].Event.(*replication.RowsEvent)
		if got, want := isPartialUpdate(e), tp == replication.PARTIAL_UPDATE_ROWS_EVENT; got != want {
			t.Errorf("%s: isPartialUpdate %v, want %v (Type %s)", tp, got, want, e.Type())
		}
	}
}

// TestDecodeRowsEventCompressed reads the partial update inside a
// TRANSACTION_PAYLOAD_EVENT (zstd, raw blocks) and checks that the parser
// go-mysql clones for the payload used decodeRowsEvent too.
func TestDecodeRowsEventCompressed(t *testing.T) {
	ft := wideTable()
	payload := slices.Concat(ft.tableMap(), partialUpdate(t))
	body := slices.Concat([]byte{1, 8}, le(8, uint64(len(payload))), // OTW_PAYLOAD_SIZE_FIELD
		[]byte{2, 1, 0},                           // OTW_PAYLOAD_COMPRESSION_TYPE_FIELD: ZSTD
		[]byte{3, 8}, le(8, uint64(len(payload))), // OTW_PAYLOAD_UNCOMPRESSED_SIZE_FIELD
		[]byte{0}, zstdRaw(payload)) // OTW_PAYLOAD_HEADER_END_MARK, the payload
	evs := parseFakeBinlog(t, decodeRowsEvent, binlogEvent(replication.TRANSACTION_PAYLOAD_EVENT, body))
	tpe := evs[1].Event.(*replication.TransactionPayloadEvent)
	if len(tpe.Events) != 2 {
		t.Fatalf("%d events in the payload, want 2", len(tpe.Events))
	}
	rows := tpe.Events[1].Event.(*replication.RowsEvent).Rows
	if diffs, ok := rows[1][7].([]*replication.JsonDiff); !ok || len(diffs) != 3 {
		t.Errorf("the compressed partial update's column holds %#v, want 3 diffs", rows[1][7])
	}
}

// zstdRaw is b as a zstd frame of raw (stored) blocks: the format's
// magic, a single-segment header with a 4-byte content size, then blocks
// of at most 128 KiB.
func zstdRaw(b []byte) []byte {
	out := slices.Concat(le(4, 0xFD2FB528), []byte{0xa0}, le(4, uint64(len(b))))
	for {
		n := min(len(b), 128<<10)
		last := uint64(0)
		if n == len(b) {
			last = 1
		}
		out = append(append(out, le(3, uint64(n)<<3|last)...), b[:n]...)
		if b = b[n:]; len(b) == 0 {
			return out
		}
	}
}

// TestEncodedSize checks the size of a value of every column type, and
// errors for truncated images and unknown types.
func TestEncodedSize(t *testing.T) {
	for _, c := range wideTable().cols {
		meta := uint16(0)
		switch len(c.meta) {
		case 1:
			meta = uint16(c.meta[0])
		case 2:
			if c.tp == mysql.MYSQL_TYPE_STRING || c.tp == mysql.MYSQL_TYPE_NEWDECIMAL {
				meta = uint16(c.meta[0])<<8 | uint16(c.meta[1])
			} else {
				meta = binary.LittleEndian.Uint16(c.meta)
			}
		}
		data := append(slices.Clone(c.value), 0xee, 0xee) // bytes of the next column
		if n, err := encodedSize(c.tp, meta, data); err != nil || n != len(c.value) {
			t.Errorf("type %d meta %#x: %d, %v; want %d", c.tp, meta, n, err, len(c.value))
		}
		if !fixedType(c.tp, meta) { // a length prefix claiming more than is left
			if _, err := encodedSize(c.tp, meta, c.value[:len(c.value)-1]); !errors.Is(err, errShortRowImage) {
				t.Errorf("type %d meta %#x cut short: %v, want errShortRowImage", c.tp, meta, err)
			}
		}
	}
	if _, err := encodedSize(mysql.MYSQL_TYPE_NEWDATE, 0, nil); err == nil {
		t.Error("no error for NEWDATE")
	}
	if _, err := encodedSize(mysql.MYSQL_TYPE_NEWDECIMAL, 2<<8|3, nil); err == nil {
		t.Error("no error for DECIMAL(2,3)")
	}
	if _, err := encodedSize(mysql.MYSQL_TYPE_BLOB, 5, make([]byte, 8)); err == nil {
		t.Error("no error for a 5-byte BLOB length")
	}
}

// fixedType reports whether fixedSize alone gives the size of type tp.
func fixedType(tp byte, meta uint16) bool {
	if tp == mysql.MYSQL_TYPE_STRING {
		tp, _ = stringType(meta)
	}
	_, ok := fixedSize(tp, meta)
	return ok
}

// TestReadLenenc checks length-encoded integers of every size and the bad
// first bytes.
func TestReadLenenc(t *testing.T) {
	for _, v := range []uint64{0, 250, 251, 65535, 65536, 1<<24 - 1, 1 << 24, 1<<64 - 1} {
		b := mysql.PutLengthEncodedInt(v)
		got, n, err := readLenenc(append(b, 9))
		if err != nil || got != v || n != len(b) {
			t.Errorf("%d: %d, %d, %v", v, got, n, err)
		}
		if _, _, err := readLenenc(b[:len(b)-1]); err == nil {
			t.Errorf("%d: no error when cut short", v)
		}
	}
	for _, b := range []byte{0xfb, 0xff} {
		if _, _, err := readLenenc([]byte{b, 0, 0, 0}); err == nil {
			t.Errorf("0x%02x: no error", b)
		}
	}
	if _, _, err := lenencBytes([]byte{3, 'a'}); !errors.Is(err, errShortRowImage) {
		t.Errorf("bytes past the end: %v", err)
	}
}

// binlogEnd returns the position at the end of conn's server's binlog.
func binlogEnd(t *testing.T, conn *client.Conn) mysql.Position {
	t.Helper()
	res, err := conn.Execute("SHOW BINARY LOG STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	file, _ := res.GetString(0, 0)
	pos, _ := res.GetInt(0, 1)
	return mysql.Position{Name: file, Pos: uint32(pos)}
}

// liveBinlog streams db's binlog from pos with a syncer set up as the
// source's is (Flavor mysql, RenderJSONAsMySQLText) and decode as its
// RowsEventDecodeFunc.
func liveBinlog(t *testing.T, db *testenv.DB, serverID uint32, pos mysql.Position,
	decode func(*replication.RowsEvent, []byte) error,
) *replication.BinlogStreamer {
	t.Helper()
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: serverID, Flavor: mysql.MySQLFlavor, Host: db.Host, Port: uint16(db.Port),
		User: testenv.DBUser, Password: testenv.DBPassword, Logger: slog.New(slog.DiscardHandler),
		RenderJSONAsMySQLText: true, RowsEventDecodeFunc: decode,
	})
	t.Cleanup(syncer.Close)
	stream, err := syncer.StartSync(pos)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

// liveEvents returns the events of stream up to the nth XID, with those
// of transaction payloads in their place; compressed counts the payloads.
func liveEvents(t *testing.T, stream *replication.BinlogStreamer, n int) (evs []*replication.BinlogEvent, compressed int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for xids := 0; xids < n; {
		ev, err := stream.GetEvent(ctx)
		if err != nil {
			t.Fatalf("reading the binlog after %d transactions: %v", xids, err)
		}
		inner := []*replication.BinlogEvent{ev}
		if p, ok := ev.Event.(*replication.TransactionPayloadEvent); ok {
			inner, compressed = p.Events, compressed+1
		}
		for _, e := range inner {
			if _, ok := e.Event.(*replication.XIDEvent); ok {
				xids++
			}
		}
		evs = append(evs, inner...)
	}
	return evs, compressed
}

// selectJSON returns the compact text of columns j1 and j2 of p.t by id.
func selectJSON(t *testing.T, conn *client.Conn) map[int32][2]string {
	t.Helper()
	res, err := conn.Execute("SELECT id, j1, j2 FROM p.t")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	docs := map[int32][2]string{}
	for i := range res.RowNumber() {
		id, _ := res.GetInt(i, 0)
		j1, _ := res.GetString(i, 1)
		j2, _ := res.GetString(i, 2)
		docs[int32(id)] = [2]string{compactJSON(t, j1), compactJSON(t, j2)}
	}
	return docs
}

// TestPartialJSONLive updates the JSON columns of a table with columns of
// many types on MySQL with binlog_row_value_options=PARTIAL_JSON, one
// statement a transaction (the last one compressed): several paths of
// JSON_SET, JSON_REPLACE and JSON_REMOVE, both JSON columns and others at
// once, several rows at once. It reads the binlog with decodeRowsEvent,
// applies each after image's diffs to its before image and checks the
// documents against SELECT's after each statement.
func TestPartialJSONLive(t *testing.T) {
	db := testenv.StartMySQL(t)
	conn := db.Conn(t)
	const j1 = `{"a": 1, "n": 1.5, "bb": [1, 2, 3], "zz": "a long string value to keep diffs the smaller", "c d": {"x": "y"}}`
	const j2 = `[{"k": 1}, "second", [1, 2], "another long string value to keep diffs the smaller"]`
	db.Exec(t, "CREATE DATABASE p",
		`CREATE TABLE p.t (id INT PRIMARY KEY, v VARCHAR(300) CHARACTER SET utf8mb4, d DECIMAL(10,2),
			dt DATETIME(3), b BLOB, e ENUM('x','y','z'), c CHAR(10), j1 JSON, bits BIT(9), j2 JSON)`,
		`INSERT INTO p.t VALUES
			(1, 'ünïcode', 12.50, '2024-01-31 12:34:56.789', x'00ff', 'y', 'char', '`+j1+`', b'101', '`+j2+`'),
			(2, REPEAT('v', 300), -1.25, '2000-02-29 00:00:00', NULL, 'z', NULL, '`+j1+`', b'111111111', '`+j2+`'),
			(3, NULL, NULL, NULL, REPEAT('b', 1000), NULL, 'c', '`+j1+`', NULL, '`+j2+`')`)
	pos := binlogEnd(t, conn)
	stmts := []string{
		`UPDATE p.t SET j1 = JSON_SET(j1, '$.a', 3, '$.bb[1]', 20) WHERE id = 1`,
		`UPDATE p.t SET j1 = JSON_REPLACE(j1, '$.n', 2.5, '$."c d".x', 'z"q') WHERE id = 1`,
		`UPDATE p.t SET j1 = JSON_REMOVE(j1, '$.bb[0]', '$."c d"') WHERE id = 1`,
		`UPDATE p.t SET j1 = JSON_SET(j1, '$.new', CAST(1.50 AS DECIMAL(5,2)), '$.a', -4), j2 = JSON_REPLACE(j2, '$[1]', 'first'),
			v = 'changed', d = d + 1, dt = NOW(3) WHERE id = 2`,
		`UPDATE p.t SET j2 = JSON_SET(j2, '$[0].k', 7, '$[0].m', 1.0, '$[last]', 'tail'), bits = b'101010101'`,
		`UPDATE p.t SET j1 = JSON_REMOVE(j1, '$.nope'), j2 = JSON_SET(j2, '$[2][0]', JSON_OBJECT('d', DATE'2024-01-31')), c = 'cc' WHERE id = 3`,
		`UPDATE p.t SET j1 = JSON_SET(j1, '$.a', 6, '$.bb[last]', 21, '$.t', TIME'13:14:15', '$.s', 'é\n'), e = 'x' WHERE id IN (1, 3)`,
	}
	if _, err := conn.Execute("SET SESSION binlog_row_value_options = PARTIAL_JSON"); err != nil {
		t.Fatal(err)
	}
	want := make([]map[int32][2]string, len(stmts))
	for i, stmt := range stmts {
		if i == len(stmts)-1 {
			if _, err := conn.Execute("SET SESSION binlog_transaction_compression = ON"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := conn.Execute(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		want[i] = selectJSON(t, conn)
	}
	evs, compressed := liveEvents(t, liveBinlog(t, db, 7101, pos, decodeRowsEvent), len(stmts))
	if compressed != 1 {
		t.Errorf("%d compressed transactions, want 1", compressed)
	}
	checkPartialEvents(t, evs, stmts, want)
}

// checkPartialEvents checks the rows events of each statement's
// transaction in evs against the documents SELECT returned after it.
func checkPartialEvents(t *testing.T, evs []*replication.BinlogEvent, stmts []string, want []map[int32][2]string) {
	t.Helper()
	stmt, longest, empty := 0, 0, 0
	for _, ev := range evs {
		switch e := ev.Event.(type) {
		case *replication.XIDEvent:
			stmt++
		case *replication.RowsEvent:
			if !isPartialUpdate(e) {
				t.Errorf("%s: a %s rows event, not a partial update", stmts[stmt], ev.Header.EventType)
			}
			for i := 0; i+1 < len(e.Rows); i += 2 {
				id := e.Rows[i+1][0].(int32)
				for k, col := range []int{7, 9} {
					got, n := afterDocument(t, e.Rows[i][col], e.Rows[i+1][col])
					longest = max(longest, n)
					if v, ok := e.Rows[i+1][col].([]*replication.JsonDiff); ok && len(v) == 0 {
						empty++
					}
					if got != want[stmt][id][k] {
						t.Errorf("%s: row %d column %d: got %s, SELECT says %s", stmts[stmt], id, col+1, got, want[stmt][id][k])
					}
				}
			}
		}
	}
	if longest < 3 {
		t.Errorf("the longest diff vector had %d diffs, want several", longest)
	}
	// MySQL marks every JSON column of the after image partial, with no
	// diffs for one the statement left alone: go-mysql gives those as an
	// empty []byte, which reads as JSON null rather than "unchanged".
	if empty == 0 {
		t.Error("no empty diff vector: the JSON columns a statement leaves alone are expected to have one")
	}
}

// afterDocument returns the document of an after image's JSON value, as
// compact text, applying its diffs to the before image's document, and
// the number of diffs.
func afterDocument(t *testing.T, before, after any) (string, int) {
	t.Helper()
	switch v := after.(type) {
	case string:
		return compactJSON(t, v), 0
	case []*replication.JsonDiff:
		doc, err := applyJSONDiffs([]byte(before.(string)), v)
		if err != nil {
			t.Fatalf("applying %v to %s: %v", v, before, err)
		}
		return string(doc), len(v)
	}
	t.Fatalf("an after image's JSON value is %T %v", after, after)
	return "", 0
}
