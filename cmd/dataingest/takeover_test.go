package main

import (
	"context"
	"testing"
	"time"

	"github.com/dataingest/dataingest/store"
)

// TestPausedCDCOwnerTakeoverWrites SIGSTOPs the owner of a MYSQL_CDC task
// under write load: the other node writes the task's changes again within
// the contract's bound, FAILOVER_TIMEOUT + TASK_MONITOR_INTERVAL + 2 s,
// although the server still holds the paused node's binlog dump; after
// SIGCONT the paused node is fenced, and every row arrives exactly once.
func TestPausedCDCOwnerTakeoverWrites(t *testing.T) {
	eachFlavor(t, false, testPausedCDCOwnerTakeoverWrites)
}

func testPausedCDCOwnerTakeoverWrites(t *testing.T, fl dbFlavor) {
	m := fl.start(t)
	ctx := context.Background()
	m.Exec(t, "CREATE DATABASE p", "CREATE TABLE p.t (id INT PRIMARY KEY, v VARCHAR(32))",
		"CREATE TABLE p.filler (id INT AUTO_INCREMENT PRIMARY KEY, b LONGTEXT)")
	f := newFleet(t)
	f.start("n1")
	f.start("n2")
	rdb, st, nodes := f.rdb, f.st, f.nodes
	f.publish("cmd", "start", "task", "p", "config", cdcConfig(m, "never", "p.t"))
	waitForStart(t, st, "p")
	in := startInserter(t, m, "p.t", 10, 5*time.Millisecond)
	events := func() int64 { return rdb.XLen(ctx, st.Keys().TaskEvents("p")).Val() }
	waitFor(t, 10*time.Second, "events", func() bool { return events() > 100 })

	holder, _ := st.LockHolder(ctx, "p", time.Minute)
	owner := store.LockOwner(holder)
	nodes[owner].Pause(t)
	paused := time.Now()
	// Enough binlog to fill the socket buffers towards the paused node,
	// so that the server's dump thread for it blocks in a write (the
	// case where a server keeps it until net_write_timeout). The task
	// does not select the table; the dump carries every event anyway.
	for i := 0; i < 8; i++ {
		m.Exec(t, "INSERT INTO p.filler (b) SELECT REPEAT('x', 1 << 20) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) x")
	}
	before := events()
	// nodeEnv: FAILOVER_TIMEOUT 2s, TASK_MONITOR_INTERVAL 1s.
	const bound = 2*time.Second + time.Second + 2*time.Second
	waitFor(t, bound+time.Second, "the new owner writing the task's changes", func() bool { return events() > before+20 })
	took := time.Since(paused)
	t.Logf("owner %s paused; the other node wrote again %v later (bound %v)", owner, took.Round(10*time.Millisecond), bound)
	if took > bound {
		t.Errorf("the new owner wrote again %v after the pause, over the bound %v", took, bound)
	}
	if h, _ := st.LockHolder(ctx, "p", time.Minute); store.LockOwner(h) == owner {
		t.Fatalf("the paused node %s still holds the lock", owner)
	}

	nodes[owner].Resume(t)
	time.Sleep(time.Second) // the resumed node finds its lease lost; its writes are refused
	total := in.Stop()
	checkRowsOnce(t, rdb, st, "p", total)
	t.Logf("%d rows exactly once", total)
}
