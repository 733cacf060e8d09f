package api

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestPreviousToken: while a previous token is configured both tokens open
// every guarded path, and a request with the previous one is logged (its
// path, never a token); without it, or for any other token, 401. The
// probes need neither.
func TestPreviousToken(t *testing.T) {
	var logs syncBuffer
	_, rotating, _, _ := startServer(t, Config{Token: "new-tok", PreviousToken: "old-tok"}, zerolog.New(&logs))
	_, done, _, _ := startServer(t, Config{Token: "new-tok"}, zerolog.Nop())
	// A previous token without a token is ignored: the API asks for none
	// (config refuses this; the server does not open up because of it).
	_, open, _, _ := startServer(t, Config{PreviousToken: "old-tok"}, zerolog.Nop())

	tests := []struct {
		base, path, token string
		code              int
	}{
		{rotating, "/dataingest/cluster/tasks", "new-tok", 200},
		{rotating, "/dataingest/cluster/tasks", "old-tok", 200},
		{rotating, "/metrics", "old-tok", 200},
		{rotating, "/dataingest/cluster/nodes", "old-tok", 200},
		{rotating, "/dataingest/cluster/tasks", "", 401},
		{rotating, "/dataingest/cluster/tasks", "other", 401},
		{rotating, "/dataingest/cluster/tasks", "old-tok-and-more", 401},
		{rotating, "/dataingest/cluster/tasks", "old-to", 401},
		{rotating, "/readyz", "", 200},
		{done, "/dataingest/cluster/tasks", "new-tok", 200},
		{done, "/dataingest/cluster/tasks", "old-tok", 401},
		{done, "/metrics", "old-tok", 401},
		{open, "/dataingest/cluster/tasks", "", 200},
	}
	for _, tt := range tests {
		if code, body := do(t, "GET", tt.base+tt.path, tt.token, ""); code != tt.code {
			t.Errorf("GET %s with token %q: %d %s, want %d", tt.path, tt.token, code, body, tt.code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "DATAINGEST_API_TOKEN_PREVIOUS"); n != 1 {
		t.Errorf("%d log lines about the previous token for 3 requests within a minute, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `"path":"/dataingest/cluster/tasks"`) {
		t.Errorf("the log line does not name the path: %s", out)
	}
	if strings.Contains(out, "old-tok") || strings.Contains(out, "new-tok") {
		t.Errorf("the log shows a token: %s", out)
	}
}
