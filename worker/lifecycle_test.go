package worker

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// seqs returns the DATAGEN sequence numbers of a task's output, in order.
func (e *env) seqs(task string) []int64 {
	var out []int64
	for _, ev := range e.events(task) {
		out = append(out, seqOf(ev.Env))
	}
	return out
}

// seqOf returns the DATAGEN sequence number of a decoded envelope of
// either format.
func seqOf(env map[string]any) int64 {
	switch v := env["after"].(map[string]any)["seq"].(type) {
	case int64:
		return v
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return -1
}

// checkGapFree fails unless seqs is 1, 2, ..., n.
func checkGapFree(t *testing.T, seqs []int64) {
	t.Helper()
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("entry %d has seq %d, want %d (gap or duplicate)", i, s, i+1)
		}
	}
}

func TestTaskLifecycle(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	ctx := context.Background()
	cfg := `{"taskType":"DATAGEN","datagen":{"rate":2000}}`
	pending := func() int64 {
		p, err := e.rdb.XPending(ctx, e.st.Keys().Commands(), "workers").Result()
		if err != nil {
			t.Fatal(err)
		}
		return p.Count
	}

	e.command("cmd", "start", "task", "dg", "config", cfg)
	e.command("cmd", "start", "task", "dg", "config", cfg) // idempotent
	e.waitEvents("dg", 200, 5*time.Second)
	if n := pending(); n != 1 {
		t.Errorf("pending after two starts = %d, want 1", n)
	}

	e.command("cmd", "stop", "task", "dg")
	e.waitState("dg", StateStopped, 3*time.Second)
	if n := pending(); n != 0 {
		t.Errorf("pending after stop = %d, want 0", n)
	}
	stopped := len(e.events("dg"))
	time.Sleep(300 * time.Millisecond)
	if n := len(e.events("dg")); n != stopped {
		t.Errorf("a stopped task wrote %d more events", n-stopped)
	}

	e.command("cmd", "start", "task", "dg")
	e.waitEvents("dg", stopped+200, 5*time.Second)

	// A changed config restarts the task with the new one, from the same
	// checkpoint: the format changes, the sequence goes on.
	e.command("cmd", "start", "task", "dg", "config", `{"taskType":"DATAGEN","format":"json","datagen":{"rate":2000}}`)
	e.waitFor(5*time.Second, "JSON entries", func() bool {
		evs := e.events("dg")
		return evs[len(evs)-1].Raw[0] == '{'
	})
	e.command("cmd", "restart", "task", "dg")
	n := len(e.events("dg"))
	e.waitEvents("dg", n+200, 5*time.Second)

	e.command("cmd", "delete", "task", "dg")
	e.waitFor(5*time.Second, "task keys deleted", func() bool {
		k := e.st.Keys()
		c, _ := e.rdb.Exists(ctx, k.TaskConfig("dg"), k.TaskStatus("dg"), k.TaskOffset("dg"), k.TaskAssignment("dg"), k.TaskLock("dg")).Result()
		member, _ := e.rdb.SIsMember(ctx, k.ClusterTasks(), "dg").Result()
		return c == 0 && !member
	})
	checkGapFree(t, e.seqs("dg")) // the output stream stays, gap-free
	if n := pending(); n != 0 {
		t.Errorf("pending after delete = %d, want 0", n)
	}
}

func TestBackpressureBlocksUntilConsumersRead(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	ctx := context.Background()
	stream := e.st.Keys().TaskEvents("bp")
	if err := e.rdb.XGroupCreateMkStream(ctx, stream, "readers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	e.command("cmd", "start", "task", "bp", "config", `{"taskType":"DATAGEN","outputMaxLen":100,"datagen":{"rate":0,"total":1000}}`)
	e.waitState("bp", StateBackpressure, 5*time.Second)
	if l, _ := e.rdb.XLen(ctx, stream).Result(); l > 100 {
		t.Fatalf("stream holds %d entries, over outputMaxLen 100", l)
	}
	// A consumer reads and acknowledges everything; the task finishes.
	var seqs []int64
	for len(seqs) < 1000 {
		res, err := e.rdb.XReadGroup(ctx, &redisReadArgs{Group: "readers", Consumer: "c", Streams: []string{stream, ">"}, Count: 50, Block: time.Second}).Result()
		if err != nil {
			t.Fatalf("reading after %d entries: %v", len(seqs), err)
		}
		for _, m := range res[0].Messages {
			ev := decodeMessage(t, m)
			seqs = append(seqs, seqOf(ev))
			e.rdb.XAck(ctx, stream, "readers", m.ID)
		}
	}
	checkGapFree(t, seqs)
	if l, _ := e.rdb.XLen(ctx, stream).Result(); l > 100 {
		t.Errorf("stream holds %d entries, over outputMaxLen 100", l)
	}
}
