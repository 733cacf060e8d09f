package api

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
)

// serve is the server's handler: it bounds the request body, routes through
// the mux, turns the mux's own answers into JSON errors and answers a panic.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rw := &reply{w: w}
	defer s.recoverPanic(rw, r)
	if r.ContentLength > maxBody {
		refuse(w, http.StatusRequestEntityTooLarge, "request body over 1 MiB")
		return
	}
	// Given the server's own writer, MaxBytesReader also makes it close the
	// connection when the limit is hit.
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s.mux.ServeHTTP(rw, r)
	if !rw.routed && !rw.wrote {
		// The mux wrote nothing (it always does; this keeps the answer JSON
		// should that change).
		refuse(w, http.StatusNotFound, "not found")
	}
}

// handle registers h for pattern on the mux. Every route must be registered
// here: a request that reaches no handler registered so is the mux's own
// answer, which reply replaces.
func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw, ok := w.(*reply); ok {
			rw.routed = true
		}
		h.ServeHTTP(w, r)
	}))
}

// recoverPanic logs a handler's panic and answers a JSON 500, or, when the
// answer is already on its way, aborts the connection as net/http would.
func (s *Server) recoverPanic(rw *reply, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error().Str("panic", fmt.Sprint(v)).Str("method", r.Method).Str("path", r.URL.Path).
		Str("stack", string(debug.Stack())).Msg("HTTP handler panicked")
	if rw.wrote {
		panic(http.ErrAbortHandler)
	}
	clear(rw.w.Header())
	refuse(rw.w, http.StatusInternalServerError, "internal error")
}

// reply is the ResponseWriter the mux writes to. Until a route registered by
// handle claims the request (routed), a write is the mux's own answer (404,
// 405, or a redirect to the cleaned path), which reply replaces by a JSON
// error: 405 keeps its Allow header, a redirect becomes 404. Once routed,
// reply passes everything through and only notes whether the answer has
// begun (wrote), so that a panic can still be answered.
type reply struct {
	w      http.ResponseWriter
	routed bool
	wrote  bool
	muxHdr http.Header // the headers the mux sets before it is replaced
}

func (rw *reply) Header() http.Header {
	if rw.routed {
		return rw.w.Header()
	}
	if rw.muxHdr == nil {
		rw.muxHdr = make(http.Header)
	}
	return rw.muxHdr
}

func (rw *reply) WriteHeader(code int) {
	if rw.routed {
		if code >= 200 {
			rw.wrote = true
		}
		rw.w.WriteHeader(code)
		return
	}
	if rw.wrote {
		return
	}
	rw.wrote = true
	switch {
	case code == http.StatusMethodNotAllowed:
		allow := rw.muxHdr.Get("Allow")
		rw.w.Header().Set("Allow", allow)
		refuse(rw.w, code, "method not allowed; allowed: "+allow)
	case code == http.StatusNotFound:
		refuse(rw.w, code, "not found")
	case code >= 300 && code < 400:
		refuse(rw.w, http.StatusNotFound, "not found: the path is not canonical (it has empty, . or .. segments)")
	default:
		refuse(rw.w, code, http.StatusText(code))
	}
}

func (rw *reply) Write(p []byte) (int, error) {
	if rw.routed {
		rw.wrote = true
		return rw.w.Write(p)
	}
	if !rw.wrote {
		rw.WriteHeader(http.StatusNotFound)
	}
	return len(p), nil // the mux's text body is replaced
}

// Flush passes a routed handler's flush on (promhttp may flush).
func (rw *reply) Flush() {
	if !rw.routed {
		return
	}
	rw.wrote = true
	http.NewResponseController(rw.w).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (rw *reply) Unwrap() http.ResponseWriter { return rw.w }

// refuse answers an error that may come before the request body is read:
// "Connection: close", and the read ended at once, so that net/http neither
// waits to drain a body the client may never send nor keeps the connection.
func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	writeError(w, code, msg)
}

// newErrorLog returns the http.Server's ErrorLog: each line net/http logs
// (accept errors, TLS handshake errors, superfluous WriteHeader calls)
// becomes a zerolog warning.
func newErrorLog(l zerolog.Logger) *log.Logger {
	return log.New(errorLogWriter{l}, "", 0)
}

type errorLogWriter struct{ log zerolog.Logger }

func (e errorLogWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			e.log.Warn().Str("source", "net/http").Msg(string(line))
		}
	}
	return len(p), nil
}
