package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// scrapeMetrics reads a node's /metrics with the API token.
func scrapeMetrics(t *testing.T, addr, token string) map[string]*dto.MetricFamily {
	return testenv.ScrapeMetrics(t, addr, token)
}

// sample is the metric of fams named name whose task label is task ("":
// the one without labels), nil when there is none.
func sample(fams map[string]*dto.MetricFamily, name, task string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		got := ""
		for _, l := range m.Label {
			if l.GetName() == "task" {
				got = l.GetValue()
			}
		}
		if got == task {
			return m
		}
	}
	return nil
}

// TestMetricsOfAWritingTask runs a DATAGEN task of 1,000 events on a node
// and reads its /metrics: events, bytes, entries per batch and commit to
// write times count what the output stream holds, the lease held
// throughout lost nothing, and once the task stops its lag series go.
func TestMetricsOfAWritingTask(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const token = "metrics-test-token"
	testenv.StartProcess(t, binary(t), append(nodeEnv(r.Addr, "n1"), "DATAINGEST_HTTP_ADDR="+addr, "DATAINGEST_API_TOKEN="+token))
	ctx := context.Background()
	if _, err := st.Publish(ctx, map[string]string{"cmd": "start", "task": "m1",
		"config": `{"taskType":"DATAGEN","datagen":{"rate":2000,"total":1000}}`}); err != nil {
		t.Fatal(err)
	}
	stream := st.Keys().TaskEvents("m1")
	waitFor(t, 20*time.Second, "1,000 events", func() bool {
		n, _ := rdb.XLen(ctx, stream).Result()
		return n == 1000
	})
	msgs, err := rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	bytes := 0
	for _, m := range msgs {
		bytes += len(m.Values["data"].(string))
	}

	var fams map[string]*dto.MetricFamily
	waitFor(t, 5*time.Second, "the metrics of 1,000 events", func() bool {
		fams = scrapeMetrics(t, addr, token)
		m := sample(fams, "dataingest_events_written_total", "m1")
		return m != nil && m.GetCounter().GetValue() == 1000
	})
	if m := sample(fams, "dataingest_bytes_written_total", "m1"); m == nil || m.GetCounter().GetValue() != float64(bytes) {
		t.Errorf("bytes_written_total %v, the stream holds %d bytes of data", m, bytes)
	}
	batches := sample(fams, "dataingest_batches_written_total", "").GetCounter().GetValue()
	if h := sample(fams, "dataingest_batch_entries", "").GetHistogram(); h == nil || h.GetSampleSum() != 1000 || float64(h.GetSampleCount()) > batches {
		t.Errorf("batch_entries %v, want 1,000 entries in at most the %v batches written", h, batches)
	}
	h := sample(fams, "dataingest_commit_to_write_seconds", "m1").GetHistogram()
	if h == nil || h.GetSampleCount() == 0 || h.GetSampleSum() < 0 {
		t.Errorf("commit_to_write_seconds of m1: %v, want one sample a batch with entries", h)
	} else if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean > 5 {
		t.Errorf("commit_to_write_seconds: mean %.3fs for a task that keeps up", mean)
	}
	if m := sample(fams, "dataingest_lease_losses_total", ""); m == nil || m.GetCounter().GetValue() != 0 {
		t.Errorf("lease_losses_total %v, want 0", m)
	}

	// Stopped, the task's lag is nobody's here; its counters stay.
	if _, err := st.Publish(ctx, map[string]string{"cmd": "stop", "task": "m1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "m1's lag series gone", func() bool {
		fams = scrapeMetrics(t, addr, token)
		return sample(fams, "dataingest_task_lag_seconds", "m1") == nil && sample(fams, "dataingest_commit_to_write_seconds", "m1") == nil
	})
	if m := sample(fams, "dataingest_events_written_total", "m1"); m == nil || m.GetCounter().GetValue() != 1000 {
		t.Errorf("events_written_total after the stop: %v, want 1,000", m)
	}
}

// series returns the metrics of fams named name that carry every label of
// want (pairs of name and value).
func series(fams map[string]*dto.MetricFamily, name string, want ...string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// total is the sum of the values of series(fams, name, want...): counters,
// gauges, and histograms' sample counts.
func total(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	var v float64
	for _, m := range series(fams, name, want...) {
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return v
}

// TestOperatorMetrics runs two nodes with a snapshotting CDC task, a task
// paused on a full output and rejected commands, restarts the database and
// SIGKILLs a node, and checks that the metrics an operator alerts on say
// so: snapshot progress, backpressure time, source errors and reconnects,
// dead letters by reason, the fleet's task states, tasks without a live
// node, reclaims and the failover's duration, Redis round trips and errors.
func TestOperatorMetrics(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE om", "CREATE TABLE om.t (id INT PRIMARY KEY, v INT)", "ANALYZE TABLE om.t")
	insertSeq(t, m, "om.t", 2500, 0)
	m.Exec(t, "ANALYZE TABLE om.t") // TABLE_ROWS, the snapshot's estimate, counts the rows

	addrs := map[string]string{}
	procs := map[string]*testenv.Process{}
	for _, id := range []string{"n1", "n2"} {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		addrs[id] = fmt.Sprintf("127.0.0.1:%d", port)
		procs[id] = testenv.StartProcess(t, binary(t), append(nodeEnv(r.Addr, id), "DATAINGEST_HTTP_ADDR="+addrs[id]))
	}
	scrapeAll := func() map[string]map[string]*dto.MetricFamily {
		out := map[string]map[string]*dto.MetricFamily{}
		for id, a := range addrs {
			if procs[id] != nil {
				out[id] = scrapeMetrics(t, a, "")
			}
		}
		return out
	}
	fleetTotal := func(name string, want ...string) float64 {
		var v float64
		for _, fams := range scrapeAll() {
			v += total(fams, name, want...)
		}
		return v
	}
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, st.Keys().TaskEvents("full"), "slow", "0").Err(); err != nil {
		t.Fatal(err)
	}
	publish := func(cs ...map[string]string) {
		for _, c := range cs {
			if _, err := st.Publish(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One task a node, placed one after the other: no balance move.
	publish(map[string]string{"cmd": "start", "task": "full", "config": `{"taskType":"DATAGEN","datagen":{"rate":1000},"outputMaxLen":10}`})
	waitFor(t, 10*time.Second, "task full placed", func() bool {
		ti, _ := st.Task(ctx, "full")
		return ti.Node != ""
	})
	publish(map[string]string{"cmd": "start", "task": "snap", "config": cdcConfig(m, "initial", "om.t")},
		map[string]string{"cmd": "bogus", "task": "x"},
		map[string]string{"cmd": "start", "task": "bad id!"},
		map[string]string{"cmd": "start", "task": "x", "config": "{"},
		map[string]string{"cmd": "stop", "task": "nosuch"})
	nodeOf := func(task string) string {
		ti, _ := st.Task(ctx, task)
		return ti.Node
	}
	waitFor(t, 30*time.Second, "the snapshot's 2,500 rows", func() bool {
		n, _ := rdb.XLen(ctx, st.Keys().TaskEvents("snap")).Result()
		return n >= 2500 && nodeOf("snap") != ""
	})
	snapNode := nodeOf("snap")
	waitFor(t, 10*time.Second, "the snapshot's progress", func() bool {
		fams := scrapeMetrics(t, addrs[snapNode], "")
		return total(fams, "dataingest_snapshot_rows_read", "task", "snap") == 2500
	})
	if est := total(scrapeMetrics(t, addrs[snapNode], ""), "dataingest_snapshot_rows_estimated", "task", "snap"); est < 2500 || est > 5000 {
		t.Errorf("snapshot_rows_estimated %v for a snapshot of 2,500 rows", est)
	}

	waitFor(t, 20*time.Second, "task full paused on its full output for a second", func() bool {
		ti, _ := st.Task(ctx, "full")
		return ti.Status == "BACKPRESSURE" && fleetTotal("dataingest_backpressure_seconds_total", "task", "full") >= 1
	})
	waitFor(t, 10*time.Second, "a dead letter of each reason", func() bool {
		for _, reason := range []string{"bad_command", "bad_task_id", "bad_config", "unknown_task"} {
			if fleetTotal("dataingest_dead_letters_total", "reason", reason) != 1 {
				return false
			}
		}
		return fleetTotal("dataingest_dead_letters_total", "reason", "damaged_key") == 0
	})

	// The fleet as both nodes read it.
	var why string
	fleetSeen := func() bool {
		snapNode = nodeOf("snap")
		for id, fams := range scrapeAll() {
			for _, c := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"dataingest_fleet_nodes_alive", nil, 2},
				{"dataingest_fleet_task_state", []string{"task", "snap", "state", "RUNNING", "node", snapNode}, 1},
				{"dataingest_fleet_task_state", []string{"task", "full", "state", "BACKPRESSURE"}, 1},
				{"dataingest_fleet_task_running", []string{"task", "snap"}, 1},
				{"dataingest_fleet_task_running", []string{"task", "full"}, 0},
				{"dataingest_fleet_task_orphaned", []string{"task", "snap"}, 0},
				{"dataingest_fleet_tasks", []string{"state", "RUNNING"}, 1},
				{"dataingest_fleet_tasks", []string{"state", "BACKPRESSURE"}, 1},
			} {
				ss := series(fams, c.name, c.labels...)
				if len(ss) != 1 || total(fams, c.name, c.labels...) != c.want {
					why = fmt.Sprintf("%s: %s%v: %v, want %v", id, c.name, c.labels, ss, c.want)
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !fleetSeen(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for both nodes' view of the fleet: %s", why)
		}
	}
	for id, fams := range scrapeAll() {
		if p, run := total(fams, "dataingest_pending_starts"), total(fams, "dataingest_tasks_running"); p != run {
			t.Errorf("%s: %v pending start entries for %v tasks running", id, p, run)
		}
		if total(fams, "dataingest_redis_command_seconds", "cmd", "evalsha") == 0 {
			t.Errorf("%s: no Redis round trip timed for evalsha", id)
		}
	}

	// The source restarts: the task's session ends on a source error and
	// begins again.
	m.Restart(t)
	m.Exec(t, "INSERT INTO om.t VALUES (100000, 1)")
	waitFor(t, 30*time.Second, "the row written after the restart", func() bool {
		n, _ := rdb.XLen(ctx, st.Keys().TaskEvents("snap")).Result()
		return n == 2501
	})
	fams := scrapeMetrics(t, addrs[snapNode], "")
	if v := total(fams, "dataingest_source_errors_total", "task", "snap", "kind", "retried"); v < 1 {
		t.Errorf("source_errors_total{kind=retried} %v after the database restarted", v)
	}
	if v := total(fams, "dataingest_source_errors_total", "task", "snap", "kind", "permanent"); v != 0 {
		t.Errorf("source_errors_total{kind=permanent} %v", v)
	}
	if v := total(fams, "dataingest_source_reconnects_total", "task", "snap"); v < 1 {
		t.Errorf("source_reconnects_total %v after the database restarted", v)
	}
	if v := total(fams, "dataingest_source_errors_total", "task", "full"); v != 0 {
		t.Errorf("source_errors_total of the DATAGEN task: %v", v)
	}

	// SIGKILL the snapshot task's node: the other one sees the task
	// without a live node, reclaims it, and times the failover.
	dead, survivor := snapNode, "n1"
	if dead == "n1" {
		survivor = "n2"
	}
	lost := 0.0
	for _, ti := range []string{"snap", "full"} {
		if nodeOf(ti) == dead {
			lost++
		}
	}
	procs[dead].Kill(t)
	killed := time.Now()
	procs[dead] = nil
	orphaned := false
	waitFor(t, 20*time.Second, "the killed node's tasks running again on "+survivor, func() bool {
		fams := scrapeMetrics(t, addrs[survivor], "")
		if total(fams, "dataingest_fleet_task_orphaned", "task", "snap") == 1 {
			orphaned = true
		}
		return total(fams, "dataingest_tasks_running") == 2 && total(fams, "dataingest_fleet_task_orphaned", "task", "snap") == 0
	})
	took := time.Since(killed)
	if !orphaned {
		t.Errorf("snap was never shown without a live node between the kill and the reclaim")
	}
	fams = scrapeMetrics(t, addrs[survivor], "")
	if v := total(fams, "dataingest_reclaimed_entries_total"); v < lost {
		t.Errorf("reclaimed_entries_total %v, want at least the %v tasks of the killed node", v, lost)
	}
	h := series(fams, "dataingest_failover_seconds")
	if len(h) != 1 || float64(h[0].GetHistogram().GetSampleCount()) != lost {
		t.Fatalf("failover_seconds %v, want %v failovers", h, lost)
	}
	// From the last heartbeat (200 ms before the kill at most) to the
	// runner: the failover timeout (2 s) at least, and no more than the
	// time the test saw it take.
	if mean := h[0].GetHistogram().GetSampleSum() / lost; mean < 1.5 || mean > took.Seconds()+0.5 {
		t.Errorf("failover_seconds mean %.2fs; the lock lasts 2 s and the test saw %.2fs", mean, took.Seconds())
	}
	if v := total(fams, "dataingest_fleet_nodes_alive"); v != 1 {
		t.Errorf("fleet_nodes_alive %v after the kill", v)
	}

	// Cut the survivor's Redis connections: its blocked read fails.
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a Redis error counted", func() bool {
		return total(scrapeMetrics(t, addrs[survivor], ""), "dataingest_redis_errors_total") > 0
	})
}
