package task

import (
	"strings"
	"testing"
)

func TestRedactJSON(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"dataSourceConfigs":[{"host":"h","password":"s3cret"}]}`, `{"dataSourceConfigs":[{"host":"h","password":"******"}]}`},
		{`{"Password":"x","n":1.50}`, `{"Password":"******","n":1.50}`},
		{`{"password":"s3cret",`, `(21 bytes of invalid JSON, not shown)`},
	}
	for _, tt := range tests {
		got := RedactJSON(tt.in)
		if got != tt.want {
			t.Errorf("RedactJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("RedactJSON(%q) leaks the password", tt.in)
		}
	}
}
