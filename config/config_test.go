package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fixedHost() (string, error) { return "host1", nil }

// defaults is the Config of an empty environment on host "host1".
func defaults() Config {
	return Config{
		Redis: Redis{
			Addrs:     []string{"127.0.0.1:6379"},
			KeyPrefix: "debezium",
		},
		Cluster: Cluster{
			NodeID:              "host1:8080",
			HeartbeatInterval:   10 * time.Second,
			TaskMonitorInterval: 60 * time.Second,
			FailoverTimeout:     60 * time.Second,
			ShutdownTimeout:     10 * time.Second,
		},
		HTTP: HTTP{Addr: ":8080"},
		Log:  Log{Level: "info", Format: "json"},
	}
}

var (
	testKey  = bytes.Repeat([]byte{7}, 32)
	testKey2 = bytes.Repeat([]byte{8}, 32)
	testKey3 = bytes.Repeat([]byte{9}, 32)
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCertFiles(t, dir)
	keyB64 := base64.StdEncoding.EncodeToString(testKey)

	tests := []struct {
		name    string
		environ []string
		want    func(c *Config)
	}{
		{"defaults", nil, func(*Config) {}},
		{"unrelated variables ignored", []string{"PATH=/bin", "HOME=/root", "NOEQUALS"}, func(*Config) {}},
		{"empty values mean default", []string{"DATAINGEST_REDIS_ADDRS=", "DATAINGEST_HEARTBEAT_INTERVAL=", "DATAINGEST_LOG_LEVEL="}, func(*Config) {}},
		{
			name: "every variable",
			environ: []string{
				"DATAINGEST_REDIS_ADDRS=r1:7000, r2:7001 ,[::1]:7002",
				"DATAINGEST_REDIS_MASTER_NAME=",
				"DATAINGEST_REDIS_USERNAME=cdc",
				"DATAINGEST_REDIS_PASSWORD=pw-$x,y",
				"DATAINGEST_REDIS_DB=0",
				"DATAINGEST_REDIS_TLS=true",
				"DATAINGEST_REDIS_TLS_CA_FILE=" + ca,
				"DATAINGEST_REDIS_TLS_CERT_FILE=" + cert,
				"DATAINGEST_REDIS_TLS_KEY_FILE=" + key,
				"DATAINGEST_KEY_PREFIX=di-test:7",
				"DATAINGEST_NODE_ID=node-a",
				"DATAINGEST_HTTP_ADDR=127.0.0.1:9090",
				"DATAINGEST_API_TOKEN=tok",
				"DATAINGEST_API_TOKEN_PREVIOUS=old-tok",
				"DATAINGEST_SECRET_KEY=" + keyB64,
				"DATAINGEST_SECRET_KEY_PREVIOUS=" + base64.StdEncoding.EncodeToString(testKey2) + " , " + base64.RawURLEncoding.EncodeToString(testKey3),
				"DATAINGEST_HEARTBEAT_INTERVAL=500ms",
				"DATAINGEST_TASK_MONITOR_INTERVAL=2s",
				"DATAINGEST_FAILOVER_TIMEOUT=1m30s",
				"DATAINGEST_MAX_TASKS=12",
				"DATAINGEST_SHUTDOWN_TIMEOUT=25s",
				"DATAINGEST_LOG_LEVEL=DEBUG",
				"DATAINGEST_LOG_FORMAT=console",
			},
			want: func(c *Config) {
				c.Redis = Redis{
					Addrs: []string{"r1:7000", "r2:7001", "[::1]:7002"}, Username: "cdc", Password: "pw-$x,y",
					TLS: true, TLSCAFile: ca, TLSCertFile: cert, TLSKeyFile: key, KeyPrefix: "di-test:7",
				}
				c.Cluster = Cluster{NodeID: "node-a", HeartbeatInterval: 500 * time.Millisecond,
					TaskMonitorInterval: 2 * time.Second, FailoverTimeout: 90 * time.Second, MaxTasks: 12,
					ShutdownTimeout: 25 * time.Second}
				c.HTTP = HTTP{Addr: "127.0.0.1:9090", APIToken: "tok", APITokenPrevious: "old-tok"}
				c.SecretKey = testKey
				c.SecretKeyPrevious = SecretKeys{testKey2, testKey3}
				c.Log = Log{Level: "debug", Format: "console"}
			},
		},
		{
			name:    "sentinel with db",
			environ: []string{"DATAINGEST_REDIS_ADDRS=s1:26379,s2:26379", "DATAINGEST_REDIS_MASTER_NAME=mymaster", "DATAINGEST_REDIS_DB=3"},
			want: func(c *Config) {
				c.Redis.Addrs = []string{"s1:26379", "s2:26379"}
				c.Redis.MasterName = "mymaster"
				c.Redis.DB = 3
			},
		},
		{
			name:    "secret key in URL alphabet without padding",
			environ: []string{"DATAINGEST_SECRET_KEY=" + base64.RawURLEncoding.EncodeToString(testKey)},
			want:    func(c *Config) { c.SecretKey = testKey },
		},
		{
			name:    "previous secret keys: blanks and empty elements ignored",
			environ: []string{"DATAINGEST_SECRET_KEY_PREVIOUS= ," + base64.StdEncoding.EncodeToString(testKey2) + ",, "},
			want:    func(c *Config) { c.SecretKeyPrevious = SecretKeys{testKey2} },
		},
		{
			name:    "node id follows the HTTP port",
			environ: []string{"DATAINGEST_HTTP_ADDR=0.0.0.0:8181"},
			want: func(c *Config) {
				c.HTTP.Addr = "0.0.0.0:8181"
				c.Cluster.NodeID = "host1:8181"
			},
		},
		{
			name:    "port 0 with a node id",
			environ: []string{"DATAINGEST_HTTP_ADDR=127.0.0.1:0", "DATAINGEST_NODE_ID=n1"},
			want: func(c *Config) {
				c.HTTP.Addr = "127.0.0.1:0"
				c.Cluster.NodeID = "n1"
			},
		},
		// Java fallbacks.
		{
			name:    "SPRING_REDIS_HOST",
			environ: []string{"SPRING_REDIS_HOST=redis"},
			want:    func(c *Config) { c.Redis.Addrs = []string{"redis:6379"} },
		},
		{
			name:    "SPRING_REDIS_HOST and SPRING_REDIS_PORT",
			environ: []string{"SPRING_REDIS_HOST=redis", "SPRING_REDIS_PORT=6380"},
			want:    func(c *Config) { c.Redis.Addrs = []string{"redis:6380"} },
		},
		{
			name:    "SPRING_REDIS_PORT alone",
			environ: []string{"SPRING_REDIS_PORT=6380"},
			want:    func(c *Config) { c.Redis.Addrs = []string{"127.0.0.1:6380"} },
		},
		{
			name:    "SPRING_REDIS_HOST IPv6",
			environ: []string{"SPRING_REDIS_HOST=::1"},
			want:    func(c *Config) { c.Redis.Addrs = []string{"[::1]:6379"} },
		},
		{
			name:    "SPRING_REDIS_PASSWORD",
			environ: []string{"SPRING_REDIS_PASSWORD=spring-pw"},
			want:    func(c *Config) { c.Redis.Password = "spring-pw" },
		},
		{
			name:    "SERVER_PORT",
			environ: []string{"SERVER_PORT=8081"},
			want: func(c *Config) {
				c.HTTP.Addr = ":8081"
				c.Cluster.NodeID = "host1:8081"
			},
		},
		{
			name: "DATAINGEST_ wins over the Java names",
			environ: []string{
				"SPRING_REDIS_HOST=redis", "SPRING_REDIS_PORT=bad", "SPRING_REDIS_PASSWORD=spring-pw", "SERVER_PORT=bad",
				"DATAINGEST_REDIS_ADDRS=r1:1", "DATAINGEST_REDIS_PASSWORD=di-pw", "DATAINGEST_HTTP_ADDR=:9000",
			},
			want: func(c *Config) {
				c.Redis.Addrs = []string{"r1:1"}
				c.Redis.Password = "di-pw"
				c.HTTP.Addr = ":9000"
				c.Cluster.NodeID = "host1:9000"
			},
		},
		{
			name:    "empty DATAINGEST_ counts as unset",
			environ: []string{"DATAINGEST_REDIS_ADDRS=", "SPRING_REDIS_HOST=redis", "DATAINGEST_HTTP_ADDR=", "SERVER_PORT=81"},
			want: func(c *Config) {
				c.Redis.Addrs = []string{"redis:6379"}
				c.HTTP.Addr = ":81"
				c.Cluster.NodeID = "host1:81"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(tt.environ, fixedHost)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("load:\n got %s\nwant %s", dump(*got), dump(want))
			}
		})
	}
}

// dump shows a Config with its secrets, for test failure messages only.
func dump(c Config) string {
	return fmt.Sprintf("%+v password=%q token=%q key=%x", c, string(c.Redis.Password), string(c.HTTP.APIToken), []byte(c.SecretKey))
}

func TestLoadUsesHostname(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name here:", err)
	}
	c, err := Load([]string{"DATAINGEST_HTTP_ADDR=:7070"})
	if err != nil {
		t.Fatal(err)
	}
	if want := host + ":7070"; c.Cluster.NodeID != want {
		t.Errorf("NodeID = %q, want %q", c.Cluster.NodeID, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCertFiles(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		environ []string
		want    string // the whole error text
	}{
		{"duration", []string{"DATAINGEST_HEARTBEAT_INTERVAL=abc"},
			`DATAINGEST_HEARTBEAT_INTERVAL: invalid duration "abc" (want Go syntax such as 500ms, 10s, 1m)`},
		{"duration without unit", []string{"DATAINGEST_TASK_MONITOR_INTERVAL=60"},
			`DATAINGEST_TASK_MONITOR_INTERVAL: invalid duration "60" (want Go syntax such as 500ms, 10s, 1m)`},
		{"zero duration", []string{"DATAINGEST_TASK_MONITOR_INTERVAL=0s"},
			`DATAINGEST_TASK_MONITOR_INTERVAL: 0s must be greater than 0`},
		{"negative duration", []string{"DATAINGEST_HEARTBEAT_INTERVAL=-1s"},
			`DATAINGEST_HEARTBEAT_INTERVAL: -1s must be greater than 0`},
		{"zero shutdown timeout", []string{"DATAINGEST_SHUTDOWN_TIMEOUT=0"},
			`DATAINGEST_SHUTDOWN_TIMEOUT: 0s must be greater than 0`},
		{"failover not above heartbeat", []string{"DATAINGEST_HEARTBEAT_INTERVAL=10s", "DATAINGEST_FAILOVER_TIMEOUT=10s"},
			`DATAINGEST_FAILOVER_TIMEOUT: 10s is not greater than DATAINGEST_HEARTBEAT_INTERVAL (10s): a task lock lives for the ` +
				`failover timeout and is renewed every heartbeat, so it would expire between renewals; use at least 3x the heartbeat (30s)`},
		{"max tasks text", []string{"DATAINGEST_MAX_TASKS=many"}, `DATAINGEST_MAX_TASKS: invalid integer "many"`},
		{"max tasks negative", []string{"DATAINGEST_MAX_TASKS=-1"}, `DATAINGEST_MAX_TASKS: -1 is negative (0 = no limit)`},
		{"db text", []string{"DATAINGEST_REDIS_DB=one"}, `DATAINGEST_REDIS_DB: invalid integer "one"`},
		{"db negative", []string{"DATAINGEST_REDIS_DB=-2"}, `DATAINGEST_REDIS_DB: -2 is negative`},
		{"db with cluster", []string{"DATAINGEST_REDIS_ADDRS=a:1,b:2", "DATAINGEST_REDIS_DB=1"},
			`DATAINGEST_REDIS_DB: 1: Redis Cluster (several DATAINGEST_REDIS_ADDRS) has only database 0`},
		{"tls bool", []string{"DATAINGEST_REDIS_TLS=yes"}, `DATAINGEST_REDIS_TLS: invalid boolean "yes" (want true or false)`},
		{"addr without port", []string{"DATAINGEST_REDIS_ADDRS=redis"}, `DATAINGEST_REDIS_ADDRS: "redis" is not host:port`},
		{"addr bad port", []string{"DATAINGEST_REDIS_ADDRS=a:1,redis:99999"}, `DATAINGEST_REDIS_ADDRS: "redis:99999" has an invalid port (want 1-65535)`},
		{"addr port 0", []string{"DATAINGEST_REDIS_ADDRS=redis:0"}, `DATAINGEST_REDIS_ADDRS: "redis:0" has an invalid port (want 1-65535)`},
		{"addr no host", []string{"DATAINGEST_REDIS_ADDRS=:6379"}, `DATAINGEST_REDIS_ADDRS: ":6379" has no host`},
		{"addr empty element", []string{"DATAINGEST_REDIS_ADDRS=a:1,,b:2"}, `DATAINGEST_REDIS_ADDRS: "" is not host:port`},
		{"addr blank host", []string{"DATAINGEST_REDIS_ADDRS=my host:1"}, `DATAINGEST_REDIS_ADDRS: "my host:1" has blanks in the host`},
		{"spring port", []string{"SPRING_REDIS_HOST=redis", "SPRING_REDIS_PORT=abc"}, `SPRING_REDIS_PORT: invalid port "abc" (want 1-65535)`},
		{"spring host", []string{"SPRING_REDIS_HOST=my redis"}, `SPRING_REDIS_HOST: "my redis:6379" has blanks in the host`},
		{"server port", []string{"SERVER_PORT=http"}, `SERVER_PORT: invalid port "http" (want 0-65535)`},
		{"server port range", []string{"SERVER_PORT=70000"}, `SERVER_PORT: invalid port "70000" (want 0-65535)`},
		{"http addr", []string{"DATAINGEST_HTTP_ADDR=8080"}, `DATAINGEST_HTTP_ADDR: "8080" is not host:port`},
		{"http port", []string{"DATAINGEST_HTTP_ADDR=:http"}, `DATAINGEST_HTTP_ADDR: ":http" has an invalid port (want 0-65535)`},
		{"http port 0 without node id", []string{"DATAINGEST_HTTP_ADDR=:0"},
			`DATAINGEST_NODE_ID: must be set when the HTTP port is 0 (any free port): the default node id is host:port`},
		{"node id blank", []string{"DATAINGEST_NODE_ID=node 1"}, `DATAINGEST_NODE_ID: "node 1" must not contain blanks or braces`},
		{"node id brace", []string{"DATAINGEST_NODE_ID=n{1}"}, `DATAINGEST_NODE_ID: "n{1}" must not contain blanks or braces`},
		{"key prefix blank", []string{"DATAINGEST_KEY_PREFIX=de bezium"},
			`DATAINGEST_KEY_PREFIX: "de bezium" must not contain blanks or braces (braces would change the keys' Cluster hash tag)`},
		{"key prefix brace", []string{"DATAINGEST_KEY_PREFIX={x}"},
			`DATAINGEST_KEY_PREFIX: "{x}" must not contain blanks or braces (braces would change the keys' Cluster hash tag)`},
		{"master name", []string{"DATAINGEST_REDIS_MASTER_NAME=my master"}, `DATAINGEST_REDIS_MASTER_NAME: "my master" must not contain blanks`},
		{"log level", []string{"DATAINGEST_LOG_LEVEL=verbose"}, `DATAINGEST_LOG_LEVEL: unknown level "verbose" (want debug, info, warn or error)`},
		{"log format", []string{"DATAINGEST_LOG_FORMAT=text"}, `DATAINGEST_LOG_FORMAT: unknown format "text" (want json or console)`},
		{"secret key not base64", []string{"DATAINGEST_SECRET_KEY=not*base64!"},
			`DATAINGEST_SECRET_KEY: not valid base64 (make a key with: openssl rand -base64 32)`},
		{"secret key short", []string{"DATAINGEST_SECRET_KEY=" + base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))},
			`DATAINGEST_SECRET_KEY: decodes to 16 bytes, want 32 (make a key with: openssl rand -base64 32)`},
		{"api token blank", []string{"DATAINGEST_API_TOKEN=two words"},
			`DATAINGEST_API_TOKEN: must not contain blanks or control characters (it is sent as a Bearer token)`},
		{"previous secret key not base64", []string{"DATAINGEST_SECRET_KEY_PREVIOUS=not*base64!"},
			`DATAINGEST_SECRET_KEY_PREVIOUS: not valid base64 (make a key with: openssl rand -base64 32)`},
		{"second previous secret key short", []string{"DATAINGEST_SECRET_KEY_PREVIOUS=" + base64.StdEncoding.EncodeToString(testKey2) + "," +
			base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))},
			`DATAINGEST_SECRET_KEY_PREVIOUS: key 2 of the comma-separated list: decodes to 16 bytes, want 32 (make a key with: openssl rand -base64 32)`},
		{"previous api token blank", []string{"DATAINGEST_API_TOKEN=new", "DATAINGEST_API_TOKEN_PREVIOUS=two words"},
			`DATAINGEST_API_TOKEN_PREVIOUS: must not contain blanks or control characters (it is sent as a Bearer token)`},
		{"previous api token alone", []string{"DATAINGEST_API_TOKEN_PREVIOUS=old"},
			`DATAINGEST_API_TOKEN_PREVIOUS: is set but DATAINGEST_API_TOKEN is not: without DATAINGEST_API_TOKEN the API asks ` +
				`for no token at all; set DATAINGEST_API_TOKEN to the new token`},
		{"tls file without tls", []string{"DATAINGEST_REDIS_TLS_CA_FILE=" + ca},
			`DATAINGEST_REDIS_TLS_CA_FILE: "` + ca + `" is set but DATAINGEST_REDIS_TLS is off: set DATAINGEST_REDIS_TLS=true`},
		{"tls ca missing", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CA_FILE=" + missing},
			`DATAINGEST_REDIS_TLS_CA_FILE: cannot read "` + missing + `": no such file or directory`},
		{"tls ca garbage", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CA_FILE=" + garbage},
			`DATAINGEST_REDIS_TLS_CA_FILE: "` + garbage + `" holds no PEM certificate`},
		{"tls cert without key", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CERT_FILE=" + cert},
			`DATAINGEST_REDIS_TLS_KEY_FILE: must be set with DATAINGEST_REDIS_TLS_CERT_FILE`},
		{"tls key without cert", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_KEY_FILE=" + key},
			`DATAINGEST_REDIS_TLS_CERT_FILE: must be set with DATAINGEST_REDIS_TLS_KEY_FILE`},
		{"tls key missing", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CERT_FILE=" + cert, "DATAINGEST_REDIS_TLS_KEY_FILE=" + missing},
			`DATAINGEST_REDIS_TLS_KEY_FILE: cannot read "` + missing + `": no such file or directory`},
		{"tls key mismatch", []string{"DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CERT_FILE=" + cert, "DATAINGEST_REDIS_TLS_KEY_FILE=" + ca},
			`DATAINGEST_REDIS_TLS_CERT_FILE: "` + cert + `" with key "` + ca + `" is not a usable certificate and key: tls: found a certificate rather than a key in the PEM for the private key`},
		{"several problems, one line each", []string{"DATAINGEST_HEARTBEAT_INTERVAL=x", "DATAINGEST_MAX_TASKS=-3", "DATAINGEST_LOG_FORMAT=xml"},
			"DATAINGEST_HEARTBEAT_INTERVAL: invalid duration \"x\" (want Go syntax such as 500ms, 10s, 1m)\n" +
				"DATAINGEST_MAX_TASKS: -3 is negative (0 = no limit)\n" +
				`DATAINGEST_LOG_FORMAT: unknown format "xml" (want json or console)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.environ, fixedHost)
			if err == nil {
				t.Fatalf("load = %+v, want error %q", c, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var ve *VarError
			if !errors.As(err, &ve) || ve.Var == "" {
				t.Errorf("errors.As(%v, *VarError) = false", err)
			}
		})
	}
}

func TestHostnameFailure(t *testing.T) {
	_, err := load(nil, func() (string, error) { return "", errors.New("uname broken") })
	want := "DATAINGEST_NODE_ID: unset and the host name is unknown (uname broken): set it"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestSecretsNeverShown puts recognisable secrets in the environment next to
// bad values and checks that no error, summary or printout contains them.
func TestSecretsNeverShown(t *testing.T) {
	const password, token, prevToken = "hunter2-pw", "tok-s3cr3t", "old-tok-s3cr3t"
	badKey := "c2VjcmV0LWtleS1vZi10aGUtd3JvbmctbGVuZ3Ro" // "secret-key-of-the-wrong-length"
	good := base64.StdEncoding.EncodeToString(testKey)
	good2, good3 := base64.StdEncoding.EncodeToString(testKey2), base64.StdEncoding.EncodeToString(testKey3)
	secrets := []string{password, token, prevToken, badKey, good, good2, good3, string(testKey), string(testKey2), string(testKey3),
		"secret-key-of-the-wrong-length"}

	errEnvs := [][]string{
		{"DATAINGEST_REDIS_PASSWORD=" + password, "DATAINGEST_API_TOKEN=" + token + " x", "DATAINGEST_SECRET_KEY=" + badKey},
		{"SPRING_REDIS_PASSWORD=" + password, "DATAINGEST_SECRET_KEY=" + badKey + "!", "DATAINGEST_LOG_LEVEL=x"},
		{"DATAINGEST_SECRET_KEY_PREVIOUS=" + good2 + "," + badKey, "DATAINGEST_API_TOKEN_PREVIOUS=" + prevToken + " x"},
		{"DATAINGEST_SECRET_KEY_PREVIOUS=" + good3 + "," + good2 + "!", "DATAINGEST_API_TOKEN_PREVIOUS=" + prevToken},
	}
	for i, environ := range errEnvs {
		_, err := load(environ, fixedHost)
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("case %d: error %q contains secret %q", i, err, s)
			}
		}
	}

	c, err := load([]string{"DATAINGEST_REDIS_PASSWORD=" + password, "DATAINGEST_API_TOKEN=" + token, "DATAINGEST_SECRET_KEY=" + good,
		"DATAINGEST_API_TOKEN_PREVIOUS=" + prevToken, "DATAINGEST_SECRET_KEY_PREVIOUS=" + good2 + "," + good3}, fixedHost)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	red, err := json.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{
		"Redacted": string(red),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", *c),
		"%#v":      fmt.Sprintf("%#v", *c),
		"%v Redis": fmt.Sprintf("%v", c.Redis),
		"%x":       fmt.Sprintf("%x", c.SecretKey),
		"%x prev":  fmt.Sprintf("%x %v %#v", c.SecretKeyPrevious, c.SecretKeyPrevious, c.SecretKeyPrevious),
		"json":     string(js),
	}
	for how, text := range shown {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s output contains secret %q: %s", how, s, text)
			}
		}
	}
	r := c.Redacted()
	for _, k := range []string{"DATAINGEST_REDIS_PASSWORD", "DATAINGEST_API_TOKEN", "DATAINGEST_API_TOKEN_PREVIOUS", "DATAINGEST_SECRET_KEY"} {
		if r[k] != "set" {
			t.Errorf("Redacted()[%s] = %q, want set", k, r[k])
		}
	}
	if r["DATAINGEST_SECRET_KEY_PREVIOUS"] != "2 keys" {
		t.Errorf("Redacted()[DATAINGEST_SECRET_KEY_PREVIOUS] = %q, want 2 keys", r["DATAINGEST_SECRET_KEY_PREVIOUS"])
	}
}

func TestRedacted(t *testing.T) {
	c := defaults()
	got := c.Redacted()
	want := map[string]string{
		"DATAINGEST_REDIS_ADDRS":           "127.0.0.1:6379",
		"DATAINGEST_REDIS_MASTER_NAME":     "",
		"DATAINGEST_REDIS_USERNAME":        "",
		"DATAINGEST_REDIS_PASSWORD":        "unset",
		"DATAINGEST_REDIS_DB":              "0",
		"DATAINGEST_REDIS_TLS":             "false",
		"DATAINGEST_REDIS_TLS_CA_FILE":     "",
		"DATAINGEST_REDIS_TLS_CERT_FILE":   "",
		"DATAINGEST_REDIS_TLS_KEY_FILE":    "",
		"DATAINGEST_KEY_PREFIX":            "debezium",
		"DATAINGEST_NODE_ID":               "host1:8080",
		"DATAINGEST_HTTP_ADDR":             ":8080",
		"DATAINGEST_API_TOKEN":             "unset",
		"DATAINGEST_API_TOKEN_PREVIOUS":    "unset",
		"DATAINGEST_PPROF":                 "false",
		"DATAINGEST_SECRET_KEY":            "unset",
		"DATAINGEST_SECRET_KEY_PREVIOUS":   "unset",
		"DATAINGEST_HEARTBEAT_INTERVAL":    "10s",
		"DATAINGEST_TASK_MONITOR_INTERVAL": "1m0s",
		"DATAINGEST_FAILOVER_TIMEOUT":      "1m0s",
		"DATAINGEST_MAX_TASKS":             "0",
		"DATAINGEST_SHUTDOWN_TIMEOUT":      "10s",
		"DATAINGEST_LOG_LEVEL":             "info",
		"DATAINGEST_LOG_FORMAT":            "json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redacted:\n got %v\nwant %v", got, want)
	}
	// Every variable of the struct is in the summary.
	for _, f := range envFields() {
		if _, ok := got[f.key]; !ok {
			t.Errorf("Redacted lacks %s", f.key)
		}
	}
}

func TestWarnings(t *testing.T) {
	c := defaults()
	got := c.Warnings()
	if len(got) != 2 || !strings.HasPrefix(got[0], "DATAINGEST_API_TOKEN") || !strings.HasPrefix(got[1], "DATAINGEST_SECRET_KEY") {
		t.Errorf("Warnings() = %q", got)
	}
	c.HTTP.APIToken = "t"
	c.SecretKey = testKey
	c.Cluster.FailoverTimeout = 20 * time.Second
	got = c.Warnings()
	if len(got) != 1 || !strings.Contains(got[0], "use at least 30s") {
		t.Errorf("Warnings() = %q", got)
	}
}

func TestMode(t *testing.T) {
	tests := []struct {
		r    Redis
		want string
	}{
		{Redis{Addrs: []string{"a:1"}}, ModeStandalone},
		{Redis{Addrs: []string{"a:1", "b:1"}}, ModeCluster},
		{Redis{Addrs: []string{"a:1", "b:1"}, MasterName: "m"}, ModeSentinel},
		{Redis{Addrs: []string{"a:1"}, MasterName: "m"}, ModeSentinel},
	}
	for _, tt := range tests {
		if got := tt.r.Mode(); got != tt.want {
			t.Errorf("%v.Mode() = %s, want %s", tt.r.Addrs, got, tt.want)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	ca, cert, key := writeCertFiles(t, t.TempDir())
	if cfg, err := (Redis{}).TLSConfig(); cfg != nil || err != nil {
		t.Errorf("TLS off: TLSConfig() = %v, %v; want nil, nil", cfg, err)
	}
	cfg, err := Redis{TLS: true, TLSCAFile: ca, TLSCertFile: cert, TLSKeyFile: key}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.MinVersion == 0 {
		t.Errorf("TLSConfig() = %+v", cfg)
	}
	cfg, err = Redis{TLS: true}.TLSConfig()
	if err != nil || cfg == nil || cfg.RootCAs != nil {
		t.Errorf("TLS with system roots: TLSConfig() = %+v, %v", cfg, err)
	}
}

// TestEnvFieldsUnique guards the mapping of caarlos0/env's ParseError (which
// names the Go field) back to the variable: field names must be unique.
func TestEnvFieldsUnique(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Tag.Get("env") == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if seen[f.Name] {
				t.Errorf("field name %s used twice", f.Name)
			}
			seen[f.Name] = true
			n++
		}
	}
	walk(reflect.TypeFor[Config]())
	if got := len(envFields()); got != n || n != 24 {
		t.Errorf("envFields has %d entries, struct %d fields, want 24", got, n)
	}
}

// writeCertFiles writes a self-signed CA certificate (ca.pem), a client
// certificate signed by it (cert.pem) and the client's key (key.pem).
func writeCertFiles(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caTmpl, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", clientDER), write("key.pem", "PRIVATE KEY", keyDER)
}
