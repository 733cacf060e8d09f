package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/source"
)

// Aims of issue 10's goal 3 beside aimPeakRSS (one busy task) and aimFlat.
const aimPerTask = 16 << 20 // bytes of peak RSS per further busy task

// memRows is the backlog of one table in BenchmarkTasksMemory's runs by
// task count; the flatness runs have half and double of it.
const memRows = 100_000

// memCounts are the numbers of busy tasks measured on one node.
var memCounts = []int{1, 4, 8}

// backlog is the binlog of some tables' inserts, which a run's tasks read
// from the position before it: Rows inserts into each table, interleaved.
type backlog struct {
	Tables []string
	Rows   int // per table
	From   source.Checkpoint
}

// Changes is the number of events the backlog gives all its tasks.
func (bl backlog) Changes() int { return len(bl.Tables) * bl.Rows }

// writeInserts inserts ids lo..hi into each table in transactions of
// txRows rows, the tables' statements interleaved and dealt round robin to
// two connections (two cores), so that every task of a run stays busy for
// the whole of it.
func writeInserts(m *testenv.MariaDB, tables []string, lo, hi int) error {
	lists := make([][]string, 2)
	i := 0
	for _, r := range ranges(lo, hi) {
		for _, t := range tables {
			w := workload{Table: t}
			lists[i%2] = append(lists[i%2], w.insertSQL(r[0], r[1]))
			i++
		}
	}
	return parallel(m, lists...)
}

// memRun is what one run of BenchmarkTasksMemory measured: Tasks busy
// tasks on one fresh node, each reading its table's backlog.
type memRun struct {
	phase
	Name    string
	Tasks   int
	Rows    int     // backlog per task
	IdleRSS int64   // before the first start command
	MaxRSS  int64   // the largest VmRSS sampled
	PeakRSS int64   // VmHWM when every task had counted its backlog
	PeakAt  float64 // share of the events counted when VmHWM last grew
	GC      int64   // the node's garbage collections during the run
	Limit   float64 // the node's soft memory limit at the end, bytes (0: not exposed)
}

// cpuPerMillion is the node's CPU-seconds per million events.
func (r memRun) cpuPerMillion() float64 {
	return cpuPerMillion(nodeRun{phase: r.phase})
}

// runTasks starts a fresh node, seeds one MYSQL_CDC task per table of bl
// at bl.From, starts them all and waits until every task's status counts
// bl.Rows events, sampling the node's memory every pollInterval. The
// elapsed time runs from the first start command to the last output entry
// of any task (Redis stream ids).
func runTasks(b *testing.B, rg *rig, bin, name string, bl backlog) memRun {
	b.Helper()
	ctx := context.Background()
	profiles := os.Getenv("DATAINGEST_BENCH_PROFILE")
	n := startNode(b, rg, bin, "mem-"+name, "DATAINGEST_PPROF="+strconv.FormatBool(profiles != ""))
	defer n.p.Kill(b)
	idle, err := procMemory(n.p.Pid())
	if err != nil {
		n.fail("reading memory: %v", err)
	}
	before, err := scrape(n.base + "/metrics")
	if err != nil {
		n.fail("%v", err)
	}
	ids := make([]string, len(bl.Tables))
	for i := range bl.Tables {
		ids[i] = fmt.Sprintf("mem%d", i+1)
		if err := rg.rdb.HSet(ctx, n.keys.TaskOffset(ids[i]), bl.From.Fields()).Err(); err != nil {
			n.fail("seeding checkpoint: %v", err)
		}
	}
	run := memRun{Name: name, Tasks: len(ids), Rows: bl.Rows, IdleRSS: idle.RSS,
		phase: phase{Name: "tasks " + name, Events: bl.Changes()}}
	cpu := rg.startCPU(proc{"node", n.p.Pid()})
	var t0 int64
	for i, id := range ids {
		cmdID, err := n.st.Publish(ctx, map[string]string{"cmd": "start", "task": id,
			"config": taskConfig(rg.m, bl.Tables[i], events.FormatMsgpack)})
		if err != nil {
			n.fail("publishing start: %v", err)
		}
		if i == 0 {
			t0 = idMs(cmdID)
		}
	}

	var cpuProfile chan error
	if profiles != "" {
		cpuProfile = make(chan error, 1)
		go func() {
			cpuProfile <- fetchProfile(n.base+"/debug/pprof/profile?seconds=2", filepath.Join(profiles, "mem-"+name+"-cpu.pprof"))
		}()
	}

	deadline := time.Now().Add(nodeTimeout)
	heapSaved := profiles == ""
	for {
		time.Sleep(pollInterval)
		mem, err := procMemory(n.p.Pid())
		if err != nil {
			n.fail("reading memory: %v", err)
		}
		run.MaxRSS = max(run.MaxRSS, mem.RSS)
		tasks, err := n.st.Tasks(ctx)
		if err != nil {
			n.fail("reading status: %v", err)
		}
		done, sum := 0, int64(0)
		for _, ti := range tasks {
			if ti.Status == "FAILED" || ti.Status == "RETRYING" {
				n.fail("task %s %s: %s", ti.TaskID, ti.Status, ti.Error)
			}
			sum += ti.Events
			if ti.Events >= int64(bl.Rows) {
				done++
			}
		}
		if mem.HWM > run.PeakRSS {
			run.PeakRSS, run.PeakAt = mem.HWM, float64(sum)/float64(bl.Changes())
		}
		if !heapSaved && sum*2 >= int64(bl.Changes()) {
			// Half way: the heap of every task in full flow.
			heapSaved = true
			if err := fetchProfile(n.base+"/debug/pprof/heap", filepath.Join(profiles, "mem-"+name+"-heap.pprof")); err != nil {
				n.fail("%v", err)
			}
		}
		if done == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			n.fail("%d of %d events after %v", sum, bl.Changes(), nodeTimeout)
		}
	}
	run.CPU = cpu.stop()
	if cpuProfile != nil {
		if err := <-cpuProfile; err != nil {
			n.fail("%v", err)
		}
	}
	after, err := scrape(n.base + "/metrics")
	if err != nil {
		n.fail("%v", err)
	}
	run.GC = int64(after["go_gc_duration_seconds_count"] - before["go_gc_duration_seconds_count"])
	run.Limit = after["go_gc_gomemlimit_bytes"]

	var tLast int64
	for _, id := range ids {
		last, err := rg.rdb.XRevRangeN(ctx, n.keys.TaskEvents(id), "+", "-", 1).Result()
		if err != nil || len(last) == 0 {
			n.fail("reading %s: %v", n.keys.TaskEvents(id), err)
		}
		tLast = max(tLast, idMs(last[0].ID))
	}
	run.Elapsed = time.Duration(tLast-t0) * time.Millisecond

	// Exactly once: nothing more arrives (the tasks go on reading later
	// backlogs, of other tables, which they skip).
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		stream := n.keys.TaskEvents(id)
		if got, err := rg.rdb.XLen(ctx, stream).Result(); err != nil || got != int64(bl.Rows) {
			b.Errorf("%s run: %s has %d entries (%v), want %d", name, stream, got, err, bl.Rows)
		}
	}
	n.p.Kill(b)
	for _, id := range ids {
		if err := rg.rdb.Del(ctx, n.keys.TaskEvents(id)).Err(); err != nil {
			b.Fatal(err)
		}
	}
	return run
}

// BenchmarkTasksMemory measures a node's peak RSS with 1, 4 and 8 busy
// MYSQL_CDC tasks (a fresh node per count, each task on its own table with
// a backlog of memRows bulk inserts), the increment per added task, and
// whether 8 tasks' peak stays flat between half and double that backlog.
// It runs once whatever b.N is and prints a summary block.
func BenchmarkTasksMemory(b *testing.B) {
	load := loadAvg()
	rg := newRig(b)
	bin := testenv.BuildBinary(b, nodePkg)
	tables := func(kind string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("bench.%s%d", kind, i+1)
		}
		return out
	}
	stmts := []string{"CREATE DATABASE bench"}
	for _, t := range append(append(tables("one", 1), tables("four", 4)...), tables("eight", 8)...) {
		stmts = append(stmts, "CREATE TABLE "+t+" "+tableDDL)
	}
	rg.m.Exec(b, stmts...)

	// The eight tables' binlog comes first, in three parts, so that the
	// runs of 8 tasks can start at three positions: double (all three),
	// normal (the last two) and half (the last) of memRows per table. Each
	// run reads only its own backlog before its tasks reach their counts;
	// what follows is other tables' rows.
	genStart := time.Now()
	eight := tables("eight", 8)
	double := backlog{Tables: eight, Rows: 2 * memRows, From: binlogPos(b, rg.m)}
	if err := writeInserts(rg.m, eight, 1, memRows); err != nil {
		b.Fatal(err)
	}
	normal := backlog{Tables: eight, Rows: memRows, From: binlogPos(b, rg.m)}
	if err := writeInserts(rg.m, eight, memRows+1, 3*memRows/2); err != nil {
		b.Fatal(err)
	}
	half := backlog{Tables: eight, Rows: memRows / 2, From: binlogPos(b, rg.m)}
	if err := writeInserts(rg.m, eight, 3*memRows/2+1, 2*memRows); err != nil {
		b.Fatal(err)
	}
	byCount := map[int]backlog{8: normal}
	for _, n := range []int{4, 1} {
		kind := map[int]string{4: "four", 1: "one"}[n]
		byCount[n] = backlog{Tables: tables(kind, n), Rows: memRows, From: binlogPos(b, rg.m)}
		if err := writeInserts(rg.m, byCount[n].Tables, 1, memRows); err != nil {
			b.Fatal(err)
		}
	}
	genTime := time.Since(genStart)
	end := binlogPos(b, rg.m)

	var runs []memRun
	for _, n := range memCounts {
		runs = append(runs, runTasks(b, rg, bin, fmt.Sprint(n), byCount[n]))
	}
	halfRun := runTasks(b, rg, bin, "8-half", half)
	doubleRun := runTasks(b, rg, bin, "8-double", double)

	s := memSummary{load: load, loadAfter: loadAvg(), genTime: genTime, start: double.From, end: end,
		runs: runs, half: halfRun, double: doubleRun}
	b.ReportMetric(0, "ns/op")
	for _, r := range runs {
		b.ReportMetric(mib(r.PeakRSS), fmt.Sprintf("peak_rss_%dtask_MiB", r.Tasks))
		b.ReportMetric(r.Rate(), fmt.Sprintf("events/s_%dtask", r.Tasks))
	}
	b.ReportMetric(mib(s.increment()), "per_task_MiB")
	b.ReportMetric(s.flat(), "double/half_peak")
	fmt.Print(s.String())
}

// memSummary is the plain-text report of BenchmarkTasksMemory.
type memSummary struct {
	load, loadAfter string
	genTime         time.Duration
	start, end      source.Checkpoint
	runs            []memRun // by task count, memCounts' order
	half, double    memRun   // 8 tasks
}

// increment is the largest per-task increment of peak RSS over the
// one-task run's: (peak(N) - peak(1)) / (N - 1).
func (s memSummary) increment() int64 {
	var inc int64
	for _, r := range s.runs[1:] {
		inc = max(inc, (r.PeakRSS-s.runs[0].PeakRSS)/int64(r.Tasks-1))
	}
	return inc
}

// flat is the double backlog's peak over the half backlog's.
func (s memSummary) flat() float64 { return float64(s.double.PeakRSS) / float64(s.half.PeakRSS) }

func (s memSummary) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("")
	p("=== DataIngest memory benchmark: busy MYSQL_CDC tasks on one node, MariaDB -> Redis streams ===")
	p("machine: %d CPUs, load average %s before, %s after", runtime.NumCPU(), s.load, s.loadAfter)
	p("backlogs: multi-row inserts in transactions of %d rows, each task's table its own, tables interleaved;", txRows)
	p("  %d rows per task by count, %d and %d for 8 tasks' half and double; binlog %s -> %s (%s), written in %.1f s",
		memRows, memRows/2, 2*memRows, s.start, s.end, binlogSize(s.start, s.end), s.genTime.Seconds())
	p("")
	p("%-22s %9s %9s %8s %9s %9s %9s %7s %9s %10s %5s  %s", "run (one fresh node)", "events", "events/s", "seconds",
		"idle MiB", "max RSS", "peak MiB", "peak at", "limit MiB", "CPU-s/M ev", "GCs", "CPU, % of one core")
	for _, r := range append(append([]memRun{}, s.runs...), s.half, s.double) {
		p("%-22s %9d %9.0f %8.2f %9.1f %9.1f %9.1f %6.0f%% %9.1f %10.2f %5d  %s",
			fmt.Sprintf("%d tasks x %d rows", r.Tasks, r.Rows), r.Events, r.Rate(), r.Elapsed.Seconds(),
			mib(r.IdleRSS), mib(r.MaxRSS), mib(r.PeakRSS), 100*r.PeakAt, r.Limit/(1<<20), r.cpuPerMillion(), r.GC, cpuText(r.CPU))
	}
	one := s.runs[0]
	p("")
	p("aims (peak RSS = VmHWM, one run each):")
	p("  one busy task <= %d MiB:              %s (%.1f MiB)", aimPeakRSS>>20, verdict(one.PeakRSS <= aimPeakRSS), mib(one.PeakRSS))
	for _, r := range s.runs[1:] {
		inc := (r.PeakRSS - one.PeakRSS) / int64(r.Tasks-1)
		p("  each further task <= %d MiB, %d tasks: %s (%.1f MiB: %.1f -> %.1f MiB)", aimPerTask>>20, r.Tasks,
			verdict(inc <= aimPerTask), mib(inc), mib(one.PeakRSS), mib(r.PeakRSS))
	}
	p("  flat, 8 tasks, 4x backlog <= %.2fx:   %s (%.2fx: %.1f MiB at %d rows, %.1f at %d, %.1f at %d)", aimFlat,
		verdict(s.flat() <= aimFlat), s.flat(), mib(s.half.PeakRSS), s.half.Rows,
		mib(s.runs[len(s.runs)-1].PeakRSS), s.runs[len(s.runs)-1].Rows, mib(s.double.PeakRSS), s.double.Rows)
	p("notes: each task reads the whole binlog of its run (every task's table) and skips the other tables' rows;")
	p("  the node's soft memory limit is its default budget (GOMEMLIMIT unset); private servers (testenv).")
	return b.String()
}
