package source

import (
	"encoding/hex"
	"math"
	"reflect"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// TestStateTextMatchesEncode: the per-row text of a snapshot state is
// byte for byte what encode gives for the state with that row as its
// cursor, for every shape of key and state.
func TestStateTextMatchesEncode(t *testing.T) {
	signed := func(n int64) mysql.FieldValue { return mysql.NewFieldValue(mysql.FieldValueTypeSigned, uint64(n), nil) }
	unsigned := func(n uint64) mysql.FieldValue { return mysql.NewFieldValue(mysql.FieldValueTypeUnsigned, n, nil) }
	str := func(s string) mysql.FieldValue { return mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte(s)) }
	float := func(f float64) mysql.FieldValue {
		return mysql.NewFieldValue(mysql.FieldValueTypeFloat, math.Float64bits(f), nil)
	}
	two := []snapshotSession{
		{File: "binlog.000001", Pos: 4, GTID: "0-1-5", Server: 1},
		{File: "binlog.000002", Pos: 999, Server: 1, Table: 2, Key: []string{"3132", "6162"}},
	}
	cases := []struct {
		name    string
		st      snapshotState
		row     []mysql.FieldValue
		keyCols []int
		rows    int64
	}{
		{"int key", snapshotState{Phase: "read", Tables: []string{"db.t"}, Sessions: two[:1]},
			[]mysql.FieldValue{signed(-42), str("x")}, []int{0}, 1},
		{"unsigned key, later table", snapshotState{Phase: "read", Tables: []string{"a.b", "db.t", "db.u"}, Table: 2, Sessions: two},
			[]mysql.FieldValue{str("v"), unsigned(math.MaxUint64)}, []int{1}, 123456789},
		{"composite key, quotes and HTML in names", snapshotState{Phase: "read", Tables: []string{`d"b.<t>&`}, Sessions: two},
			[]mysql.FieldValue{str("it's \"quoted\"\x00"), float(1.5), signed(7)}, []int{2, 0, 1}, 2},
		{"no key", snapshotState{Phase: "read", Tables: []string{"db.t"}, Sessions: two[:1]},
			[]mysql.FieldValue{str("a"), str("b")}, nil, 5},
		{"no tables yet", snapshotState{Phase: "read", Sessions: two[:1]},
			[]mysql.FieldValue{signed(1)}, []int{0}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := newStateText(&tc.st)
			want := tc.st
			want.Rows = tc.rows
			if tc.keyCols != nil {
				for _, k := range tc.keyCols {
					want.Key = append(want.Key, hex.EncodeToString(textOf(&tc.row[k])))
				}
			}
			for range 2 { // the buffers are reused
				if got, w := text.row(tc.row, tc.keyCols, tc.rows), want.encode(); got != w {
					t.Fatalf("got  %s\nwant %s", got, w)
				}
			}
			if _, err := decodeSnapshot(text.row(tc.row, tc.keyCols, tc.rows)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTextKindValue: each kind turns a text-protocol value into the value
// the binlog reader gives for the same column.
func TestTextKindValue(t *testing.T) {
	str := func(s string) mysql.FieldValue { return mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte(s)) }
	cases := []struct {
		col  schema.Column
		in   mysql.FieldValue
		want any
	}{
		{schema.Column{DataType: "DATETIME"}, str("2024-01-31 12:34:56.123456"), "2024-01-31T12:34:56.123456"},
		{schema.Column{DataType: "datetime"}, str("0000-00-00 00:00:00"), "0000-00-00T00:00:00"},
		{schema.Column{DataType: "timestamp"}, str("2024-01-31 12:34:56"), "2024-01-31T12:34:56Z"},
		{schema.Column{DataType: "decimal"}, str("-12.50"), "-12.50"},
		{schema.Column{DataType: "time"}, str("-838:59:59.000000"), "-838:59:59.000000"},
		{schema.Column{DataType: "year"}, str("2024"), int64(2024)},
		{schema.Column{DataType: "bit"}, str("\x01\x02"), uint64(258)},
		{schema.Column{DataType: "float"}, mysql.NewFieldValue(mysql.FieldValueTypeFloat, math.Float64bits(1.5), nil), float32(1.5)},
		{schema.Column{DataType: "double"}, mysql.NewFieldValue(mysql.FieldValueTypeFloat, math.Float64bits(1.5), nil), 1.5},
		{schema.Column{DataType: "bigint"}, mysql.NewFieldValue(mysql.FieldValueTypeSigned, uint64(1<<63), nil), int64(math.MinInt64)},
		{schema.Column{DataType: "bigint", Unsigned: true}, mysql.NewFieldValue(mysql.FieldValueTypeUnsigned, math.MaxUint64, nil), uint64(math.MaxUint64)},
		{schema.Column{DataType: "longtext", JSON: true}, str(`{"a":1}`), events.JSON(`{"a":1}`)},
		{schema.Column{DataType: "varbinary"}, str("\x00\xff"), []byte{0, 0xff}},
		{schema.Column{DataType: "char", Charset: "binary"}, str("ab"), []byte("ab")},
		{schema.Column{DataType: "point"}, str("\x00\x01"), []byte{0, 1}},
		{schema.Column{DataType: "varchar", Charset: "utf8mb4"}, str("héllo 😀"), "héllo 😀"},
		{schema.Column{DataType: "varchar"}, mysql.NewFieldValue(mysql.FieldValueTypeNull, 0, nil), nil},
	}
	for _, tc := range cases {
		got, err := textValue(&tc.col, &tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q: got %#v (%v), want %#v", tc.col.DataType, tc.in.AsString(), got, err, tc.want)
		}
	}
}
