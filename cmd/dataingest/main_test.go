package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// These tests run the built node binary as real processes.

func binary(t *testing.T) string {
	return testenv.BuildBinary(t, "github.com/dataingest/dataingest/cmd/dataingest")
}

func nodeEnv(redisAddr, id string, extra ...string) []string {
	return append([]string{
		"DATAINGEST_REDIS_ADDRS=" + redisAddr, "DATAINGEST_NODE_ID=" + id,
		"DATAINGEST_HTTP_ADDR=127.0.0.1:0", "DATAINGEST_HEARTBEAT_INTERVAL=200ms",
		"DATAINGEST_FAILOVER_TIMEOUT=2s", "DATAINGEST_TASK_MONITOR_INTERVAL=1s",
	}, extra...)
}

func TestBadConfigurationExitsTwo(t *testing.T) {
	bin := binary(t)
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"DATAINGEST_HEARTBEAT_INTERVAL=abc"}, "DATAINGEST_HEARTBEAT_INTERVAL"},
		{[]string{"DATAINGEST_REDIS_ADDRS=nohostport"}, "DATAINGEST_REDIS_ADDRS"},
		{[]string{"DATAINGEST_SECRET_KEY=c2hvcnQ="}, "DATAINGEST_SECRET_KEY"},
		{[]string{"DATAINGEST_LOG_LEVEL=loud"}, "DATAINGEST_LOG_LEVEL"},
		{[]string{"DATAINGEST_HEARTBEAT_INTERVAL=10s", "DATAINGEST_FAILOVER_TIMEOUT=5s"}, "DATAINGEST_FAILOVER_TIMEOUT"},
	}
	for _, tt := range tests {
		p := testenv.StartProcess(t, bin, tt.env)
		code, err := p.Wait(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code != 2 || !strings.Contains(p.Output(), tt.want) {
			t.Errorf("env %v: exit %d, output %q; want exit 2 naming %s", tt.env, code, p.Output(), tt.want)
		}
	}
}

// seqs reads the DATAGEN sequence numbers of a task's output stream.
func seqs(t *testing.T, rdb *redis.Client, st *store.Store, task string) []int64 {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), st.Keys().TaskEvents(task), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		env, err := events.Decode([]byte(m.Values["data"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env["after"].(map[string]any)["seq"].(int64))
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSIGTERMHandsOverAndExitsZero(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	bin := binary(t)
	ctx := context.Background()

	p := testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n1"))
	st.Publish(ctx, map[string]string{"cmd": "start", "task": "dg", "config": `{"taskType":"DATAGEN","datagen":{"rate":1000}}`})
	waitFor(t, 10*time.Second, "events", func() bool { return len(seqs(t, rdb, st, "dg")) > 100 })

	p.Signal(t, syscall.SIGTERM)
	code, err := p.Wait(5 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("after SIGTERM: exit %d, %v\n%s", code, err, p.Output())
	}
	pending, _ := rdb.XPending(ctx, st.Keys().Commands(), "workers").Result()
	if pending.Count != 0 {
		t.Errorf("%d entries still pending after hand-over", pending.Count)
	}
	lock, _ := st.LockHolder(ctx, "dg", time.Minute)
	if lock != "" {
		t.Errorf("lock still held by %q after hand-over", lock)
	}
	// The stopped node left the fleet: no heartbeat, not in
	// P:cluster:nodes, no consumer.
	if nodes, _ := st.Nodes(ctx); len(nodes) != 0 {
		t.Errorf("nodes after SIGTERM: %+v", nodes)
	}
	if cs, _ := st.Consumers(ctx); len(cs) != 0 {
		t.Errorf("consumers after SIGTERM: %+v", cs)
	}
	// Another node picks the republished start up at once.
	before := len(seqs(t, rdb, st, "dg"))
	start := time.Now()
	testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n2"))
	waitFor(t, 5*time.Second, "the task on n2", func() bool { return len(seqs(t, rdb, st, "dg")) > before })
	t.Logf("task resumed on n2 %v after its start", time.Since(start))
	checkGapFree(t, seqs(t, rdb, st, "dg"))
}

func checkGapFree(t *testing.T, s []int64) {
	t.Helper()
	for i, v := range s {
		if v != int64(i+1) {
			t.Fatalf("entry %d has seq %d, want %d (gap or duplicate)", i, v, i+1)
		}
	}
}

// TestKilledNodeResumesExactlyOnce SIGKILLs a node running a MYSQL_CDC task
// while rows are inserted, restarts it, and checks that every row arrives
// exactly once and in order.
func TestKilledNodeResumesExactlyOnce(t *testing.T) {
	eachFlavor(t, true, testKilledNodeResumesExactlyOnce)
}

func testKilledNodeResumesExactlyOnce(t *testing.T, fl dbFlavor) {
	m := fl.start(t)
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	bin := binary(t)
	ctx := context.Background()
	m.Exec(t, "CREATE DATABASE k", "CREATE TABLE k.t (id INT PRIMARY KEY, v VARCHAR(32))")

	p := testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n1"))
	st.Publish(ctx, map[string]string{"cmd": "start", "task": "k", "config": cdcConfig(m, "never", "k.t")})
	waitForStart(t, st, "k")

	in := startInserter(t, m, "k.t", 20, 0)
	for round := 0; round < 3; round++ {
		time.Sleep(700 * time.Millisecond)
		p.Kill(t)
		time.Sleep(200 * time.Millisecond)
		p = testenv.StartProcess(t, bin, nodeEnv(r.Addr, "n1"))
	}
	time.Sleep(500 * time.Millisecond)
	total := in.Stop()
	checkRowsOnce(t, rdb, st, "k", total)
	t.Logf("%d rows exactly once across 3 SIGKILLs", total)
}
