package events

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// sampleEnvelopes returns envelopes of a few changes in both formats.
func sampleEnvelopes(t testing.TB) [][]byte {
	t.Helper()
	upd := rowChange([]string{"id", "u", "f32", "f64", "s", "b", "j", "n"}, []any{int64(math.MinInt64),
		uint64(math.MaxUint64), float32(0.1), -1.5e300, "😀\n", []byte{0, 0xff}, JSON(`{"b":[1,{"c":null}],"a":"x"}`), nil})
	upd.Op, upd.Before = OpUpdate, upd.After
	ddl := rowChange(nil, nil)
	ddl.Op, ddl.DDL, ddl.DDLColumns = OpDDL, "CREATE TABLE t (id int)", []ColumnDef{{Name: "id", Type: "int(11)"}}
	minimal := partialChange(OpUpdate, ImageMinimal, []string{"a", "b", "c"}, []int{0, 1},
		[]any{int64(1), Absent, Absent}, []any{Absent, int64(2), "x"})
	var out [][]byte
	for _, codec := range bothCodecs(t) {
		for _, ch := range []*Change{upd, ddl, benchChange(), minimal} {
			data, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	return out
}

func TestToJSONTruncated(t *testing.T) {
	for _, env := range sampleEnvelopes(t) {
		for n := range len(env) {
			got, err := ToJSON([]byte("p"), env[:n])
			if err == nil {
				t.Fatalf("ToJSON of %d of %d bytes: no error, got %s", n, len(env), got)
			}
			if string(got) != "p" {
				t.Fatalf("ToJSON of %d of %d bytes: dst = %q after the error", n, len(env), got)
			}
		}
	}
}

func TestToJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string // in the error
	}{
		{name: "empty", in: nil, want: "empty envelope"},
		{name: "json array", in: []byte(`[1]`), want: "not an envelope"},
		{name: "msgpack array", in: []byte{0x91, 0x01}, want: "not an envelope"},
		{name: "msgpack int", in: []byte{0x01}, want: "not an envelope"},
		{name: "bad json", in: []byte(`{"a":1,}`), want: "invalid JSON"},
		{name: "json trailing", in: []byte(`{"a":1} x`), want: "data after the value"},
		{name: "msgpack trailing", in: []byte{0x80, 0xc0}, want: "1 bytes after the envelope"},
		{name: "unused code", in: []byte{0x81, 0xa1, 'a', 0xc1}, want: "unused format code 0xc1"},
		{name: "ext", in: []byte{0x81, 0xa1, 'a', 0xd4, 0x01, 0x02}, want: "ext values are not supported"},
		{name: "map key", in: []byte{0x81, 0x90, 0x01}, want: "map key is not a scalar"},
		{name: "huge map", in: []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0x01}, want: "truncated"},
		{name: "huge str", in: []byte{0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}, want: "truncated"},
		{name: "deep", in: append([]byte{0x81, 0xa1, 'a'}, bytes.Repeat([]byte{0x91}, maxJSONDepth+1)...),
			want: "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToJSON([]byte("p"), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ToJSON(% x) = %s, %v; want an error containing %q", head(tt.in), got, err, tt.want)
			}
			if string(got) != "p" {
				t.Errorf("dst = %q after the error, want it unchanged", got)
			}
		})
	}
}

func TestToJSONMsgpack(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "scalar keys", in: []byte{0x84, 0x01, 0xc0, 0xc3, 0xc0, 0xc4, 0x01, 'b', 0xc0, 0xca, 0x3d, 0xcc, 0xcc, 0xcd, 0xc0},
			want: `{"1":null,"true":null,"b":null,"0.1":null}`},
		{name: "map16 and array16", in: []byte{0xde, 0x00, 0x01, 0xa1, 'k', 0xdc, 0x00, 0x02, 0xd0, 0x80, 0xd1, 0x80, 0x00},
			want: `{"k":[-128,-32768]}`},
		{name: "map32 and bin16", in: []byte{0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc5, 0x00, 0x02, 0x00, 0xff},
			want: `{"k":"AP8="}`},
		{name: "float32 NaN", in: []byte{0x81, 0xa1, 'f', 0xca, 0x7f, 0xc0, 0x00, 0x00}, want: `{"f":null}`},
		{name: "int64 min", in: []byte{0x81, 0xa1, 'i', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, want: `{"i":-9223372036854775808}`},
		{name: "invalid utf8 str", in: []byte{0x81, 0xa1, 's', 0xa2, 'a', 0xff}, want: `{"s":"a\ufffd"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToJSON(nil, tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// FuzzToJSON checks that ToJSON never panics and that what it accepts
// becomes valid JSON on one line. Run with -fuzz=FuzzToJSON.
func FuzzToJSON(f *testing.F) {
	for _, env := range sampleEnvelopes(f) {
		f.Add(env)
		f.Add(env[:len(env)/2])
	}
	for _, s := range []string{"", "{", "{}", `{"a":[1,{"b":"\u00e9"}]}`, "\x80", "\xde\x00\x01", "\xdf\xff\xff\xff\xff",
		"\x81\xa1a\xc7\x01\x05x", "\x81\xa1a\xdb\x00\x00\x00\x02hi"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ToJSON([]byte("p"), data)
		if err != nil {
			if string(out) != "p" {
				t.Fatalf("dst = %q after error %v", out, err)
			}
			return
		}
		got := out[1:]
		if !json.Valid(got) || bytes.ContainsAny(got, "\n\r") {
			t.Fatalf("ToJSON(% x) = %q: not valid JSON on one line", data, got)
		}
		if _, err := Decode(data); err != nil && detectFormat(data) == FormatMsgpack {
			t.Fatalf("ToJSON accepted % x but Decode failed: %v", data, err)
		}
		again, err := ToJSON(nil, got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("ToJSON of its own output %q = %q, %v", got, again, err)
		}
	})
}
