// Package config is the environment of a DataIngest node (dataingest) and of
// the operator CLI (dataingestctl): one typed Config, parsed once in main from
// the DATAINGEST_* variables with caarlos0/env, validated as a whole, and then
// handed out in parts (Redis to the store, Cluster to the worker and the
// scheduler, HTTP to the API, Log to the logger, SecretKey to the task
// config sealer), so that no component reads the environment itself.
//
// Load also accepts the Java service's deployment names (SPRING_REDIS_HOST,
// SPRING_REDIS_PORT, SPRING_REDIS_PASSWORD, SERVER_PORT) as fallbacks when the
// DATAINGEST_ variable they stand for is unset. As with caarlos0/env's
// defaults, a variable set to the empty string counts as unset.
//
// Every error Load returns names the variable and, except for secrets, the
// bad value, and matches ErrInvalid: main prints it and exits with code 2.
// Secrets (the Redis password, the API tokens, the secret keys) have their own
// types whose String and MarshalText never show the value, and Redacted gives
// a loggable summary.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole environment of a node or of the CLI. Load fills and
// validates it; its parts are meant to be passed to the components that need
// them, never the whole.
type Config struct {
	Redis   Redis
	Cluster Cluster
	HTTP    HTTP
	Log     Log

	// SecretKey is the 32-byte AES-256 key (DATAINGEST_SECRET_KEY, base64 in
	// the environment) that seals the passwords of stored task configs. Empty:
	// passwords are stored in plain text (Warnings says so).
	SecretKey SecretKey `env:"DATAINGEST_SECRET_KEY"`
	// SecretKeyPrevious are further keys (DATAINGEST_SECRET_KEY_PREVIOUS,
	// comma-separated, each base64 of 32 bytes) that open sealed passwords
	// but never seal one: the keys of a rotation in progress. A node that
	// opens a stored config with one of them seals it again under
	// SecretKey (when set). Empty: only SecretKey opens.
	SecretKeyPrevious SecretKeys `env:"DATAINGEST_SECRET_KEY_PREVIOUS"`
}

// Redis is how to reach Redis and where in it DataIngest keeps its keys.
//
// The client kind follows the contract: MasterName set = Sentinel (Addrs are
// the sentinels); otherwise one address = standalone, several = Redis
// Cluster. Mode reports which.
type Redis struct {
	// Addrs are host:port addresses (DATAINGEST_REDIS_ADDRS, comma-separated;
	// blanks around each are trimmed). Fallback: SPRING_REDIS_HOST and
	// SPRING_REDIS_PORT (defaults 127.0.0.1 and 6379) when either is set.
	Addrs []string `env:"DATAINGEST_REDIS_ADDRS" envDefault:"127.0.0.1:6379"`
	// MasterName is the Sentinel master name (DATAINGEST_REDIS_MASTER_NAME).
	MasterName string `env:"DATAINGEST_REDIS_MASTER_NAME"`
	// Username is the ACL user (DATAINGEST_REDIS_USERNAME); empty = default.
	Username string `env:"DATAINGEST_REDIS_USERNAME"`
	// Password is the ACL password (DATAINGEST_REDIS_PASSWORD, fallback
	// SPRING_REDIS_PASSWORD). Pass string(Password) to the client.
	Password Secret `env:"DATAINGEST_REDIS_PASSWORD"`
	// DB is the database number (DATAINGEST_REDIS_DB); must be 0 for Cluster.
	DB int `env:"DATAINGEST_REDIS_DB" envDefault:"0"`
	// TLS turns on TLS to Redis (DATAINGEST_REDIS_TLS). TLSConfig builds
	// the client's tls.Config from it and the three files below.
	TLS bool `env:"DATAINGEST_REDIS_TLS" envDefault:"false"`
	// TLSCAFile is a PEM bundle of CAs to trust instead of the system's
	// (DATAINGEST_REDIS_TLS_CA_FILE).
	TLSCAFile string `env:"DATAINGEST_REDIS_TLS_CA_FILE"`
	// TLSCertFile and TLSKeyFile are a PEM client certificate and its key
	// (DATAINGEST_REDIS_TLS_CERT_FILE, DATAINGEST_REDIS_TLS_KEY_FILE), set
	// both or neither.
	TLSCertFile string `env:"DATAINGEST_REDIS_TLS_CERT_FILE"`
	TLSKeyFile  string `env:"DATAINGEST_REDIS_TLS_KEY_FILE"`
	// KeyPrefix is the prefix P of every key (DATAINGEST_KEY_PREFIX).
	KeyPrefix string `env:"DATAINGEST_KEY_PREFIX" envDefault:"debezium"`
}

// Cluster is a node's identity and the timing of its part in the fleet:
// heartbeats, lease renewal, orphan reclaim and failover.
type Cluster struct {
	// NodeID is the node's consumer name in the command group and the id in
	// its heartbeat key (DATAINGEST_NODE_ID). Default: the host name and the
	// port of HTTP.Addr, e.g. "web-3:8080".
	NodeID string `env:"DATAINGEST_NODE_ID"`
	// HeartbeatInterval is how often the node heartbeats and renews the
	// locks of its tasks (DATAINGEST_HEARTBEAT_INTERVAL).
	HeartbeatInterval time.Duration `env:"DATAINGEST_HEARTBEAT_INTERVAL" envDefault:"10s"`
	// TaskMonitorInterval is how often the node looks for orphaned tasks
	// (XAUTOCLAIM) and imbalance (DATAINGEST_TASK_MONITOR_INTERVAL).
	TaskMonitorInterval time.Duration `env:"DATAINGEST_TASK_MONITOR_INTERVAL" envDefault:"60s"`
	// FailoverTimeout is the TTL of a task lock and the idle time after which
	// a pending start entry may be claimed by another node
	// (DATAINGEST_FAILOVER_TIMEOUT). Always greater than HeartbeatInterval.
	FailoverTimeout time.Duration `env:"DATAINGEST_FAILOVER_TIMEOUT" envDefault:"60s"`
	// MaxTasks is the most tasks this node runs; 0 = no limit
	// (DATAINGEST_MAX_TASKS).
	MaxTasks int `env:"DATAINGEST_MAX_TASKS" envDefault:"0"`
	// ShutdownTimeout bounds the whole stop on SIGTERM: reading commands
	// ends, every task is handed over, the node leaves the fleet and the
	// HTTP server closes, all within it (DATAINGEST_SHUTDOWN_TIMEOUT). A
	// task whose runner has not stopped by then is reclaimed like a dead
	// node's, after FAILOVER_TIMEOUT.
	ShutdownTimeout time.Duration `env:"DATAINGEST_SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

// HTTP is the node's HTTP API and /metrics listener.
type HTTP struct {
	// Addr is the listen address (DATAINGEST_HTTP_ADDR), host optional.
	// Fallback: SERVER_PORT gives ":PORT". Port 0 (any free port) is allowed
	// only when DATAINGEST_NODE_ID is set, since the default node id is
	// derived from the port.
	Addr string `env:"DATAINGEST_HTTP_ADDR" envDefault:":8080"`
	// APIToken, when set, is required as "Authorization: Bearer TOKEN" on
	// every endpoint but /healthz, /readyz and the status page's files,
	// which carry no data (DATAINGEST_API_TOKEN).
	APIToken Secret `env:"DATAINGEST_API_TOKEN"`
	// APITokenPrevious is accepted as well as APIToken while clients switch
	// from one token to another (DATAINGEST_API_TOKEN_PREVIOUS); it needs
	// APIToken.
	APITokenPrevious Secret `env:"DATAINGEST_API_TOKEN_PREVIOUS"`
	// Pprof serves Go's CPU, heap, block and mutex profiles under
	// /debug/pprof/ (DATAINGEST_PPROF), and turns on the sampling of
	// blocking events and mutex contention they need.
	Pprof bool `env:"DATAINGEST_PPROF" envDefault:"false"`
}

// Log is the zerolog logger's setup.
type Log struct {
	// Level is one of debug, info, warn, error (DATAINGEST_LOG_LEVEL; any
	// case in the environment, lower case here), as zerolog.ParseLevel takes.
	Level string `env:"DATAINGEST_LOG_LEVEL" envDefault:"info"`
	// Format is "json" or "console" (DATAINGEST_LOG_FORMAT).
	Format string `env:"DATAINGEST_LOG_FORMAT" envDefault:"json"`
}

// The Redis client kinds that Redis.Mode reports.
const (
	ModeStandalone = "standalone"
	ModeSentinel   = "sentinel"
	ModeCluster    = "cluster"
)

// Mode says which kind of Redis client the settings call for: ModeSentinel
// when MasterName is set, ModeCluster for several addresses, else
// ModeStandalone.
func (r Redis) Mode() string {
	switch {
	case r.MasterName != "":
		return ModeSentinel
	case len(r.Addrs) > 1:
		return ModeCluster
	default:
		return ModeStandalone
	}
}

// Java deployment names accepted as fallbacks.
const (
	springRedisHost     = "SPRING_REDIS_HOST"
	springRedisPort     = "SPRING_REDIS_PORT"
	springRedisPassword = "SPRING_REDIS_PASSWORD"
	serverPort          = "SERVER_PORT"

	varRedisAddrs    = "DATAINGEST_REDIS_ADDRS"
	varRedisPassword = "DATAINGEST_REDIS_PASSWORD"
	varHTTPAddr      = "DATAINGEST_HTTP_ADDR"
	varNodeID        = "DATAINGEST_NODE_ID"
)

// Load parses and validates the configuration from environ, a list of
// "KEY=value" strings such as os.Environ() returns; it never reads the
// process environment itself. Every problem found is reported, one per line;
// the error matches ErrInvalid and each line is a *VarError.
func Load(environ []string) (*Config, error) {
	return load(environ, os.Hostname)
}

// load is Load with the host name lookup injected, for tests.
func load(environ []string, hostname func() (string, error)) (*Config, error) {
	vars := env.ToMap(environ)
	chk := newChecker()
	applyFallbacks(vars, chk)

	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		chk.parseErrors(err, vars)
	}
	c.Redis.Addrs = trimAll(c.Redis.Addrs)
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if c.Cluster.NodeID == "" {
		if chk.ok(varHTTPAddr) && checkHostPort(c.HTTP.Addr, false) == "" {
			c.Cluster.NodeID = defaultNodeID(c.HTTP.Addr, hostname, chk)
		} else {
			chk.bad[varNodeID] = true // no default without a port; the address's error says why
		}
	}

	c.validate(chk)
	if err := chk.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// applyFallbacks copies the Java service's variables into vars under the
// DATAINGEST_ names they stand for, when those are unset or empty, and
// records where the value came from so that errors name the variable the
// operator actually set.
func applyFallbacks(vars map[string]string, chk *checker) {
	if vars[varRedisAddrs] == "" && (vars[springRedisHost] != "" || vars[springRedisPort] != "") {
		host, port := vars[springRedisHost], vars[springRedisPort]
		src := springRedisHost
		if host == "" {
			host, src = "127.0.0.1", springRedisPort
		}
		chk.source[varRedisAddrs] = src
		if port == "" {
			port = "6379"
		} else if !validPort(port, 1) {
			chk.source[varRedisAddrs] = springRedisPort
			chk.fail(varRedisAddrs, "invalid port %q (want 1-65535)", port)
		}
		vars[varRedisAddrs] = net.JoinHostPort(host, port)
	}
	if vars[varRedisPassword] == "" && vars[springRedisPassword] != "" {
		vars[varRedisPassword] = vars[springRedisPassword]
		chk.source[varRedisPassword] = springRedisPassword
	}
	if vars[varHTTPAddr] == "" && vars[serverPort] != "" {
		port := vars[serverPort]
		chk.source[varHTTPAddr] = serverPort
		if !validPort(port, 0) {
			chk.fail(varHTTPAddr, "invalid port %q (want 0-65535)", port)
		}
		vars[varHTTPAddr] = ":" + port
	}
}

// defaultNodeID is the host name plus the port of the HTTP address.
func defaultNodeID(httpAddr string, hostname func() (string, error), chk *checker) string {
	_, port, _ := net.SplitHostPort(httpAddr) // checked by the caller
	if port == "0" {
		chk.fail(varNodeID, "must be set when the HTTP port is 0 (any free port): the default node id is host:port")
		return ""
	}
	host, err := hostname()
	if err == nil && host == "" {
		err = errors.New("empty host name")
	}
	if err != nil {
		chk.fail(varNodeID, "unset and the host name is unknown (%v): set it", err)
		return ""
	}
	return host + ":" + port
}

// trimAll trims blanks around each element of list.
func trimAll(list []string) []string {
	for i, s := range list {
		list[i] = strings.TrimSpace(s)
	}
	return list
}

// ErrInvalid is matched (errors.Is) by every error Load returns: a bad or
// inconsistent setting. main prints the error and exits with code 2.
var ErrInvalid = errors.New("invalid configuration")

// VarError is one problem with one environment variable.
type VarError struct {
	// Var is the variable the operator set (a Java fallback name, such as
	// SERVER_PORT, when the value came from there).
	Var string
	// Msg says what is wrong; it quotes the value unless the value is secret.
	Msg string
}

// Error returns "VAR: message".
func (e *VarError) Error() string { return e.Var + ": " + e.Msg }

// Is makes every VarError match ErrInvalid.
func (e *VarError) Is(target error) bool { return target == ErrInvalid }

// checker collects the problems of one Load.
type checker struct {
	errs   []error
	bad    map[string]bool   // variables (DATAINGEST_ names) already reported
	source map[string]string // DATAINGEST_ name -> fallback variable it came from
}

func newChecker() *checker {
	return &checker{bad: map[string]bool{}, source: map[string]string{}}
}

// fail records a problem with variable name (a DATAINGEST_ name, reported
// under the fallback it came from, if any). Only the first problem of each
// variable is kept.
func (c *checker) fail(name, format string, args ...any) {
	if c.bad[name] {
		return
	}
	c.bad[name] = true
	shown := name
	if src, ok := c.source[name]; ok {
		shown = src
	}
	c.errs = append(c.errs, &VarError{Var: shown, Msg: fmt.Sprintf(format, args...)})
}

// ok reports whether name has no problem so far.
func (c *checker) ok(name string) bool { return !c.bad[name] }

// err is the problems found, joined one per line, or nil.
func (c *checker) err() error { return errors.Join(c.errs...) }
