package events

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// TestMsgpackWritersMatchLibrary checks the append-style writers byte for
// byte against vmihailenco/msgpack's Encoder.
func TestMsgpackWritersMatchLibrary(t *testing.T) {
	type pair struct {
		name string
		ours func([]byte) []byte
		lib  func(*msgpack.Encoder) error
	}
	var tests []pair
	for _, n := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		tests = append(tests, pair{fmt.Sprint("int ", n),
			func(b []byte) []byte { return mpAppendInt(b, n) },
			func(e *msgpack.Encoder) error { return e.EncodeInt(n) }})
	}
	for _, n := range []uint64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		tests = append(tests, pair{fmt.Sprint("uint ", n), func(b []byte) []byte { return mpAppendUint(b, n) },
			func(e *msgpack.Encoder) error { return e.EncodeUint(n) }})
	}
	for _, n := range []int{0, 15, 16, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("s", n)
		tests = append(tests,
			pair{fmt.Sprint("str ", n), func(b []byte) []byte { return mpAppendStr(b, s) },
				func(e *msgpack.Encoder) error { return e.EncodeString(s) }},
			pair{fmt.Sprint("bin ", n), func(b []byte) []byte { return mpAppendBin(b, []byte(s)) },
				func(e *msgpack.Encoder) error { return e.EncodeBytes([]byte(s)) }},
			pair{fmt.Sprint("map ", n), func(b []byte) []byte { return mpAppendMapLen(b, n) },
				func(e *msgpack.Encoder) error { return e.EncodeMapLen(n) }},
			pair{fmt.Sprint("array ", n), func(b []byte) []byte { return mpAppendArrayLen(b, n) },
				func(e *msgpack.Encoder) error { return e.EncodeArrayLen(n) }})
	}
	tests = append(tests,
		pair{"nil", mpAppendNil, func(e *msgpack.Encoder) error { return e.EncodeNil() }},
		pair{"true", func(b []byte) []byte { return mpAppendBool(b, true) },
			func(e *msgpack.Encoder) error { return e.EncodeBool(true) }},
		pair{"false", func(b []byte) []byte { return mpAppendBool(b, false) },
			func(e *msgpack.Encoder) error { return e.EncodeBool(false) }},
		pair{"float32", func(b []byte) []byte { return mpAppendFloat32(b, 0.1) },
			func(e *msgpack.Encoder) error { return e.EncodeFloat32(0.1) }},
		pair{"float64", func(b []byte) []byte { return mpAppendFloat64(b, -0.1) },
			func(e *msgpack.Encoder) error { return e.EncodeFloat64(-0.1) }},
	)
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := tt.lib(msgpack.NewEncoder(&buf)); err != nil {
			t.Fatal(err)
		}
		if got := tt.ours([]byte("p")); !bytes.Equal(got[1:], buf.Bytes()) {
			t.Errorf("%s: got % x, want % x", tt.name, head(got[1:]), head(buf.Bytes()))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 12)] }

func TestMpAppendStrInvalidUTF8(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{in: "a\xff", want: "a\uFFFD"},
		{in: strings.Repeat("\xff", 40), want: strings.Repeat("\uFFFD", 40)},       // str8
		{in: strings.Repeat("\xff", 100), want: strings.Repeat("\uFFFD", 100)},     // str16
		{in: strings.Repeat("\xff", 30000), want: strings.Repeat("\uFFFD", 30000)}, // str32
	}
	for _, tt := range tests {
		got := mpAppendStr([]byte("p"), tt.in)
		if want := mpAppendStr([]byte("p"), tt.want); !bytes.Equal(got, want) {
			t.Errorf("mpAppendStr(%.10q) = % x..., want % x...", tt.in, head(got), head(want))
		}
	}
}

// TestLibraryDecodesEnvelope checks that a standard msgpack decoder reads
// the envelope, with the values a consumer expects.
func TestLibraryDecodesEnvelope(t *testing.T) {
	ch := rowChange([]string{"id", "u", "f", "b", "j", "s"}, []any{int64(-7), uint64(math.MaxUint64),
		float32(0.1), []byte{0, 0xff}, JSON(`{"b":1,"a":[2.5,"x",null]}`), "😀"})
	data, err := bothCodecs(t)[0].Append(nil, ch)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := msgpack.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": int8(-7), "u": uint64(math.MaxUint64), "f": float32(0.1), "b": []byte{0, 0xff},
		"j": map[string]any{"b": int8(1), "a": []any{2.5, "x", nil}}, "s": "😀",
	}
	if after := got["after"]; !reflect.DeepEqual(after, want) {
		t.Errorf("after = %#v\nwant %#v", after, want)
	}
	if got["op"] != "c" || got["key"] == nil || got["tx"] == nil || got["source"] == nil {
		t.Errorf("envelope = %#v", got)
	}
}

// TestJSONColumnKeyOrder checks the msgpack bytes of a JSON object: keys
// in their original order, not sorted.
func TestJSONColumnKeyOrder(t *testing.T) {
	var j jsonToMsgpack
	got := j.append(nil, []byte(`{"b":1,"a":[1,2.5,"x",null,true,18446744073709551615]}`))
	want := []byte{0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x96, 0x01, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0,
		0xa1, 'x', 0xc0, 0xc3, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if !bytes.Equal(got, want) {
		t.Errorf("got  % x\nwant % x", got, want)
	}
}
