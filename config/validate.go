package config

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/caarlos0/env/v11"
)

// envField is what the error mapping needs to know of one Config field.
type envField struct {
	key    string       // the environment variable
	typ    reflect.Type // the field's type
	secret bool         // never echo the value
}

// envFields maps the Go name of every field of Config that has an env tag
// (at any depth) to its variable. caarlos0/env's ParseError names the field,
// not the variable; this maps it back. Field names are unique across the
// sub-structs (a test checks it).
func envFields() map[string]envField {
	fields := map[string]envField{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
			switch {
			case key != "":
				secret := f.Type == reflect.TypeFor[Secret]() || f.Type == reflect.TypeFor[SecretKey]() ||
					f.Type == reflect.TypeFor[SecretKeys]()
				fields[f.Name] = envField{key: key, typ: f.Type, secret: secret}
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	return fields
}

// parseErrors turns caarlos0/env's errors into VarErrors naming the variable
// and, unless secret, the value.
func (c *checker) parseErrors(err error, vars map[string]string) {
	var agg env.AggregateError
	errs := []error{err}
	if errors.As(err, &agg) {
		errs = agg.Errors
	}
	fields := envFields()
	for _, e := range errs {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			c.errs = append(c.errs, &VarError{Var: "environment", Msg: e.Error()})
			continue
		}
		f, ok := fields[pe.Name]
		if !ok {
			c.errs = append(c.errs, &VarError{Var: "environment", Msg: e.Error()})
			continue
		}
		if f.secret {
			c.fail(f.key, "%v", pe.Err)
			continue
		}
		kind, hint := kindName(f.typ)
		c.fail(f.key, "invalid %s %q%s", kind, vars[f.key], hint)
	}
}

// kindName names what a variable of type t must hold, and a hint (or "").
func kindName(t reflect.Type) (kind, hint string) {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration", " (want Go syntax such as 500ms, 10s, 1m)"
	case t.Kind() == reflect.Bool:
		return "boolean", " (want true or false)"
	case t.Kind() == reflect.Int:
		return "integer", ""
	default:
		return t.String(), ""
	}
}

// validate checks the parsed values and their consistency, skipping the
// variables that already failed to parse.
func (cfg *Config) validate(c *checker) {
	cfg.Redis.validate(c)
	cfg.Cluster.validate(c)
	cfg.HTTP.validate(c)
	cfg.Log.validate(c)
}

func (r *Redis) validate(c *checker) {
	if c.ok(varRedisAddrs) {
		if len(r.Addrs) == 0 {
			c.fail(varRedisAddrs, "no address")
		}
		for _, a := range r.Addrs {
			if msg := checkHostPort(a, true); msg != "" {
				c.fail(varRedisAddrs, "%q %s", a, msg)
				break
			}
		}
	}
	if c.ok("DATAINGEST_REDIS_MASTER_NAME") && hasBlank(r.MasterName) {
		c.fail("DATAINGEST_REDIS_MASTER_NAME", "%q must not contain blanks", r.MasterName)
	}
	if c.ok("DATAINGEST_REDIS_DB") && c.ok(varRedisAddrs) {
		switch {
		case r.DB < 0:
			c.fail("DATAINGEST_REDIS_DB", "%d is negative", r.DB)
		case r.DB != 0 && r.Mode() == ModeCluster:
			c.fail("DATAINGEST_REDIS_DB", "%d: Redis Cluster (several DATAINGEST_REDIS_ADDRS) has only database 0", r.DB)
		}
	}
	r.validateTLS(c)
	if c.ok("DATAINGEST_KEY_PREFIX") {
		switch {
		case r.KeyPrefix == "":
			c.fail("DATAINGEST_KEY_PREFIX", "must not be empty")
		case hasBlank(r.KeyPrefix) || strings.ContainsAny(r.KeyPrefix, "{}"):
			c.fail("DATAINGEST_KEY_PREFIX", "%q must not contain blanks or braces (braces would change the keys' Cluster hash tag)", r.KeyPrefix)
		}
	}
}

func (r *Redis) validateTLS(c *checker) {
	files := []struct{ name, path string }{
		{"DATAINGEST_REDIS_TLS_CA_FILE", r.TLSCAFile},
		{"DATAINGEST_REDIS_TLS_CERT_FILE", r.TLSCertFile},
		{"DATAINGEST_REDIS_TLS_KEY_FILE", r.TLSKeyFile},
	}
	if !c.ok("DATAINGEST_REDIS_TLS") {
		return
	}
	if !r.TLS {
		for _, f := range files {
			if f.path != "" {
				c.fail(f.name, "%q is set but DATAINGEST_REDIS_TLS is off: set DATAINGEST_REDIS_TLS=true", f.path)
			}
		}
		return
	}
	if _, err := r.TLSConfig(); err != nil {
		var ve *VarError
		if errors.As(err, &ve) {
			c.fail(ve.Var, "%s", ve.Msg)
		} else {
			c.fail("DATAINGEST_REDIS_TLS", "%v", err)
		}
	}
}

func (cl *Cluster) validate(c *checker) {
	if c.ok(varNodeID) {
		switch {
		case cl.NodeID == "":
			c.fail(varNodeID, "must not be empty")
		case hasBlank(cl.NodeID) || strings.ContainsAny(cl.NodeID, "{}"):
			c.fail(varNodeID, "%q must not contain blanks or braces", cl.NodeID)
		}
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"DATAINGEST_HEARTBEAT_INTERVAL", cl.HeartbeatInterval},
		{"DATAINGEST_TASK_MONITOR_INTERVAL", cl.TaskMonitorInterval},
		{"DATAINGEST_FAILOVER_TIMEOUT", cl.FailoverTimeout},
		{"DATAINGEST_SHUTDOWN_TIMEOUT", cl.ShutdownTimeout},
	}
	for _, d := range durations {
		if c.ok(d.name) && d.d <= 0 {
			c.fail(d.name, "%s must be greater than 0", d.d)
		}
	}
	if c.ok("DATAINGEST_HEARTBEAT_INTERVAL") && c.ok("DATAINGEST_FAILOVER_TIMEOUT") &&
		cl.FailoverTimeout <= cl.HeartbeatInterval {
		c.fail("DATAINGEST_FAILOVER_TIMEOUT",
			"%s is not greater than DATAINGEST_HEARTBEAT_INTERVAL (%s): a task lock lives for the failover timeout "+
				"and is renewed every heartbeat, so it would expire between renewals; use at least 3x the heartbeat (%s)",
			cl.FailoverTimeout, cl.HeartbeatInterval, 3*cl.HeartbeatInterval)
	}
	if c.ok("DATAINGEST_MAX_TASKS") && cl.MaxTasks < 0 {
		c.fail("DATAINGEST_MAX_TASKS", "%d is negative (0 = no limit)", cl.MaxTasks)
	}
}

func (h *HTTP) validate(c *checker) {
	if c.ok(varHTTPAddr) {
		if msg := checkHostPort(h.Addr, false); msg != "" {
			c.fail(varHTTPAddr, "%q %s", h.Addr, msg)
		}
	}
	if c.ok("DATAINGEST_API_TOKEN") && hasBlank(string(h.APIToken)) {
		c.fail("DATAINGEST_API_TOKEN", "must not contain blanks or control characters (it is sent as a Bearer token)")
	}
	if c.ok("DATAINGEST_API_TOKEN_PREVIOUS") && h.APITokenPrevious != "" {
		switch {
		case hasBlank(string(h.APITokenPrevious)):
			c.fail("DATAINGEST_API_TOKEN_PREVIOUS", "must not contain blanks or control characters (it is sent as a Bearer token)")
		case h.APIToken == "":
			c.fail("DATAINGEST_API_TOKEN_PREVIOUS", "is set but DATAINGEST_API_TOKEN is not: without DATAINGEST_API_TOKEN "+
				"the API asks for no token at all; set DATAINGEST_API_TOKEN to the new token")
		}
	}
}

func (l *Log) validate(c *checker) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		c.fail("DATAINGEST_LOG_LEVEL", "unknown level %q (want debug, info, warn or error)", l.Level)
	}
	switch l.Format {
	case "json", "console":
	default:
		c.fail("DATAINGEST_LOG_FORMAT", "unknown format %q (want json or console)", l.Format)
	}
}

// checkHostPort says what is wrong with a host:port address, or "". A Redis
// address needs a host and a port from 1; a listen address may omit the host
// and use port 0.
func checkHostPort(addr string, redis bool) string {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return "is not host:port"
	case redis && host == "":
		return "has no host"
	case hasBlank(host):
		return "has blanks in the host"
	}
	low := 0
	if redis {
		low = 1
	}
	if !validPort(port, low) {
		return fmt.Sprintf("has an invalid port (want %d-65535)", low)
	}
	return ""
}

// validPort reports whether s is a decimal port number from low to 65535.
func validPort(s string, low int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= low && n <= 65535 && s == strconv.Itoa(n)
}

// hasBlank reports whether s contains white space or control characters.
func hasBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}
