package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// damage is one way of breaking one of a task's keys by hand, and what the
// fleet must make of it.
type damage struct {
	name string
	key  func(k store.Keys, id string) string
	// do breaks the key.
	do func(ctx context.Context, rdb *redis.Client, key string)
	// recovers: the task goes on writing by itself (a repair); otherwise
	// it stops writing and its status says what is wrong, naming want.
	recovers bool
	want     string
	// restart: a restart command follows the damage (a config read only
	// when a session starts).
	restart bool
}

func setString(ctx context.Context, rdb *redis.Client, key string) {
	rdb.Del(ctx, key)
	rdb.Set(ctx, key, "x", 0)
}

func del(ctx context.Context, rdb *redis.Client, key string) { rdb.Del(ctx, key) }

func damages() []damage {
	cfg := func(k store.Keys, id string) string { return k.TaskConfig(id) }
	status := func(k store.Keys, id string) string { return k.TaskStatus(id) }
	offset := func(k store.Keys, id string) string { return k.TaskOffset(id) }
	schema := func(k store.Keys, id string) string { return k.TaskSchema(id) }
	events := func(k store.Keys, id string) string { return k.TaskEvents(id) }
	lock := func(k store.Keys, id string) string { return k.TaskLock(id) }
	assign := func(k store.Keys, id string) string { return k.TaskAssignment(id) }
	field := func(f, v string) func(context.Context, *redis.Client, string) {
		return func(ctx context.Context, rdb *redis.Client, key string) { rdb.HSet(ctx, key, f, v) }
	}
	return []damage{
		{"config-wrongtype", cfg, setString, false, "task:config:{", false},
		{"config-deleted", cfg, del, false, "task:config:{", false},
		{"config-garbage", cfg, field("config", "{broken"), false, "stored config", true},
		{"status-wrongtype", status, setString, true, "", false},
		{"status-deleted", status, del, true, "", false},
		{"status-garbage", status, field("events", "lots"), true, "", false},
		{"offset-wrongtype", offset, setString, false, "task:offset:{", false},
		{"offset-deleted", offset, del, true, "", false},
		{"offset-garbage", offset, field("batch", "x"), false, "task:offset:{", false},
		{"schema-wrongtype", schema, setString, false, "task:schema:{", false},
		{"schema-deleted", schema, del, true, "", false},
		{"events-wrongtype", events, setString, false, "task:events:{", false},
		{"events-deleted", events, del, true, "", false},
		{"lock-wrongtype", lock, func(ctx context.Context, rdb *redis.Client, key string) {
			rdb.Del(ctx, key)
			rdb.HSet(ctx, key, "owner", "nobody")
		}, true, "", false},
		{"lock-deleted", lock, del, true, "", false},
		{"lock-ghost", lock, func(ctx context.Context, rdb *redis.Client, key string) {
			rdb.Set(ctx, key, "ghost 999", 0) // no TTL
		}, true, "", false},
		{"assignment-wrongtype", assign, func(ctx context.Context, rdb *redis.Client, key string) {
			rdb.Del(ctx, key)
			rdb.SAdd(ctx, key, "x")
		}, true, "", false},
	}
}

// TestDamagedTaskKeys damages each key of a task in turn (each on a task of
// its own, all at once, on a fleet of two nodes): wrong type, deleted or a
// field of garbage. The nodes stay up, the tasks nobody damaged keep
// writing, no task writes an event twice, and each damaged task either
// repairs itself and writes on, or stops writing with a status that names
// the damaged key.
func TestDamagedTaskKeys(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	bin := binary(t)
	ctx := context.Background()
	nodes := []*testenv.Process{
		testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n1")),
		testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n2")),
	}
	const dgConfig = `{"taskType":"DATAGEN","datagen":{"rate":200}}`
	ds := damages()
	ids := []string{"healthy-1", "healthy-2"}
	for _, d := range ds {
		ids = append(ids, "v-"+d.name)
	}
	for _, id := range ids {
		if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": id, "config": dgConfig}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		waitFor(t, 20*time.Second, "events of "+id, func() bool { return len(seqs(t, rdb, st, id)) > 20 })
	}

	before := map[string]int{}
	for _, d := range ds {
		id := "v-" + d.name
		d.do(ctx, rdb, d.key(st.Keys(), id))
		if d.restart {
			if _, err := st.Publish(ctx, map[string]string{"cmd": "restart", "task": id}); err != nil {
				t.Fatal(err)
			}
		}
		before[id] = len(seqsLenient(t, rdb, st, id))
	}
	for _, id := range ids[:2] {
		before[id] = len(seqs(t, rdb, st, id))
	}
	// Repairs and reports come within a failover timeout (2 s) and a
	// monitor interval (1 s) or two.
	time.Sleep(6 * time.Second)

	for i, p := range nodes {
		if code, err := p.Wait(0); err == nil {
			t.Fatalf("node n%d exited with %d:\n%s", i+1, code, p.Output())
		}
	}
	for _, id := range ids[:2] {
		s := seqs(t, rdb, st, id)
		if len(s) <= before[id]+100 {
			t.Errorf("undamaged task %s wrote %d events in 6 s after the damage, want > 100", id, len(s)-before[id])
		}
		checkGapFree(t, s)
	}
	for _, d := range ds {
		id := "v-" + d.name
		t.Run(d.name, func(t *testing.T) {
			s := seqsLenient(t, rdb, st, id)
			checkIncreasing(t, s)
			if d.name != "events-deleted" {
				checkGapFree(t, s)
			}
			info, err := st.Task(ctx, id)
			if err != nil {
				t.Fatalf("status of %s: %v", id, err)
			}
			if d.recovers {
				waitFor(t, 10*time.Second, id+" writing again", func() bool {
					return len(seqsLenient(t, rdb, st, id)) > before[id]+50
				})
				waitFor(t, 5*time.Second, id+" RUNNING", func() bool {
					info, _ = st.Task(ctx, id)
					return info.Status == "RUNNING" && info.Error == ""
				})
				s = seqsLenient(t, rdb, st, id)
				checkIncreasing(t, s)
				if d.name != "events-deleted" {
					checkGapFree(t, s)
				}
				return
			}
			t.Logf("status %s: %s", info.Status, info.Error)
			if info.Status == "RUNNING" || !strings.Contains(info.Error, d.want) {
				t.Fatalf("status %s, error %q: want a state other than RUNNING and an error naming %s", info.Status, info.Error, d.want)
			}
			// It writes nothing while damaged.
			n := len(seqsLenient(t, rdb, st, id))
			time.Sleep(500 * time.Millisecond)
			if m := len(seqsLenient(t, rdb, st, id)); m != n {
				t.Fatalf("damaged task wrote %d events while its status says %s", m-n, info.Status)
			}
		})
	}
	// A command for a task whose config key is damaged is dead-lettered
	// naming the key, not retried for ever.
	for _, cmd := range []string{"stop", "start", "failover"} {
		if _, err := st.Publish(ctx, map[string]string{"cmd": cmd, "task": "v-config-wrongtype"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "three dead letters naming the damaged config key", func() bool {
		dl, _ := st.DeadLetters(ctx, 10)
		n := 0
		for _, d := range dl {
			if strings.Contains(d.Fields["error"], st.Keys().TaskConfig("v-config-wrongtype")) {
				n++
			}
		}
		return n == 3
	})
	if p, _ := rdb.XPending(ctx, st.Keys().Commands(), store.Group).Result(); p.Count != int64(len(ids)-2) {
		// Every task holds its start entry but the two that failed (their
		// config deleted or garbage); the one whose config is of another
		// type still runs, retrying, and reports the key.
		t.Errorf("%d entries pending, want %d", p.Count, len(ids)-2)
	}
	// The API's and the CLI's list shows every task despite the damage.
	list, err := st.Tasks(ctx)
	if err != nil || len(list) != len(ids) {
		t.Fatalf("task list: %d tasks, %v; want %d", len(list), err, len(ids))
	}
}

// seqsLenient is seqs of a stream that may be of another type (empty).
func seqsLenient(t *testing.T, rdb *redis.Client, st *store.Store, task string) []int64 {
	t.Helper()
	if typ := rdb.Type(context.Background(), st.Keys().TaskEvents(task)).Val(); typ != "stream" {
		return nil
	}
	return seqs(t, rdb, st, task)
}

func checkIncreasing(t *testing.T, s []int64) {
	t.Helper()
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			t.Fatalf("entry %d has seq %d after %d: duplicate or out of order", i, s[i], s[i-1])
		}
	}
}

// TestDamagedFleetKeys deletes and overwrites the fleet's own keys: the
// command stream (with its group and every held start entry), the
// dead-letter stream, P:cluster:tasks and P:cluster:nodes. The nodes
// repair them: new commands are applied again, every running task holds a
// start entry again, and the lists work.
func TestDamagedFleetKeys(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	bin := binary(t)
	ctx := context.Background()
	k := st.Keys()
	for _, n := range []string{"n1", "n2"} {
		testenv.StartProcess(t, bin, nodeEnv(r.Addr, n))
	}
	const dgConfig = `{"taskType":"DATAGEN","datagen":{"rate":100}}`
	start := func(id string) {
		t.Helper()
		if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": id, "config": dgConfig}); err != nil {
			t.Fatal(err)
		}
	}
	running := func(id string) func() bool {
		return func() bool { return len(seqsLenient(t, rdb, st, id)) > 10 }
	}
	heldEntries := func(n int64) func() bool {
		return func() bool {
			p, err := rdb.XPending(ctx, k.Commands(), store.Group).Result()
			return err == nil && p.Count == n
		}
	}
	start("a")
	start("b")
	waitFor(t, 10*time.Second, "task a", running("a"))
	waitFor(t, 10*time.Second, "task b", running("b"))

	for round, breakIt := range []func(){
		func() { rdb.Del(ctx, k.Commands()) },
		func() { setString(ctx, rdb, k.Commands()) },
		func() { rdb.XGroupDestroy(ctx, k.Commands(), store.Group) },
	} {
		breakIt()
		id := fmt.Sprintf("after-%d", round)
		waitFor(t, 10*time.Second, "a command stream with its group", func() bool {
			g, err := rdb.XInfoGroups(ctx, k.Commands()).Result()
			return err == nil && len(g) == 1
		})
		start(id)
		waitFor(t, 10*time.Second, "task "+id+" started after the command stream was broken", running(id))
		// Every running task holds a start entry again, so that a dead
		// node's tasks can still be reclaimed.
		waitFor(t, 10*time.Second, "a held start entry per running task", heldEntries(int64(3+round)))
	}

	setString(ctx, rdb, k.DeadLetter())
	if _, err := st.Publish(ctx, map[string]string{"cmd": "explode", "task": "a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the bad command dead-lettered", func() bool {
		dl, err := st.DeadLetters(ctx, 10)
		return err == nil && len(dl) == 1 && dl[0].Fields["cmd"] == "explode"
	})

	setString(ctx, rdb, k.ClusterTasks())
	ts, err := st.Tasks(ctx)
	if err != nil || len(ts) != 5 {
		t.Fatalf("tasks after P:cluster:tasks was overwritten: %d, %v; want 5", len(ts), err)
	}
	setString(ctx, rdb, k.ClusterNodes())
	waitFor(t, 5*time.Second, "both nodes listed again", func() bool {
		ns, err := st.Nodes(ctx)
		return err == nil && len(ns) == 2
	})
	for _, id := range []string{"a", "b", "after-0", "after-1", "after-2"} {
		checkGapFree(t, seqs(t, rdb, st, id))
	}
}
