package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	redisReadyTimeout = 10 * time.Second
	redisStopTimeout  = 10 * time.Second
)

// Redis is a private redis-server started by StartRedis: bound to 127.0.0.1
// on its own port, with its data, config and log in its own directory. It
// keeps an append-only file (fsynced every second), so data survives Stop,
// Kill and Restart; RDB snapshots are off.
type Redis struct {
	Addr    string // "127.0.0.1:PORT"
	Port    int
	Dir     string // data directory, holding redis.conf and redis.log too
	TLSAddr string // "127.0.0.1:PORT" of the TLS port, with WithTLS

	opts redisOptions
	d    *daemon
}

// RedisOption configures StartRedis.
type RedisOption func(*redisOptions)

type redisOptions struct {
	password          string
	cert, key, caCert string
}

// WithPassword makes the server require AUTH with password (requirepass).
func WithPassword(password string) RedisOption {
	return func(o *redisOptions) { o.password = password }
}

// WithTLS adds a TLS port (TLSAddr) serving certFile and keyFile; clients
// need not present certificates. The plain port stays open for the tests.
func WithTLS(certFile, keyFile, caFile string) RedisOption {
	return func(o *redisOptions) { o.cert, o.key, o.caCert = certFile, keyFile, caFile }
}

// StartRedis starts a redis-server from PATH in t.TempDir() on a free port
// and waits until it answers PING. t.Cleanup kills it.
func StartRedis(t testing.TB, opts ...RedisOption) *Redis {
	t.Helper()
	path := mustLookBinary(t, "redis-server")
	var o redisOptions
	for _, opt := range opts {
		opt(&o)
	}
	r, err := startRedis(path, t.TempDir(), o)
	if err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() {
		if err := r.d.kill(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return r
}

// startRedis starts redis-server in dir, trying another port when the chosen
// one is taken.
func startRedis(path, dir string, o redisOptions) (*Redis, error) {
	var err error
	for range startAttempts {
		var r *Redis
		if r, err = tryStartRedis(path, dir, o); !errors.Is(err, errAddrInUse) {
			return r, err
		}
	}
	return nil, err
}

// tryStartRedis starts redis-server in dir on a free port.
func tryStartRedis(path, dir string, o redisOptions) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r, err := newRedis(path, dir, port, o)
	if err != nil {
		return nil, err
	}
	if err := r.d.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// newRedis writes the config for a server in dir on port.
func newRedis(path, dir string, port int, o redisOptions) (*Redis, error) {
	r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir, opts: o}
	if o.cert != "" {
		tlsPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		r.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
	}
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, []byte(r.config()), 0o644); err != nil {
		return nil, fmt.Errorf("writing redis config: %w", err)
	}
	r.d = &daemon{
		name:         "redis-server",
		path:         path,
		args:         []string{conf},
		logPath:      filepath.Join(dir, "redis.log"),
		ready:        r.ping,
		readyTimeout: redisReadyTimeout,
		stopTimeout:  redisStopTimeout,
	}
	return r, nil
}

// config returns the contents of redis.conf.
func (r *Redis) config() string {
	lines := []string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(r.Port),
		"dir " + strconv.Quote(r.Dir),
		"daemonize no",
		"logfile " + strconv.Quote(filepath.Join(r.Dir, "redis.log")),
		"appendonly yes",
		"appendfsync everysec",
		`save ""`,
	}
	if r.opts.password != "" {
		lines = append(lines, "requirepass "+strconv.Quote(r.opts.password))
	}
	if r.TLSAddr != "" {
		_, port, _ := net.SplitHostPort(r.TLSAddr)
		lines = append(lines, "tls-port "+port,
			"tls-cert-file "+strconv.Quote(r.opts.cert), "tls-key-file "+strconv.Quote(r.opts.key),
			"tls-ca-cert-file "+strconv.Quote(r.opts.caCert), "tls-auth-clients no")
	}
	return strings.Join(lines, "\n") + "\n"
}

// ping sends PING over a fresh connection and expects PONG; a server still
// loading its append-only file answers -LOADING and is not ready yet.
func (r *Redis) ping() error {
	conn, err := net.DialTimeout("tcp", r.Addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	// With a password, -NOAUTH also says the server is up and serving.
	if line = strings.TrimSpace(line); line != "+PONG" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Client returns a new go-redis client for this server, closed by t.Cleanup.
// It keeps working across Restart: go-redis redials broken connections. It
// sets ContextTimeoutEnabled, so a context deadline bounds a command on a
// paused server; without it go-redis ignores the deadline for socket reads
// and a PING on a paused server takes about 5 s to fail whatever the context.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.opts.password, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill sends SIGKILL and waits for the server to exit. Writes the server
// acknowledged are kept: they are in the append-only file, in the page cache.
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	if err := r.d.kill(); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the server down gracefully (SIGTERM, like SHUTDOWN: it fsyncs
// the append-only file) and waits for it to exit.
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	if err := r.d.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again after Kill or Stop, on the same port and
// directory, and waits until it has loaded its data and answers PING.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.d.start(); err != nil {
		t.Fatalf("restarting redis-server: %v", err)
	}
}

// Restart is Stop then Start.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.Stop(t)
	r.Start(t)
}

// Pause stops the server with SIGSTOP and waits until it is stopped:
// connections stay open (new ones even connect) but nothing is
// answered until Resume.
func (r *Redis) Pause(t testing.TB) {
	t.Helper()
	if err := r.d.pause(); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a paused server with SIGCONT.
func (r *Redis) Resume(t testing.TB) {
	t.Helper()
	if err := r.d.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// Log returns the tail of the server's log.
func (r *Redis) Log() string { return r.d.logTail() }

// CommandsProcessed is a Redis server's count of the commands it has run
// (INFO stats total_commands_processed; commands inside scripts count),
// asked through rdb, whose INFO is one command more.
func CommandsProcessed(t testing.TB, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO stats total_commands_processed %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no total_commands_processed in INFO stats")
	return 0
}
