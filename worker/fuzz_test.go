package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// noRoom is a Placer for which no node has room: a valid start waits,
// pending, and runs nothing (this test is about parsing).
type noRoom struct{}

func (noRoom) Place(context.Context, int) (string, error)     { return "", nil }
func (noRoom) PlaceNear(context.Context, int) (string, error) { return "", nil }
func (noRoom) PlaceElsewhere(context.Context) (string, error) { return "", nil }

// FuzzCommand applies arbitrary command entries, as any producer may XADD
// them, through a real consumer against a real Redis: nothing panics;
// every entry but a valid start (which waits for room) is acknowledged; a
// rejected one is dead-lettered with an error, and neither the dead letter
// nor the command stream keeps the value of a field no command has or a
// password in the config.
func FuzzCommand(f *testing.F) {
	seeds := []struct{ cmd, task, config, key, val string }{
		{"start", "t1", `{"taskType":"DATAGEN"}`, "", ""},
		{"start", "t2", `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"h","port":1,"username":"u","pasword":"SECRETPW"}],"cdcTables":["a.b"]}`, "", ""},
		{"start", "t3", `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"h","port":1,"username":"u","password":"SECRETPW"}],"cdcTables":["a.*"],"x":1}`, "", ""},
		{"stop", "t1", "", "password", "SECRETXX"},
		{"strat", "t1", "", "", ""},
		{"", "", "", "", ""},
		{"delete", "../etc", "", "", ""},
		{"start", strings.Repeat("a", 200), "", "", ""},
		{"start", "t4", "{not json", "", ""},
		{"start", "t5", `{"taskType":"DATAGEN","datagen":{"rate":9223372036854775807}}`, "", ""},
		{"failover", "t1", "", "dbPassword", "SECRETYY"},
		{"restart", "t1", `[]`, "", ""},
		{"snapshot", "t1", "", "tables", "a.b"},
	}
	for _, s := range seeds {
		f.Add(s.cmd, s.task, s.config, s.key, s.val)
	}
	r := testenv.StartRedis(f)
	rdb := r.Client(f)
	st := store.New(rdb, "fuzz")
	cfg := Config{NodeID: "n1", HeartbeatInterval: 1e9, TaskMonitorInterval: 1e9, FailoverTimeout: 2e9}
	log := zerolog.Nop()
	m := NewMetrics(prometheus.NewRegistry(), func() float64 { return 0 })
	tasks := NewTasks(cfg, st, noRoom{}, log, m)
	c := NewConsumer(cfg, st, tasks, noRoom{}, log, m)
	ctx := context.Background()
	if err := st.EnsureGroup(ctx); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cmd, id, config, key, val string) {
		fields := []any{"cmd", cmd, "task", id}
		if config != "" {
			fields = append(fields, "config", config)
		}
		known := map[string]bool{"cmd": true, "task": true, "config": true, "request_id": true, "reason": true, "tables": true, "handover": true}
		secret := ""
		if key != "" && !known[key] {
			// Distinctive, so that it cannot turn up by chance (in an
			// entry id, say).
			secret = fmt.Sprintf("S3CR3T%x", val)
			fields = append(fields, key, secret)
		}
		entry, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: st.Keys().Commands(), Values: fields}).Result()
		if err != nil {
			return // Redis refused the entry itself: no producer can send it
		}
		cmds, err := st.ReadCommands(ctx, "n1", ">", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.Apply(ctx, cmds, fresh)

		pend, _ := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: st.Keys().Commands(), Group: store.Group, Start: entry, End: entry, Count: 1}).Result()
		if len(pend) == 1 && cmd != "start" && cmd != "restart" {
			t.Fatalf("%q entry still pending after it was applied", cmd)
		}
		var passwords []string
		var doc any
		if json.Unmarshal([]byte(config), &doc) == nil {
			collectPasswords(doc, &passwords)
			// A password that is also the text of another member (the
			// user name, say) may show there.
			var others []string
			collectOthers(doc, &others)
			passwords = slices.DeleteFunc(passwords, func(p string) bool {
				return slices.ContainsFunc(others, func(o string) bool { return strings.Contains(o, p) })
			})
		}
		dl, _ := st.DeadLetters(ctx, 1)
		for _, d := range dl {
			if d.Fields["command_id"] != entry {
				continue
			}
			if d.Fields["error"] == "" {
				t.Fatalf("dead letter without an error: %v", d.Fields)
			}
			for k, v := range d.Fields {
				for _, s := range append(passwords, secret) {
					if len(s) >= 6 && strings.Contains(v, s) && k != "task" && k != "cmd" {
						t.Fatalf("dead letter field %s keeps the secret %q: %q", k, s, v)
					}
				}
			}
		}
		if secret != "" && len(pend) == 0 {
			if msgs, _ := rdb.XRange(ctx, st.Keys().Commands(), entry, entry).Result(); len(msgs) == 1 && strings.Contains(fmt.Sprint(msgs[0].Values), "SECRET") {
				// A handled entry with an unknown field may stay (stop,
				// failover) only if it was not dead-lettered.
				for _, d := range dl {
					if d.Fields["command_id"] == entry {
						t.Fatalf("dead-lettered entry %s still on the command stream", entry)
					}
				}
			}
		}
	})
}

// collectPasswords gathers the string values of members whose name looks
// like a password's, at any depth.
func collectPasswords(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && strings.Contains(strings.ToLower(k), "pas") {
				*out = append(*out, s)
			}
			collectPasswords(e, out)
		}
	case []any:
		for _, e := range x {
			collectPasswords(e, out)
		}
	}
}

// collectOthers gathers member names and the string values of members whose
// name does not look like a password's, at any depth.
func collectOthers(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			if s, ok := e.(string); ok && !strings.Contains(strings.ToLower(k), "pas") {
				*out = append(*out, s)
			}
			collectOthers(e, out)
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				*out = append(*out, s)
			}
			collectOthers(e, out)
		}
	}
}

// Healthy fails once the consumer has not read the command stream for
// five read periods (at least 10 s), naming the last read error.
func TestConsumerHealthy(t *testing.T) {
	c := NewConsumer(Config{NodeID: "n1", FailoverTimeout: 60e9}, nil, nil, noRoom{}, zerolog.Nop(), nil)
	if err := c.Healthy(); err != nil {
		t.Fatalf("before the first read: %v", err)
	}
	c.readDone(nil)
	if err := c.Healthy(); err != nil {
		t.Fatalf("right after a read: %v", err)
	}
	c.readDone(fmt.Errorf("NOGROUP no such key"))
	c.healthMu.Lock()
	c.lastRead = c.lastRead.Add(-time.Minute)
	c.healthMu.Unlock()
	if err := c.Healthy(); err == nil || !strings.Contains(err.Error(), "NOGROUP") {
		t.Fatalf("a minute without a read: %v, want an error naming the last read error", err)
	}
}
