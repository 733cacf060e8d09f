package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	stdlog "log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	pclog "github.com/pingcap/log"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/internal/testenv"
)

// lockedBuffer is a bytes.Buffer safe for the library goroutines that log
// into it.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jsonLines parses out, one JSON object a line, failing the test on any
// line that is not one.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" && out == "" {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("line %d is not a JSON object: %q", i+1, l)
			continue
		}
		objs = append(objs, m)
	}
	return objs
}

// restoreLibraryLogs puts the process-wide loggers that routeLibraryLogs
// replaces back to their defaults when the test ends.
func restoreLibraryLogs(t *testing.T) {
	prevSlog := slog.Default()
	t.Cleanup(func() {
		redis.SetLogger(stderrRedisLogger{stdlog.New(os.Stderr, "redis: ", stdlog.LstdFlags)})
		slog.SetDefault(prevSlog)
		stdlog.SetOutput(os.Stderr)
		stdlog.SetFlags(stdlog.LstdFlags)
		if lg, props, err := pclog.InitLogger(&pclog.Config{Level: "info"}); err == nil {
			pclog.ReplaceGlobals(lg, props)
		}
	})
}

type stderrRedisLogger struct{ l *stdlog.Logger }

func (s stderrRedisLogger) Printf(_ context.Context, format string, v ...any) {
	s.l.Printf(format, v...)
}

// fakeClock is a settable clock for the rate limiter.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRouteLibraryLogsWritesJSON(t *testing.T) {
	restoreLibraryLogs(t)
	var buf lockedBuffer
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	routeLibraryLogsEvery(zerolog.New(&buf).With().Timestamp().Logger(), newLogLimiter(time.Minute, clock.Now))

	// go-redis: a pool that cannot dial, three times; one line gets through.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DialerRetries: 1, MaxRetries: -1})
	for range 3 {
		if err := rdb.Ping(context.Background()).Err(); err == nil {
			t.Fatal("ping of a closed port succeeded")
		}
	}
	rdb.Close()
	// The standard log package (with its default flags set again, which
	// routeLibraryLogs must have cleared), slog's default logger, and the
	// TiDB parser's pingcap/log through a real parser call.
	stdlog.Printf("std line %d", 1)
	stdlog.Printf("std line %d", 2) // same kind: held back
	slog.Warn("slog line", "n", 7, slog.Group("g", "k", "v"))
	if _, _, err := charset.GetCharsetInfoByID(99999); err == nil {
		t.Fatal("collation 99999 exists")
	}
	clock.Add(time.Minute)
	stdlog.Print("std line 3\n") // the window is over: says one was held back

	waitFor(t, 5*time.Second, "the go-redis line", func() bool { return strings.Contains(buf.String(), `"component":"go-redis"`) })
	byComponent := map[string][]map[string]any{}
	for _, m := range jsonLines(t, buf.String()) {
		c, _ := m["component"].(string)
		if c == "" || m["message"] == nil || m["level"] == nil || m["time"] == nil {
			t.Errorf("line without component, message, level or time: %v", m)
		}
		byComponent[c] = append(byComponent[c], m)
	}
	if r := byComponent["go-redis"]; len(r) != 1 || !strings.Contains(r[0]["message"].(string), "failed to dial") || r[0]["level"] != "warn" {
		t.Errorf("go-redis lines = %v; want one warning about the failed dial", r)
	}
	if s := byComponent["stdlog"]; len(s) != 2 || s[0]["message"] != "std line 1" || s[1]["message"] != "std line 3" || s[1]["suppressed"] != 1.0 {
		t.Errorf("stdlog lines = %v; want std line 1, then std line 3 with suppressed 1", s)
	}
	if s := byComponent["slog"]; len(s) != 1 || s[0]["message"] != "slog line" || s[0]["n"] != 7.0 || s[0]["g.k"] != "v" || s[0]["level"] != "warn" {
		t.Errorf("slog lines = %v", s)
	}
	if p := byComponent["tidb-parser"]; len(p) != 1 || !strings.Contains(p[0]["message"].(string), "collation") || p[0]["ID"] != 99999.0 || p[0]["level"] != "warn" {
		t.Errorf("tidb-parser lines = %v", p)
	}
}

func TestLogLimiter(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	lim := newLogLimiter(5*time.Second, clock.Now)
	type step struct {
		advance  time.Duration
		kind     string
		ok       bool
		wantHeld int
	}
	steps := []step{
		{0, "a", true, 0},
		{time.Second, "a", false, 0},
		{time.Second, "b", true, 0}, // kinds are independent
		{time.Second, "a", false, 0},
		{2 * time.Second, "a", true, 2}, // 5 s after the first: two held back
		{4 * time.Second, "a", false, 0},
		{time.Second, "a", true, 1},
		{time.Minute, "a", true, 0},
	}
	for i, s := range steps {
		clock.Add(s.advance)
		ok, held := lim.allow(s.kind)
		if ok != s.ok || held != s.wantHeld {
			t.Errorf("step %d (%s after %v): got %v, %d; want %v, %d", i, s.kind, s.advance, ok, held, s.ok, s.wantHeld)
		}
	}

	// Past maxLogKinds live kinds, new kinds share one window.
	lim = newLogLimiter(5*time.Second, clock.Now)
	for i := range maxLogKinds {
		lim.allow(fmt.Sprint("kind ", i))
	}
	if ok, _ := lim.allow("one more"); !ok {
		t.Error("the first kind beyond the limit was held back")
	}
	if ok, _ := lim.allow("and another"); ok || len(lim.kinds) != maxLogKinds+1 {
		t.Errorf("the second kind beyond the limit: let through %v, %d kinds", ok, len(lim.kinds))
	}
	clock.Add(5 * time.Second) // every window is over: new kinds get their own again
	if ok, _ := lim.allow("fresh"); !ok || len(lim.kinds) > 2 {
		t.Errorf("after the windows ended: let through %v, %d kinds", ok, len(lim.kinds))
	}
}

func TestLogKind(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"connection pool: failed to dial after 5 attempts: dial tcp 127.0.0.1:6379: connect: connection refused",
			"connection pool: failed to dial after # attempts: dial tcp #.#.#.#:#: connect: connection refused"},
		{"http: TLS handshake error from 10.1.2.3:51234: EOF", "http: TLS handshake error from #.#.#.#:#: EOF"},
		{strings.Repeat("x", 300), strings.Repeat("x", 160)},
	}
	for _, tt := range tests {
		if got := logKind(tt.msg); got != tt.want {
			t.Errorf("logKind(%q) = %q; want %q", tt.msg, got, tt.want)
		}
	}
}

// TestNodeLogIsJSONWithRedisDown runs a node whose Redis is unreachable for
// 5 s: every line it writes (stderr and stdout) must be one JSON object, and
// go-redis's repeated pool errors must be rate-limited.
func TestNodeLogIsJSONWithRedisDown(t *testing.T) {
	bin := binary(t)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartProcess(t, bin, nodeEnv(fmt.Sprintf("127.0.0.1:%d", port), "json-log", "DATAINGEST_LOG_FORMAT=json"))
	time.Sleep(5 * time.Second)
	p.Kill(t)
	out := p.Output()
	lines := jsonLines(t, out)
	if len(lines) == 0 {
		t.Fatal("the node wrote nothing")
	}
	kinds := map[string]int{}
	for _, m := range lines {
		if m["component"] == "go-redis" {
			kinds[logKind(fmt.Sprint(m["message"]))]++
		}
	}
	for k, n := range kinds {
		if n > 2 {
			t.Errorf("%d go-redis lines of one kind in 5 s (want at most 2): %s", n, k)
		}
	}
	if t.Failed() {
		t.Logf("node output:\n%s", out)
	}
}
