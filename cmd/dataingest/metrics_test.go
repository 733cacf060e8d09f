package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// scrapeMetrics reads a node's /metrics with the API token.
func scrapeMetrics(t *testing.T, addr, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
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
