package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/config"
	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// ctl runs the CLI with this process's environment.
func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return ctlEnv(t, os.Environ(), args...)
}

// ctlEnv runs the CLI with the environment environ.
func ctlEnv(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	r := testenv.StartRedis(t)
	t.Setenv("DATAINGEST_REDIS_ADDRS", r.Addr)
	t.Setenv("DATAINGEST_NODE_ID", "cli")
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()

	cfgFile := filepath.Join(t.TempDir(), "task.json")
	os.WriteFile(cfgFile, []byte(`{"taskType":"DATAGEN","datagen":{"rate":10}}`), 0o600)
	badFile := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badFile, []byte(`{"taskType":"DATAGEN","rate":10}`), 0o600)

	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "t1", "-f", cfgFile}, 0, "start t1 queued as"},
		{[]string{"start", "-f", cfgFile, "t1"}, 0, "start t1 queued as"},
		{[]string{"start", "t1", "-f", badFile}, 1, `unknown field "rate"`},
		{[]string{"start", "t9"}, 2, "needs -f CONFIG.json"},
		{[]string{"stop", "t1"}, 0, "stop t1 queued"},
		{[]string{"stop"}, 2, "one task id"},
		{[]string{"stop", "bad id"}, 2, "task id"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"status", "nope"}, 1, "unknown task nope on redis " + r.Addr + " (key prefix debezium)"},
	}
	for _, tt := range tests {
		code, out, errOut := ctl(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d, %q %q; want exit %d containing %q", tt.args, code, out, errOut, tt.code, tt.want)
		}
	}

	// tail decodes both formats, in order, one JSON object a line.
	stream := st.Keys().TaskEvents("t1")
	for i, format := range []string{"msgpack", "json", "msgpack"} {
		codec, _ := events.NewCodec(format)
		data, err := codec.Append(nil, &events.Change{
			Op: events.OpCreate, DB: "db", Table: "t", Columns: []string{"id", "big", "bin"}, Key: []int{0},
			After: []any{int64(i), uint64(18446744073709551615), []byte{0, 0xff}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"op", "c", "table", "db.t", "data", data}})
	}
	code, out, errOut := ctl(t, "tail", "t1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("tail: exit %d, %q %q", code, out, errOut)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %s", i, l)
		}
		if !strings.Contains(l, `"big":18446744073709551615`) || !strings.Contains(l, `"bin":"AP8="`) || m["table"] != "db.t" || m["id"] == "" {
			t.Errorf("line %d = %s", i, l)
		}
	}
	if _, out, _ := ctl(t, "tail", "t1", "--count", "1"); strings.Count(out, "\n") != 1 {
		t.Errorf("tail --count 1 printed %q", out)
	}
	// --follow prints entries added later, until interrupted.
	done := make(chan string)
	go func() {
		var buf bytes.Buffer
		c := &cli{store: st, target: "redis " + r.Addr, out: &buf, errOut: io.Discard}
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		c.tail(fctx, []string{"t1", "--from", "$", "--follow", "--count", "1"})
		done <- buf.String()
	}()
	time.Sleep(300 * time.Millisecond)
	codec, _ := events.NewCodec("json")
	data, _ := codec.Append(nil, &events.Change{Op: events.OpDelete, DB: "db", Table: "t", Columns: []string{"id"}, Before: []any{int64(42)}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"op", "d", "table", "db.t", "data", data}})
	if got := <-done; !strings.Contains(got, `"before":{"id":42}`) {
		t.Errorf("tail --follow printed %q", got)
	}

	// Dead letters never show a password.
	st.DeadLetter(ctx, "cli", store.Command{ID: "1-1", Fields: map[string]string{"cmd": "start", "config": `{"password":"s3cret"`}}, os.ErrInvalid)
	if _, out, _ := ctl(t, "deadletters"); strings.Contains(out, "s3cret") || !strings.Contains(out, "invalid argument") {
		t.Errorf("deadletters printed %q", out)
	}
}

// TestCLINamesItsRedis checks that the CLI says which Redis it talks to
// wherever the wrong one could mislead: queued commands, unknown tasks,
// reads, and the 127.0.0.1:6379 default.
func TestCLINamesItsRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	env := []string{"DATAINGEST_REDIS_ADDRS=" + r.Addr, "DATAINGEST_NODE_ID=cli"}
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()
	target := "redis " + r.Addr + " (key prefix debezium)"

	t.Run("queued commands", func(t *testing.T) {
		cfgFile := filepath.Join(t.TempDir(), "task.json")
		os.WriteFile(cfgFile, []byte(`{"taskType":"DATAGEN","datagen":{"rate":10}}`), 0o600)
		for _, args := range [][]string{
			{"start", "q1", "-f", cfgFile}, {"restart", "q1", "-f", cfgFile},
			{"stop", "q1"}, {"failover", "q1"}, {"delete", "q1"},
		} {
			code, out, errOut := ctlEnv(t, env, args...)
			want := regexp.MustCompile(`^` + args[0] + ` q1 queued as \d+-\d+ on ` + regexp.QuoteMeta(target) + `\n$`)
			if code != 0 || !want.MatchString(out) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want %s", args, code, out, errOut, want)
			}
		}
		// Nothing stored q1's config (no node runs): a stop is queued, with
		// a warning naming the Redis.
		if _, _, errOut := ctlEnv(t, env, "stop", "q1"); !strings.Contains(errOut, "task q1 has no config on "+target) {
			t.Errorf("stop of a task without config: stderr %q", errOut)
		}
		st.Client().HSet(ctx, st.Keys().TaskConfig("q2"), "config", "{}")
		if _, _, errOut := ctlEnv(t, env, "stop", "q2"); errOut != "" {
			t.Errorf("stop of a task with a config: stderr %q", errOut)
		}
		if code, _, errOut := ctlEnv(t, env, "start", "q3"); code != 2 || !strings.Contains(errOut, "no config of q3 is stored on "+target) {
			t.Errorf("start without -f of an unknown task: exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("unknown task", func(t *testing.T) {
		for _, args := range [][]string{{"tail", "ghost"}, {"tail", "ghost", "--follow"}, {"tail", "--from", "$", "--follow", "ghost"}, {"status", "ghost"}} {
			done := make(chan struct{})
			var code int
			var out, errOut string
			go func() {
				defer close(done)
				code, out, errOut = ctlEnv(t, env, args...)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%v still runs after 10 s", args)
			}
			if code != 1 || out != "" || !strings.Contains(errOut, "unknown task ghost on "+target) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 naming the task and %s", args, code, out, errOut, target)
			}
		}
		// Each of a config, the id in P:cluster:tasks and an output stream
		// makes a task known to tail (with no events yet: no output, exit 0).
		st.Client().SAdd(ctx, st.Keys().ClusterTasks(), "member")
		st.Client().HSet(ctx, st.Keys().TaskConfig("configured"), "config", "{}")
		st.Client().XAdd(ctx, &redis.XAddArgs{Stream: st.Keys().TaskEvents("trimmed"), Values: []any{"op", "c"}})
		st.Client().XTrimMaxLen(ctx, st.Keys().TaskEvents("trimmed"), 0)
		for _, id := range []string{"member", "configured", "trimmed"} {
			if code, out, errOut := ctlEnv(t, env, "tail", id); code != 0 || out != "" {
				t.Errorf("tail %s: exit %d, stdout %q, stderr %q", id, code, out, errOut)
			}
		}
	})

	t.Run("reads", func(t *testing.T) {
		for _, args := range [][]string{{"tasks"}, {"nodes"}, {"deadletters"}, {"tail", "configured"}} {
			code, out, errOut := ctlEnv(t, env, args...)
			if code != 0 || errOut != "dataingestctl: reading "+target+"\n" || strings.Contains(out, r.Addr) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want the Redis on stderr only", args, code, out, errOut)
			}
		}
	})

	t.Run("default address", func(t *testing.T) {
		// A prefix of its own: whatever Redis may listen on 127.0.0.1:6379
		// here is only read, never written.
		prefix := fmt.Sprintf("dataingestctl-test-%d", time.Now().UnixNano())
		_, _, errOut := ctlEnv(t, []string{"DATAINGEST_KEY_PREFIX=" + prefix, "DATAINGEST_NODE_ID=cli"}, "tasks")
		if want := "warning: DATAINGEST_REDIS_ADDRS (and SPRING_REDIS_HOST) unset: using the default redis 127.0.0.1:6379 (key prefix " + prefix + ")"; !strings.Contains(errOut, want) {
			t.Errorf("no Redis address set: stderr %q; want %q", errOut, want)
		}
		host, port, _ := strings.Cut(r.Addr, ":")
		for _, e := range [][]string{env, {"SPRING_REDIS_HOST=" + host, "SPRING_REDIS_PORT=" + port, "DATAINGEST_NODE_ID=cli"}} {
			if code, _, errOut := ctlEnv(t, e, "tasks"); code != 0 || strings.Contains(errOut, "warning") || !strings.Contains(errOut, target) {
				t.Errorf("env %v: exit %d, stderr %q; want no warning and %s", e, code, errOut, target)
			}
		}
	})
}

func TestRedisTarget(t *testing.T) {
	tests := []struct {
		r    config.Redis
		want string
	}{
		{config.Redis{Addrs: []string{"127.0.0.1:6379"}, KeyPrefix: "debezium"}, "redis 127.0.0.1:6379 (key prefix debezium)"},
		{config.Redis{Addrs: []string{"r1:6379"}, DB: 3, KeyPrefix: "p"}, "redis r1:6379 db 3 (key prefix p)"},
		{config.Redis{Addrs: []string{"a:7000", "b:7001"}, KeyPrefix: "p"}, "redis cluster a:7000,b:7001 (key prefix p)"},
		{config.Redis{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", KeyPrefix: "p"},
			"redis master mymaster via sentinels s1:26379,s2:26379 (key prefix p)"},
	}
	for _, tt := range tests {
		if got := redisTarget(tt.r); got != tt.want {
			t.Errorf("redisTarget(%+v) = %q; want %q", tt.r, got, tt.want)
		}
	}
}

func TestDefaultRedis(t *testing.T) {
	tests := []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{[]string{"DATAINGEST_REDIS_ADDRS=", "SPRING_REDIS_HOST=", "HOME=/root"}, true},
		{[]string{"DATAINGEST_REDIS_ADDRS=127.0.0.1:6379"}, false},
		{[]string{"SPRING_REDIS_HOST=redis"}, false},
		{[]string{"SPRING_REDIS_PORT=6380"}, false},
	}
	for _, tt := range tests {
		if got := defaultRedis(tt.env); got != tt.want {
			t.Errorf("defaultRedis(%q) = %v; want %v", tt.env, got, tt.want)
		}
	}
}

// With DATAINGEST_SECRET_KEY, start seals the config's passwords before it
// queues the command: no plain password reaches P:commands. Without it, it
// warns.
func TestStartSealsBeforeQueueing(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	const password = "pw-cli-5ea1ed"
	cfgFile := filepath.Join(t.TempDir(), "task.json")
	os.WriteFile(cfgFile, []byte(`{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"db1","port":3306,"username":"u","password":"`+password+`"}],"cdcTables":["a.b"]}`), 0o600)
	key := "DATAINGEST_SECRET_KEY=" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	env := []string{"DATAINGEST_REDIS_ADDRS=" + r.Addr}

	code, _, errOut := ctlEnv(t, append(env, key), "start", "s1", "-f", cfgFile)
	if code != 0 {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	msgs, _ := rdb.XRange(ctx, "debezium:commands", "-", "+").Result()
	if len(msgs) != 1 {
		t.Fatalf("%d commands queued", len(msgs))
	}
	cfg, _ := msgs[0].Values["config"].(string)
	if strings.Contains(cfg, password) || !strings.Contains(cfg, task.SealedPrefix) {
		t.Fatalf("queued config does not seal the password: %s", cfg)
	}

	code, _, errOut = ctlEnv(t, env, "start", "s2", "-f", cfgFile)
	if code != 0 || !strings.Contains(errOut, "DATAINGEST_SECRET_KEY unset") {
		t.Fatalf("start without a key: exit %d, stderr %q; want a warning", code, errOut)
	}
}

// TestLag shows each task's lag and its consumer groups' backlog, worst
// first, and exits 1 with --over while a task lags or should run and
// does not.
func TestLag(t *testing.T) {
	r := testenv.StartRedis(t)
	t.Setenv("DATAINGEST_REDIS_ADDRS", r.Addr)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()
	for i, id := range []string{"slow", "broken", "fine"} {
		if _, _, err := st.PutConfig(ctx, fmt.Sprintf("%d-1", i+1), id, `{"taskType":"DATAGEN"}`, "d"+id, id, "DATAGEN", false); err != nil {
			t.Fatal(err)
		}
	}
	status := map[string][]any{
		"slow":   {"state", "RUNNING", "node", "n1", "lag_ms", "5000"},
		"broken": {"state", "FAILED", "node", "", "lag_ms", "0", "error", "bad credentials"},
		"fine":   {"state", "RUNNING", "node", "n2", "lag_ms", "20"},
	}
	for id, kv := range status {
		if err := rdb.HSet(ctx, st.Keys().TaskStatus(id), kv...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// slow's output: 5 entries, a group that was delivered 2 and acked 1.
	out := st.Keys().TaskEvents("slow")
	for range 5 {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: out, Values: []any{"op", "c"}})
	}
	rdb.XGroupCreate(ctx, out, "app", "0")
	got, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "app", Consumer: "c1", Streams: []string{out, ">"}, Count: 2}).Result()
	if err != nil {
		t.Fatal(err)
	}
	rdb.XAck(ctx, out, "app", got[0].Messages[0].ID)

	code, stdout, stderr := ctl(t, "lag")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("lag: exit %d, %q %q", code, stdout, stderr)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^TASK\s+STATUS\s+NODE\s+LAG\s+OUTPUT\s+GROUPS\s+UNREAD\s+UNACKED\s+NOTE$`),
		regexp.MustCompile(`^slow\s+RUNNING\s+n1\s+5s\s+5\s+1\s+3\s+1\s+-$`),
		regexp.MustCompile(`^fine\s+RUNNING\s+n2\s+20ms\s+0\s+0\s+-\s+0\s+-$`),
		regexp.MustCompile(`^broken\s+FAILED\s+-\s+0s\s+0\s+0\s+-\s+0\s+should run: bad credentials$`),
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %v", i, lines[i], re)
		}
	}
	if code, _, stderr := ctl(t, "lag", "--over", "1s"); code != 1 || !strings.Contains(stderr, "2 tasks behind") {
		t.Errorf("lag --over 1s: exit %d, %q; want 1 for slow and broken", code, stderr)
	}
	rdb.HSet(ctx, st.Keys().TaskStatus("broken"), "state", "RUNNING")
	if code, stdout, stderr := ctl(t, "lag", "--over", "10s"); code != 0 {
		t.Errorf("lag --over 10s: exit %d, %q %q; want 0", code, stdout, stderr)
	}
	if code, _, _ := ctl(t, "lag", "extra"); code != 2 {
		t.Errorf("lag extra: exit %d, want 2", code)
	}
}
