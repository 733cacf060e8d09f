package main

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExactlyOnceWhileOwnerKilledRepeatedly inserts rows continuously
// while the node running the MYSQL_CDC task is SIGKILLed, and in every
// other round SIGSTOPped past its lease and resumed, again and again;
// every row must arrive once, in order, and after each fault another
// node (or the restarted one) writes again.
func TestExactlyOnceWhileOwnerKilledRepeatedly(t *testing.T) {
	eachFlavor(t, true, testExactlyOnceWhileOwnerKilledRepeatedly)
}

func testExactlyOnceWhileOwnerKilledRepeatedly(t *testing.T, fl dbFlavor) {
	m := fl.start(t)
	m.Exec(t, "CREATE DATABASE x", "CREATE TABLE x.t (id INT PRIMARY KEY, v VARCHAR(32))")
	f := newFleet(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		f.start(id)
	}
	f.publish("cmd", "start", "task", "x", "config", cdcConfig(m, "never", "x.t"))
	waitForStart(t, f.st, "x")
	in := startInserter(t, m, "x.t", 7, time.Millisecond)
	for round := 0; round < 4; round++ {
		var owner string
		waitFor(t, 15*time.Second, "an owner writing", func() bool {
			owner = f.owners([]string{"x"})["x"]
			return owner != ""
		})
		n := f.length("x")
		waitFor(t, 10*time.Second, "the owner writing", func() bool { return f.length("x") > n })
		if round%2 == 0 {
			f.kill(owner)
			time.Sleep(300 * time.Millisecond)
			f.start(owner)
			continue
		}
		// Paused past its lease (FAILOVER_TIMEOUT 2s): another node takes
		// over while the paused one still holds its binlog dump and its
		// in-flight batch; after SIGCONT the fence refuses that batch.
		f.nodes[owner].Pause(t)
		time.Sleep(2500 * time.Millisecond)
		f.nodes[owner].Resume(t)
	}
	total := in.Stop()
	checkRowsOnce(t, f.rdb, f.st, "x", total)
	t.Logf("%d rows exactly once across 2 SIGKILLs and 2 SIGSTOPs of the owner", total)
}

// TestChaos kills, pauses, stops and restarts random nodes of a fleet
// running DATAGEN tasks for a bounded time, then checks every task's
// stream for gaps and duplicates (a duplicate means two writers). CI runs
// it for 20 s with seed 1; DATAINGEST_CHAOS_DURATION (e.g. 10m) and
// DATAINGEST_CHAOS_SEED run it longer or differently.
func TestChaos(t *testing.T) {
	duration := 20 * time.Second
	if v := os.Getenv("DATAINGEST_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("DATAINGEST_CHAOS_DURATION: %v", err)
		}
		duration = d
	}
	seed := uint64(1)
	if v := os.Getenv("DATAINGEST_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DATAINGEST_CHAOS_SEED: %v", err)
		}
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("chaos for %v with seed %d", duration, seed)

	f := newFleet(t)
	ids := []string{"n1", "n2", "n3", "n4"}
	for _, id := range ids {
		f.start(id)
	}
	tasks := datagenTasks(f, 8, 300)
	f.waitAllRunning(tasks, 15*time.Second)

	type state int
	const (
		up state = iota
		down
		paused
	)
	states := map[string]state{}
	upCount := func() int {
		n := 0
		for _, id := range ids {
			if states[id] == up {
				n++
			}
		}
		return n
	}
	var actions []string
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		id := ids[rng.IntN(len(ids))]
		switch states[id] {
		case down:
			f.start(id)
			states[id] = up
			actions = append(actions, "start "+id)
		case paused:
			f.nodes[id].Resume(t)
			states[id] = up
			actions = append(actions, "resume "+id)
		case up:
			if upCount() <= 1 {
				continue // keep one node running
			}
			switch rng.IntN(3) {
			case 0:
				f.kill(id)
				states[id] = down
				actions = append(actions, "kill "+id)
			case 1:
				f.nodes[id].Pause(t)
				states[id] = paused
				actions = append(actions, "pause "+id)
			case 2:
				f.nodes[id].Signal(t, syscall.SIGTERM)
				f.nodes[id].Wait(10 * time.Second)
				states[id] = down
				actions = append(actions, "sigterm "+id)
			}
		}
	}
	t.Logf("actions: %s", strings.Join(actions, ", "))
	for _, id := range ids {
		switch states[id] {
		case down:
			f.start(id)
		case paused:
			f.nodes[id].Resume(t)
		}
	}
	f.waitAllRunning(tasks, 20*time.Second)
	waitFor(t, 20*time.Second, "every task writing again", f.writingAgain(tasks, f.lengths(tasks)))
	f.checkGapFree(tasks)
	var total int64
	for _, id := range tasks {
		total += f.length(id)
	}
	t.Logf("%d events over %d tasks, gap-free and duplicate-free; loads %v", total, len(tasks), f.load(tasks))
}
