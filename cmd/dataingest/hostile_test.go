package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// streamHolds reports whether any field of any entry of stream holds s.
func streamHolds(t *testing.T, rdb *redis.Client, stream, s string) bool {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil && !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for k, v := range m.Values {
			if strings.Contains(k, s) || strings.Contains(fmt.Sprint(v), s) {
				return true
			}
		}
	}
	return false
}

// TestCommandStreamKeepsNoPasswordAndStaysBounded: a start XADDed by hand
// with the password in clear (as any producer may), a misspelled password
// key in a rejected start, and 1,500 commands after them. Within a monitor
// interval no entry of P:commands or P:deadletter holds a password, the
// running task still holds a start entry, and the stream keeps no more
// than the newest 1,000 entries besides it.
func TestCommandStreamKeepsNoPasswordAndStaysBounded(t *testing.T) {
	m := testenv.StartMariaDB(t)
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()
	k := st.Keys()
	m.Exec(t, "CREATE DATABASE h", "CREATE TABLE h.t (id INT PRIMARY KEY, v VARCHAR(32))")
	// A password no other value shares.
	const password = "pw-7c1e-h0stile"
	m.CreateUser(t, "hcdc", password, "REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.*")
	config := fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"hcdc","password":%q}],"cdcTables":["h.t"]}`,
		m.Port, password)
	p := testenv.StartProcess(t, binary(t), nodeEnv(r.Addr, "n1"))

	if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": "h", "config": config}); err != nil {
		t.Fatal(err)
	}
	waitForStart(t, st, "h")
	misspelled := strings.Replace(config, `"password"`, `"pasword"`, 1)
	unknownKey := strings.Replace(config, `"password"`, `"dbPassword"`, 1)
	for i, c := range []string{misspelled, unknownKey} {
		st.Publish(ctx, map[string]string{"cmd": "start", "task": fmt.Sprint("bad", i), "config": c})
	}
	// A password in a field no command has.
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.Commands(), Values: []any{"cmd", "stop", "task", "h2", "password", password}})
	for i := 0; i < 1500; i++ {
		// Idempotent starts of the running task: applied and acknowledged.
		if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": "h", "request_id": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the dead letters", func() bool {
		dl, _ := st.DeadLetters(ctx, 10)
		return len(dl) == 3
	})
	// Once the commands are applied: the monitor trims every second, the
	// heartbeat replaces the held start entry every 200 ms.
	waitFor(t, 20*time.Second, "every command applied", func() bool {
		g, err := rdb.XInfoGroups(ctx, k.Commands()).Result()
		return err == nil && len(g) == 1 && g[0].Lag == 0 && g[0].Pending == 1
	})
	waitFor(t, 5*time.Second, "the command stream trimmed to 1,001 entries, none with the password", func() bool {
		return rdb.XLen(ctx, k.Commands()).Val() <= 1001 && !streamHolds(t, rdb, k.Commands(), password)
	})
	for _, stream := range []string{k.Commands(), k.DeadLetter()} {
		if streamHolds(t, rdb, stream, password) {
			msgs, _ := rdb.XRange(ctx, stream, "-", "+").Result()
			for _, m := range msgs {
				if strings.Contains(fmt.Sprint(m.Values), password) {
					t.Errorf("%s entry %s holds the password: %v", stream, m.ID, m.Values)
				}
			}
		}
	}
	if strings.Contains(p.Output(), password) {
		t.Errorf("the node's log holds the password")
	}
	pend, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: k.Commands(), Group: store.Group, Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending entries %v, %v: want the one start entry of task h", pend, err)
	}
	held, _ := rdb.XRange(ctx, k.Commands(), pend[0].ID, pend[0].ID).Result()
	if len(held) != 1 || held[0].Values["task"] != "h" || held[0].Values["cmd"] != "start" {
		t.Fatalf("held entry %v, want the start of task h", held)
	}
	// The task still runs, from that entry.
	m.Exec(t, "INSERT INTO h.t VALUES (1, 'a')")
	checkRowsOnce(t, rdb, st, "h", 1)
}

// TestEvictingRedisIsReported: a Redis whose maxmemory-policy may evict
// keys is named at start, every monitor interval, and by /readyz.
func TestEvictingRedisIsReported(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := testenv.StartProcess(t, binary(t), append(nodeEnv(r.Addr, "n1"), "DATAINGEST_HTTP_ADDR="+addr))
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, 10*time.Second, "/readyz naming the policy", func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "allkeys-lru")
	})
	waitFor(t, 5*time.Second, "two warnings in the log (start, then a monitor round)", func() bool {
		return strings.Count(p.Output(), "maxmemory-policy is allkeys-lru") >= 2
	})
	rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	waitFor(t, 5*time.Second, "/readyz ready again", func() bool {
		code, _ := readyz()
		return code == http.StatusOK
	})
}

// TestHostileStarts: starts that break a limit or carry a sealed password
// of another task are dead-lettered, naming the field, with a bounded copy;
// a plain password that looks like a sealed one is sealed like any other.
func TestHostileStarts(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	testenv.StartProcess(t, binary(t), append(nodeEnv(r.Addr, "n1"), "DATAINGEST_SECRET_KEY="+key))
	closed, _ := testenv.FreePort() // nothing listens: the tasks retry, which is enough here
	cdc := func(port int, password string) string {
		return fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"u","password":%q}],"cdcTables":["a.b"]}`,
			port, password)
	}
	start := func(id, config string) {
		t.Helper()
		if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": id, "config": config}); err != nil {
			t.Fatal(err)
		}
	}
	deadLetter := func(id string) store.Command {
		t.Helper()
		var found store.Command
		waitFor(t, 10*time.Second, "the dead letter of "+id, func() bool {
			dl, _ := st.DeadLetters(ctx, 100)
			for _, d := range dl {
				if d.Fields["task"] == id {
					found = d
					return true
				}
			}
			return false
		})
		return found
	}

	// A plain password beginning like a sealed one is sealed.
	const lookalike = "enc:v1:not-sealed-at-all"
	start("s1", cdc(closed, lookalike))
	var stored string
	waitFor(t, 10*time.Second, "the config of s1", func() bool {
		stored, _ = rdb.HGet(ctx, st.Keys().TaskConfig("s1"), "config").Result()
		return stored != ""
	})
	if strings.Contains(stored, lookalike) {
		t.Fatalf("stored config keeps a plain password: %s", stored)
	}
	sealed := stored[strings.Index(stored, task.SealedPrefix):]
	sealed = sealed[:strings.IndexByte(sealed, '"')]

	// Copied into another task, or to another port of the same task: no.
	start("s2", cdc(closed, sealed))
	other, _ := testenv.FreePort()
	start("s1", cdc(other, sealed))
	for _, id := range []string{"s2", "s1"} {
		d := deadLetter(id)
		if !strings.Contains(d.Fields["error"], "dataSourceConfigs[0].password") {
			t.Errorf("dead letter of %s: error %q, want it to name dataSourceConfigs[0].password", id, d.Fields["error"])
		}
	}
	if c, _ := st.LoadConfig(ctx, "s1"); !strings.Contains(c.Config, fmt.Sprintf(`"port":%d`, closed)) {
		t.Errorf("the rejected start changed s1's config: %s", c.Config)
	}

	// Over the limits.
	huge := `{"taskType":"DATAGEN","taskName":"` + strings.Repeat("x", 2<<20) + `"}`
	start("huge", huge)
	start("flood", `{"taskType":"DATAGEN","datagen":{"rate":9223372036854775807}}`)
	d := deadLetter("huge")
	if !strings.Contains(d.Fields["error"], "1048576") && !strings.Contains(d.Fields["error"], "1 MiB") {
		t.Errorf("dead letter of a 2 MiB config: error %q, want the 1 MiB limit", d.Fields["error"])
	}
	if n := len(d.Fields["config"]); n > 64<<10+256 {
		t.Errorf("dead letter keeps %d bytes of the config, want at most 64 KiB", n)
	}
	if d := deadLetter("flood"); !strings.Contains(d.Fields["error"], "datagen.rate") {
		t.Errorf("dead letter of rate 2^63-1: error %q, want it to name datagen.rate", d.Fields["error"])
	}
	for _, id := range []string{"s2", "huge", "flood"} {
		if _, err := st.LoadConfig(ctx, id); err == nil {
			t.Errorf("rejected task %s has a stored config", id)
		}
	}
}
