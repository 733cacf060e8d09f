package source

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// float32s is the little-endian VECTOR encoding of fs.
func float32s(fs ...float32) []byte {
	b := make([]byte, 0, 4*len(fs))
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func TestVectorJSON(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		// The bytes MySQL 9.7.4 gave for STRING_TO_VECTOR('[1.5,-2,3e20,0.1]')
		// in the binlog and in text- and binary-protocol results.
		{"observed", mustHex(t, "0000C03F000000C0B11A8261CDCCCC3D"), `[1.5,-2,3e+20,0.1]`},
		// Observed for x'0100000000000080FFFF7F7F0000804B': the smallest
		// denormal, -0, the largest float32 and 2^24.
		{"observed extremes", mustHex(t, "0100000000000080FFFF7F7F0000804B"), `[1e-45,-0,3.4028235e+38,1.6777216e+07]`},
		{"one", float32s(1), `[1]`},
		{"shortest round trip", float32s(0.1, 1.0/3, 123456.79, 1e-7), `[0.1,0.33333334,123456.79,1e-07]`},
		{"large and small", float32s(1e21, 1e20, -1e-30, 100), `[1e+21,1e+20,-1e-30,100]`},
		{"empty", nil, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vectorJSON(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			var back []float32
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			if want := float32s(back...); string(want) != string(tt.in) {
				t.Errorf("%s reads back as % X, want % X", got, want, tt.in)
			}
		})
	}
}

func TestVectorJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "a VECTOR value of 3 bytes, not a whole number of 4-byte floats"},
		{"ragged", append(float32s(1), 0), "a VECTOR value of 5 bytes, not a whole number of 4-byte floats"},
		{"nan", float32s(1, float32(math.NaN())), "VECTOR element 1 is NaN"},
		{"+inf", float32s(float32(math.Inf(1))), "VECTOR element 0 is +Inf"},
		{"-inf", float32s(2, 3, float32(math.Inf(-1))), "VECTOR element 2 is -Inf"},
	}
	for _, tt := range tests {
		got, err := vectorJSON(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %s, %v; want error %q", tt.name, got, err, tt.want)
		}
	}
}
