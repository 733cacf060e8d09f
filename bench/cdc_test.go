package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/source"
)

// The workloads: the requirement's 500,000 inserts plus a tenth as many
// updates and deletes, and one a fifth its size to show that the node's
// memory does not grow with the workload. The small one is written first,
// so its task reaches its count before reading the large one's rows.
var (
	largeWorkload = workload{Table: "bench.t", Inserts: 500_000, Updates: 50_000, Deletes: 50_000}
	smallWorkload = workload{Table: "bench.s", Inserts: 100_000, Updates: 10_000, Deletes: 10_000}
)

// Aims of the requirement.
const (
	aimRatio   = 0.6       // end-to-end events/s over the slower baseline's
	aimPeakRSS = 100 << 20 // bytes
	// aimFlat is how much larger the large run's peak RSS may be than the
	// small run's for memory to count as flat: 5x the events, at most 1.25x
	// the memory.
	aimFlat = 1.25
)

// phase is one measured phase: Events in Elapsed, and the CPU use of the
// processes involved.
type phase struct {
	Name    string
	Events  int
	Elapsed time.Duration
	CPU     []cpuShare
}

// Rate is events per second.
func (p phase) Rate() float64 { return float64(p.Events) / p.Elapsed.Seconds() }

// rig is the run's servers and a client of its Redis.
type rig struct {
	m       *testenv.MariaDB
	r       *testenv.Redis
	rdb     *redis.Client
	servers []proc // redis-server and mariadbd
}

// startCPU measures this process, procs, and the servers.
func (rg *rig) startCPU(procs ...proc) *cpuMeter {
	all := append([]proc{{"bench", os.Getpid()}}, procs...)
	return startCPU(append(all, rg.servers...)...)
}

func newRig(b *testing.B) *rig {
	b.Helper()
	ctx := context.Background()
	// A buffer pool that holds the tables keeps writing the workload fast;
	// it does not change what the binlog holds.
	m := testenv.StartMariaDB(b, testenv.WithConfig("innodb_buffer_pool_size=512M"))
	r := testenv.StartRedis(b)
	rdb := r.Client(b)
	// testenv's Redis appends to its AOF (everysec), as production does;
	// an automatic rewrite would fork in the middle of one phase and not
	// another, so it is off.
	if err := rdb.ConfigSet(ctx, "auto-aof-rewrite-percentage", "0").Err(); err != nil {
		b.Fatal(err)
	}
	rg := &rig{m: m, r: r, rdb: rdb}
	info, err := rdb.InfoMap(ctx, "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	if pid, err := strconv.Atoi(info["Server"]["process_id"]); err == nil {
		rg.servers = append(rg.servers, proc{"redis", pid})
	}
	if raw, err := os.ReadFile(filepath.Join(m.Dir, "mariadb.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
			rg.servers = append(rg.servers, proc{"mariadbd", pid})
		}
	}
	return rg
}

// rounds is how often each phase is measured. The machine is shared, so
// the phases of a round run back to back, each round yields its own ratio,
// and the summary gives the median round.
const rounds = 3

// round is one measurement of every phase.
type round struct {
	decode, redis phase
	small, large  nodeRun
}

// slower is the slower baseline's rate.
func (r round) slower() float64 { return min(r.decode.Rate(), r.redis.Rate()) }

// ratio is the end-to-end rate over the slower baseline's.
func (r round) ratio() float64 { return r.large.Rate() / r.slower() }

// BenchmarkCDC measures one MYSQL_CDC task end to end against its two
// baselines on the same binlog (see the package comment). It runs once
// whatever b.N is: every figure is a rate or a size, reported as metrics
// (the median round's) and in a summary block on stdout.
func BenchmarkCDC(b *testing.B) {
	ctx := context.Background()
	load := loadAvg()
	rg := newRig(b)
	bin := testenv.BuildBinary(b, nodePkg) // outside any clock

	rg.m.Exec(b, "CREATE DATABASE bench",
		"CREATE TABLE bench.t "+tableDDL, "CREATE TABLE bench.s "+tableDDL)
	posSmall := binlogPos(b, rg.m)
	genStart := time.Now()
	if err := smallWorkload.write(rg.m); err != nil {
		b.Fatal(err)
	}
	posLarge := binlogPos(b, rg.m)
	if err := largeWorkload.write(rg.m); err != nil {
		b.Fatal(err)
	}
	genTime := time.Since(genStart)
	posEnd := binlogPos(b, rg.m)
	enc, err := encodeWorkload(largeWorkload)
	if err != nil {
		b.Fatalf("encoding the workload: %v", err)
	}

	var rs []round
	for i := 1; i <= rounds; i++ {
		var r round
		if r.decode, err = measureDecode(ctx, rg, posLarge, largeWorkload.Changes()); err != nil {
			b.Fatalf("decode baseline: %v", err)
		}
		if r.redis, err = measureRedis(ctx, rg, enc, i); err != nil {
			b.Fatalf("redis baseline: %v", err)
		}
		r.small = runNode(b, rg, bin, "small", i, smallWorkload, posSmall)
		r.large = runNode(b, rg, bin, "large", i, largeWorkload, posLarge)
		rs = append(rs, r)
	}

	med := median(rs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(med.decode.Rate(), "decode_rows/s")
	b.ReportMetric(med.redis.Rate(), "redis_events/s")
	b.ReportMetric(med.large.Rate(), "e2e_events/s")
	b.ReportMetric(med.ratio(), "e2e/slower_baseline")
	b.ReportMetric(mib(maxOf(rs, func(r round) int64 { return r.large.PeakRSS })), "peak_rss_MiB")
	b.ReportMetric(mib(maxOf(rs, func(r round) int64 { return r.small.PeakRSS })), "peak_rss_small_MiB")

	s := summary{
		load: load, loadAfter: loadAvg(), genTime: genTime,
		posSmall: posSmall, posLarge: posLarge, posEnd: posEnd,
		rounds: rs, avgSize: enc.avgSize(),
	}
	fmt.Print(s.String())
}

// median returns the round whose ratio is the median.
func median(rs []round) round {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b round) int { return cmp.Compare(a.ratio(), b.ratio()) })
	return sorted[len(sorted)/2]
}

func maxOf(rs []round, f func(round) int64) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, f(r))
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// summary is the plain-text report of a run.
type summary struct {
	load, loadAfter            string
	genTime                    time.Duration
	posSmall, posLarge, posEnd source.Checkpoint
	rounds                     []round
	avgSize                    map[events.Op]float64
}

// phaseLabels name the phases in the summary.
var phaseLabels = map[string]string{
	"decode":    "baseline: go-mysql BinlogSyncer decode",
	"redis":     "baseline: Lua XADD x500 + checkpoint",
	"e2e large": "end to end: dataingest node",
	"e2e small": "end to end, small workload",
}

func (s summary) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	med := median(s.rounds)
	w, sw := med.large.Workload, med.small.Workload
	p("")
	p("=== DataIngest CDC benchmark: one MYSQL_CDC task, MariaDB -> Redis stream ===")
	p("machine: %d CPUs, load average %s before, %s after", runtime.NumCPU(), s.load, s.loadAfter)
	p("workload %s: %d inserts + %d updates + %d deletes = %d events, transactions of %d rows",
		w.Table, w.Inserts, w.Updates, w.Deletes, w.Changes(), txRows)
	p("  binlog %s -> %s (%s); small workload %s, %d events: %s -> %s",
		s.posLarge, s.posEnd, binlogSize(s.posLarge, s.posEnd), sw.Table, sw.Changes(), s.posSmall, s.posLarge)
	p("  both written in %.1f s; mean envelope bytes (msgpack) insert/update/delete: %s in the redis baseline, %s written by the node",
		s.genTime.Seconds(), sizes(s.avgSize), sizes(med.large.AvgSize))
	p("")
	p("median round of %d (by end-to-end ratio):", len(s.rounds))
	p("%-40s %10s %8s %9s  %s", "phase (same binlog, same round)", "events/s", "seconds", "/slower", "CPU, % of one core")
	for _, ph := range []phase{med.decode, med.redis, med.large.phase, med.small.phase} {
		p("%-40s %10.0f %8.2f %9.2f  %s", phaseLabels[ph.Name], ph.Rate(), ph.Elapsed.Seconds(), ph.Rate()/med.slower(), cpuText(ph.CPU))
	}
	l := med.large
	p("  node: start command -> first entry %v; first -> last entry %.0f events/s; %d fenced writes (%.0f events each)",
		l.Startup, l.Steady, l.Batches, float64(l.Events)/float64(l.Batches))
	p("  node's writer inside OutputWriter.Write %.0f%% of the run (%.2f ms per write; the redis baseline's: %.2f ms); %d GC cycles",
		100*l.WriteBusy, ms(l.MeanWrite), ms(med.redis.Elapsed)/math.Ceil(float64(med.redis.Events)/batchEntries), l.GCCycles)
	p("")
	p("every round: events/s (decode, redis, e2e large, e2e small), e2e/slower baseline, node peak RSS MiB (large, small)")
	for i, r := range s.rounds {
		p("  %d: %7.0f %7.0f %7.0f %7.0f   %.2f   %5.1f %5.1f   other CPU in e2e large: %s", i+1,
			r.decode.Rate(), r.redis.Rate(), r.large.Rate(), r.small.Rate(), r.ratio(),
			mib(r.large.PeakRSS), mib(r.small.PeakRSS), share(r.large.CPU, "other"))
	}
	p("")
	p("node memory, MiB (median round)   idle    25%%    50%%    75%%   100%%  max sampled  peak (VmHWM)")
	for _, r := range []nodeRun{med.large, med.small} {
		p("  %-7d events %15.1f %6.1f %6.1f %6.1f %6.1f %12.1f %13.1f", r.Events, mib(r.IdleRSS),
			mib(r.RSSAt[0]), mib(r.RSSAt[1]), mib(r.RSSAt[2]), mib(r.RSSAt[3]), mib(r.MaxRSS), mib(r.PeakRSS))
	}
	peakL := maxOf(s.rounds, func(r round) int64 { return r.large.PeakRSS })
	peakS := maxOf(s.rounds, func(r round) int64 { return r.small.PeakRSS })
	ratio, flat := med.ratio(), float64(peakL)/float64(peakS)
	p("")
	p("aims (median round; peak RSS: the largest of all rounds):")
	p("  end to end >= %.1f x slower baseline: %s (%.2f: %.0f vs %.0f events/s)", aimRatio, verdict(ratio >= aimRatio),
		ratio, med.large.Rate(), med.slower())
	p("  node peak RSS < %d MiB:            %s (%.1f MiB)", aimPeakRSS>>20, verdict(peakL < aimPeakRSS), mib(peakL))
	p("  peak RSS flat (%dx events, <= %.2fx): %s (%.2fx: %.1f vs %.1f MiB)", w.Changes()/sw.Changes(), aimFlat,
		verdict(flat <= aimFlat), flat, mib(peakL), mib(peakS))
	p("notes: private servers (testenv); Redis keeps its AOF (appendfsync everysec), automatic AOF rewrites off;")
	p("  the decode baseline runs at GOGC=400 like the node; \"other\" CPU is every other process on the machine.")
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func cpuText(cs []cpuShare) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if (c.Name == "bench" || c.Name == "steal") && c.Percent < 5 {
			continue // the poller; no stolen time to speak of
		}
		parts = append(parts, fmt.Sprintf("%s %.0f", c.Name, c.Percent))
	}
	return strings.Join(parts, ", ")
}

// share is the named process's CPU share, as text.
func share(cs []cpuShare, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return fmt.Sprintf("%.0f%%", c.Percent)
		}
	}
	return "?"
}

func sizes(m map[events.Op]float64) string {
	return fmt.Sprintf("%.0f/%.0f/%.0f", m[events.OpCreate], m[events.OpUpdate], m[events.OpDelete])
}

func binlogSize(from, to source.Checkpoint) string {
	if from.File != to.File {
		return "across files"
	}
	return fmt.Sprintf("%.1f MiB", mib(int64(to.Pos-from.Pos)))
}
