package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
)

// Aims (issue 10, goal 5).
const (
	aimP99      = 5 * time.Millisecond // commit -> entry p99 at aimRate
	aimRate     = 10_000               // rows/s
	aimLagError = time.Second          // |reported - true lag| during the burst
	aimSettle   = time.Second          // catch-up -> reported lag under settleBelow
	settleBelow = 100 * time.Millisecond
)

// The latency workload: single-row transactions at each of latRates for
// latSeconds each, then a burst of latBurstRows rows at full speed.
// DATAINGEST_BENCH_LAT_SECONDS and DATAINGEST_BENCH_LAT_BURST shrink them
// while developing.
var latRates = []int{100, 1_000, 10_000}

const (
	latSeconds   = 3
	latBurstRows = 1_000_000
	latConns     = 2                      // writer connections, one per core
	lagEvery     = 100 * time.Millisecond // lag sampling period during the burst
	settleEvery  = 20 * time.Millisecond  // and after catch-up
	settleWindow = 3 * time.Second        // how long the samples go on after catch-up
	latTimeout   = time.Minute
)

// Tables and the id ranges of the steady phases: rate i writes ids from
// (i+1)*steadyIDs on.
const (
	minimalDB, minimalTable = "latbase", "t"
	steadyTable             = "lat.steady"
	burstTable              = "lat.burst"
	steadyIDs               = 10_000_000
)

// dist is the distribution of one phase's commit -> entry latencies.
type dist struct {
	N             int
	P50, P99, Max time.Duration
}

func distOf(commits, arrived []time.Time) dist {
	d := make([]time.Duration, len(commits))
	for i := range commits {
		d[i] = arrived[i].Sub(commits[i])
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(int(q*float64(len(d))), len(d)-1)] }
	return dist{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

// steadyRun is one rate's figures.
type steadyRun struct {
	Rate             int
	Achieved         float64 // rows/s the writer reached, node phase
	Binlog, Minimal  dist    // go-mysql's commit event; the minimal pipeline's entry
	Node             dist
	MinimalAchieved  float64
	NodeCPU, BaseCPU []cpuShare
}

// lagSample is one look at the node during the burst.
type lagSample struct {
	At             time.Time
	Truth          time.Duration // age of the oldest committed row not yet written
	Status, Metric time.Duration // lag_ms of the status hash; the node's task_lag_seconds
	Written        int           // rows of the burst in the output
}

// burstRun is the burst's figures.
type burstRun struct {
	Rows                  int
	Write                 time.Duration // first INSERT to the last one's reply
	CaughtUp              time.Time     // the last row's entry (its stream id)
	LastCommit            time.Time
	Samples               []lagSample
	StatusErr, MetricErr  time.Duration // max |reported - true| up to the catch-up
	MaxTruth              time.Duration
	StatusOK, MetricOK    time.Duration // catch-up -> first sample under settleBelow; -1: none
	StatusLast, MetricEnd time.Duration // reported lag at the last sample
	CPU                   []cpuShare
}

// BenchmarkLatency measures commit -> entry latency at steady rates
// against the minimal pipeline, and the accuracy of the reported lag
// during and after a burst (see the package comment). It runs once
// whatever b.N is.
func BenchmarkLatency(b *testing.B) {
	ctx := context.Background()
	load := loadAvg()
	seconds := envInt(b, "DATAINGEST_BENCH_LAT_SECONDS", latSeconds)
	burst := workload{Table: burstTable, Inserts: envInt(b, "DATAINGEST_BENCH_LAT_BURST", latBurstRows)}
	rg := newRig(b)
	bin := testenv.BuildBinary(b, nodePkg)
	rg.m.Exec(b, "CREATE DATABASE lat", "CREATE DATABASE "+minimalDB,
		"CREATE TABLE "+minimalDB+"."+minimalTable+" "+steadyDDL,
		"CREATE TABLE "+steadyTable+" "+steadyDDL, "CREATE TABLE "+burstTable+" "+tableDDL)
	conns := make([]*client.Conn, latConns)
	for i := range conns {
		conns[i] = rg.m.Conn(b)
	}

	n := startNode(b, rg, bin, "latency")
	defer n.p.Kill(b)
	startTask(b, rg, n, "lat.*")
	// Each round measures every rate, the minimal pipeline and the node
	// back to back, so that both see the machine's load of the moment.
	rounds := envInt(b, "DATAINGEST_BENCH_ROUNDS", defaultRounds)
	all := make([][]steadyRun, len(latRates))
	for round := range rounds {
		for i, rate := range latRates {
			r := steadyRun{Rate: rate}
			first := int64(round*len(latRates)+i+1) * steadyIDs
			if err := measureMinimal(ctx, b, rg, conns, &r, first, rate*seconds); err != nil {
				b.Fatalf("minimal pipeline at %d rows/s: %v", rate, err)
			}
			if err := measureNode(ctx, rg, n, conns, &r, first, rate*seconds); err != nil {
				n.fail("steady phase at %d rows/s: %v", rate, err)
			}
			all[i] = append(all[i], r)
		}
	}
	runs := make([]steadyRun, len(latRates))
	for i := range all {
		runs[i] = medianBy(all[i], func(r steadyRun) float64 { return float64(r.Node.P99) })
	}
	time.Sleep(2 * time.Second) // idle before the burst, as between bursts
	br, err := measureBurst(ctx, rg, n, conns, burst)
	if err != nil {
		n.fail("burst: %v", err)
	}

	top := runs[len(runs)-1]
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(top.Node.P50), "p50_ms_at_10k/s")
	b.ReportMetric(ms(top.Node.P99), "p99_ms_at_10k/s")
	b.ReportMetric(ms(top.Minimal.P99), "minimal_p99_ms_at_10k/s")
	b.ReportMetric(ms(br.StatusErr), "status_lag_err_ms")
	b.ReportMetric(ms(br.MetricErr), "metric_lag_err_ms")
	b.ReportMetric(ms(br.StatusOK), "status_settle_ms")
	b.ReportMetric(ms(br.MetricOK), "metric_settle_ms")
	fmt.Print(latSummary{load: load, loadAfter: loadAvg(), seconds: seconds, runs: runs, all: all, burst: br}.String())
}

// envInt is the integer in environment variable name, def when unset.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// startTask seeds task nodeTask's checkpoint at the binlog's end, starts it
// on tables and waits until it runs.
func startTask(b *testing.B, rg *rig, n *node, tables string) {
	b.Helper()
	ctx := context.Background()
	if err := rg.rdb.HSet(ctx, n.keys.TaskOffset(nodeTask), binlogPos(b, rg.m).Fields()).Err(); err != nil {
		n.fail("seeding checkpoint: %v", err)
	}
	if _, err := n.st.Publish(ctx, map[string]string{"cmd": "start", "task": nodeTask,
		"config": taskConfig(rg.m, tables, events.FormatMsgpack)}); err != nil {
		n.fail("publishing start: %v", err)
	}
	waitUntil(30*time.Second, func() bool {
		ti, err := n.st.Task(ctx, nodeTask)
		return err == nil && ti.Status == "RUNNING"
	}, func() { n.fail("task not RUNNING after 30s") })
}

// measureMinimal runs the minimal pipeline over rows first..first+count-1
// of the minimal table written at r.Rate.
func measureMinimal(ctx context.Context, b *testing.B, rg *rig, conns []*client.Conn, r *steadyRun, first int64, count int) error {
	ctx, cancel := context.WithTimeout(ctx, latTimeout)
	defer cancel()
	stream := "bench_latency_minimal:events"
	from, err := lastID(ctx, rg.rdb, stream)
	if err != nil {
		return err
	}
	mp, err := runMinimal(ctx, rg, binlogPos(b, rg.m), minimalDB, minimalTable, stream, first, count)
	if err != nil {
		return err
	}
	a := collect(ctx, rg.rdb, stream, from, first, count, fieldID)
	cpu := rg.startCPU()
	commits, elapsed, err := paced(conns, minimalDB+"."+minimalTable, first, count, r.Rate)
	if err != nil {
		return err
	}
	if err := mp.wait(); err != nil {
		return err
	}
	if err := a.wait(); err != nil {
		return err
	}
	r.BaseCPU = cpu.stop()
	r.MinimalAchieved = float64(count) / elapsed.Seconds()
	r.Binlog, r.Minimal = distOf(commits, mp.binlog), distOf(commits, a.at)
	return nil
}

// measureNode writes rows first..first+count-1 of the steady table at
// r.Rate and times their entries in the node's output.
func measureNode(ctx context.Context, rg *rig, n *node, conns []*client.Conn, r *steadyRun, first int64, count int) error {
	ctx, cancel := context.WithTimeout(ctx, latTimeout)
	defer cancel()
	stream := n.keys.TaskEvents(nodeTask)
	from, err := lastID(ctx, rg.rdb, stream)
	if err != nil {
		return err
	}
	a := collect(ctx, rg.rdb, stream, from, first, count, envelopeID)
	cpu := rg.startCPU(proc{"node", n.p.Pid()})
	commits, elapsed, err := paced(conns, steadyTable, first, count, r.Rate)
	if err != nil {
		return err
	}
	if err := a.wait(); err != nil {
		return err
	}
	r.NodeCPU = cpu.stop()
	r.Achieved = float64(count) / elapsed.Seconds()
	r.Node = distOf(commits, a.at)
	return nil
}

// measureBurst writes w's inserts at full speed while sampling the node's
// reported lag against the true lag every lagEvery, then samples every
// settleEvery for settleWindow after the node has written the last row.
func measureBurst(ctx context.Context, rg *rig, n *node, conns []*client.Conn, w workload) (burstRun, error) {
	stream, status := n.keys.TaskEvents(nodeTask), n.keys.TaskStatus(nodeTask)
	base, err := rg.rdb.XLen(ctx, stream).Result()
	if err != nil {
		return burstRun{}, err
	}
	bw := newBurstWriter(w)
	werr := make(chan error, 1)
	cpu := rg.startCPU(proc{"node", n.p.Pid()})
	go func() { werr <- bw.write(conns) }()
	br := burstRun{Rows: w.Inserts}
	deadline := time.Now().Add(nodeTimeout)
	var end time.Time // of the samples: settleWindow after the catch-up
	for end.IsZero() || time.Now().Before(end) {
		if end.IsZero() {
			time.Sleep(lagEvery)
		} else {
			time.Sleep(settleEvery)
		}
		s, newest, err := sampleLag(ctx, rg.rdb, n.base+"/metrics", stream, status, base, bw)
		if err != nil {
			return br, err
		}
		br.Samples = append(br.Samples, s)
		if s.Written == w.Inserts && end.IsZero() {
			br.CaughtUp = time.UnixMilli(idMs(newest))
			end = time.Now().Add(settleWindow)
			br.CPU = cpu.stop()
		}
		if time.Now().After(deadline) {
			return br, fmt.Errorf("%d of %d rows written after %v", s.Written, w.Inserts, nodeTimeout)
		}
	}
	if err := <-werr; err != nil {
		return br, err
	}
	last, _ := bw.commitAt(len(bw.commitNs) - 1)
	for k := range bw.commitNs {
		c, _ := bw.commitAt(k)
		last = later(last, c)
	}
	br.LastCommit, br.Write = last, last.Sub(bw.t0)
	br.summarize()
	return br, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// summarize computes the burst's figures from its samples.
func (br *burstRun) summarize() {
	br.StatusOK, br.MetricOK = -1, -1
	for _, s := range br.Samples {
		if !s.At.After(br.CaughtUp) {
			br.StatusErr = max(br.StatusErr, (s.Status - s.Truth).Abs())
			br.MetricErr = max(br.MetricErr, (s.Metric - s.Truth).Abs())
			br.MaxTruth = max(br.MaxTruth, s.Truth)
			continue
		}
		if br.StatusOK < 0 && s.Status < settleBelow {
			br.StatusOK = s.At.Sub(br.CaughtUp)
		}
		if br.MetricOK < 0 && s.Metric < settleBelow {
			br.MetricOK = s.At.Sub(br.CaughtUp)
		}
	}
	if len(br.Samples) > 0 {
		s := br.Samples[len(br.Samples)-1]
		br.StatusLast, br.MetricEnd = s.Status, s.Metric
	}
}

// sampleLag reads, in one round trip, the output's newest entry and
// length and the status's lag_ms, then the node's lag metric, and sets
// them against the true lag at the moment Redis answered (the middle of
// the round trip). It returns the newest entry's id too.
func sampleLag(ctx context.Context, rdb *redis.Client, metricsURL, stream, status string, base int64, bw *burstWriter) (lagSample, string, error) {
	pipe := rdb.Pipeline()
	newest := pipe.XRevRangeN(ctx, stream, "+", "-", 1)
	length := pipe.XLen(ctx, stream)
	lag := pipe.HGet(ctx, status, "lag_ms")
	sent := time.Now()
	_, err := pipe.Exec(ctx)
	got := time.Now()
	if err != nil {
		return lagSample{}, "", fmt.Errorf("sampling lag: %w", err)
	}
	s := lagSample{At: sent.Add(got.Sub(sent) / 2), Written: int(length.Val() - base)}
	lagMs, err := lag.Int64()
	if err != nil {
		return s, "", fmt.Errorf("status lag_ms: %w", err)
	}
	s.Status = time.Duration(lagMs) * time.Millisecond
	var id int64
	var last string
	if msgs := newest.Val(); len(msgs) > 0 && s.Written > 0 {
		last = msgs[0].ID
		if id, err = envelopeID(msgs[0]); err != nil {
			return s, "", err
		}
	}
	s.Truth = bw.trueLag(s.At, s.Written, id)
	secs, err := scrapeLabelled(metricsURL, `dataingest_task_lag_seconds{task="`+nodeTask+`"}`)
	if err != nil {
		return s, "", err
	}
	s.Metric = time.Duration(secs * float64(time.Second))
	return s, last, nil
}

// scrapeLabelled is the value of the sample named series (name with its
// labels, as /metrics prints them).
func scrapeLabelled(url, series string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("scraping %s: %w", url, err)
	}
	return 0, fmt.Errorf("scraping %s: no %s", url, series)
}

// latSummary is the plain-text report of BenchmarkLatency.
type latSummary struct {
	load, loadAfter string
	seconds         int
	runs            []steadyRun   // per rate, the median round
	all             [][]steadyRun // per rate, every round
	burst           burstRun
}

func (s latSummary) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	d := func(x dist) string { return fmt.Sprintf("%6.2f %6.2f %7.2f", ms(x.P50), ms(x.P99), ms(x.Max)) }
	p("")
	p("=== DataIngest latency benchmark: one MYSQL_CDC task, MariaDB -> Redis stream ===")
	p("machine: %d CPUs, load average %s before, %s after", runtime.NumCPU(), s.load, s.loadAfter)
	p("commit -> entry, ms: from the writer's INSERT (autocommit, one row) returning to this process's XREAD")
	p("returning the entry, one process clock; %d s per rate over %d connections; p50 p99 max; median round of %d by node p99",
		s.seconds, latConns, len(s.all[0]))
	p("%8s %9s | %-22s | %-22s | %-22s | %s", "rows/s", "achieved", "binlog event (go-mysql)", "minimal: go-mysql+XADD", "node", "node p99 - minimal p99")
	for _, r := range s.runs {
		p("%8d %9.0f | %22s | %22s | %22s | %+.2f ms", r.Rate, r.Achieved, d(r.Binlog), d(r.Minimal), d(r.Node), ms(r.Node.P99-r.Minimal.P99))
	}
	p("every round, p99 ms node / minimal:")
	for i, rs := range s.all {
		parts := make([]string, len(rs))
		for j, r := range rs {
			parts[j] = fmt.Sprintf("%.2f / %.2f", ms(r.Node.P99), ms(r.Minimal.P99))
		}
		p("  %6d rows/s: %s", latRates[i], strings.Join(parts, ",  "))
	}
	for _, r := range s.runs {
		p("  CPU at %d rows/s, %% of one core: minimal phase %s; node phase %s", r.Rate, cpuText(r.BaseCPU), cpuText(r.NodeCPU))
	}
	br := s.burst
	p("")
	p("burst: %d rows, INSERT ... SELECT transactions of %d rows over %d connections, written in %.2f s (%.0f rows/s);",
		br.Rows, txRows, latConns, br.Write.Seconds(), float64(br.Rows)/br.Write.Seconds())
	p("  the node wrote the last row %.0f ms after the last commit returned; true lag at most %.0f ms (%d samples, every %v, then every %v)",
		ms(br.CaughtUp.Sub(br.LastCommit)), ms(br.MaxTruth), len(br.Samples), lagEvery, settleEvery)
	p("  true lag: age of the oldest committed row not yet in the output (commit = the INSERT's reply), 0 when none")
	p("  max |reported - true| up to the catch-up: status lag_ms %.0f ms, metric task_lag_seconds %.0f ms", ms(br.StatusErr), ms(br.MetricErr))
	p("  after the catch-up: status under %v after %s, metric after %s; %v later they read %.0f and %.0f ms",
		settleBelow, settled(br.StatusOK), settled(br.MetricOK), settleWindow, ms(br.StatusLast), ms(br.MetricEnd))
	p("  CPU during the burst, %% of one core: %s", cpuText(br.CPU))
	p("  samples (s since the burst's first, true / status / metric ms, rows written):")
	p("%s", sampleLines(br))
	top := s.runs[len(s.runs)-1]
	p("aims:")
	p("  p99 commit -> entry <= %v at %d rows/s:        %s (%.2f ms; minimal pipeline %.2f ms, go-mysql event %.2f ms)",
		aimP99, aimRate, verdict(top.Rate == aimRate && top.Node.P99 <= aimP99), ms(top.Node.P99), ms(top.Minimal.P99), ms(top.Binlog.P99))
	p("  burst: status lag_ms within %v of true:        %s (%.0f ms)", aimLagError, verdict(br.StatusErr <= aimLagError), ms(br.StatusErr))
	p("  burst: lag metric within %v of true:           %s (%.0f ms)", aimLagError, verdict(br.MetricErr <= aimLagError), ms(br.MetricErr))
	p("  status lag_ms < %v within %v of catch-up:   %s (%s)", settleBelow, aimSettle,
		verdict(br.StatusOK >= 0 && br.StatusOK <= aimSettle), settled(br.StatusOK))
	p("  lag metric < %v within %v of catch-up:      %s (%s)", settleBelow, aimSettle,
		verdict(br.MetricOK >= 0 && br.MetricOK <= aimSettle), settled(br.MetricOK))
	p("notes: private servers (testenv); the minimal pipeline ran while the node read (and skipped) its rows;")
	p("  the burst's true lag cannot be below the time Redis and the node need to write a batch.")
	return b.String()
}

func settled(d time.Duration) string {
	if d < 0 {
		return "never in the window"
	}
	return fmt.Sprintf("%.0f ms", ms(d))
}

// sampleLines prints about 25 of the burst's samples, spread over it.
func sampleLines(br burstRun) string {
	var lines []string
	step := max(len(br.Samples)/25, 1)
	t0 := br.Samples[0].At
	for i, s := range br.Samples {
		if i%step != 0 && i != len(br.Samples)-1 {
			continue
		}
		lines = append(lines, fmt.Sprintf("    %6.2f  %5.0f %5.0f %5.0f  %d", s.At.Sub(t0).Seconds(), ms(s.Truth), ms(s.Status), ms(s.Metric), s.Written))
	}
	return strings.Join(lines, "\n")
}
