package config

import (
	"strconv"
	"strings"
)

// Redacted is the configuration as variable name -> effective value, safe to
// log (for zerolog: Interface("config", cfg.Redacted())): secrets
// (DATAINGEST_REDIS_PASSWORD, DATAINGEST_API_TOKEN and its _PREVIOUS,
// DATAINGEST_SECRET_KEY) show only "set" or "unset", and
// DATAINGEST_SECRET_KEY_PREVIOUS only how many keys it holds. The list of Redis addresses is comma-joined.
func (c *Config) Redacted() map[string]string {
	setOrUnset := func(set bool) string {
		if set {
			return "set"
		}
		return "unset"
	}
	return map[string]string{
		"DATAINGEST_REDIS_ADDRS":           strings.Join(c.Redis.Addrs, ","),
		"DATAINGEST_REDIS_MASTER_NAME":     c.Redis.MasterName,
		"DATAINGEST_REDIS_USERNAME":        c.Redis.Username,
		"DATAINGEST_REDIS_PASSWORD":        setOrUnset(c.Redis.Password != ""),
		"DATAINGEST_REDIS_DB":              strconv.Itoa(c.Redis.DB),
		"DATAINGEST_REDIS_TLS":             strconv.FormatBool(c.Redis.TLS),
		"DATAINGEST_REDIS_TLS_CA_FILE":     c.Redis.TLSCAFile,
		"DATAINGEST_REDIS_TLS_CERT_FILE":   c.Redis.TLSCertFile,
		"DATAINGEST_REDIS_TLS_KEY_FILE":    c.Redis.TLSKeyFile,
		"DATAINGEST_KEY_PREFIX":            c.Redis.KeyPrefix,
		"DATAINGEST_NODE_ID":               c.Cluster.NodeID,
		"DATAINGEST_HTTP_ADDR":             c.HTTP.Addr,
		"DATAINGEST_API_TOKEN":             setOrUnset(c.HTTP.APIToken != ""),
		"DATAINGEST_API_TOKEN_PREVIOUS":    setOrUnset(c.HTTP.APITokenPrevious != ""),
		"DATAINGEST_PPROF":                 strconv.FormatBool(c.HTTP.Pprof),
		"DATAINGEST_SECRET_KEY":            setOrUnset(len(c.SecretKey) > 0),
		"DATAINGEST_SECRET_KEY_PREVIOUS":   c.SecretKeyPrevious.count(),
		"DATAINGEST_HEARTBEAT_INTERVAL":    c.Cluster.HeartbeatInterval.String(),
		"DATAINGEST_TASK_MONITOR_INTERVAL": c.Cluster.TaskMonitorInterval.String(),
		"DATAINGEST_FAILOVER_TIMEOUT":      c.Cluster.FailoverTimeout.String(),
		"DATAINGEST_MAX_TASKS":             strconv.Itoa(c.Cluster.MaxTasks),
		"DATAINGEST_SHUTDOWN_TIMEOUT":      c.Cluster.ShutdownTimeout.String(),
		"DATAINGEST_LOG_LEVEL":             c.Log.Level,
		"DATAINGEST_LOG_FORMAT":            c.Log.Format,
	}
}

// Warnings lists settings that are valid but unwise, for main to log at
// start (at warn level): no API token, no secret key, a failover timeout
// under 3x the heartbeat.
func (c *Config) Warnings() []string {
	var w []string
	if c.HTTP.APIToken == "" {
		w = append(w, "DATAINGEST_API_TOKEN is unset: the HTTP API accepts every request without authentication")
	}
	if len(c.SecretKey) == 0 {
		w = append(w, "DATAINGEST_SECRET_KEY is unset: passwords in task configs are stored in Redis in plain text")
	}
	if c.Cluster.FailoverTimeout < 3*c.Cluster.HeartbeatInterval {
		w = append(w, "DATAINGEST_FAILOVER_TIMEOUT is under 3x DATAINGEST_HEARTBEAT_INTERVAL: one slow lock renewal can "+
			"make a task fail over; use at least "+(3*c.Cluster.HeartbeatInterval).String())
	}
	return w
}
