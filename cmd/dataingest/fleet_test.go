package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// fleet is a set of node processes over one private Redis.
type fleet struct {
	t     *testing.T
	bin   string
	redis *testenv.Redis
	rdb   *redis.Client
	st    *store.Store
	nodes map[string]*testenv.Process
	env   []string // extra environment for every node
	runs  []nodeRun
}

// nodeRun is one process of a node, kept for the logs of dead ones.
type nodeRun struct {
	id string
	p  *testenv.Process
}

func newFleet(t *testing.T, extra ...string) *fleet {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	return &fleet{t: t, bin: binary(t), redis: r, rdb: rdb, st: store.New(rdb, "debezium"),
		nodes: map[string]*testenv.Process{}, env: extra}
}

func (f *fleet) start(id string) {
	f.nodes[id] = testenv.StartProcess(f.t, f.bin, nodeEnv(f.redis.Addr, id, f.env...))
	f.runs = append(f.runs, nodeRun{id, f.nodes[id]})
}

func (f *fleet) kill(id string) { f.nodes[id].Kill(f.t) }

// waitNodes waits until n nodes are listed, all alive.
func (f *fleet) waitNodes(n int) {
	f.t.Helper()
	waitFor(f.t, 5*time.Second, fmt.Sprint(n, " live nodes"), func() bool {
		ns, _ := f.st.Nodes(context.Background())
		alive := 0
		for _, x := range ns {
			if x.Alive {
				alive++
			}
		}
		return len(ns) == n && alive == n
	})
}

func (f *fleet) publish(fields ...string) {
	m := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i]] = fields[i+1]
	}
	if _, err := f.st.Publish(context.Background(), m); err != nil {
		f.t.Fatal(err)
	}
}

// owners returns each task's node, from its lock.
func (f *fleet) owners(tasks []string) map[string]string {
	out := map[string]string{}
	for _, id := range tasks {
		h, _ := f.st.LockHolder(context.Background(), id, time.Minute)
		out[id] = store.LockOwner(h)
	}
	return out
}

// load counts the tasks each node holds the lock of.
func (f *fleet) load(tasks []string) map[string]int {
	out := map[string]int{}
	for _, n := range f.owners(tasks) {
		if n != "" {
			out[n]++
		}
	}
	return out
}

func (f *fleet) seqs(task string) []int64 { return seqs(f.t, f.rdb, f.st, task) }

func (f *fleet) length(task string) int64 {
	n, _ := f.rdb.XLen(context.Background(), f.st.Keys().TaskEvents(task)).Result()
	return n
}

// checkNoDuplicates fails when a DATAGEN stream has a gap or a duplicate.
func (f *fleet) checkGapFree(tasks []string) {
	f.t.Helper()
	for _, id := range tasks {
		s := f.seqs(id)
		for i, v := range s {
			if v != int64(i+1) {
				f.t.Fatalf("task %s: entry %d has seq %d, want %d (gap or duplicate: two writers?)", id, i, v, i+1)
			}
		}
	}
}

func datagenTasks(f *fleet, n int, rate int) []string {
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("dg%02d", i)
		ids = append(ids, id)
		f.publish("cmd", "start", "task", id, "config", fmt.Sprintf(`{"taskType":"DATAGEN","datagen":{"rate":%d}}`, rate))
	}
	return ids
}

func (f *fleet) waitAllRunning(tasks []string, d time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for {
		all := true
		for _, o := range f.owners(tasks) {
			if o == "" {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			f.dump(tasks)
			f.t.Fatalf("timed out after %v waiting for every task running", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dump logs what Redis says of the tasks and the command group, and the
// nodes' log lines about tasks without an owner, for a failed wait.
func (f *fleet) dump(tasks []string) {
	ctx := context.Background()
	owners := f.owners(tasks)
	var orphans []string
	for _, id := range tasks {
		st, _ := f.rdb.HGetAll(ctx, f.st.Keys().TaskStatus(id)).Result()
		cf, _ := f.rdb.HMGet(ctx, f.st.Keys().TaskConfig(id), "desired", "gen", "handoff").Result()
		f.t.Logf("task %s: owner %q status %v config %v", id, owners[id], st, cf)
		if owners[id] == "" {
			orphans = append(orphans, id)
		}
	}
	pend, _ := f.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: f.st.Keys().Commands(), Group: "workers", Start: "-", End: "+", Count: 100}).Result()
	for _, p := range pend {
		msgs, _ := f.rdb.XRange(ctx, f.st.Keys().Commands(), p.ID, p.ID).Result()
		var fields any
		if len(msgs) == 1 {
			fields = msgs[0].Values
		}
		f.t.Logf("pending %s on %s idle %v deliveries %d: %v", p.ID, p.Consumer, p.Idle, p.RetryCount, fields)
	}
	for i, run := range f.runs {
		for _, line := range strings.Split(run.p.Output(), "\n") {
			for _, o := range orphans {
				if strings.Contains(line, `"task":"`+o+`"`) && !strings.Contains(line, "task session started") {
					f.t.Logf("%s#%d: %s", run.id, i, line)
				}
			}
		}
	}
}

// allMovedFrom reports whether every task has an owner other than node.
func (f *fleet) allMovedFrom(tasks []string, node string) func() bool {
	return func() bool {
		for _, o := range f.owners(tasks) {
			if o == node || o == "" {
				return false
			}
		}
		return true
	}
}

// writingAgain reports whether every task's stream grew past lengths.
func (f *fleet) writingAgain(tasks []string, lengths map[string]int64) func() bool {
	return func() bool {
		for _, id := range tasks {
			if f.length(id) <= lengths[id] {
				return false
			}
		}
		return true
	}
}

// lengths returns each task's stream length now.
func (f *fleet) lengths(tasks []string) map[string]int64 {
	out := map[string]int64{}
	for _, id := range tasks {
		out[id] = f.length(id)
	}
	return out
}

func maxLoad(load map[string]int) int {
	m := 0
	for _, n := range load {
		m = max(m, n)
	}
	return m
}

func TestFleetSpreadsTasksAndAJoiningNodeTakesItsShare(t *testing.T) {
	f := newFleet(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		f.start(id)
	}
	f.waitNodes(3)
	tasks := datagenTasks(f, 12, 50)
	f.waitAllRunning(tasks, 10*time.Second)
	// Placement alone spreads them: ceil(12/3)+1 = 5 at most per node.
	waitFor(t, 5*time.Second, "a balanced fleet", func() bool { return maxLoad(f.load(tasks)) <= 5 })
	t.Logf("three nodes: %v", f.load(tasks))

	f.start("n4")
	// The monitor runs every second: two intervals of stability.
	want := int(math.Ceil(12.0/4)) + 1
	waitFor(t, 10*time.Second, "the fourth node's share", func() bool {
		l := f.load(tasks)
		return l["n4"] >= 2 && maxLoad(l) <= want
	})
	f.waitAllRunning(tasks, 10*time.Second)
	t.Logf("four nodes: %v", f.load(tasks))

	// XINFO CONSUMERS shows each node's task count as its pending count.
	waitFor(t, 5*time.Second, "pending counts equal to task counts", func() bool {
		cs, _ := f.st.Consumers(context.Background())
		l := f.load(tasks)
		for _, c := range cs {
			if int(c.Pending) != l[c.Name] {
				return false
			}
		}
		return len(cs) == 4
	})
	// No move flaps back and forth: the loads stay put.
	before := f.owners(tasks)
	time.Sleep(3 * time.Second)
	if after := f.owners(tasks); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("tasks moved in a balanced fleet: %v -> %v", before, after)
	}
	f.checkGapFree(tasks)
}

func TestFailoverAfterSIGKILL(t *testing.T) {
	f := newFleet(t)
	f.start("n1")
	f.start("n2")
	tasks := datagenTasks(f, 4, 200)
	f.waitAllRunning(tasks, 10*time.Second)
	victim := f.owners(tasks)[tasks[0]]
	var theirs []string
	for id, o := range f.owners(tasks) {
		if o == victim {
			theirs = append(theirs, id)
		}
	}
	sort.Strings(theirs)
	f.kill(victim)
	killed := time.Now()
	// FAILOVER_TIMEOUT 2s + TASK_MONITOR_INTERVAL 1s + 2s.
	bound := 5 * time.Second
	waitFor(t, bound+2*time.Second, "the dead node's tasks writing again", f.writingAgain(theirs, f.lengths(theirs)))
	took := time.Since(killed)
	t.Logf("%d tasks failed over from %s in %v (bound %v)", len(theirs), victim, took, bound)
	if took > bound {
		t.Errorf("failover took %v, over FAILOVER_TIMEOUT + TASK_MONITOR_INTERVAL + 2s = %v", took, bound)
	}
	for id, o := range f.owners(tasks) {
		if o == victim || o == "" {
			t.Errorf("task %s owned by %q after failover", id, o)
		}
	}
	// The dead node's consumer goes once its entries are reclaimed, its
	// heartbeat expires, and it leaves P:cluster:nodes.
	waitFor(t, 10*time.Second, "the dead node gone from the fleet", func() bool {
		cs, _ := f.st.Consumers(context.Background())
		for _, c := range cs {
			if c.Name == victim {
				return false
			}
		}
		nodes, _ := f.st.Nodes(context.Background())
		for _, n := range nodes {
			if n.NodeID == victim {
				return false
			}
		}
		return len(nodes) == 1 && nodes[0].Alive
	})
	f.checkGapFree(tasks)
}

// TestPausedOwnerWritesNothing SIGSTOPs a task's owner past its lease; the
// task moves; when the paused node resumes, its in-flight writes are
// refused by the fence: the stream stays gap-free and duplicate-free.
func TestPausedOwnerWritesNothing(t *testing.T) {
	f := newFleet(t)
	f.start("n1")
	f.start("n2")
	tasks := datagenTasks(f, 2, 500)
	f.waitAllRunning(tasks, 10*time.Second)
	victim := f.owners(tasks)[tasks[0]]
	f.nodes[victim].Pause(t)
	waitFor(t, 10*time.Second, "the paused node's tasks to move", f.allMovedFrom(tasks, victim))
	moved := f.length(tasks[0])
	waitFor(t, 5*time.Second, "the new owner writing", func() bool { return f.length(tasks[0]) > moved+200 })
	f.nodes[victim].Resume(t)
	time.Sleep(2 * time.Second) // the resumed node notices, refused
	f.checkGapFree(tasks)
	out := f.nodes[victim].Output()
	if !strings.Contains(out, "lease lost") {
		t.Errorf("the resumed node did not report its lost lease:\n%s", tail(out, 20))
	}
	// It runs again as a member of the fleet.
	waitFor(t, 5*time.Second, "the resumed node alive", func() bool {
		ok, _ := f.st.Alive(context.Background(), victim)
		return ok
	})
}

func TestSIGTERMHandOverInAFleet(t *testing.T) {
	f := newFleet(t)
	f.start("n1")
	f.start("n2")
	tasks := datagenTasks(f, 4, 200)
	f.waitAllRunning(tasks, 10*time.Second)
	victim := f.owners(tasks)[tasks[0]]
	f.nodes[victim].Signal(t, syscall.SIGTERM)
	start := time.Now()
	waitFor(t, 5*time.Second, "every task on the other node", f.allMovedFrom(tasks, victim))
	waitFor(t, 5*time.Second-time.Since(start), "every task writing", f.writingAgain(tasks, f.lengths(tasks)))
	t.Logf("hand-over after SIGTERM took %v", time.Since(start))
	if os.Getenv("DATAINGEST_TEST_DUMP") != "" {
		for _, r := range f.runs {
			t.Logf("%s output:\n%s", r.id, r.p.Output())
		}
	}
	if code, err := f.nodes[victim].Wait(5 * time.Second); code != 0 || err != nil {
		t.Errorf("SIGTERM exit %d %v", code, err)
	}
	f.checkGapFree(tasks)
}

func TestFailoverCommandMovesTheTask(t *testing.T) {
	f := newFleet(t)
	f.start("n1")
	tasks := datagenTasks(f, 1, 200)
	f.waitAllRunning(tasks, 10*time.Second)
	// Alone, the owner keeps the task.
	f.publish("cmd", "failover", "task", tasks[0])
	time.Sleep(1 * time.Second)
	if o := f.owners(tasks)[tasks[0]]; o != "n1" {
		t.Fatalf("owner %q after failover with no other node", o)
	}
	f.start("n2")
	waitFor(t, 5*time.Second, "n2 alive", func() bool {
		ok, _ := f.st.Alive(context.Background(), "n2")
		return ok
	})
	f.publish("cmd", "failover", "task", tasks[0])
	deadline := time.Now().Add(5 * time.Second)
	for f.owners(tasks)[tasks[0]] != "n2" {
		if time.Now().After(deadline) {
			f.dump(tasks)
			for _, r := range f.runs {
				t.Logf("%s output:\n%s", r.id, tail(r.p.Output(), 15))
			}
			t.Fatal("timed out waiting for the task on n2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := f.length(tasks[0])
	waitFor(t, 5*time.Second, "n2 writing", func() bool { return f.length(tasks[0]) > n+100 })

	// A stop, whichever node reads it, reaches the owner within a
	// heartbeat (200ms here) and a bit.
	f.publish("cmd", "stop", "task", tasks[0])
	waitFor(t, 2*time.Second, "the task stopped", func() bool {
		st, _ := f.st.Task(context.Background(), tasks[0])
		return st.Status == "STOPPED" && f.owners(tasks)[tasks[0]] == ""
	})
	stopped := f.length(tasks[0])
	time.Sleep(500 * time.Millisecond)
	if f.length(tasks[0]) != stopped {
		t.Errorf("a stopped task kept writing")
	}
	f.publish("cmd", "start", "task", tasks[0])
	waitFor(t, 5*time.Second, "the task writing again", func() bool { return f.length(tasks[0]) > stopped+100 })
	f.checkGapFree(tasks)
}

func TestMaxTasksIsRespected(t *testing.T) {
	f := newFleet(t, "DATAINGEST_MAX_TASKS=2")
	f.start("n1")
	f.start("n2")
	tasks := datagenTasks(f, 5, 20)
	waitFor(t, 10*time.Second, "four tasks running", func() bool {
		l := f.load(tasks)
		return l["n1"]+l["n2"] == 4
	})
	time.Sleep(2 * time.Second)
	l := f.load(tasks)
	if l["n1"] > 2 || l["n2"] > 2 || l["n1"]+l["n2"] != 4 {
		t.Errorf("loads %v with DATAINGEST_MAX_TASKS=2 and 5 tasks", l)
	}
	// A third node takes the fifth task.
	f.start("n3")
	f.waitAllRunning(tasks, 10*time.Second)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
