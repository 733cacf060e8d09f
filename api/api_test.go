package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// newServer starts the real Server (its timeouts and guards included) on a
// free port against a private redis-server and returns its base URL.
func newServer(t *testing.T, token string) (string, *store.Store, *testenv.Redis) {
	t.Helper()
	_, base, st, r := startServer(t, Config{Token: token}, zerolog.Nop())
	return base, st, r
}

func startServer(t *testing.T, cfg Config, log zerolog.Logger) (*Server, string, *store.Store, *testenv.Redis) {
	t.Helper()
	r := testenv.StartRedis(t)
	st := store.New(r.Client(t), "debezium")
	cfg.Addr = "127.0.0.1:0"
	s := New(cfg, st, prometheus.NewRegistry(), log)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return s, "http://" + s.Addr(), st, r
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const secretConfig = `{"taskName":"orders","taskType":"MYSQL_CDC","snapshotMode":"never",
	"dataSourceConfigs":[{"host":"127.0.0.1","port":3306,"username":"cdc","password":"s3cret-pw"}],"cdcTables":["shop.orders"]}`

func TestAPI(t *testing.T) {
	url, st, _ := newServer(t, "tok")
	base := url + "/dataingest/cluster"
	tests := []struct {
		method, path, token, body string
		code                      int
		want                      string
	}{
		{"GET", "/healthz", "", "", 200, `"ok"`},
		{"GET", "/readyz", "", "", 200, `"ready"`},
		{"GET", "/metrics", "", "", 401, `"error"`},
		{"GET", "/metrics", "tok", "", 200, ""},
		{"GET", "/dataingest/cluster/tasks", "", "", 401, "bearer token"},
		{"GET", "/dataingest/cluster/tasks", "wrong", "", 401, "bearer token"},
		{"GET", "/dataingest/cluster/tasks", "tok", "", 200, "[]"},
		{"GET", "/dataingest/cluster/task/nope/status", "tok", "", 404, `not found`},
		{"GET", "/dataingest/cluster/task/bad%20id/status", "tok", "", 400, `task id`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", `{"taskType":"NOPE"}`, 400, `taskType`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", `{`, 400, `"error"`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", secretConfig, 202, `"commandId"`},
		{"POST", "/dataingest/cluster/task/t1/stop", "tok", "", 202, `"stop"`},
		{"POST", "/dataingest/cluster/task/t1/restart", "tok", "", 202, `"restart"`},
		{"POST", "/dataingest/cluster/task/t1/failover", "tok", "", 202, `"failover"`},
		{"DELETE", "/dataingest/cluster/task/t1", "tok", "", 202, `"delete"`},
		{"GET", "/dataingest/cluster/nodes", "tok", "", 200, "[]"},
	}
	for _, tt := range tests {
		code, body := do(t, tt.method, url+tt.path, tt.token, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
		}
		if strings.Contains(body, "s3cret-pw") {
			t.Errorf("%s %s: response contains the password", tt.method, tt.path)
		}
	}
	msgs, _ := st.Client().XRange(context.Background(), st.Keys().Commands(), "-", "+").Result()
	var cmds []string
	for _, m := range msgs {
		cmds = append(cmds, m.Values["cmd"].(string))
	}
	if got := strings.Join(cmds, ","); got != "start,stop,restart,failover,delete" {
		t.Errorf("commands queued: %s", got)
	}

	// A task's status, as a node writes it, and the node list.
	ctx := context.Background()
	st.PutConfig(ctx, "0-1", "t2", `{"taskName":"n2","taskType":"DATAGEN"}`, "d", "n2", "DATAGEN", false)
	l, _, _, _ := st.AcquireLease(ctx, "t2", "node-1", time.Minute)
	st.SetStatus(ctx, l, "state", "RUNNING", "events", "7", "lag_ms", "12", "position", "seq 7")
	st.Heartbeat(ctx, store.NodeInfo{NodeID: "node-1", Address: ":8080", Tasks: []string{"t2"}}, time.Minute)

	_, body := do(t, "GET", base+"/task/t2/status", "tok", "")
	var ti store.TaskInfo
	if err := json.Unmarshal([]byte(body), &ti); err != nil {
		t.Fatal(err)
	}
	if ti.TaskID != "t2" || ti.Status != "RUNNING" || ti.Node != "node-1" || ti.Events != 7 || ti.LagMs != 12 || ti.TaskType != "DATAGEN" {
		t.Errorf("status = %+v", ti)
	}
	_, body = do(t, "GET", base+"/nodes", "tok", "")
	var ns []store.NodeInfo
	json.Unmarshal([]byte(body), &ns)
	if len(ns) != 1 || !ns[0].Alive || ns[0].Tasks[0] != "t2" {
		t.Errorf("nodes = %s", body)
	}
}

func TestReadyzWithoutRedis(t *testing.T) {
	url, _, r := newServer(t, "")
	r.Kill(t)
	code, body := do(t, "GET", url+"/readyz", "", "")
	if code != 503 || !strings.Contains(body, "redis unreachable") {
		t.Errorf("readyz = %d %s, want 503", code, body)
	}
	if code, _ := do(t, "GET", url+"/healthz", "", ""); code != 200 {
		t.Errorf("healthz = %d, want 200 while redis is down", code)
	}
	if code, _ := do(t, "POST", url+"/dataingest/cluster/task/t1/stop", "", ""); code != 503 {
		t.Errorf("stop without redis = %d, want 503", code)
	}
}

// rawResponse is one answer read off a raw TCP connection, and whether the
// server closed the connection after it.
type rawResponse struct {
	code   int
	header http.Header
	body   string
	close  bool // the answer said "Connection: close"
	closed bool // the server closed the connection after the answer
}

// clientWait bounds every raw client read. It is far above the short
// timeouts the tests configure and far below the long ones, so a server
// that waits for a long timeout (or forever) fails the test.
const clientWait = 10 * time.Second

// raw sends req as written on a new connection, reads one answer and then
// checks whether the server closes the connection within clientWait.
func raw(t *testing.T, addr, req string) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(clientWait))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("no answer to %q within %v: %v", firstLine(req), clientWait, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading answer to %q: %v", firstLine(req), err)
	}
	_, err = br.ReadByte()
	return rawResponse{code: resp.StatusCode, header: resp.Header, body: string(b), close: resp.Close, closed: errors.Is(err, io.EOF)}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

// jsonError returns the "error" of a JSON error body, or fails.
func jsonError(t *testing.T, what string, r rawResponse) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json (body %q)", what, ct, r.body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %q is not a JSON error", what, r.body)
	}
	return e.Error
}

// TestEarlyAnswersClose: an answer given before the body is read closes the
// connection at once, although the client announced a body it never sends.
// The server's read timeout is far longer than the client waits, so a
// server that drains the body first fails here.
func TestEarlyAnswersClose(t *testing.T) {
	s, _, _, _ := startServer(t, Config{Token: "tok", ReadTimeout: time.Hour, WriteTimeout: time.Hour}, zerolog.Nop())
	const start = "POST /dataingest/cluster/task/t1/start HTTP/1.1\r\nHost: x\r\n"
	tests := []struct {
		name, req string
		code      int
	}{
		{"no token", start + "Content-Length: 100\r\n\r\n", 401},
		{"wrong token", start + "Authorization: Bearer nope\r\nContent-Length: 100\r\n\r\n", 401},
		{"bad id", "POST /dataingest/cluster/task/b%20d/start HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\n", 400},
		{"announced over 1 MiB", start + "Authorization: Bearer tok\r\nContent-Length: 1048577\r\n\r\n", 413},
		{"announced over 1 MiB, no token", start + "Content-Length: 99999999\r\n\r\n", 413},
		{"unknown path", "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 404},
		{"wrong method", "PUT /dataingest/cluster/task/t1/start HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := raw(t, s.Addr(), tt.req)
			jsonError(t, tt.name, got)
			if got.code != tt.code || !got.close || !got.closed {
				t.Errorf("got %d, Connection: close %v, closed %v; want %d, close, closed", got.code, got.close, got.closed, tt.code)
			}
		})
	}
}

// TestSlowClients: a client that announces a body and sends none, sends
// half a header, sends nothing, or idles between requests is answered or
// cut off within the one timeout meant for it. Each case gets a server
// whose other timeouts are an hour, so a case passes only by its own
// timeout (net/http falls back from one to another when one is unset).
func TestSlowClients(t *testing.T) {
	const short, long = 300 * time.Millisecond, time.Hour
	server := func(c Config) string {
		c.Token = "tok"
		for _, d := range []*time.Duration{&c.ReadHeaderTimeout, &c.ReadTimeout, &c.WriteTimeout, &c.IdleTimeout} {
			if *d == 0 {
				*d = long
			}
		}
		s, _, _, _ := startServer(t, c, zerolog.Nop())
		return s.Addr()
	}
	// untilClosed reads until the server closes the connection.
	untilClosed := func(t *testing.T, conn net.Conn) {
		t.Helper()
		b, err := io.ReadAll(conn)
		if err != nil {
			t.Errorf("connection still open after %v: %v (read %q)", clientWait, err, b)
		}
	}

	t.Run("ReadTimeout", func(t *testing.T) {
		addr := server(Config{ReadTimeout: short})
		got := raw(t, addr, "POST /dataingest/cluster/task/t1/start HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\n")
		msg := jsonError(t, "start", got)
		if got.code != http.StatusRequestTimeout || !got.closed || !strings.Contains(msg, "timeout") {
			t.Errorf("start without its body: %d %q closed %v, want 408 and closed", got.code, msg, got.closed)
		}
		// A handler that reads no body: net/http drains it before answering,
		// for at most the read timeout.
		got = raw(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		if got.code != 200 || !got.closed {
			t.Errorf("healthz without its body: %d closed %v, want 200 and closed", got.code, got.closed)
		}
	})
	t.Run("ReadHeaderTimeout", func(t *testing.T) {
		addr := server(Config{ReadHeaderTimeout: short})
		for _, req := range []string{"GET /healthz HTTP/1.1\r\nHost: x\r\n", "GET /hea", ""} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(clientWait))
			io.WriteString(conn, req)
			untilClosed(t, conn)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		addr := server(Config{IdleTimeout: short})
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(clientWait))
		io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("healthz: %d, close %v; want 200 kept alive", resp.StatusCode, resp.Close)
		}
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("idle connection not closed within %v: %v", clientWait, err)
		}
	})
}

// TestJSONErrors: the router's own 404 and 405, and paths it would redirect
// to their clean form, are JSON errors, never text or redirects.
func TestJSONErrors(t *testing.T) {
	s, _, _, _ := startServer(t, Config{Token: "tok"}, zerolog.Nop())
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/dataingest/cluster/task/t1", 405, "DELETE"},
		{"GET", "/dataingest/cluster/task", 404, ""},
		{"HEAD", "/nope", 404, ""},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/dataingest/cluster/task/t1/start", 405, "POST"},
		{"PATCH", "/dataingest/cluster/task/t1", 405, "DELETE"},
		{"GET", "/dataingest//cluster/tasks", 404, ""},
		{"GET", "//healthz", 404, ""},
		{"GET", "/dataingest/cluster/../cluster/tasks", 404, ""},
		{"GET", "/./healthz", 404, ""},
		{"GET", "/healthz/.", 404, ""},
		{"GET", "/readyz/", 404, ""},
		{"POST", "/dataingest/cluster/task/t1/../t2/stop", 404, ""},
		{"GET", "*", 400, ""},
	}
	for _, tt := range tests {
		what := tt.method + " " + tt.path
		got := raw(t, s.Addr(), what+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n")
		if got.code != tt.code || got.header.Get("Allow") != tt.allow || got.header.Get("Location") != "" {
			t.Errorf("%s: %d Allow %q Location %q, want %d Allow %q and no Location",
				what, got.code, got.header.Get("Allow"), got.header.Get("Location"), tt.code, tt.allow)
		}
		if tt.method != "HEAD" {
			jsonError(t, what, got)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	url, st, _ := newServer(t, "tok")
	start := url + "/dataingest/cluster/task/t1/start"
	post := func(body io.Reader) (int, string) {
		req, _ := http.NewRequest("POST", start, body)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	exact := secretConfig + strings.Repeat(" ", maxBody-len(secretConfig))
	over := exact + " "
	tests := []struct {
		name string
		body io.Reader
		code int
	}{
		{"1 MiB", strings.NewReader(exact), 202},
		{"1 MiB + 1", strings.NewReader(over), 413},
		{"1 MiB + 1 chunked", io.MultiReader(strings.NewReader(over)), 413},
	}
	for _, tt := range tests {
		code, body := post(tt.body)
		if code != tt.code || !strings.HasPrefix(body, "{") {
			t.Errorf("%s: %d %.200s, want %d and JSON", tt.name, code, body, tt.code)
		}
	}
	if n, _ := st.Client().XLen(context.Background(), st.Keys().Commands()).Result(); n != 1 {
		t.Errorf("%d commands queued, want the one of 1 MiB only", n)
	}
}

func TestReadyzEviction(t *testing.T) {
	url, _, r := newServer(t, "")
	ctx := context.Background()
	rdb := r.Client(t)
	for _, tt := range []struct {
		policy string
		code   int
		want   string
	}{
		{"allkeys-lru", 503, "maxmemory-policy is allkeys-lru"},
		{"volatile-ttl", 503, "maxmemory-policy is volatile-ttl"},
		{"noeviction", 200, `"ready"`},
	} {
		if err := rdb.ConfigSet(ctx, "maxmemory-policy", tt.policy).Err(); err != nil {
			t.Fatal(err)
		}
		code, body := do(t, "GET", url+"/readyz", "", "")
		if code != tt.code || !strings.Contains(body, tt.want) || !json.Valid([]byte(body)) {
			t.Errorf("readyz with %s: %d %s, want %d containing %s", tt.policy, code, body, tt.code, tt.want)
		}
	}
}

// syncBuffer is a log sink the server's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPanicAndErrorLog: a panicking handler is logged and answered with a
// JSON 500; net/http's own complaints are JSON log lines.
func TestPanicAndErrorLog(t *testing.T) {
	var logs syncBuffer
	s, url, _, _ := startServer(t, Config{}, zerolog.New(&logs))
	s.handle("GET /test/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	s.handle("GET /test/twice", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		w.WriteHeader(http.StatusOK) // net/http logs a superfluous WriteHeader
	}))
	s.handle("GET /test/late-panic", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic("late boom")
	}))

	code, body := do(t, "GET", url+"/test/panic", "", "")
	if code != 500 || !strings.Contains(body, `"error"`) {
		t.Errorf("panic: %d %s, want a JSON 500", code, body)
	}
	if code, _ := do(t, "GET", url+"/test/twice", "", ""); code != 204 {
		t.Errorf("twice: %d, want 204", code)
	}
	req, _ := http.NewRequest("GET", url+"/test/late-panic", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("late panic: the answer looked complete; want the connection aborted")
		}
	}

	var sawPanic, sawLate, sawTwice bool
	for line := range strings.Lines(logs.String()) {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		sawPanic = sawPanic || e["level"] == "error" && e["panic"] == "boom" && e["path"] == "/test/panic"
		sawLate = sawLate || e["panic"] == "late boom"
		msg, _ := e["message"].(string)
		sawTwice = sawTwice || e["level"] == "warn" && strings.Contains(msg, "superfluous")
	}
	if !sawPanic || !sawLate || !sawTwice {
		t.Errorf("logged panic %v, late panic %v, superfluous WriteHeader %v; want all:\n%s", sawPanic, sawLate, sawTwice, logs.String())
	}
}

func TestServerLimits(t *testing.T) {
	st := store.New(nil, "debezium")
	s := New(Config{}, st, prometheus.NewRegistry(), zerolog.Nop())
	got := []time.Duration{s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout}
	want := []time.Duration{DefaultReadHeaderTimeout, DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout}
	if !slices.Equal(got, want) || s.srv.MaxHeaderBytes != MaxHeaderBytes || s.srv.ErrorLog == nil {
		t.Errorf("defaults: timeouts %v, MaxHeaderBytes %d, ErrorLog %v; want %v, %d, set", got, s.srv.MaxHeaderBytes, s.srv.ErrorLog, want, MaxHeaderBytes)
	}
	s = New(Config{ReadHeaderTimeout: 1, ReadTimeout: 2, WriteTimeout: 3, IdleTimeout: 4}, st, prometheus.NewRegistry(), zerolog.Nop())
	got = []time.Duration{s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout}
	if want := []time.Duration{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("configured timeouts %v, want %v", got, want)
	}
}

// With a Sealer, a start's config is sealed before it is queued: no plain
// password reaches P:commands.
func TestStartSealsBeforeQueueing(t *testing.T) {
	sealer, err := task.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_, base, st, r := startServer(t, Config{Sealer: sealer}, zerolog.Nop())
	if code, body := do(t, "POST", base+"/dataingest/cluster/task/t1/start", "", secretConfig); code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	msgs, err := r.Client(t).XRange(context.Background(), st.Keys().Commands(), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queued: %d, %v", len(msgs), err)
	}
	cfg, _ := msgs[0].Values["config"].(string)
	if strings.Contains(cfg, "s3cret-pw") || !strings.Contains(cfg, task.SealedPrefix) {
		t.Fatalf("queued config does not seal the password: %s", cfg)
	}
}

func TestRequestIDBounded(t *testing.T) {
	base, st, r := newServer(t, "")
	req, _ := http.NewRequest("POST", base+"/dataingest/cluster/task/t1/stop", nil)
	req.Header.Set("X-Request-Id", strings.Repeat("r", 129))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 129-byte X-Request-Id: %d, want 400", resp.StatusCode)
	}
	if n := r.Client(t).XLen(context.Background(), st.Keys().Commands()).Val(); n != 0 {
		t.Fatalf("%d commands queued", n)
	}
}

// /readyz answers 503 with the node's own reason (its command consumer not
// reading) while Redis is fine.
func TestReadyzAsksTheNode(t *testing.T) {
	var notReady atomic.Pointer[error]
	ready := func() error {
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	}
	_, base, _, _ := startServer(t, Config{Ready: ready}, zerolog.Nop())
	if code, body := do(t, "GET", base+"/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("ready node: %d %s", code, body)
	}
	e := errors.New("the node has not read the command stream for 1m0s")
	notReady.Store(&e)
	if code, body := do(t, "GET", base+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "command stream") {
		t.Fatalf("node not reading commands: %d %s, want 503 with the reason", code, body)
	}
}

// TestPprof: the profiles are served only when asked for, and only with
// the API token.
func TestPprof(t *testing.T) {
	_, off, _, _ := startServer(t, Config{Token: "tok"}, zerolog.Nop())
	if code, _ := do(t, "GET", off+"/debug/pprof/heap", "tok", ""); code != http.StatusNotFound {
		t.Errorf("profiles off: GET /debug/pprof/heap = %d, want 404", code)
	}
	_, on, _, _ := startServer(t, Config{Token: "tok", Pprof: true}, zerolog.Nop())
	if code, _ := do(t, "GET", on+"/debug/pprof/heap", "", ""); code != http.StatusUnauthorized {
		t.Errorf("profiles on, no token: GET /debug/pprof/heap = %d, want 401", code)
	}
	for path, want := range map[string]string{
		"/debug/pprof/heap?debug=1": "heap profile", "/debug/pprof/block?debug=1": "contention",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
	} {
		code, body := do(t, "GET", on+path, "tok", "")
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("profiles on: GET %s = %d %.200q", path, code, body)
		}
	}
}
