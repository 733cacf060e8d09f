package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
)

// TestMillionRowUpdateAcrossSIGKILL streams one 1,000,000-row UPDATE and
// SIGKILLs the node in the middle of it: the task resumes inside the
// transaction (its checkpoint counts the rows already written) and every
// row's update arrives exactly once, in order. The node's peak memory is
// logged; `make bench` is where memory is measured. It runs on MariaDB and
// on MySQL at its defaults (binlog_row_metadata MINIMAL).
func TestMillionRowUpdateAcrossSIGKILL(t *testing.T) {
	eachFlavor(t, false, testMillionRowUpdateAcrossSIGKILL)
}

func testMillionRowUpdateAcrossSIGKILL(t *testing.T, fl dbFlavor) {
	const rows = 1_000_000
	m := fl.start(t, testenv.WithConfig("max_binlog_cache_size=4G", "binlog_cache_size=1M"))
	m.Exec(t, "CREATE DATABASE big", "CREATE TABLE big.t (id INT PRIMARY KEY, v INT)")
	insertSeq(t, m, "big.t", rows, 0)
	f := newFleet(t)
	f.start("n1")
	cfg := cdcConfig(m, "never", "big.t")
	f.publish("cmd", "start", "task", "big", "config", cfg)
	waitFor(t, 10*time.Second, "the start position", func() bool {
		o, _ := f.st.LoadOffset(context.Background(), "big")
		return o["file"] != ""
	})
	start := time.Now()
	m.Exec(t, "UPDATE big.t SET v = 1")
	t.Logf("the %d-row UPDATE took %v", rows, time.Since(start))
	waitFor(t, 60*time.Second, "a third of the transaction", func() bool { return f.length("big") > rows/3 })
	peak := vmHWM(f.nodes["n1"].Pid())
	f.kill("n1")
	o, _ := f.st.LoadOffset(context.Background(), "big")
	t.Logf("killed after %d events; checkpoint %s:%s + %s rows; node peak RSS %s", f.length("big"), o["file"], o["pos"], o["tx_rows"], peak)
	if o["tx_rows"] == "0" {
		t.Errorf("the checkpoint is not inside the transaction: %v", o)
	}
	f.start("n1")
	waitFor(t, 120*time.Second, "every row", func() bool { return f.length("big") >= rows })
	t.Logf("node peak RSS after the restart: %s", vmHWM(f.nodes["n1"].Pid()))

	ctx := context.Background()
	stream := f.st.Keys().TaskEvents("big")
	next := int64(1)
	for start := "-"; ; {
		msgs, err := f.rdb.XRangeN(ctx, stream, start, "+", 10000).Result()
		if err != nil {
			t.Fatal(err)
		}
		if start != "-" {
			msgs = msgs[1:]
		}
		if len(msgs) == 0 {
			break
		}
		for _, msg := range msgs {
			env, err := events.Decode([]byte(msg.Values["data"].(string)))
			if err != nil {
				t.Fatal(err)
			}
			after := env["after"].(map[string]any)
			if env["op"] != "u" || after["id"].(int64) != next || after["v"].(int64) != 1 {
				t.Fatalf("event for row %d is %v %v: gap or duplicate", next, env["op"], after)
			}
			next++
		}
		start = msgs[len(msgs)-1].ID
	}
	if next-1 != rows {
		t.Fatalf("got %d updates, want %d", next-1, rows)
	}
}

// vmHWM is a process's peak resident memory, as /proc shows it.
func vmHWM(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
