package events

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	cols := []string{"id", "big", "small", "f32", "f64", "dec", "emoji", "bin", "j", "nul", "flag"}
	ch := rowChange(cols, []any{int64(math.MinInt64), uint64(math.MaxUint64), uint64(5), float32(0.1),
		math.Copysign(0, -1), "-12345678901234567890123456789012345.123456789012345678901234567890", "😀",
		[]byte{0x00, 0xff}, JSON(`{"b":1,"a":[1,2.5,"x",null,true,18446744073709551615]}`), nil, true})
	tests := []struct {
		format    string
		wantAfter map[string]any
		wantTx    map[string]any
	}{
		{
			format: FormatMsgpack,
			wantAfter: map[string]any{
				"id": int64(math.MinInt64), "big": uint64(math.MaxUint64), "small": int64(5), "f32": float32(0.1),
				"f64": math.Copysign(0, -1), "dec": "-12345678901234567890123456789012345.123456789012345678901234567890",
				"emoji": "😀", "bin": []byte{0x00, 0xff}, "nul": nil, "flag": true,
				"j": map[string]any{"b": int64(1), "a": []any{int64(1), 2.5, "x", nil, true, uint64(math.MaxUint64)}},
			},
			wantTx: map[string]any{"id": "0-7-99", "seq": int64(3)},
		},
		{
			format: FormatJSON,
			wantAfter: map[string]any{
				"id": json.Number("-9223372036854775808"), "big": json.Number("18446744073709551615"),
				"small": json.Number("5"), "f32": json.Number("0.1"), "f64": json.Number("-0"),
				"dec":   "-12345678901234567890123456789012345.123456789012345678901234567890",
				"emoji": "😀", "bin": "AP8=", "nul": nil, "flag": true,
				"j": map[string]any{"b": json.Number("1"), "a": []any{json.Number("1"), json.Number("2.5"), "x", nil, true,
					json.Number("18446744073709551615")}},
			},
			wantTx: map[string]any{"id": "0-7-99", "seq": json.Number("3")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			codec, err := NewCodec(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			data, err := codec.Append(nil, ch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["after"], tt.wantAfter) {
				t.Errorf("after = %#v\nwant    %#v", got["after"], tt.wantAfter)
			}
			if f := got["after"].(map[string]any)["f64"]; tt.format == FormatMsgpack && !math.Signbit(f.(float64)) {
				t.Errorf("f64 = %v, want -0", f)
			}
			if !reflect.DeepEqual(got["tx"], tt.wantTx) {
				t.Errorf("tx = %#v, want %#v", got["tx"], tt.wantTx)
			}
			if got["op"] != "c" || got["before"] != nil {
				t.Errorf("op = %v, before = %v", got["op"], got["before"])
			}
			if key := got["key"].(map[string]any); len(key) != 1 || key["id"] == nil {
				t.Errorf("key = %v", key)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty", in: "", want: "empty envelope"},
		{name: "json array", in: "[]", want: "not an envelope"},
		{name: "json null", in: "null", want: "not an envelope"},
		{name: "json trailing", in: `{"a":1}{}`, want: "data after"},
		{name: "json truncated", in: `{"a":`, want: "decoding envelope"},
		{name: "msgpack truncated", in: "\x82\xa1a\x01", want: "truncated"},
		{name: "msgpack trailing", in: "\x80\x80", want: "after the envelope"},
		{name: "msgpack huge array", in: "\x81\xa1a\xdd\xff\xff\xff\xff", want: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDecodeScalarKeys(t *testing.T) {
	// {1: nil, true: nil, bin "b": nil, -5: nil}
	in := []byte{0x84, 0x01, 0xc0, 0xc3, 0xc0, 0xc4, 0x01, 'b', 0xc0, 0xfb, 0xc0}
	want := map[string]any{"1": nil, "true": nil, "b": nil, "-5": nil}
	got, err := Decode(in)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %#v, %v; want %#v", got, err, want)
	}
	if _, err := Decode([]byte{0x81, 0x80, 0xc0}); err == nil || !strings.Contains(err.Error(), "not a scalar") {
		t.Errorf("map key that is a map: error %v, want one saying it is not a scalar", err)
	}
}

// TestDecodePartial reads back envelopes of images that lack columns: an
// absent column is no key of the decoded map (not a nil value), and
// source.image is there only for a partial image.
func TestDecodePartial(t *testing.T) {
	cols := []string{"id", "name", "doc"}
	update := partialChange(OpUpdate, ImageMinimal, cols, []int{0},
		[]any{int64(4), Absent, Absent}, []any{Absent, nil, Absent})
	del := partialChange(OpDelete, ImageNoblob, cols, []int{0}, []any{int64(5), "x", Absent}, nil)
	full := partialChange(OpDelete, ImageFull, cols, []int{0}, []any{int64(6), "y", []byte("z")}, nil)
	tests := []struct {
		name       string
		ch         *Change
		wantBefore []string // the columns, in any order
		wantAfter  []string // nil: after is null
		wantKey    int64
		wantImage  any // nil: no image in source
	}{
		{name: "minimal update", ch: update, wantBefore: []string{"id"}, wantAfter: []string{"name"}, wantKey: 4,
			wantImage: "minimal"},
		{name: "noblob delete", ch: del, wantBefore: []string{"id", "name"}, wantKey: 5, wantImage: "noblob"},
		{name: "full delete", ch: full, wantBefore: []string{"id", "name", "doc"}, wantKey: 6},
	}
	for _, tt := range tests {
		for _, codec := range bothCodecs(t) {
			t.Run(tt.name+"/"+codec.Format(), func(t *testing.T) {
				data, err := codec.Append(nil, tt.ch)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				if names := mapKeys(got["before"]); !reflect.DeepEqual(names, sorted(tt.wantBefore)) {
					t.Errorf("before has %v, want %v", names, sorted(tt.wantBefore))
				}
				if names := mapKeys(got["after"]); !reflect.DeepEqual(names, sorted(tt.wantAfter)) {
					t.Errorf("after has %v, want %v", names, sorted(tt.wantAfter))
				}
				if after, ok := got["after"].(map[string]any); ok {
					if v, ok := after["name"]; !ok || v != nil {
						t.Errorf("after.name = %v, %v; want a present null", v, ok)
					}
				}
				id := got["key"].(map[string]any)["id"]
				if id != tt.wantKey && id != json.Number(fmt.Sprint(tt.wantKey)) {
					t.Errorf("key.id = %#v, want %d", id, tt.wantKey)
				}
				source := got["source"].(map[string]any)
				if image, ok := source["image"]; image != tt.wantImage || ok != (tt.wantImage != nil) {
					t.Errorf("source.image = %#v (present %v), want %#v", image, ok, tt.wantImage)
				}
				wantLen := 10
				if tt.wantImage != nil {
					wantLen = 11
				}
				if len(source) != wantLen {
					t.Errorf("source has %d keys, want %d: %v", len(source), wantLen, source)
				}
			})
		}
	}
}

// mapKeys returns the sorted keys of v, a map[string]any, or nil when v
// is not one.
func mapKeys(v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return sorted(slices.Collect(maps.Keys(m)))
}

// sorted returns s sorted, nil for nil.
func sorted(s []string) []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}
