package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// The fleet benchmarks run three real node processes over a private Redis.

type benchFleet struct {
	b     *testing.B
	bin   string
	redis *testenv.Redis
	rdb   *redis.Client
	st    *store.Store
	env   []string
	nodes map[string]*testenv.Process
}

func newBenchFleet(b *testing.B, env ...string) *benchFleet {
	r := testenv.StartRedis(b)
	rdb := r.Client(b)
	return &benchFleet{b: b, bin: testenv.BuildBinary(b, "github.com/dataingest/dataingest/cmd/dataingest"),
		redis: r, rdb: rdb, st: store.New(rdb, "debezium"), env: env, nodes: map[string]*testenv.Process{}}
}

func (f *benchFleet) start(id string) {
	env := append([]string{"DATAINGEST_REDIS_ADDRS=" + f.redis.Addr, "DATAINGEST_NODE_ID=" + id,
		"DATAINGEST_HTTP_ADDR=127.0.0.1:0", "DATAINGEST_LOG_LEVEL=warn"}, f.env...)
	f.nodes[id] = testenv.StartProcess(f.b, f.bin, env)
}

// startTasks starts n DATAGEN tasks, t0000 on, with the given datagen
// settings in one burst, and returns their ids.
func (f *benchFleet) startTasks(n int, datagen string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%04d", i)
	}
	f.publishStarts(ids, datagen)
	return ids
}

// publishStarts adds a start of each task, with a DATAGEN config of the
// given datagen settings, to the command stream in one pipeline: a burst.
func (f *benchFleet) publishStarts(ids []string, datagen string) {
	ctx := context.Background()
	cmds, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.XAdd(ctx, &redis.XAddArgs{Stream: f.st.Keys().Commands(), Values: []any{"cmd", "start", "task", id,
				"config", `{"taskType":"DATAGEN","datagen":` + datagen + `}`}})
		}
		return nil
	})
	if err == nil {
		for _, c := range cmds {
			if err = c.Err(); err != nil {
				break
			}
		}
	}
	if err != nil {
		f.b.Fatalf("publishing %d starts: %v", len(ids), err)
	}
}

// waitNodes waits until n nodes are alive.
func (f *benchFleet) waitNodes(n int) {
	f.waitFor(30*time.Second, fmt.Sprint(n, " live nodes"), func() bool {
		ns, _ := f.st.Nodes(context.Background())
		alive := 0
		for _, x := range ns {
			if x.Alive {
				alive++
			}
		}
		return alive == n
	})
}

// stop kills every node of the fleet.
func (f *benchFleet) stop() {
	for _, p := range f.nodes {
		p.Kill(f.b)
	}
}

// owners returns each task's node from its lock ("" when free), in one
// pipeline.
func (f *benchFleet) owners(ids []string) map[string]string {
	ctx := context.Background()
	cmds := make([]*redis.StringCmd, len(ids))
	if _, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, f.st.Keys().TaskLock(id))
		}
		return nil
	}); err != nil && err != redis.Nil {
		f.b.Fatalf("reading %d locks: %v", len(ids), err)
	}
	out := make(map[string]string, len(ids))
	for i, id := range ids {
		out[id] = store.LockOwner(cmds[i].Val())
	}
	return out
}

// loads counts the tasks of each node in owners ("" counts the free ones).
func loads(owners map[string]string) map[string]int {
	out := map[string]int{}
	for _, n := range owners {
		out[n]++
	}
	return out
}

// lengths returns each task's output stream length, in one pipeline.
func (f *benchFleet) lengths(ids []string) map[string]int64 {
	ctx := context.Background()
	cmds := make([]*redis.IntCmd, len(ids))
	if _, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.XLen(ctx, f.st.Keys().TaskEvents(id))
		}
		return nil
	}); err != nil {
		f.b.Fatalf("reading %d stream lengths: %v", len(ids), err)
	}
	out := make(map[string]int64, len(ids))
	for i, id := range ids {
		out[id] = cmds[i].Val()
	}
	return out
}

// untilGrown polls the tasks' stream lengths until each is past its length
// in from, and returns the times from t0 until each was first seen grown,
// sorted. It fails the benchmark after d.
func (f *benchFleet) untilGrown(ids []string, from map[string]int64, t0 time.Time, d time.Duration, what string) []time.Duration {
	seen := map[string]time.Duration{}
	for len(seen) < len(ids) {
		if time.Since(t0) > d {
			f.b.Fatalf("%s: %d of %d tasks after %v", what, len(seen), len(ids), d)
		}
		now := time.Since(t0)
		for id, n := range f.lengths(ids) {
			if _, ok := seen[id]; !ok && n > from[id] {
				seen[id] = now
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := make([]time.Duration, 0, len(seen))
	for _, d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// idleCommands returns the Redis commands per second the fleet runs over
// window, and each node's and Redis's CPU use meanwhile.
func (f *benchFleet) idleCommands(window time.Duration) (float64, []cpuShare) {
	procs := []proc{{"redis", f.redisPid()}}
	for _, id := range slices.Sorted(maps.Keys(f.nodes)) {
		procs = append(procs, proc{id, f.nodes[id].Pid()})
	}
	cpu := startCPU(procs...)
	before := testenv.CommandsProcessed(f.b, f.rdb)
	time.Sleep(window)
	cmds := testenv.CommandsProcessed(f.b, f.rdb) - before - 1 // the INFO itself
	return float64(cmds) / window.Seconds(), cpu.stop()
}

func (f *benchFleet) redisPid() int {
	info, err := f.rdb.InfoMap(context.Background(), "server").Result()
	if err != nil {
		f.b.Fatal(err)
	}
	pid, err := strconv.Atoi(info["Server"]["process_id"])
	if err != nil {
		f.b.Fatalf("Redis's process_id: %v", err)
	}
	return pid
}

func (f *benchFleet) owner(id string) string {
	h, _ := f.st.LockHolder(context.Background(), id, time.Minute)
	return store.LockOwner(h)
}

// running counts the tasks whose status is RUNNING.
func (f *benchFleet) running(ids []string) int {
	n := 0
	for _, id := range ids {
		if st, err := f.st.Task(context.Background(), id); err == nil && st.Status == "RUNNING" {
			n++
		}
	}
	return n
}

func (f *benchFleet) waitFor(d time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			f.b.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkFailover kills the owner of a task ten times and measures the
// time from SIGKILL to the task's next event on its new owner, against the
// contract's bound FAILOVER_TIMEOUT + TASK_MONITOR_INTERVAL + 2 s.
func BenchmarkFailover(b *testing.B) {
	const ft, mi, hb = 2 * time.Second, time.Second, 500 * time.Millisecond
	f := newBenchFleet(b, "DATAINGEST_FAILOVER_TIMEOUT="+ft.String(), "DATAINGEST_TASK_MONITOR_INTERVAL="+mi.String(),
		"DATAINGEST_HEARTBEAT_INTERVAL="+hb.String())
	for _, id := range []string{"n1", "n2", "n3"} {
		f.start(id)
	}
	ids := f.startTasks(3, `{"rate":200}`)
	f.waitFor(20*time.Second, "tasks running", func() bool { return f.running(ids) == len(ids) })
	ctx := context.Background()
	stream := f.st.Keys().TaskEvents(ids[0])
	var took []time.Duration
	for i := 0; i < 10; i++ {
		var victim string
		f.waitFor(20*time.Second, "an owner", func() bool { victim = f.owner(ids[0]); return victim != "" })
		f.nodes[victim].Kill(b)
		killed := time.Now()
		n, _ := f.rdb.XLen(ctx, stream).Result()
		f.waitFor(30*time.Second, "the task writing again", func() bool {
			m, _ := f.rdb.XLen(ctx, stream).Result()
			return m > n
		})
		took = append(took, time.Since(killed))
		f.start(victim)
		time.Sleep(time.Second)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	med, worst := took[len(took)/2], took[len(took)-1]
	bound := ft + mi + 2*time.Second
	b.ReportMetric(float64(med.Milliseconds()), "median_ms")
	b.ReportMetric(float64(worst.Milliseconds()), "max_ms")
	fmt.Printf("\nfailover over 10 SIGKILLs (FAILOVER_TIMEOUT %v, TASK_MONITOR_INTERVAL %v, HEARTBEAT %v):\n"+
		"  median %v, max %v; bound %v: median %.2f and max %.2f of the bound\n  all: %v\n",
		ft, mi, hb, med.Round(time.Millisecond), worst.Round(time.Millisecond), bound,
		float64(med)/float64(bound), float64(worst)/float64(bound), took)
}

// BenchmarkCoordination measures the Redis commands per second a fleet of
// three nodes with the default intervals spends per idle task, at 1, 100
// and 1,000 DATAGEN tasks that have written their one row and idle.
// DATAINGEST_BENCH_WINDOW (default 60s, see benchWindow) sets how long
// each count is measured.
func BenchmarkCoordination(b *testing.B) {
	window := benchWindow(b)
	var lines []string
	for _, n := range []int{1, 100, 1000} {
		f := newBenchFleet(b)
		for _, id := range []string{"n1", "n2", "n3"} {
			f.start(id)
		}
		ids := f.startTasks(n, idleDatagen)
		f.waitFor(5*time.Minute, fmt.Sprintf("%d tasks running", n), func() bool { return f.running(ids) == n })
		time.Sleep(idleAfter)
		perSec, _ := f.idleCommands(window)
		line := fmt.Sprintf("  %5d tasks: %8.1f commands/s in all, %6.3f per task", n, perSec, perSec/float64(n))
		lines = append(lines, line)
		b.ReportMetric(perSec/float64(n), fmt.Sprintf("cmds/s/task@%d", n))
		f.stop()
	}
	fmt.Printf("\ncoordination overhead, three nodes, default intervals (heartbeat 10s, monitor 60s), %v windows:\n%s\n",
		window, strings.Join(lines, "\n"))
}

// idleDatagen is the DATAGEN of an idle task: one row, then nothing.
const idleDatagen = `{"rate":0,"total":1}`

// idleAfter is how long tasks that have written their row run before their
// idle cost is counted: a heartbeat (10s) and a bit, by when each start
// entry that still carried its config has been replaced (Tasks.refresh),
// one script a task that is no part of being idle (0.15 commands/s a task
// in a 65s window after a burst of 1,000 starts).
const idleAfter = 15 * time.Second

// benchWindow is how long idle commands are counted:
// DATAINGEST_BENCH_WINDOW, default 60s. That is a whole number of every
// default period (heartbeat 10s, monitor 60s, inbox check 3s), so every
// periodic command is counted as often as it runs on average; a 65s
// window held six or seven heartbeats, by phase, and counted 0.375 or
// 0.436 commands/s a task for the same fleet.
func benchWindow(b *testing.B) time.Duration {
	if v := envDuration(b, "DATAINGEST_BENCH_WINDOW"); v > 0 {
		return v
	}
	return 60 * time.Second
}

func envDuration(b *testing.B, name string) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

// BenchmarkThousandTasks runs 1,000 DATAGEN tasks on three nodes at the
// default intervals (heartbeat 10s, monitor 60s, failover timeout 60s)
// and prints, each beside its yardstick:
//
//   - placement: the time from a burst of 1,000 starts until every task has
//     written its row, against one node alone placing the same burst (the
//     cheapest thing that does the same job: no placement decisions, no
//     entries handed between nodes);
//   - loads as placed and after balance (idleAfter and a window of
//     DATAINGEST_BENCH_WINDOW, default 60s, later: a monitor round),
//     against 334/333/333;
//   - the Redis commands per second per idle task in that window (as
//     BenchmarkCoordination counts them), against the aim of 0.5;
//   - failover: the tasks are made to write a row a second, the node with
//     the most is SIGKILLed, and the time from the kill until each of its
//     tasks writes again on a survivor (first, median, last, and the spread
//     from first to last, which is what adopting them all at once costs),
//     against the contract's bound FAILOVER_TIMEOUT +
//     TASK_MONITOR_INTERVAL + 2s.
//
// It takes three to five minutes, most of it waiting for the monitor.
func BenchmarkThousandTasks(b *testing.B) {
	const n = 1000
	const ft, mi = 60 * time.Second, 60 * time.Second // the defaults
	window := benchWindow(b)

	// The baseline: one node places the burst alone.
	one := newBenchFleet(b)
	one.start("n1")
	one.waitNodes(1)
	t0 := time.Now()
	ids := one.startTasks(n, idleDatagen)
	alone := one.untilGrown(ids, nil, t0, 5*time.Minute, "the first rows on one node")
	one.stop()

	f := newBenchFleet(b)
	nodes := []string{"n1", "n2", "n3"}
	for _, id := range nodes {
		f.start(id)
	}
	f.waitNodes(3)
	load0 := loadAvg()
	t0 = time.Now()
	ids = f.startTasks(n, idleDatagen)
	placed := f.untilGrown(ids, nil, t0, 5*time.Minute, "the first rows on three nodes")
	placedBy := f.owners(ids)

	time.Sleep(idleAfter)
	perSec, cpu := f.idleCommands(window)
	balancedBy := f.owners(ids)
	waited := time.Duration(0)
	if spreadOf(loads(balancedBy), nodes) > 1 {
		t1 := time.Now()
		f.waitFor(2*mi+10*time.Second, "loads within one", func() bool { return spreadOf(loads(f.owners(ids)), nodes) <= 1 })
		waited, balancedBy = time.Since(t1), f.owners(ids)
	}
	moved := 0
	for _, id := range ids {
		if placedBy[id] != balancedBy[id] {
			moved++
		}
	}

	// Failover. A start with a changed config restarts each task where it
	// runs, from its checkpoint: a row a second from now on.
	from := f.lengths(ids)
	t2 := time.Now()
	f.publishStarts(ids, `{"rate":1}`)
	f.untilGrown(ids, from, t2, 2*time.Minute, "the tasks writing a row a second")
	owners := f.owners(ids)
	count := loads(owners)
	victim := nodes[0]
	for _, id := range nodes {
		if count[id] > count[victim] {
			victim = id
		}
	}
	var theirs []string
	for _, id := range ids {
		if owners[id] == victim {
			theirs = append(theirs, id)
		}
	}
	f.nodes[victim].Kill(b)
	killed := time.Now()
	bound := ft + mi + 2*time.Second
	again := f.untilGrown(theirs, f.lengths(theirs), killed, bound+2*time.Minute, "the killed node's tasks writing again")
	survivors := slices.DeleteFunc(slices.Clone(nodes), func(id string) bool { return id == victim })
	after := loads(f.owners(ids))

	first, med, last := again[0], again[len(again)/2], again[len(again)-1]
	b.ReportMetric(ms(placed[n-1]), "placement_ms")
	b.ReportMetric(float64(placed[n-1])/float64(alone[n-1]), "placement/alone")
	b.ReportMetric(float64(moved), "balance_moves")
	b.ReportMetric(perSec/n, "cmds/s/task")
	b.ReportMetric(ms(med), "failover_median_ms")
	b.ReportMetric(ms(last), "failover_max_ms")
	b.ReportMetric(float64(last)/float64(bound), "failover_max/bound")
	b.ReportMetric(ms(last-first), "adoption_spread_ms")
	balanceNote := "within the window"
	if waited > 0 {
		balanceNote = fmt.Sprintf("%v after the window", waited.Round(time.Second))
	}
	fmt.Printf("\n1,000 tasks on three nodes, default intervals (heartbeat 10s, monitor %v, failover timeout %v), load average %s:\n"+
		"  placement of a burst of %d starts: all written in %v (half in %v); one node alone: %v, so %.2f× the baseline\n"+
		"  loads: placed %s, balanced %s (%s) in %d moves; aim 334/333/333\n"+
		"  idle: %.0f commands/s over %v, %.3f per task, %.2f× the aim of 0.5 (%s); CPU, %% of a core: %s\n"+
		"  failover of the %d tasks of SIGKILLed %s: first wrote again after %v, median %v, last %v (%v from first to last);\n"+
		"    bound %v: median %.2f, last %.2f of it (%s); survivors then run %s\n",
		mi, ft, load0,
		n, placed[n-1].Round(time.Millisecond), placed[n/2].Round(time.Millisecond), alone[n-1].Round(time.Millisecond),
		float64(placed[n-1])/float64(alone[n-1]),
		spreadText(loads(placedBy), nodes), spreadText(loads(balancedBy), nodes), balanceNote, moved,
		perSec, window, perSec/n, perSec/n/0.5, verdict(perSec/n <= 0.5), cpuTenths(cpu),
		len(theirs), victim, first.Round(time.Millisecond), med.Round(time.Millisecond), last.Round(time.Millisecond),
		(last - first).Round(time.Millisecond), bound, float64(med)/float64(bound), float64(last)/float64(bound),
		verdict(last <= bound), spreadText(after, survivors))
}

// cpuTenths is cpuText to a tenth of a percent, for an idle fleet.
func cpuTenths(cs []cpuShare) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %.1f", c.Name, c.Percent))
	}
	return strings.Join(parts, ", ")
}

// spreadOf is how many tasks the busiest of nodes runs more than the least
// busy.
func spreadOf(load map[string]int, nodes []string) int {
	lo, hi := load[nodes[0]], load[nodes[0]]
	for _, id := range nodes {
		lo, hi = min(lo, load[id]), max(hi, load[id])
	}
	return hi - lo
}

// spreadText is the loads of nodes, high to low ("334/333/333").
func spreadText(load map[string]int, nodes []string) string {
	l := make([]int, 0, len(nodes))
	for _, id := range nodes {
		l = append(l, load[id])
	}
	slices.Sort(l)
	slices.Reverse(l)
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "/")
}
