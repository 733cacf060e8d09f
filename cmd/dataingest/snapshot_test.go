package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
)

// TestSnapshotSurvivesSIGKILL kills the node in the middle of an initial
// snapshot and changes rows on both sides of its cursor before the node
// comes back: a row read before the kill gets its change as an event, a row
// read after it shows the change in its `r` event, and no row is read twice.
func TestSnapshotSurvivesSIGKILL(t *testing.T) {
	eachFlavor(t, true, testSnapshotSurvivesSIGKILL)
}

func testSnapshotSurvivesSIGKILL(t *testing.T, fl dbFlavor) {
	const rows = 30000
	m := fl.start(t)
	m.Exec(t, "CREATE DATABASE snap", "CREATE TABLE snap.t (id INT PRIMARY KEY, v INT)")
	insertSeq(t, m, "snap.t", rows, 0)
	f := newFleet(t)
	f.start("n1")
	cfg := cdcConfig(m, "initial", "snap.t")
	f.publish("cmd", "start", "task", "snap", "config", cfg)
	waitFor(t, 20*time.Second, "part of the snapshot", func() bool { return f.length("snap") > 2000 })
	f.kill("n1")
	read := f.length("snap")
	o, _ := f.st.LoadOffset(context.Background(), "snap")
	if read >= rows || !strings.Contains(o["snapshot"], `"phase":"read"`) {
		t.Fatalf("killed after %d of %d rows with checkpoint %v: not mid-snapshot", read, rows, o)
	}
	m.Exec(t, "UPDATE snap.t SET v = 7 WHERE id = 1", // read before the kill
		fmt.Sprintf("UPDATE snap.t SET v = 8 WHERE id = %d", rows), // read after
		fmt.Sprintf("INSERT INTO snap.t VALUES (%d, 9)", rows+1))
	f.start("n1")
	waitFor(t, 30*time.Second, "the rest", func() bool { return f.length("snap") >= rows+2 })
	time.Sleep(500 * time.Millisecond)

	msgs, err := f.rdb.XRange(context.Background(), f.st.Keys().TaskEvents("snap"), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	var changes []string
	for _, msg := range msgs {
		env, err := events.Decode([]byte(msg.Values["data"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		after := env["after"].(map[string]any)
		id, v := after["id"].(int64), after["v"].(int64)
		switch env["op"] {
		case "r":
			seen[id]++
			if id == rows && v != 8 || id == rows+1 && v != 9 {
				t.Errorf("row %d read as v=%d", id, v)
			}
		default:
			changes = append(changes, fmt.Sprintf("%s %d v=%d", env["op"], id, v))
		}
	}
	for id := int64(1); id <= rows+1; id++ {
		if seen[id] != 1 {
			t.Fatalf("row %d read %d times", id, seen[id])
		}
	}
	if strings.Join(changes, ";") != "u 1 v=7" {
		t.Errorf("changes after the snapshot: %v, want only the update of row 1", changes)
	}
	t.Logf("killed after %d rows; %d events in all", read, len(msgs))
}
