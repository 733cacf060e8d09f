package events

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// benchChange is a typical insert: 8 columns of ints, varchar, decimal,
// datetime and a NULL.
func benchChange() *Change {
	return &Change{
		Op: OpCreate, TsMs: 1706704496123, DB: "shop", Table: "orders",
		Columns: []string{"id", "customer_id", "status", "email", "amount", "created_at", "shipped_at", "qty"},
		Key:     []int{0},
		After: []any{int64(1234567), uint64(98765), "PAID", "jane.doe@example.com", "1234.50",
			"2024-01-31T12:34:56.123456", nil, int64(3)},
		Source: Source{Flavor: "mariadb", ServerID: 1, File: "mysql-bin.000042", Pos: 123456789,
			GTID: "0-1-4242", Row: 0, TsMs: 1706704496000},
		Tx: Tx{ID: "0-1-4242", Seq: 0},
	}
}

// benchMinimalChange is benchChange as an update under binlog_row_image
// MINIMAL: before holds the key, after the one column the statement set.
func benchMinimalChange() *Change {
	c := benchChange()
	c.Op, c.Source.Image = OpUpdate, ImageMinimal
	c.Before = make([]any, len(c.Columns))
	for i := range c.Before {
		c.Before[i] = Absent
	}
	c.Before[0] = c.After[0]
	for i := range c.After {
		if i != 2 {
			c.After[i] = Absent
		}
	}
	return c
}

func benchmarkAppend(b *testing.B, format string, ch *Change) {
	codec, err := NewCodec(format)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = codec.Append(buf[:0], ch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkMsgpackAppend(b *testing.B) { benchmarkAppend(b, FormatMsgpack, benchChange()) }

func BenchmarkJSONAppend(b *testing.B) { benchmarkAppend(b, FormatJSON, benchChange()) }

func BenchmarkMsgpackAppendMinimal(b *testing.B) {
	benchmarkAppend(b, FormatMsgpack, benchMinimalChange())
}

func BenchmarkJSONAppendMinimal(b *testing.B) { benchmarkAppend(b, FormatJSON, benchMinimalChange()) }

// BenchmarkMsgpackEncoderLib encodes the same envelope with the library's
// Encoder on a reusable writer: the alternative to the append-style writers
// of mpwrite.go, kept to show why they were chosen.
func BenchmarkMsgpackEncoderLib(b *testing.B) {
	ch := benchChange()
	w := &appendWriter{}
	enc := msgpack.NewEncoder(w)
	b.ReportAllocs()
	for b.Loop() {
		w.b = w.b[:0]
		if err := libEncodeRow(enc, ch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(w.b)))
}

// TestLibraryEncoderSameBytes checks that the codec writes the same bytes
// as the library's Encoder for the benchmark row.
func TestLibraryEncoderSameBytes(t *testing.T) {
	ch := benchChange()
	w := &appendWriter{}
	if err := libEncodeRow(msgpack.NewEncoder(w), ch); err != nil {
		t.Fatal(err)
	}
	got, err := bothCodecs(t)[0].Append(nil, ch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w.b) {
		t.Errorf("codec and library differ:\n got % x\nwant % x", got, w.b)
	}
}

// appendWriter is an io.Writer and io.ByteWriter appending to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

// libEncodeRow writes the envelope of a row change whose values are nil,
// int64, uint64 or string, with the library's Encoder.
func libEncodeRow(e *msgpack.Encoder, c *Change) error {
	_ = e.EncodeMapLen(7)
	libStrs(e, "op", string(c.Op), "ts_ms")
	_ = e.EncodeInt(c.TsMs)
	libStrs(e, "before")
	_ = e.EncodeNil()
	libStrs(e, "after")
	_ = e.EncodeMapLen(len(c.Columns))
	for i, col := range c.Columns {
		libStrs(e, col)
		switch v := c.After[i].(type) {
		case nil:
			_ = e.EncodeNil()
		case int64:
			_ = e.EncodeInt(v)
		case uint64:
			_ = e.EncodeUint(v)
		case string:
			_ = e.EncodeString(v)
		}
	}
	libStrs(e, "key")
	_ = e.EncodeMapLen(1)
	libStrs(e, c.Columns[0])
	_ = e.EncodeInt(c.After[0].(int64))
	s := &c.Source
	libStrs(e, "source")
	_ = e.EncodeMapLen(10)
	libStrs(e, "flavor", s.Flavor, "server_id")
	_ = e.EncodeUint(uint64(s.ServerID))
	libStrs(e, "file", s.File, "pos")
	_ = e.EncodeUint(uint64(s.Pos))
	libStrs(e, "gtid", s.GTID, "row")
	_ = e.EncodeInt(int64(s.Row))
	libStrs(e, "ts_ms")
	_ = e.EncodeInt(s.TsMs)
	libStrs(e, "snapshot")
	_ = e.EncodeBool(s.Snapshot)
	libStrs(e, "db", c.DB, "table", c.Table, "tx")
	_ = e.EncodeMapLen(2)
	libStrs(e, "id", c.Tx.ID, "seq")
	return e.EncodeInt(c.Tx.Seq)
}

// libStrs writes each of ss as a msgpack str.
func libStrs(e *msgpack.Encoder, ss ...string) {
	for _, s := range ss {
		_ = e.EncodeString(s)
	}
}

// TestAppendAllocs keeps the hot path free of allocations, for full and
// partial images.
func TestAppendAllocs(t *testing.T) {
	ch := benchChange()
	ch.After[3] = JSON(`{"b":1,"a":[1,2.5,"x\n",null,true]}`) // scratch buffers too
	mixed := benchMinimalChange()
	mixed.Key = []int{0, 2} // neither image has both: a key column by column
	for _, ch := range []*Change{ch, benchMinimalChange(), mixed} {
		for _, codec := range bothCodecs(t) {
			buf, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(100, func() {
				buf, _ = codec.Append(buf[:0], ch)
			})
			if allocs != 0 {
				t.Errorf("%s, image %q: %v allocations per Append, want 0", codec.Format(), ch.Source.Image, allocs)
			}
		}
	}
}
