package schema

import (
	"reflect"
	"testing"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"enum('a','b','c')", []string{"a", "b", "c"}},
		{"set('x','it''s','z,w')", []string{"x", "it's", "z,w"}},
		{"ENUM('Ü','😀')", []string{"Ü", "😀"}},
		{"enum('')", []string{""}},
		{"int(11)", nil},
	}
	for _, tt := range tests {
		if got := ParseLabels(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLabels(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
