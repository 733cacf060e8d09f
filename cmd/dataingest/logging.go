package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	stdlog "log"
	"log/slog"
	"strings"
	"sync"
	"time"

	pclog "github.com/pingcap/log"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Library logs. Four loggers besides the node's own print in the process:
//
//   - go-redis's internal logger (redis.SetLogger): connection pool errors,
//     several a second while Redis is down;
//   - the standard log package: net/http's server errors, go-mysql's client
//     (LOCAL INFILE clean-up);
//   - log/slog's default logger: go-mysql's package-level warnings (the
//     BinlogSyncer's own logger is set by the source package);
//   - pingcap/log, the TiDB parser's global zap logger, which writes text to
//     stdout.
//
// Each has its own plain-text format, so with DATAINGEST_LOG_FORMAT=json
// they broke the one-JSON-object-a-line log. routeLibraryLogs points all of
// them at the node's zerolog logger, each under its own component, and lets
// through at most one line of each kind per libraryLogInterval: a line
// written after some were held back carries their number in "suppressed".

// libraryLogInterval is the shortest time between two library log lines of
// the same kind.
const libraryLogInterval = 5 * time.Second

// routeLibraryLogs sends every library's log output through log, as above.
// main calls it once, right after building the logger; it replaces
// process-wide loggers, so nothing else should.
func routeLibraryLogs(log zerolog.Logger) {
	routeLibraryLogsEvery(log, newLogLimiter(libraryLogInterval, time.Now))
}

// routeLibraryLogsEvery is routeLibraryLogs with the rate limiter given.
func routeLibraryLogsEvery(log zerolog.Logger, lim *logLimiter) {
	lib := func(component string) zerolog.Logger {
		return log.With().Str("component", component).Logger()
	}
	redis.SetLogger(redisLogger{log: lib("go-redis"), lim: lim})
	slog.SetDefault(slog.New(limitedHandler{next: zerolog.NewSlogHandler(lib("slog")), lim: lim}))
	// After slog.SetDefault, which points the log package at slog's
	// handler: the log package gets a component of its own.
	stdlog.SetOutput(lineWriter{log: lib("stdlog"), lim: lim})
	stdlog.SetFlags(0)
	stdlog.SetPrefix("")
	routePingcapLog(lib("tidb-parser"), lim)
}

// redisLogger is go-redis's Logging: each Printf is one warning (go-redis
// logs only trouble; the node logs the errors it gets where it handles them).
type redisLogger struct {
	log zerolog.Logger
	lim *logLimiter
}

// Printf logs one go-redis line, rate-limited by kind.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	limitedEvent(l.log, l.lim, zerolog.WarnLevel, "go-redis", msg).Msg(msg)
}

// lineWriter is the standard log package's output: each Write is one call
// of log.Print and friends, logged as one warning (what libraries print
// there is trouble: http: Accept error, TLS handshake error, ...).
type lineWriter struct {
	log zerolog.Logger
	lim *logLimiter
}

// Write logs p as one line, rate-limited by kind.
func (w lineWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	limitedEvent(w.log, w.lim, zerolog.WarnLevel, "stdlog", msg).Msg(msg)
	return len(p), nil
}

// limitedEvent starts an event at level for msg of component, or returns
// nil (zerolog's disabled event, on which Msg does nothing) when the limiter
// holds the line back.
func limitedEvent(log zerolog.Logger, lim *logLimiter, level zerolog.Level, component, msg string) *zerolog.Event {
	if log.GetLevel() > level {
		return nil // not counted: the operator asked not to see these
	}
	ok, held := lim.allow(component + "\x00" + logKind(msg))
	if !ok {
		return nil
	}
	ev := log.WithLevel(level)
	if held > 0 {
		ev = ev.Int("suppressed", held)
	}
	return ev
}

// limitedHandler is a slog.Handler that rate-limits records by message
// before handing them on.
type limitedHandler struct {
	next slog.Handler
	lim  *logLimiter
}

// Enabled reports whether next handles level.
func (h limitedHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle hands r to next unless a record of its kind was handled less than
// the limiter's interval ago.
func (h limitedHandler) Handle(ctx context.Context, r slog.Record) error {
	ok, held := h.lim.allow("slog\x00" + logKind(r.Message))
	if !ok {
		return nil
	}
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", held))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns the handler for next.WithAttrs, sharing the limiter.
func (h limitedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return limitedHandler{next: h.next.WithAttrs(attrs), lim: h.lim}
}

// WithGroup returns the handler for next.WithGroup, sharing the limiter.
func (h limitedHandler) WithGroup(name string) slog.Handler {
	return limitedHandler{next: h.next.WithGroup(name), lim: h.lim}
}

// routePingcapLog replaces pingcap/log's global logger (text on stdout) by
// one that writes JSON entries into a zapWriter.
func routePingcapLog(log zerolog.Logger, lim *logLimiter) {
	w := zapWriter{log: log, lim: lim}
	cfg := &pclog.Config{Level: zapLevel(log.GetLevel()), Format: "json", DisableTimestamp: true}
	lg, props, err := pclog.InitLoggerWithWriteSyncer(cfg, w, w)
	if err != nil {
		log.Warn().Err(err).Msg("cannot route the TiDB parser's log; it writes to stdout")
		return
	}
	pclog.ReplaceGlobals(lg, props)
}

// zapLevel is the pingcap/log level name for a zerolog level.
func zapLevel(l zerolog.Level) string {
	switch {
	case l <= zerolog.DebugLevel:
		return "debug"
	case l == zerolog.InfoLevel:
		return "info"
	case l == zerolog.WarnLevel:
		return "warn"
	case l == zerolog.ErrorLevel:
		return "error"
	default:
		return "fatal"
	}
}

// zapWriter is pingcap/log's output (a zapcore.WriteSyncer): each Write is
// one JSON-encoded entry, re-logged through log with its level, message and
// fields.
type zapWriter struct {
	log zerolog.Logger
	lim *logLimiter
}

// Write re-logs one zap entry.
func (w zapWriter) Write(p []byte) (int, error) {
	var entry map[string]any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&entry); err != nil {
		msg := strings.TrimRight(string(p), "\n")
		limitedEvent(w.log, w.lim, zerolog.WarnLevel, "tidb-parser", msg).Msg(msg)
		return len(p), nil
	}
	msg, _ := entry["message"].(string)
	levelName, _ := entry["level"].(string)
	level, err := zerolog.ParseLevel(strings.ToLower(levelName))
	if err != nil || level > zerolog.ErrorLevel {
		level = zerolog.ErrorLevel // DPANIC, PANIC, FATAL: the library panics or exits itself
	}
	delete(entry, "message")
	delete(entry, "level")
	delete(entry, "time")
	limitedEvent(w.log, w.lim, level, "tidb-parser", msg).Fields(entry).Msg(msg)
	return len(p), nil
}

// Sync does nothing: every Write is already logged.
func (zapWriter) Sync() error { return nil }

// logKind is the rate limiter's name for a message: its text with every run
// of digits as '#' (ports, counts, connection ids), cut to 160 bytes.
func logKind(msg string) string {
	const maxLen = 160
	var b strings.Builder
	digits := false
	for i := 0; i < len(msg) && b.Len() < maxLen; i++ {
		c := msg[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}

// maxLogKinds bounds the limiter's memory: beyond it, new kinds share one
// window.
const maxLogKinds = 512

// otherLogKind is the window that kinds beyond maxLogKinds share.
const otherLogKind = "\x00other"

// logLimiter lets through at most one line of each kind per interval and
// counts the lines it holds back, for the next line of that kind to report.
// The count of a kind that never logs again is not reported.
type logLimiter struct {
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex // guards kinds; lines come from many goroutines
	kinds map[string]*logWindow
}

// logWindow is one kind's state: no line before until; held lines were
// dropped since the last one let through.
type logWindow struct {
	until time.Time
	held  int
}

// newLogLimiter returns a limiter of one line per kind per every, reading
// the time from now.
func newLogLimiter(every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{every: every, now: now, kinds: map[string]*logWindow{}}
}

// allow reports whether a line of kind may be written now and, when it
// may, how many lines of that kind were held back since the last one.
func (l *logLimiter) allow(kind string) (ok bool, held int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.kinds[kind]
	if w == nil {
		if len(l.kinds) >= maxLogKinds {
			l.prune(now)
		}
		if len(l.kinds) >= maxLogKinds {
			kind = otherLogKind
		}
		if w = l.kinds[kind]; w == nil {
			w = &logWindow{}
			l.kinds[kind] = w
		}
	}
	if now.Before(w.until) {
		w.held++
		return false, 0
	}
	held = w.held
	w.until, w.held = now.Add(l.every), 0
	return true, held
}

// prune forgets the kinds whose window has ended (and their held counts).
func (l *logLimiter) prune(now time.Time) {
	for k, w := range l.kinds {
		if k != otherLogKind && !now.Before(w.until) {
			delete(l.kinds, k)
		}
	}
}
