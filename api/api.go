// Package api serves a node's HTTP API: the Java service's task and node
// paths (commands are XADDed to the command stream like any producer's, so
// any node accepts them), health and readiness probes, and Prometheus
// metrics, and a status page for people (GET /, see ui.go). With a token
// configured every path but /healthz, /readyz and the status page's own
// files (which carry no data) needs "Authorization: Bearer TOKEN" (or,
// while tokens are rotated, the previous token). No response carries a
// password.
//
// The server is exposed to clients that may be slow, broken or hostile, so
// no client can hold a connection or a goroutine for long:
//
//   - DefaultReadHeaderTimeout (10 s) bounds the request line and headers,
//     DefaultReadTimeout (30 s) the whole request including its body (at
//     most 1 MiB), DefaultWriteTimeout (60 s, counted by net/http from the
//     end of the headers, so it covers reading the body, the handler and
//     writing the answer) and DefaultIdleTimeout (120 s) a keep-alive
//     connection between requests. Headers are limited to MaxHeaderBytes
//     (64 KiB). Config fields override the timeouts (tests use short ones).
//   - An answer given before the request body is read (401, 400 for a bad
//     task id, 404, 405, 413) carries "Connection: close" and ends the read,
//     so the connection closes at once instead of net/http waiting to drain
//     a body the client may never send.
//   - A body announced (Content-Length) or sent over 1 MiB gets 413 without
//     being read further; a body that does not arrive within the read
//     timeout gets 408.
//   - Every answer is JSON: errors are {"error": "..."}, including the
//     router's own 404 and 405 (405 keeps its Allow header). A path that is
//     not canonical (empty, "." or ".." segments) gets 404, never the
//     router's redirect. A panicking handler is logged and answered with a
//     JSON 500.
//   - net/http's own log lines (accept and TLS handshake errors) go to the
//     node's zerolog logger as warnings, so with JSON logging every line the
//     node prints is JSON.
//
// /readyz is ready when Redis answers and its maxmemory-policy cannot evict
// keys (one INFO memory call); otherwise it answers 503 with the reason. A
// Redis that refuses INFO (an ACL without +info) is also not ready, since
// nothing can then show that it does not evict.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// The server's limits; see the package comment for what each bounds.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	MaxHeaderBytes           = 64 << 10
)

// maxBody bounds a request body (a task config).
const maxBody = 1 << 20

// readyzTimeout bounds the Redis call of one /readyz.
const readyzTimeout = 2 * time.Second

// shutdownTimeout bounds the graceful shutdown in Run.
const shutdownTimeout = 3 * time.Second

// maxRequestID bounds the X-Request-Id header, which becomes the command's
// request_id (logged with it).
const maxRequestID = 128

// Config is the HTTP server's part of the node configuration. A zero (or
// negative) timeout means its Default constant.
type Config struct {
	Addr  string
	Token string // empty: no authentication
	// PreviousToken is accepted as well as Token while clients move from
	// one token to the next (DATAINGEST_API_TOKEN_PREVIOUS); ignored
	// without Token. Each request that uses it is counted, and logged at
	// most once a minute, so an operator sees who still sends it.
	PreviousToken string
	// Sealer seals the passwords of task configs before they are queued
	// (nil or keyless: they are queued as given).
	Sealer *task.Sealer
	// Ready, when set, is asked by /readyz after Redis: an error (the
	// node's command consumer has not read the stream for a while, say)
	// makes it answer 503 with the error.
	Ready func() error
	// Pprof serves Go's profiles under /debug/pprof/ (behind Token, like
	// the rest of the API).
	Pprof bool

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// withDefaults fills the zero timeouts.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	return c
}

// Server is the HTTP API of one node.
type Server struct {
	cfg   Config
	store *store.Store
	log   zerolog.Logger
	mux   *http.ServeMux
	srv   *http.Server
	ln    net.Listener

	previousUses   atomic.Int64 // requests authenticated with PreviousToken
	previousLogged atomic.Int64 // when the last of them was logged, ns since the epoch
}

// New returns the server; gatherer serves /metrics.
func New(cfg Config, st *store.Store, gatherer prometheus.Gatherer, log zerolog.Logger) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, store: st, log: log, mux: http.NewServeMux()}
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", s.auth(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	const p = "/dataingest/cluster"
	s.handle("POST "+p+"/task/{id}/start", s.auth(s.command("start", true)))
	s.handle("POST "+p+"/task/{id}/restart", s.auth(s.command("restart", true)))
	s.handle("POST "+p+"/task/{id}/stop", s.auth(s.command("stop", false)))
	s.handle("POST "+p+"/task/{id}/failover", s.auth(s.command("failover", false)))
	s.handle("DELETE "+p+"/task/{id}", s.auth(s.command("delete", false)))
	s.handle("GET "+p+"/tasks", s.auth(http.HandlerFunc(s.tasks)))
	s.handle("GET "+p+"/task/{id}/status", s.auth(http.HandlerFunc(s.status)))
	s.handle("GET "+p+"/nodes", s.auth(http.HandlerFunc(s.nodes)))
	if cfg.Pprof {
		s.handle("GET /debug/pprof/", s.auth(http.HandlerFunc(pprof.Index)))
		s.handle("GET /debug/pprof/cmdline", s.auth(http.HandlerFunc(pprof.Cmdline)))
		s.handle("GET /debug/pprof/profile", s.auth(http.HandlerFunc(pprof.Profile)))
		s.handle("GET /debug/pprof/symbol", s.auth(http.HandlerFunc(pprof.Symbol)))
		s.handle("GET /debug/pprof/trace", s.auth(http.HandlerFunc(pprof.Trace)))
	}
	s.routeUI()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          newErrorLog(log),
	}
	return s
}

// Listen binds the address; Run serves on it. Split so that main fails
// fast on a busy port.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves on the bound address until Shutdown; it returns nil after
// a Shutdown, and the error that stopped it otherwise.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits until ctx ends for the
// requests under way.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Run serves until ctx ends, then shuts down gracefully, waiting up to
// three seconds for the requests under way. (A node serves through
// worker.Node instead, which closes the server last under the node's own
// shutdown deadline.)
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return s.Shutdown(sctx)
	}
}

// auth lets a request through to h when it carries the token, or the
// previous token while one is configured; otherwise it answers 401.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.Token)
	var previous []byte
	if s.cfg.PreviousToken != "" {
		previous = []byte("Bearer " + s.cfg.PreviousToken)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		current := subtle.ConstantTimeCompare(got, want) == 1
		old := previous != nil && subtle.ConstantTimeCompare(got, previous) == 1
		if !current && !old {
			w.Header().Set("WWW-Authenticate", "Bearer")
			refuse(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		if old {
			s.previousTokenUsed(r)
		}
		h.ServeHTTP(w, r)
	})
}

// previousTokenLogEvery is the shortest time between two log lines about
// requests with the previous token.
const previousTokenLogEvery = time.Minute

// previousTokenUsed counts a request made with the previous token and logs
// it (its client and path, never the token), at most once a
// previousTokenLogEvery with the number of such requests since the last
// line: the token can go once these lines stop.
func (s *Server) previousTokenUsed(r *http.Request) {
	n := s.previousUses.Add(1)
	now := time.Now().UnixNano()
	last := s.previousLogged.Load()
	if now-last < int64(previousTokenLogEvery) || !s.previousLogged.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn().Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Int64("requests", n).
		Msg("request authenticated with DATAINGEST_API_TOKEN_PREVIOUS: move this client to DATAINGEST_API_TOKEN before removing the previous token")
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyzTimeout)
	defer cancel()
	ev, err := s.store.EvictionPolicy(ctx)
	var rerr redis.Error
	switch {
	case errors.As(err, &rerr):
		writeError(w, http.StatusServiceUnavailable, "cannot tell whether Redis evicts keys: "+err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "redis unreachable: "+err.Error())
	case ev.Evicts(), ev.Full():
		writeError(w, http.StatusServiceUnavailable, ev.Problem())
	case s.cfg.Ready != nil && s.cfg.Ready() != nil:
		writeError(w, http.StatusServiceUnavailable, s.cfg.Ready().Error())
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// command XADDs cmd for the task of the path; withConfig takes the body as
// the task config (required for start unless one is stored, optional for
// restart).
func (s *Server) command(cmd string, withConfig bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := task.ValidID(id); err != nil {
			refuse(w, http.StatusBadRequest, err.Error())
			return
		}
		fields := map[string]string{"cmd": cmd, "task": id}
		if rid := r.Header.Get("X-Request-Id"); rid != "" {
			if len(rid) > maxRequestID {
				refuse(w, http.StatusBadRequest, fmt.Sprintf("X-Request-Id is %d bytes, the most is %d", len(rid), maxRequestID))
				return
			}
			fields["request_id"] = rid
		}
		if withConfig {
			body, err := io.ReadAll(r.Body) // bounded by serve's MaxBytesReader
			if err != nil {
				bodyError(w, err)
				return
			}
			if len(strings.TrimSpace(string(body))) > 0 {
				cfg, err := task.PrepareCommandConfig(s.cfg.Sealer, id, body)
				if err != nil {
					writeError(w, http.StatusBadRequest, err.Error())
					return
				}
				fields["config"] = cfg
			}
		}
		entry, err := s.store.Publish(r.Context(), fields)
		if err != nil {
			s.log.Warn().Err(err).Str("task", id).Str("cmd", cmd).Msg("publishing command")
			writeError(w, http.StatusServiceUnavailable, "redis unavailable: command not queued")
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"taskId": id, "command": cmd, "commandId": entry})
	})
}

func (s *Server) tasks(w http.ResponseWriter, r *http.Request) {
	ts, err := s.store.Tasks(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := task.ValidID(id); err != nil {
		refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := s.store.Task(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrUnknownTask):
		writeError(w, http.StatusNotFound, "task "+id+" not found")
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusOK, t)
	}
}

func (s *Server) nodes(w http.ResponseWriter, r *http.Request) {
	ns, err := s.store.Nodes(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

// bodyError answers a request whose body could not be read: too big
// (serve's MaxBytesReader), not sent within the read timeout, or broken off.
func bodyError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		refuse(w, http.StatusRequestEntityTooLarge, "request body over 1 MiB")
	case errors.Is(err, os.ErrDeadlineExceeded):
		refuse(w, http.StatusRequestTimeout, "request body not received within the read timeout")
	default:
		refuse(w, http.StatusBadRequest, "reading request body: "+err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
