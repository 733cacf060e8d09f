package worker

import (
	"context"
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
