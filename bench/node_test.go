package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/source"
	"github.com/dataingest/dataingest/store"
)

const (
	nodePkg      = "github.com/dataingest/dataingest/cmd/dataingest"
	nodeTask     = "bench"
	pollInterval = 50 * time.Millisecond
	nodeTimeout  = 5 * time.Minute
)

// nodeRun is what one end-to-end run measured.
type nodeRun struct {
	phase
	Workload  workload
	Startup   time.Duration // start command to the first entry
	Steady    float64       // events/s from the first entry to the last
	IdleRSS   int64         // before the start command
	PeakRSS   int64         // VmHWM when the last event was written
	MaxRSS    int64         // the largest VmRSS sampled
	RSSAt     [4]int64      // VmRSS at 25, 50, 75 and 100% of the events
	Samples   int
	Batches   int64                 // fenced writes, from the checkpoint's batch count
	WriteBusy float64               // writes in flight on average: their summed durations over the run's
	MeanWrite time.Duration         // mean duration of one Write
	GCCycles  int64                 // the node's garbage collections during the run
	AvgSize   map[events.Op]float64 // mean envelope bytes by op, of entries sampled across the run
}

// runNode starts a fresh node (bin, a dataingest binary) under a key prefix
// of its own, seeds task nodeTask's checkpoint at from, starts the task on
// w's table (snapshotMode never) and waits until its status counts
// w.Changes() events (see runTask).
func runNode(b *testing.B, rg *rig, bin, kind string, round int, w workload, from source.Checkpoint, format string) nodeRun {
	b.Helper()
	run := runTask(b, rg, bin, nodeSpec{
		Name: "e2e " + kind, Key: fmt.Sprintf("%s-%d", kind, round),
		Table: w.Table, Format: format, SnapshotMode: "never", Events: w.Changes(), From: &from,
	})
	run.Workload = w
	return run
}

// nodeSpec is the task one end-to-end run starts.
type nodeSpec struct {
	Name         string             // the phase's name ("e2e large")
	Key          string             // names the run's key prefix, node id and profiles ("large-1")
	Table        string             // the task's one cdcTables entry
	Format       string             // msgpack or json
	SnapshotMode string             // initial or never
	Events       int                // output entries that make the run complete
	From         *source.Checkpoint // seeded as the task's checkpoint; nil: none (a new task)
}

// runTask starts a fresh node (bin, a dataingest binary) under a key prefix
// of its own, seeds task nodeTask's checkpoint at spec.From when given,
// starts the task and waits until its status counts spec.Events events,
// sampling the process's memory every pollInterval. Times come from Redis
// stream ids (ms of Redis's clock): the start command's and the first and
// last output entries'. DATAINGEST_BENCH_PROFILE names a directory to save
// the node's CPU, block, mutex and heap profiles of the run into.
func runTask(b *testing.B, rg *rig, bin string, spec nodeSpec) nodeRun {
	b.Helper()
	ctx := context.Background()
	name := spec.Key
	profiles := os.Getenv("DATAINGEST_BENCH_PROFILE") // a directory: profile the node's run into it
	n := startNode(b, rg, bin, name, "DATAINGEST_PPROF="+strconv.FormatBool(profiles != ""))
	p, st, keys, fail := n.p, n.st, n.keys, n.fail
	defer p.Kill(b)
	idle, err := procMemory(p.Pid())
	if err != nil {
		fail("reading memory: %v", err)
	}
	metricsURL := n.base + "/metrics"
	before, err := scrape(metricsURL)
	if err != nil {
		fail("%v", err)
	}

	// A task with a stored checkpoint resumes from it.
	offset := keys.TaskOffset(nodeTask)
	if spec.From != nil {
		if err := rg.rdb.HSet(ctx, offset, spec.From.Fields()).Err(); err != nil {
			fail("seeding checkpoint: %v", err)
		}
	}
	want := spec.Events
	run := nodeRun{IdleRSS: idle.RSS, phase: phase{Name: spec.Name, Events: want}}
	cpu := rg.startCPU(proc{"node", p.Pid()})
	config := taskConfigMode(rg.m, spec.Table, spec.Format, spec.SnapshotMode)
	cmdID, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": nodeTask, "config": config})
	if err != nil {
		fail("publishing start: %v", err)
	}
	base := n.base
	var cpuProfile chan error
	if profiles != "" {
		cpuProfile = make(chan error, 1)
		go func() {
			cpuProfile <- fetchProfile(base+"/debug/pprof/profile?seconds=2", filepath.Join(profiles, name+"-cpu.pprof"))
		}()
	}

	deadline := time.Now().Add(nodeTimeout)
	next := 0 // next quarter whose RSS is not yet recorded
	for {
		time.Sleep(pollInterval)
		mem, err := procMemory(p.Pid())
		if err != nil {
			fail("reading memory: %v", err)
		}
		run.Samples++
		run.MaxRSS = max(run.MaxRSS, mem.RSS)
		ti, err := st.Task(ctx, nodeTask)
		if err != nil {
			fail("reading status: %v", err)
		}
		if ti.Status == "FAILED" || ti.Status == "RETRYING" {
			fail("task %s: %s", ti.Status, ti.Error)
		}
		for next < 4 && ti.Events*4 >= int64(want*(next+1)) {
			run.RSSAt[next] = mem.RSS
			next++
		}
		if ti.Events >= int64(want) {
			run.PeakRSS = mem.HWM
			break
		}
		if time.Now().After(deadline) {
			fail("%d of %d events after %v", ti.Events, want, nodeTimeout)
		}
	}
	run.CPU = cpu.stop()
	if profiles != "" {
		if err := <-cpuProfile; err != nil {
			fail("%v", err)
		}
		for _, kind := range []string{"block", "mutex", "heap"} {
			if err := fetchProfile(base+"/debug/pprof/"+kind, filepath.Join(profiles, name+"-"+kind+".pprof")); err != nil {
				fail("%v", err)
			}
		}
	}
	after, err := scrape(metricsURL)
	if err != nil {
		fail("%v", err)
	}

	events := keys.TaskEvents(nodeTask)
	first, err1 := rg.rdb.XRangeN(ctx, events, "-", "+", 1).Result()
	last, err2 := rg.rdb.XRevRangeN(ctx, events, "+", "-", 1).Result()
	if err1 != nil || err2 != nil || len(first) == 0 || len(last) == 0 {
		fail("reading %s: %v %v", events, err1, err2)
	}
	t0, tFirst, tLast := idMs(cmdID), idMs(first[0].ID), idMs(last[0].ID)
	sample, err := sampleEntries(ctx, rg.rdb, events, tFirst, tLast)
	if err != nil {
		fail("%v", err)
	}
	run.Elapsed = time.Duration(tLast-t0) * time.Millisecond
	run.Startup = time.Duration(tFirst-t0) * time.Millisecond
	if tLast > tFirst {
		run.Steady = float64(want-1) / (float64(tLast-tFirst) / 1000)
	}
	run.AvgSize = avgData(sample)
	writeSum := after["dataingest_batch_write_seconds_sum"] - before["dataingest_batch_write_seconds_sum"]
	writes := after["dataingest_batch_write_seconds_count"] - before["dataingest_batch_write_seconds_count"]
	run.WriteBusy = writeSum / run.Elapsed.Seconds()
	if writes > 0 {
		run.MeanWrite = time.Duration(writeSum / writes * float64(time.Second))
	}
	run.GCCycles = int64(after["go_gc_duration_seconds_count"] - before["go_gc_duration_seconds_count"])
	if run.Batches, err = rg.rdb.HGet(ctx, offset, "batch").Int64(); err != nil {
		fail("reading the batch count: %v", err)
	}

	// Exactly once: nothing more arrives (the small run's node goes on
	// reading the large workload's rows, which its task skips).
	time.Sleep(500 * time.Millisecond)
	if n, err := rg.rdb.XLen(ctx, events).Result(); err != nil || n != int64(want) {
		b.Errorf("%s run: %s has %d entries (%v), want %d", name, events, n, err, want)
	}
	p.Kill(b)
	if err := rg.rdb.Del(ctx, events).Err(); err != nil {
		b.Fatal(err)
	}
	return run
}

// node is a dataingest process started by startNode.
type node struct {
	p    *testenv.Process
	st   *store.Store // under the node's key prefix
	keys store.Keys
	id   string // DATAINGEST_NODE_ID
	base string // http://host:port of its HTTP API
	// fail ends the benchmark with the node's last log lines.
	fail func(format string, args ...any)
}

// startNode starts bin, a dataingest binary, with node id and key prefix
// of its own made from name, and waits until it is ready: heartbeat
// written and the command group created, so a start command is read at
// once. env adds variables. The caller kills it.
func startNode(b *testing.B, rg *rig, bin, name string, env ...string) *node {
	b.Helper()
	ctx := context.Background()
	prefix := "bench_" + name
	n := &node{id: "bench-" + name}
	n.p = testenv.StartProcess(b, bin, append([]string{
		"DATAINGEST_REDIS_ADDRS=" + rg.r.Addr,
		"DATAINGEST_NODE_ID=" + n.id,
		"DATAINGEST_HTTP_ADDR=127.0.0.1:0",
		"DATAINGEST_KEY_PREFIX=" + prefix,
	}, env...))
	n.st = store.New(rg.rdb, prefix)
	n.keys = n.st.Keys()
	n.fail = func(format string, args ...any) {
		b.Helper()
		b.Fatalf("%s run: %s\n--- node output ---\n%s", name, fmt.Sprintf(format, args...), tail(n.p.Output(), 30))
	}
	waitUntil(10*time.Second, func() bool {
		if _, err := rg.rdb.ZScore(ctx, n.keys.ClusterNodes(), n.id).Result(); err != nil {
			return false
		}
		groups, err := rg.rdb.XInfoGroups(ctx, n.keys.Commands()).Result()
		return err == nil && len(groups) > 0
	}, func() { n.fail("node not ready after 10s") })
	n.base = "http://" + httpAddr(n.p.Output())
	return n
}

// fetchProfile saves the profile at url to path.
func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("profiling: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling: %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profiling: %s: %w", url, err)
	}
	return f.Close()
}

// httpAddr finds the node's HTTP address in its "node started" log line.
func httpAddr(output string) string {
	if m := httpAddrRE.FindStringSubmatch(output); m != nil {
		return m[1]
	}
	return "127.0.0.1:0"
}

var httpAddrRE = regexp.MustCompile(`"http":"([^"]+)"`)

// scrape reads the unlabelled samples of the node's /metrics.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// taskConfig is the start command's config: table of the private MariaDB,
// from the seeded checkpoint on (snapshotMode never).
func taskConfig(m *testenv.MariaDB, table, format string) string {
	return taskConfigMode(m, table, format, "never")
}

// taskConfigMode is taskConfig with snapshotMode mode.
func taskConfigMode(m *testenv.MariaDB, table, format, mode string) string {
	c := map[string]any{
		"taskName": "bench", "taskType": "MYSQL_CDC", "snapshotMode": mode, "format": format,
		"dataSourceConfigs": []map[string]any{{
			"host": m.Host, "port": m.Port, "username": testenv.MariaDBUser, "password": testenv.MariaDBPassword,
		}},
		"cdcTables": []string{table},
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// sampleEntries reads 100 entries at each of 20 times spread over the
// stream's [from, to] milliseconds: a sample of every op of the workload.
func sampleEntries(ctx context.Context, rdb *redis.Client, stream string, from, to int64) ([]redis.XMessage, error) {
	var out []redis.XMessage
	for k := range int64(20) {
		start := strconv.FormatInt(from+k*(to-from)/20, 10)
		msgs, err := rdb.XRangeN(ctx, stream, start, "+", 100).Result()
		if err != nil {
			return nil, fmt.Errorf("sampling %s: %w", stream, err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// idMs is the millisecond part of a stream entry id.
func idMs(id string) int64 {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return n
}

// avgData is the mean size of the data field of msgs by op.
func avgData(msgs []redis.XMessage) map[events.Op]float64 {
	n, sum := map[events.Op]int{}, map[events.Op]int{}
	for _, m := range msgs {
		op, _ := m.Values["op"].(string)
		d, _ := m.Values["data"].(string)
		n[events.Op(op)]++
		sum[events.Op(op)] += len(d)
	}
	avg := map[events.Op]float64{}
	for op, k := range n {
		avg[op] = float64(sum[op]) / float64(k)
	}
	return avg
}

// waitUntil polls cond every 20 ms until it holds, calling timedOut after d.
func waitUntil(d time.Duration, cond func() bool, timedOut func()) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			timedOut()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
