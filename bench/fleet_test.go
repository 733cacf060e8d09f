package bench

import (
	"context"
	"fmt"
	"os"
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

func (f *benchFleet) startTasks(n int, datagen string) []string {
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%04d", i)
		if _, err := f.st.Publish(ctx, map[string]string{"cmd": "start", "task": ids[i],
			"config": `{"taskType":"DATAGEN","datagen":` + datagen + `}`}); err != nil {
			f.b.Fatal(err)
		}
	}
	return ids
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

func (f *benchFleet) commandsProcessed() int64 {
	info, err := f.rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		f.b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	f.b.Fatal("no total_commands_processed in INFO")
	return 0
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
// DATAINGEST_BENCH_WINDOW (default 65s, a monitor interval and a bit)
// sets how long each count is measured.
func BenchmarkCoordination(b *testing.B) {
	window := 65 * time.Second
	if v := envDuration(b, "DATAINGEST_BENCH_WINDOW"); v > 0 {
		window = v
	}
	var lines []string
	for _, n := range []int{1, 100, 1000} {
		f := newBenchFleet(b)
		for _, id := range []string{"n1", "n2", "n3"} {
			f.start(id)
		}
		ids := f.startTasks(n, `{"rate":0,"total":1}`)
		f.waitFor(5*time.Minute, fmt.Sprintf("%d tasks running", n), func() bool { return f.running(ids) == n })
		time.Sleep(5 * time.Second) // let placement settle
		before := f.commandsProcessed()
		time.Sleep(window)
		cmds := f.commandsProcessed() - before - 1 // the INFO itself
		perSec := float64(cmds) / window.Seconds()
		line := fmt.Sprintf("  %5d tasks: %8.1f commands/s in all, %6.3f per task", n, perSec, perSec/float64(n))
		lines = append(lines, line)
		b.ReportMetric(perSec/float64(n), fmt.Sprintf("cmds/s/task@%d", n))
		for _, p := range f.nodes {
			p.Kill(b)
		}
	}
	fmt.Printf("\ncoordination overhead, three nodes, default intervals (heartbeat 10s, monitor 60s), %v windows:\n%s\n",
		window, strings.Join(lines, "\n"))
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
