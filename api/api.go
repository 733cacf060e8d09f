// Package api serves a node's HTTP API: the Java service's task and node
// paths (commands are XADDed to the command stream like any producer's, so
// any node accepts them), health and readiness probes, and Prometheus
// metrics. With a token configured every path but /healthz and /readyz
// needs "Authorization: Bearer TOKEN". No response carries a password.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// Config is the HTTP server's part of the node configuration.
type Config struct {
	Addr  string
	Token string // empty: no authentication
}

// Server is the HTTP API of one node.
type Server struct {
	cfg   Config
	store *store.Store
	log   zerolog.Logger
	srv   *http.Server
	ln    net.Listener
}

// maxBody bounds a request body (a task config).
const maxBody = 1 << 20

// New returns the server; gatherer serves /metrics.
func New(cfg Config, st *store.Store, gatherer prometheus.Gatherer, log zerolog.Logger) *Server {
	s := &Server{cfg: cfg, store: st, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.auth(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
	const p = "/dataingest/cluster"
	mux.Handle("POST "+p+"/task/{id}/start", s.auth(s.command("start", true)))
	mux.Handle("POST "+p+"/task/{id}/restart", s.auth(s.command("restart", true)))
	mux.Handle("POST "+p+"/task/{id}/stop", s.auth(s.command("stop", false)))
	mux.Handle("POST "+p+"/task/{id}/failover", s.auth(s.command("failover", false)))
	mux.Handle("DELETE "+p+"/task/{id}", s.auth(s.command("delete", false)))
	mux.Handle("GET "+p+"/tasks", s.auth(http.HandlerFunc(s.tasks)))
	mux.Handle("GET "+p+"/task/{id}/status", s.auth(http.HandlerFunc(s.status)))
	mux.Handle("GET "+p+"/nodes", s.auth(http.HandlerFunc(s.nodes)))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	}
}

func (s *Server) auth(h http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "redis unreachable: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// command XADDs cmd for the task of the path; withConfig takes the body as
// the task config (required for start unless one is stored, optional for
// restart).
func (s *Server) command(cmd string, withConfig bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := task.ValidID(id); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		fields := map[string]string{"cmd": cmd, "task": id}
		if rid := r.Header.Get("X-Request-Id"); rid != "" {
			fields["request_id"] = rid
		}
		if withConfig {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || len(body) > maxBody {
				writeError(w, http.StatusBadRequest, "request body unreadable or over 1 MiB")
				return
			}
			if len(strings.TrimSpace(string(body))) > 0 {
				if _, err := task.Parse(body); err != nil {
					writeError(w, http.StatusBadRequest, err.Error())
					return
				}
				fields["config"] = string(body)
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
		writeError(w, http.StatusBadRequest, err.Error())
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
