package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The fixture change: a row of shop.orders, key column id.
func rowChange(cols []string, after []any) *Change {
	return &Change{
		Op: OpCreate, TsMs: 1700000000123, DB: "shop", Table: "orders",
		Columns: cols, Key: []int{0}, After: after,
		Source: Source{Flavor: "mariadb", ServerID: 7, File: "mysql-bin.000003", Pos: 4242,
			GTID: "0-7-99", Row: 1, TsMs: 1700000000000},
		Tx: Tx{ID: "0-7-99", Seq: 3},
	}
}

// srcTxJSON is the end of the fixture's envelope, from source on.
const srcTxJSON = `"source":{"flavor":"mariadb","server_id":7,"file":"mysql-bin.000003","pos":4242,` +
	`"gtid":"0-7-99","row":1,"ts_ms":1700000000000,"snapshot":false,"db":"shop","table":"orders"},` +
	`"tx":{"id":"0-7-99","seq":3}}`

// bothCodecs returns a msgpack and a JSON codec.
func bothCodecs(t testing.TB) []Codec {
	t.Helper()
	var cs []Codec
	for _, f := range []string{FormatMsgpack, FormatJSON} {
		c, err := NewCodec(f)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

// envelopeJSON encodes ch with codec and returns ToJSON of the result. For
// the JSON codec it also checks that ToJSON leaves its output as it is.
func envelopeJSON(t *testing.T, codec Codec, ch *Change) string {
	t.Helper()
	data, err := codec.Append(nil, ch)
	if err != nil {
		t.Fatalf("%s Append: %v", codec.Format(), err)
	}
	got, err := ToJSON(nil, data)
	if err != nil {
		t.Fatalf("%s ToJSON: %v (data %q)", codec.Format(), err, data)
	}
	if codec.Format() == FormatJSON && !bytes.Equal(got, data) {
		t.Errorf("ToJSON changed compact JSON:\n got %s\nwant %s", got, data)
	}
	return string(got)
}

var longText = strings.Repeat("é", 150) // 300 bytes: str16 in msgpack

func TestValues(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		want     string // the value's JSON text in the envelope
		wantMsgp string // when the msgpack round trip gives other text
	}{
		{name: "nil", v: nil, want: `null`},
		{name: "int64 max", v: int64(math.MaxInt64), want: `9223372036854775807`},
		{name: "int64 min", v: int64(math.MinInt64), want: `-9223372036854775808`},
		{name: "int64 -33", v: int64(-33), want: `-33`},
		{name: "int64 -32769", v: int64(-32769), want: `-32769`},
		{name: "int64 200", v: int64(200), want: `200`},
		{name: "int64 70000", v: int64(70000), want: `70000`},
		{name: "uint64 max", v: uint64(math.MaxUint64), want: `18446744073709551615`},
		{name: "uint64 zero", v: uint64(0), want: `0`},
		{name: "uint64 5e9", v: uint64(5e9), want: `5000000000`},
		{name: "float32 0.1", v: float32(0.1), want: `0.1`},
		{name: "float32 -0", v: float32(math.Copysign(0, -1)), want: `-0`},
		{name: "float32 max", v: float32(math.MaxFloat32), want: `3.4028235e+38`},
		{name: "float32 1e-7", v: float32(1e-7), want: `1e-7`},
		{name: "float64 0.1", v: 0.1, want: `0.1`},
		{name: "float64 -0", v: math.Copysign(0, -1), want: `-0`},
		{name: "float64 1e21", v: 1e21, want: `1e+21`},
		{name: "float64 fraction", v: 123456789.125, want: `123456789.125`},
		{name: "float64 NaN", v: math.NaN(), want: `null`},
		{name: "float64 -Inf", v: math.Inf(-1), want: `null`},
		{name: "decimal", v: "-12345678901234567890123456789012345.123456789012345678901234567890",
			want: `"-12345678901234567890123456789012345.123456789012345678901234567890"`},
		{name: "datetime", v: "2024-01-31T12:34:56.123456", want: `"2024-01-31T12:34:56.123456"`},
		{name: "emoji", v: "😀", want: `"😀"`},
		{name: "empty string", v: "", want: `""`},
		{name: "escapes", v: "a\"b\\c\n\t\x01\x1f\b\f\r", want: `"a\"b\\c\n\t\u0001\u001f\b\f\r"`},
		{name: "html stays", v: "<a href='x'>&</a>", want: `"<a href='x'>&</a>"`},
		{name: "line separators", v: "\u2028\u2029", want: `"\u2028\u2029"`},
		{name: "invalid utf8", v: "a\xffb\xc3", want: `"a\ufffdb\ufffd"`, wantMsgp: `"a�b�"`},
		{name: "long string", v: longText, want: `"` + longText + `"`},
		{name: "bytes", v: []byte{0x00, 0xff}, want: `"AP8="`},
		{name: "empty bytes", v: []byte{}, want: `""`},
		{name: "json object keeps key order", v: JSON(`{"b":1,"a":[1,2.5,"x",null,true,18446744073709551615]}`),
			want: `{"b":1,"a":[1,2.5,"x",null,true,18446744073709551615]}`},
		{name: "json compacted", v: JSON(" {\"a\" : [ 1 , {} , [] ],\n\"b\":-9223372036854775808 } "),
			want: `{"a":[1,{},[]],"b":-9223372036854775808}`},
		{name: "json scalar", v: JSON(`42`), want: `42`},
		{name: "json string", v: JSON(`"s"`), want: `"s"`},
		{name: "json null", v: JSON(`null`), want: `null`},
		{name: "json escapes", v: JSON(`"a\u00e9\ud83d\ude00\n\/"`), want: `"a\u00e9\ud83d\ude00\n\/"`,
			wantMsgp: `"aé😀\n/"`},
		{name: "json lone surrogate", v: JSON(`"\ud800x"`), want: `"\ud800x"`, wantMsgp: `"�x"`},
		{name: "json exponent", v: JSON(`[1E2,-0.5e-3,1.0]`), want: `[1E2,-0.5e-3,1.0]`, wantMsgp: `[100,-0.0005,1]`},
		{name: "json huge integer", v: JSON(`123456789012345678901234567890`), want: `123456789012345678901234567890`,
			wantMsgp: `1.2345678901234568e+29`},
		{name: "json invalid", v: JSON(`{"a":`), want: `"{\"a\":"`},
		{name: "json invalid utf8", v: JSON("\"\xff\""), want: `"\"\ufffd\""`, wantMsgp: `"\"�\""`},
		{name: "int", v: int(-5), want: `-5`},
		{name: "int8", v: int8(-128), want: `-128`},
		{name: "int16", v: int16(-32768), want: `-32768`},
		{name: "int32", v: int32(math.MinInt32), want: `-2147483648`},
		{name: "uint", v: uint(7), want: `7`},
		{name: "uint8", v: uint8(255), want: `255`},
		{name: "uint16", v: uint16(65535), want: `65535`},
		{name: "uint32", v: uint32(math.MaxUint32), want: `4294967295`},
		{name: "bool", v: true, want: `true`},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				ch := rowChange([]string{"id", "v"}, []any{int64(1), tt.v})
				want := tt.want
				if codec.Format() == FormatMsgpack && tt.wantMsgp != "" {
					want = tt.wantMsgp
				}
				want = `{"op":"c","ts_ms":1700000000123,"before":null,"after":{"id":1,"v":` + want +
					`},"key":{"id":1},` + srcTxJSON
				if got := envelopeJSON(t, codec, ch); got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
			})
		}
	}
}

func TestLargeValues(t *testing.T) {
	// Sizes that need the 16- and 32-bit length forms of msgpack.
	big := bytes.Repeat([]byte{0xab}, 70000)
	var obj strings.Builder
	obj.WriteString("{")
	for i := range 20 {
		if i > 0 {
			obj.WriteString(",")
		}
		obj.WriteString(`"k` + string(rune('a'+i)) + `":` + strings.Repeat("[", 3) + "1" + strings.Repeat("]", 3))
	}
	obj.WriteString("}")
	tests := []struct {
		name string
		v    any
	}{
		{name: "bytes 70000", v: big},
		{name: "string 70000", v: strings.Repeat("x", 70000)},
		{name: "json map16", v: JSON(obj.String())},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				ch := rowChange([]string{"id", "v"}, []any{int64(1), tt.v})
				want := envelopeJSON(t, bothCodecs(t)[1], ch) // the JSON codec's text
				if got := envelopeJSON(t, codec, ch); got != want {
					t.Errorf("msgpack and JSON differ:\n got %.200s\nwant %.200s", got, want)
				}
			})
		}
	}
}

func TestEnvelopes(t *testing.T) {
	cols := []string{"id", "name", "note"}
	ddl := rowChange(nil, nil)
	ddl.Op, ddl.Key = OpDDL, nil
	ddl.DDL = "ALTER TABLE orders ADD note text"
	ddl.DDLColumns = []ColumnDef{{Name: "id", Type: "bigint(20) unsigned"}, {Name: "note", Type: "text"}}
	ddl.Source.GTID = ""
	tests := []struct {
		name string
		ch   *Change
		want string
	}{
		{
			name: "update",
			ch: func() *Change {
				c := rowChange(cols, []any{int64(1), "new", nil})
				c.Op, c.Before = OpUpdate, []any{int64(1), "old", nil}
				return c
			}(),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"id":1,"name":"old","note":null},` +
				`"after":{"id":1,"name":"new","note":null},"key":{"id":1},` + srcTxJSON,
		},
		{
			name: "delete takes the key from before",
			ch: func() *Change {
				c := rowChange(cols, nil)
				c.Op, c.Before, c.Key = OpDelete, []any{int64(9), "gone", "x"}, []int{1, 0}
				return c
			}(),
			want: `{"op":"d","ts_ms":1700000000123,"before":{"id":9,"name":"gone","note":"x"},` +
				`"after":null,"key":{"name":"gone","id":9},` + srcTxJSON,
		},
		{
			name: "no key, nil in every column",
			ch: func() *Change {
				c := rowChange(cols, []any{nil, nil, nil})
				c.Key = nil
				return c
			}(),
			want: `{"op":"c","ts_ms":1700000000123,"before":null,"after":{"id":null,"name":null,"note":null},` +
				`"key":null,` + srcTxJSON,
		},
		{
			name: "snapshot without gtid",
			ch: func() *Change {
				c := rowChange([]string{"id"}, []any{int64(1)})
				c.Op, c.Source.Snapshot, c.Source.GTID = OpSnapshot, true, ""
				return c
			}(),
			want: `{"op":"r","ts_ms":1700000000123,"before":null,"after":{"id":1},"key":{"id":1},` +
				strings.Replace(strings.Replace(srcTxJSON, `"gtid":"0-7-99"`, `"gtid":null`, 1),
					`"snapshot":false`, `"snapshot":true`, 1),
		},
		{
			name: "ddl",
			ch:   ddl,
			want: `{"op":"ddl","ts_ms":1700000000123,"ddl":"ALTER TABLE orders ADD note text",` +
				`"columns":[{"name":"id","type":"bigint(20) unsigned"},{"name":"note","type":"text"}],` +
				strings.Replace(srcTxJSON, `"gtid":"0-7-99"`, `"gtid":null`, 1),
		},
		{
			name: "ddl without columns",
			ch: func() *Change {
				c := *ddl
				c.DDLColumns, c.DDL = nil, "DROP TABLE orders"
				return &c
			}(),
			want: `{"op":"ddl","ts_ms":1700000000123,"ddl":"DROP TABLE orders","columns":[],` +
				strings.Replace(srcTxJSON, `"gtid":"0-7-99"`, `"gtid":null`, 1),
		},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				if got := envelopeJSON(t, codec, tt.ch); got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			})
		}
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		name     string
		ch       *Change
		wantText string // in the error
		wantIs   error
	}{
		{
			name:     "unsupported type names the column",
			ch:       rowChange([]string{"id", "created"}, []any{int64(1), time.Unix(0, 0)}),
			wantText: `column "created" of shop.orders: unsupported value type time.Time`,
			wantIs:   ErrUnsupportedValue,
		},
		{
			name: "unsupported type in before",
			ch: func() *Change {
				c := rowChange([]string{"id", "f"}, nil)
				c.Op, c.Before = OpDelete, []any{int64(1), struct{}{}}
				return c
			}(),
			wantText: `column "f"`,
			wantIs:   ErrUnsupportedValue,
		},
		{
			name: "unsupported type in the key",
			ch: func() *Change {
				c := rowChange([]string{"id"}, []any{[]int{1}})
				return c
			}(),
			wantText: `column "id"`,
			wantIs:   ErrUnsupportedValue,
		},
		{
			name:     "image shorter than columns",
			ch:       rowChange([]string{"id", "v"}, []any{int64(1)}),
			wantText: "after has 1 values for 2 columns",
		},
		{
			name:     "absent column in an image without Source.Image",
			ch:       rowChange([]string{"id", "v"}, []any{int64(1), Absent}),
			wantText: `column "v" of shop.orders: absent column in a full row image`,
			wantIs:   ErrAbsentInFullImage,
		},
		{
			name: "absent key column in a full image",
			ch: func() *Change {
				c := rowChange([]string{"id", "v"}, nil)
				c.Op, c.Before, c.Source.Image = OpDelete, []any{Absent, int64(1)}, ImageFull
				return c
			}(),
			wantText: `column "id"`,
			wantIs:   ErrAbsentInFullImage,
		},
		{
			name: "unknown row image",
			ch: func() *Change {
				c := rowChange([]string{"id"}, []any{int64(1)})
				c.Source.Image = "MINIMAL"
				return c
			}(),
			wantText: `unknown row image "MINIMAL"`,
		},
		{
			name: "unsupported type in a minimal image",
			ch: func() *Change {
				c := rowChange([]string{"id", "f"}, []any{Absent, struct{}{}})
				c.Source.Image = ImageMinimal
				return c
			}(),
			wantText: `column "f"`,
			wantIs:   ErrUnsupportedValue,
		},
		{
			name: "unsupported type in a key taken column by column",
			ch: func() *Change {
				c := rowChange([]string{"a", "b"}, []any{Absent, int64(1)})
				c.Op, c.Key, c.Before, c.Source.Image = OpUpdate, []int{0, 1}, []any{struct{}{}, Absent}, ImageMinimal
				return c
			}(),
			wantText: `column "a"`,
			wantIs:   ErrUnsupportedValue,
		},
		{
			name: "key out of range",
			ch: func() *Change {
				c := rowChange([]string{"id"}, []any{int64(1)})
				c.Key = []int{1}
				return c
			}(),
			wantText: "key column index 1 out of range",
		},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				dst := []byte("prefix")
				got, err := codec.Append(dst, tt.ch)
				if err == nil {
					t.Fatalf("got no error, want one containing %q", tt.wantText)
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("error %q does not contain %q", err, tt.wantText)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %q is not %v", err, tt.wantIs)
				}
				if string(got) != "prefix" {
					t.Errorf("dst = %q after an error, want it unchanged", got)
				}
			})
		}
	}
}

func TestNewCodec(t *testing.T) {
	tests := []struct {
		format  string
		want    string
		wantErr bool
	}{
		{format: "", want: FormatMsgpack},
		{format: "msgpack", want: FormatMsgpack},
		{format: "json", want: FormatJSON},
		{format: "avro", wantErr: true},
		{format: "JSON", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			c, err := NewCodec(tt.format)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), `"`+tt.format+`"`) {
					t.Errorf("NewCodec(%q) error = %v, want one naming the format", tt.format, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Format(); got != tt.want {
				t.Errorf("Format() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	ch := rowChange([]string{"id", "v"}, []any{int64(1), JSON(`{"z":1}`)})
	for _, codec := range bothCodecs(t) {
		t.Run(codec.Format(), func(t *testing.T) {
			one, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			buf := []byte("xx")
			for range 3 {
				if buf, err = codec.Append(buf, ch); err != nil {
					t.Fatal(err)
				}
			}
			want := "xx" + strings.Repeat(string(one), 3)
			if string(buf) != want {
				t.Errorf("got %q\nwant %q", buf, want)
			}
		})
	}
}

// FuzzJSONColumn checks that both codecs accept any JSON column text and
// agree on what it means. Run with -fuzz=FuzzJSONColumn.
func FuzzJSONColumn(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,2.5,"x",null,true,18446744073709551615]}`, `"\ud800\u00e9"`,
		`-0`, `1e400`, `-9223372036854775809`, `[[],{}]`, `{"a":`, "\"\xff\"", ` 1 `} {
		f.Add([]byte(s))
	}
	codecs := bothCodecs(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ch := rowChange([]string{"id", "j"}, []any{int64(1), JSON(raw)})
		var meanings [2]any
		for i, codec := range codecs {
			data, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			text, err := ToJSON(nil, data)
			if err != nil {
				t.Fatalf("%s: ToJSON: %v", codec.Format(), err)
			}
			var env struct{ After struct{ J any } }
			if err := json.Unmarshal(text, &env); err != nil {
				return // e.g. 1e400, which encoding/json cannot hold in a float64
			}
			meanings[i] = env.After.J
		}
		if !reflect.DeepEqual(meanings[0], meanings[1]) {
			t.Errorf("JSON %q: msgpack means %#v, JSON means %#v", raw, meanings[0], meanings[1])
		}
	})
}

// srcTxJSONImage is srcTxJSON with source.image set to image.
func srcTxJSONImage(image string) string {
	return strings.Replace(srcTxJSON, `"table":"orders"}`, `"table":"orders","image":"`+image+`"}`, 1)
}

// partialChange returns the fixture change with the given op, key, images
// and Source.Image.
func partialChange(op Op, image string, cols []string, key []int, before, after []any) *Change {
	c := rowChange(cols, after)
	c.Op, c.Key, c.Before, c.Source.Image = op, key, before, image
	return c
}

func TestPartialImages(t *testing.T) {
	const A = Absent
	cols := []string{"id", "name", "note"}
	pair := []string{"a", "b", "v"} // key (a, b)
	tests := []struct {
		name string
		ch   *Change
		want string
	}{
		{
			name: "minimal update: before holds the key, after the changed column",
			ch:   partialChange(OpUpdate, ImageMinimal, cols, []int{0}, []any{int64(1), A, A}, []any{A, "new", A}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"id":1},"after":{"name":"new"},"key":{"id":1},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "minimal update of a null column is not an absent one",
			ch:   partialChange(OpUpdate, ImageMinimal, cols, []int{0}, []any{int64(1), A, A}, []any{A, A, nil}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"id":1},"after":{"note":null},"key":{"id":1},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "noblob delete",
			ch:   partialChange(OpDelete, ImageNoblob, cols, []int{0}, []any{int64(9), "gone", A}, nil),
			want: `{"op":"d","ts_ms":1700000000123,"before":{"id":9,"name":"gone"},"after":null,"key":{"id":9},` +
				srcTxJSONImage("noblob"),
		},
		{
			name: "noblob update keeps an unchanged blob out of both images",
			ch: partialChange(OpUpdate, ImageNoblob, cols, []int{0},
				[]any{int64(9), "old", A}, []any{int64(9), "new", A}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"id":9,"name":"old"},"after":{"id":9,"name":"new"},` +
				`"key":{"id":9},` + srcTxJSONImage("noblob"),
		},
		{
			name: "key from before when after has only part of it",
			ch: partialChange(OpUpdate, ImageMinimal, pair, []int{0, 1},
				[]any{int64(1), int64(2), A}, []any{int64(5), A, "x"}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"a":1,"b":2},"after":{"a":5,"v":"x"},"key":{"a":1,"b":2},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "key from after when after has all of it",
			ch: partialChange(OpUpdate, ImageMinimal, pair, []int{1, 0},
				[]any{int64(1), int64(2), A}, []any{int64(5), int64(6), A}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"a":1,"b":2},"after":{"a":5,"b":6},"key":{"b":6,"a":5},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "key column by column, after first, when neither image has all of it",
			ch: partialChange(OpUpdate, ImageMinimal, []string{"a", "b", "c", "v"}, []int{0, 1, 2},
				[]any{int64(1), int64(7), A, A}, []any{A, int64(2), int64(3), "y"}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"a":1,"b":7},"after":{"b":2,"c":3,"v":"y"},` +
				`"key":{"a":1,"b":2,"c":3},` + srcTxJSONImage("minimal"),
		},
		{
			name: "a key column neither image has is left out",
			ch: partialChange(OpUpdate, ImageMinimal, pair, []int{0, 1},
				[]any{int64(1), A, A}, []any{A, A, "y"}),
			want: `{"op":"u","ts_ms":1700000000123,"before":{"a":1},"after":{"v":"y"},"key":{"a":1},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "every column absent",
			ch:   partialChange(OpCreate, ImageMinimal, cols, []int{0}, nil, []any{A, A, A}),
			want: `{"op":"c","ts_ms":1700000000123,"before":null,"after":{},"key":{},` + srcTxJSONImage("minimal"),
		},
		{
			name: "minimal insert without a defaulted column",
			ch:   partialChange(OpCreate, ImageMinimal, cols, []int{0}, nil, []any{int64(3), A, "n"}),
			want: `{"op":"c","ts_ms":1700000000123,"before":null,"after":{"id":3,"note":"n"},"key":{"id":3},` +
				srcTxJSONImage("minimal"),
		},
		{
			name: "minimal image with nothing absent still says minimal",
			ch:   partialChange(OpCreate, ImageMinimal, cols, []int{0}, nil, []any{int64(3), "x", nil}),
			want: `{"op":"c","ts_ms":1700000000123,"before":null,"after":{"id":3,"name":"x","note":null},` +
				`"key":{"id":3},` + srcTxJSONImage("minimal"),
		},
		{
			name: "minimal image of a table without a key",
			ch:   partialChange(OpDelete, ImageMinimal, cols, nil, []any{int64(3), "x", nil}, nil),
			want: `{"op":"d","ts_ms":1700000000123,"before":{"id":3,"name":"x","note":null},"after":null,` +
				`"key":null,` + srcTxJSONImage("minimal"),
		},
		{
			name: "full image writes no image",
			ch:   partialChange(OpCreate, ImageFull, cols, []int{0}, nil, []any{int64(3), "x", nil}),
			want: `{"op":"c","ts_ms":1700000000123,"before":null,"after":{"id":3,"name":"x","note":null},` +
				`"key":{"id":3},` + srcTxJSON,
		},
		{
			name: "ddl of a minimal session",
			ch: func() *Change {
				c := rowChange(nil, nil)
				c.Op, c.Key, c.DDL, c.Source.Image = OpDDL, nil, "DROP TABLE orders", ImageMinimal
				return c
			}(),
			want: `{"op":"ddl","ts_ms":1700000000123,"ddl":"DROP TABLE orders","columns":[],` + srcTxJSONImage("minimal"),
		},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				if got := envelopeJSON(t, codec, tt.ch); got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			})
		}
	}
}

// TestPartialImageMapLength checks the msgpack map headers of partial
// images, whose length is not the number of columns: a 20-column image
// with 3 present needs a fixmap, a 40-column one with 20 a map16. The
// library's decoder and ToJSON must read them, and agree with the JSON
// codec.
func TestPartialImageMapLength(t *testing.T) {
	for _, tt := range []struct{ cols, present int }{{20, 3}, {40, 20}, {16, 15}, {17, 16}, {300, 2}} {
		t.Run(fmt.Sprintf("%d of %d", tt.present, tt.cols), func(t *testing.T) {
			cols := make([]string, tt.cols)
			after := make([]any, tt.cols)
			for i := range cols {
				cols[i] = fmt.Sprintf("c%d", i)
				after[i] = Absent
			}
			for k := range tt.present {
				i := k * (tt.cols / tt.present)
				after[i] = int64(i)
			}
			ch := partialChange(OpCreate, ImageMinimal, cols, []int{0}, nil, after)
			codecs := bothCodecs(t)
			if got, want := envelopeJSON(t, codecs[0], ch), envelopeJSON(t, codecs[1], ch); got != want {
				t.Errorf("msgpack and JSON differ:\n got %s\nwant %s", got, want)
			}
			data, err := codecs[0].Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			var env map[string]any
			if err := msgpack.Unmarshal(data, &env); err != nil {
				t.Fatalf("library decoder: %v", err)
			}
			if n := len(env["after"].(map[string]any)); n != tt.present {
				t.Errorf("after has %d columns, want %d", n, tt.present)
			}
		})
	}
}

// FuzzPartialImages checks both codecs against the rules for images that
// lack columns, for any pattern of absent columns and key columns. Bit i
// of a mask is column i: key columns, columns present in before, in after.
// Run with -fuzz=FuzzPartialImages.
func FuzzPartialImages(f *testing.F) {
	f.Add(uint8(3), uint64(1), uint64(1), uint64(2), true, true, false)
	f.Add(uint8(3), uint64(3), uint64(3), uint64(5), true, true, true)
	f.Add(uint8(40), uint64(1<<39|1), uint64(1<<39), uint64(0xffff0), true, true, false)
	f.Add(uint8(5), uint64(0), uint64(0x1f), uint64(0), true, false, true)
	f.Add(uint8(1), uint64(1), uint64(0), uint64(0), false, true, false)
	codecs := bothCodecs(f)
	f.Fuzz(func(t *testing.T, ncols uint8, keyMask, beforeMask, afterMask uint64, hasBefore, hasAfter, noblob bool) {
		n := int(ncols % 65)
		cols := make([]string, n)
		var key []int
		before, after := make([]any, n), make([]any, n)
		for i := range n {
			cols[i] = fmt.Sprintf("c%d", i)
			if keyMask>>i&1 == 1 {
				key = append(key, i)
			}
			before[i], after[i] = Absent, Absent
			if beforeMask>>i&1 == 1 {
				before[i] = fmt.Sprintf("b%d", i)
			}
			if afterMask>>i&1 == 1 {
				after[i] = fmt.Sprintf("a%d", i)
			}
		}
		ch := partialChange(OpUpdate, ImageMinimal, cols, key, before, after)
		if noblob {
			ch.Source.Image = ImageNoblob
		}
		if !hasBefore {
			ch.Before, ch.Op = nil, OpCreate
		}
		if !hasAfter {
			ch.After, ch.Op = nil, OpDelete
		}
		want := map[string]any{"before": presentMap(cols, ch.Before), "after": presentMap(cols, ch.After),
			"key": wantKey(cols, key, ch.Before, ch.After), "image": ch.Source.Image}
		for _, codec := range codecs {
			data, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(data); err != nil {
				t.Fatalf("%s: Decode: %v", codec.Format(), err)
			}
			text, err := ToJSON(nil, data)
			if err != nil {
				t.Fatalf("%s: ToJSON: %v", codec.Format(), err)
			}
			var env struct {
				Before, After, Key map[string]any
				Source             struct{ Image string }
			}
			if err := json.Unmarshal(text, &env); err != nil {
				t.Fatalf("%s: %v in %s", codec.Format(), err, text)
			}
			got := map[string]any{"before": env.Before, "after": env.After, "key": env.Key, "image": env.Source.Image}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %v\nwant %v\n(%s)", codec.Format(), got, want, text)
			}
		}
	})
}

// presentMap returns the image vals as the map a JSON decoder makes of
// it: the columns that are not Absent; nil for no image.
func presentMap(cols []string, vals []any) map[string]any {
	if vals == nil {
		return nil
	}
	m := map[string]any{}
	for i, v := range vals {
		if v != Absent {
			m[cols[i]] = v
		}
	}
	return m
}

// wantKey is the contract's key rule, restated for the tests: the key
// columns of after when it has them all, else of before when it has them
// all, else each from after or, lacking it, before; nil without a key or
// an image.
func wantKey(cols []string, key []int, before, after []any) map[string]any {
	if len(key) == 0 || before == nil && after == nil {
		return nil
	}
	all := func(vals []any) bool {
		return vals != nil && !slices.ContainsFunc(key, func(i int) bool { return vals[i] == Absent })
	}
	m := map[string]any{}
	for _, i := range key {
		switch {
		case all(after):
			m[cols[i]] = after[i]
		case all(before):
			m[cols[i]] = before[i]
		case after != nil && after[i] != Absent:
			m[cols[i]] = after[i]
		case before != nil && before[i] != Absent:
			m[cols[i]] = before[i]
		}
	}
	return m
}
