package source

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
)

func TestCheckpointRoundTrip(t *testing.T) {
	tests := []Checkpoint{
		{},
		{File: "binlog.000042", Pos: 4294967295, GTID: "0-1-7,1-2-9", TxRows: 12345},
		{Seq: 99},
	}
	for _, c := range tests {
		m := map[string]string{}
		f := c.Fields()
		for i := 0; i < len(f); i += 2 {
			m[f[i]] = f[i+1]
		}
		got, err := ParseCheckpoint(m)
		if err != nil || got != c {
			t.Errorf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
	for _, bad := range []map[string]string{{"pos": "x"}, {"pos": "4294967296"}, {"tx_rows": "-1"}, {"seq": "1.5"}} {
		if _, err := ParseCheckpoint(bad); err == nil {
			t.Errorf("ParseCheckpoint(%v) succeeded", bad)
		}
	}
	if s := (Checkpoint{File: "b.1", Pos: 4, TxRows: 2, GTID: "0-1-5"}).String(); s != "b.1:4+2 rows gtid 0-1-5" {
		t.Errorf("String() = %q", s)
	}
}

func TestGTIDState(t *testing.T) {
	tests := []struct {
		flavor, from string
		txs          []string
		want         string
	}{
		{"mariadb", "0-1-5, 2-3-7", []string{"0-1-6"}, "0-1-6,2-3-7"},
		{"mariadb", "", []string{"0-9-1", "", "0-9-2"}, "0-9-2"},
		{"mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", []string{"3e11fa47-71ca-11e1-9e33-c80aa9429562:6"},
			"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6"},
		{"mysql", "", []string{"3e11fa47-71ca-11e1-9e33-c80aa9429562:1"}, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1"},
	}
	for _, tt := range tests {
		var g gtidState
		g.parse(tt.flavor, tt.from)
		for _, tx := range tt.txs {
			g.begin(tx)
			g.commit()
		}
		if g.text != tt.want {
			t.Errorf("%s from %q after %v: %q, want %q", tt.flavor, tt.from, tt.txs, g.text, tt.want)
		}
	}
}

func TestConvertValues(t *testing.T) {
	ti := &tableInfo{
		columns: []string{"i", "u", "bit", "yr", "dt", "ts", "tm", "en", "st", "tx", "bn", "js", "n"},
		kinds: []kind{kindInt, kindUint, kindBit, kindYear, kindDatetime, kindTimestamp, kindTime, kindEnum, kindSet,
			kindText, kindBytes, kindJSON, kindPass},
		labels: [][]string{nil, nil, nil, nil, nil, nil, nil, {"a", "b"}, {"x", "y", "z"}, nil, nil, nil, nil},
		pad:    []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0},
		fsp:    []int{0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0},
		types:  make([]byte, 13),
	}
	row := []any{int8(-5), int64(-1), int64(-1), 2024, "2024-01-31 12:34:56.5", "2024-01-31 12:34:56", "-10:00:00",
		int64(2), int64(5), []byte("héllo"), "\x00\xff", "", "12.50"}
	got, err := ti.convert(nil, row, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(-5), uint64(18446744073709551615), uint64(18446744073709551615), int64(2024),
		"2024-01-31T12:34:56.5", "2024-01-31T12:34:56Z", "-10:00:00.000", "b", "x,z", "héllo",
		[]byte{0, 0xff, 0, 0}, events.JSON("null"), "12.50"}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("column %s = %#v, want %#v", ti.columns[i], got[i], want[i])
		}
	}
	if _, err := ti.convert(nil, row[:3], nil, nil); err == nil {
		t.Error("short row converted")
	}
	bad := append([]any{}, row...)
	bad[0] = "text"
	if _, err := ti.convert(nil, bad, nil, nil); err == nil {
		t.Error("a string converted as an integer")
	}
}

// collect is an Emitter that keeps what it is given.
type collect struct {
	seqs []int64
	cps  []Checkpoint
	stop int
	done context.CancelFunc
}

func (c *collect) Emit(_ context.Context, ch *events.Change, after Checkpoint) error {
	c.seqs = append(c.seqs, ch.After[0].(int64))
	c.cps = append(c.cps, after)
	if len(c.seqs) == c.stop {
		c.done()
	}
	return nil
}
func (c *collect) EmitGroup(ctx context.Context, chs []*events.Change, _ []SchemaRecord, after Checkpoint) error {
	for _, ch := range chs {
		if err := c.Emit(ctx, ch, after); err != nil {
			return err
		}
	}
	return nil
}
func (c *collect) Advance(Checkpoint, int64) {}
func (c *collect) Snapshotting(bool, int64)  {}

func TestDatagenResumesAfterCheckpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &collect{stop: 5, done: cancel}
	d := &Datagen{Total: 5}
	if err := d.Run(ctx, Checkpoint{Seq: 0}, c); err != context.Canceled {
		t.Fatalf("Run = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	c2 := &collect{stop: 3, done: cancel}
	(&Datagen{Total: 5}).Run(ctx, Checkpoint{Seq: 2}, c2)
	if !reflect.DeepEqual(c.seqs, []int64{1, 2, 3, 4, 5}) || !reflect.DeepEqual(c2.seqs, []int64{3, 4, 5}) {
		t.Errorf("seqs %v then %v", c.seqs, c2.seqs)
	}
	if c2.cps[2].Seq != 5 {
		t.Errorf("last checkpoint %+v", c2.cps[2])
	}
}

func TestLatin1ToUTF8(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("plain"), "plain"},
		{[]byte{'c', 'a', 'f', 0xE9, ' ', 0x80}, "café €"},
		{[]byte{0x93, 'q', 0x94, 0x81}, "\u201cq\u201d\u0081"},
		{[]byte{0xFF}, "ÿ"},
	}
	dec, err := textDecoder("latin1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got, err := dec(tt.in); got != tt.want || err != nil {
			t.Errorf("latin1 %q = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestBeforeSessionByGTID(t *testing.T) {
	s := snapshotSession{Server: 1, File: "b.1", Pos: 100, GTID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-2"}
	tests := []struct {
		server uint32
		file   string
		pos    uint32
		gtid   string
		want   bool
	}{
		{1, "b.1", 99, "", true},
		{1, "b.1", 100, "", false},
		{1, "b.0", 500, "", true},
		{2, "x.9", 1, "3e11fa47-71ca-11e1-9e33-c80aa9429562:5", true},
		{2, "x.9", 1, "3e11fa47-71ca-11e1-9e33-c80aa9429562:6", false},
		{2, "x.9", 1, "4e11fa47-71ca-11e1-9e33-c80aa9429562:2", true},
		{2, "x.9", 1, "5e11fa47-71ca-11e1-9e33-c80aa9429562:1", false},
		{2, "x.9", 1, "", false},
	}
	for _, tt := range tests {
		if got := before(tt.server, tt.file, tt.pos, tt.gtid, s); got != tt.want {
			t.Errorf("before(%d %s:%d %q) = %v, want %v", tt.server, tt.file, tt.pos, tt.gtid, got, tt.want)
		}
	}
}

// TestOtherEvents: events without rows pass, and those that may carry rows
// the reader cannot decode stop it, naming the event and its position.
func TestOtherEvents(t *testing.T) {
	r := &reader{em: &collect{}, file: "binlog.000007"}
	h := &replication.EventHeader{LogPos: 500, EventSize: 100}
	for _, typ := range []replication.EventType{replication.FORMAT_DESCRIPTION_EVENT, replication.PREVIOUS_GTIDS_EVENT,
		replication.ROWS_QUERY_EVENT, replication.HEARTBEAT_LOG_EVENT_V2, replication.MARIADB_ANNOTATE_ROWS_EVENT, replication.STOP_EVENT} {
		if err := r.other(h, typ); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	for _, typ := range []replication.EventType{replication.INCIDENT_EVENT, replication.USER_VAR_EVENT, replication.EXECUTE_LOAD_QUERY_EVENT,
		replication.UNKNOWN_EVENT, replication.EventType(200)} {
		err := r.other(h, typ)
		if !IsPermanent(err) || !strings.Contains(err.Error(), "binlog.000007:400") {
			t.Errorf("%s: %v, want a permanent error naming binlog.000007:400", typ, err)
		}
	}
	if _, _, ok := rowsOp(replication.PARTIAL_UPDATE_ROWS_EVENT); !ok {
		t.Error("partial update rows are not an update")
	}
	if _, _, ok := rowsOp(replication.TABLE_MAP_EVENT); ok {
		t.Error("a table map is a rows event")
	}
}
