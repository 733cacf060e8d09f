package events

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// stdJSON returns encoding/json's text of v with HTML escaping off.
func stdJSON(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var jsonStringSeeds = []string{
	"", "plain", "😀", "é", "a\"b\\c", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<>&", "\u2028x\u2029",
	"\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "日本語\xe6\x97", strings.Repeat("ab\n", 50),
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonStringSeeds {
		want := stdJSON(t, s)
		if got := string(appendJSONString(nil, s)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		if got := string(appendJSONString(nil, []byte(s))); got != want {
			t.Errorf("appendJSONString([]byte(%q)) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s)), stdJSON(t, s); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 0.1, 1.5, -2.25, 1e20, 1e21, 123456789012345678, 1e-6, 1e-7,
		9.999e-7, math.MaxFloat64, math.SmallestNonzeroFloat64, math.MaxFloat32, 3.4e-40, 1 / 3.0}
	for _, f := range floats {
		if got, want := string(appendJSONFloat(nil, f, 64)), stdJSON(t, f); got != want {
			t.Errorf("float64 %v: got %s, want %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue // out of float32's range
		}
		if got, want := string(appendJSONFloat(nil, float64(f32), 32)), stdJSON(t, f32); got != want {
			t.Errorf("float32 %v: got %s, want %s", f32, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendJSONFloat(nil, f, 64)); got != "null" {
			t.Errorf("%v: got %s, want null", f, got)
		}
	}
}

func TestAppendCompactJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: ` { "a" : [ 1 , -0.5e+3 , "x y" ] , "b" : { } } `, want: `{"a":[1,-0.5e+3,"x y"],"b":{}}`},
		{in: "\t\n[]\r\n", want: `[]`},
		{in: `"\u00e9\"\\\/\b\f\n\r\t"`, want: `"\u00e9\"\\\/\b\f\n\r\t"`},
		{in: `0`, want: `0`},
		{in: `-0.0E-0`, want: `-0.0E-0`},
		{in: ``, wantErr: true},
		{in: `   `, wantErr: true},
		{in: `{"a":1,}`, wantErr: true},
		{in: `[1,]`, wantErr: true},
		{in: `[1 2]`, wantErr: true},
		{in: `{"a" 1}`, wantErr: true},
		{in: `{1:1}`, wantErr: true},
		{in: `01`, wantErr: true},
		{in: `1.`, wantErr: true},
		{in: `.5`, wantErr: true},
		{in: `1e`, wantErr: true},
		{in: `-`, wantErr: true},
		{in: `+1`, wantErr: true},
		{in: `tru`, wantErr: true},
		{in: `nul`, wantErr: true},
		{in: `"abc`, wantErr: true},
		{in: `"a\x"`, wantErr: true},
		{in: `"\u12"`, wantErr: true},
		{in: `"\u12g4"`, wantErr: true},
		{in: "\"a\nb\"", wantErr: true},
		{in: "\"\xff\"", wantErr: true},
		{in: `{} {}`, wantErr: true},
		{in: `[[[`, wantErr: true},
		{in: strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), wantErr: true},
		{in: strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
			want: strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)},
	}
	for _, tt := range tests {
		got, err := appendCompactJSON([]byte("p"), []byte(tt.in), nil)
		if tt.wantErr {
			if err == nil || string(got) != "p" {
				t.Errorf("%.40q: got %.40q, %v; want an error and dst unchanged", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != "p"+tt.want {
			t.Errorf("%.40q: got %.40q, %v; want %.40q", tt.in, got, err, tt.want)
		}
		if json.Valid([]byte(tt.in)) != (err == nil) {
			t.Errorf("%.40q: error %v, but json.Valid says %v", tt.in, err, json.Valid([]byte(tt.in)))
		}
	}
}
