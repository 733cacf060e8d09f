package worker

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestRedisOutage kills Redis under a running task, keeps it down past the
// lease, and brings it back: the node stays up and the task resumes by
// itself with nothing lost or duplicated, even though Redis lost its last
// writes (appendfsync everysec).
func TestRedisOutage(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	e.command("cmd", "start", "task", "dg", "config", `{"taskType":"DATAGEN","datagen":{"rate":3000}}`)
	e.waitEvents("dg", 500, 5*time.Second)

	for _, outage := range []struct {
		name string
		down func()
	}{
		{"kill", func() { e.redis.Kill(t) }},
		{"stop", func() { e.redis.Stop(t) }},
	} {
		t.Run(outage.name, func(t *testing.T) {
			before := len(e.events("dg"))
			outage.down()
			time.Sleep(3 * time.Second) // past the 2 s lease
			e.redis.Start(t)
			e.waitFor(15*time.Second, "the task to write again", func() bool {
				n, _ := e.rdb.XLen(context.Background(), e.st.Keys().TaskEvents("dg")).Result()
				return n > int64(before)+500
			})
			checkGapFree(t, e.seqs("dg"))
		})
	}
	if st := e.status("dg"); st.Status != StateRunning || st.Node != "n1" {
		t.Errorf("status after outages: %+v", st)
	}
}

// TestDroppedConnectionsWithWritesInFlight writes a backlog as fast as
// Redis takes it, so that two full batches are always in flight, and cuts
// every connection of the node twenty times meanwhile: writes in flight
// lose their replies, some after Redis ran them, some before, and are sent
// again (by go-redis's retries or the writer's), one behind another. Every
// event is written once, in order.
func TestDroppedConnectionsWithWritesInFlight(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	const total = 200_000
	e.command("cmd", "start", "task", "fast", "config", fmt.Sprintf(`{"taskType":"DATAGEN","datagen":{"rate":1000000,"total":%d}}`, total))
	e.waitEvents("fast", 1000, 10*time.Second)
	ctx := context.Background()
	kills := 0
	for ; kills < 20; kills++ {
		n, _ := e.rdb.XLen(ctx, e.st.Keys().TaskEvents("fast")).Result()
		if n >= total {
			break
		}
		if err := e.rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if kills < 5 {
		t.Fatalf("the backlog was written after %d connection cuts: too few to test anything", kills)
	}
	e.waitEvents("fast", total, 60*time.Second)
	time.Sleep(500 * time.Millisecond) // nothing more may come
	seqs := e.seqs("fast")
	if len(seqs) != total {
		t.Fatalf("%d entries, want %d", len(seqs), total)
	}
	checkGapFree(t, seqs)
	off, _ := e.st.LoadOffset(ctx, "fast")
	batches, _ := strconv.Atoi(off["batch"])
	if batches == 0 || total/batches < 250 {
		t.Errorf("%d batches for %d events: batches were not full, so no two were in flight", batches, total)
	}
	t.Logf("%d connection cuts, %d batches", kills, batches)
}
