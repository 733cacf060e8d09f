package worker

import (
	"fmt"
	"testing"

	"github.com/dataingest/dataingest/store"
)

// TestDecide is the ownership protocol's decision table: what a start
// entry means for every kind of fact that changes the answer.
func TestDecide(t *testing.T) {
	running := store.DesiredRunning
	base := func(from origin) facts { return facts{Self: "n1", From: from, Room: true, Desired: running} }
	with := func(f facts, edit func(*facts)) facts { edit(&f); return f }
	cases := []struct {
		name string
		f    facts
		want decision
	}{
		// A new start.
		{"fresh start reads the lock", base(fresh), decision{Do: readLock}},
		{"fresh start of a free task asks the placer", with(base(fresh), func(f *facts) { f.Lock = lockFree }),
			decision{Do: place}},
		{"placed here runs here", with(base(fresh), func(f *facts) { f.Lock, f.Placed, f.Target = lockFree, true, "n1" }),
			decision{Do: runHere}},
		{"placed elsewhere is given there", with(base(fresh), func(f *facts) { f.Lock, f.Placed, f.Target = lockFree, true, "n3" }),
			decision{Do: give, To: "n3"}},
		{"no room anywhere waits here, said loudly", with(base(fresh), func(f *facts) { f.Lock, f.Placed = lockFree, true }),
			decision{Do: keep, Warn: true}},
		{"fresh duplicate of a task another node runs is acknowledged",
			with(base(fresh), func(f *facts) { f.Lock, f.Holder = lockOther, "n2" }), decision{Do: ack}},
		{"fresh duplicate needs no liveness: a dead holder's own entry is reclaimed",
			with(base(fresh), func(f *facts) { f.Lock, f.Holder = lockDead, "n2" }), decision{Do: ack}},
		{"fresh start of a task an earlier run of this node locked waits",
			with(base(fresh), func(f *facts) { f.Lock, f.Holder = lockHere, "n1" }), decision{Do: keep, Quiet: true}},
		{"start older than an applied command reads the desired state",
			with(base(fresh), func(f *facts) { f.Desired = desiredUnknown }), decision{Do: readDesired}},
		{"start older than a stop is acknowledged",
			with(base(fresh), func(f *facts) { f.Desired = store.DesiredStopped }), decision{Do: ack}},

		// A task running here.
		{"the runner's own entry stays", with(base(fresh), func(f *facts) { f.RunsHere, f.OwnEntry = true, true }),
			decision{Do: keep, Quiet: true}},
		{"the runner's own entry stays even when the task is no longer wanted: the runner acknowledges it",
			with(base(reclaimed), func(f *facts) { f.RunsHere, f.OwnEntry, f.Desired = true, true, store.DesiredDeleted }),
			decision{Do: keep, Quiet: true}},
		{"another start of a task running here is acknowledged", with(base(fresh), func(f *facts) { f.RunsHere = true }),
			decision{Do: ack}},
		{"running here needs no lock read", with(base(pending), func(f *facts) { f.RunsHere = true }),
			decision{Do: ack}},

		// Pending here: after a restart, given by another node, or waiting for a lock.
		{"pending entry reads the desired state", with(base(pending), func(f *facts) { f.Desired = desiredUnknown }),
			decision{Do: readDesired}},
		{"pending start of a deleted task is acknowledged", with(base(pending), func(f *facts) { f.Desired = desiredNone }),
			decision{Do: ack}},
		{"pending start of a stopped task is acknowledged",
			with(base(pending), func(f *facts) { f.Desired = store.DesiredStopped }), decision{Do: ack}},
		{"pending start of a task being deleted is acknowledged",
			with(base(pending), func(f *facts) { f.Desired = store.DesiredDeleted }), decision{Do: ack}},
		{"given here with room runs here without asking the placer",
			with(base(pending), func(f *facts) { f.Lock = lockFree }), decision{Do: runHere}},
		{"given here without room asks the placer", with(base(pending), func(f *facts) { f.Lock, f.Room = lockFree, false }),
			decision{Do: place}},
		{"given here without room goes where the placer says",
			with(base(pending), func(f *facts) { f.Lock, f.Room, f.Placed, f.Target = lockFree, false, true, "n2" }),
			decision{Do: give, To: "n2"}},
		{"no room anywhere for a pending entry waits quietly",
			with(base(pending), func(f *facts) { f.Lock, f.Room, f.Placed = lockFree, false, true }),
			decision{Do: keep, Quiet: true}},
		{"pending entry of a task another node locked asks whether it lives",
			with(base(pending), func(f *facts) { f.Lock, f.Holder = lockOther, "n2" }), decision{Do: readLiveness}},
		{"pending entry of a task a live node runs goes back to it",
			with(base(pending), func(f *facts) { f.Lock, f.Holder = lockLive, "n2" }), decision{Do: give, To: "n2"}},
		{"pending entry of a task a dead node locked waits for the lock",
			with(base(pending), func(f *facts) { f.Lock, f.Holder = lockDead, "n2" }), decision{Do: keep, Quiet: true}},
		{"pending entry locked by an earlier run of this node waits",
			with(base(pending), func(f *facts) { f.Lock, f.Holder = lockHere, "n1" }), decision{Do: keep, Quiet: true}},

		// Reclaimed from a dead node, or handed over by a stopping one.
		{"reclaimed free task asks the placer, near", with(base(reclaimed), func(f *facts) { f.Lock = lockFree }),
			decision{Do: place, Near: true}},
		{"reclaimed even with room here asks the placer",
			with(base(reclaimed), func(f *facts) { f.Lock, f.Room = lockFree, true }), decision{Do: place, Near: true}},
		{"reclaimed and placed here runs here",
			with(base(reclaimed), func(f *facts) { f.Lock, f.Placed, f.Target = lockFree, true, "n1" }), decision{Do: runHere}},
		{"reclaimed entry of a task a live node runs goes back to it",
			with(base(reclaimed), func(f *facts) { f.Lock, f.Holder = lockLive, "n3" }), decision{Do: give, To: "n3"}},
		{"reclaimed entry whose lock has not expired yet waits",
			with(base(reclaimed), func(f *facts) { f.Lock, f.Holder = lockDead, "n2" }), decision{Do: keep, Quiet: true}},

		// This node is handing its tasks over.
		{"closing reads the lock", with(base(fresh), func(f *facts) { f.Closing = true }), decision{Do: readLock}},
		{"closing keeps the entry of a task it holds: it leaves with the hand-over",
			with(base(pending), func(f *facts) { f.Closing, f.Lock, f.Holder = true, lockHere, "n1" }),
			decision{Do: keep, Quiet: true}},
		{"closing republishes a free task's start",
			with(base(fresh), func(f *facts) { f.Closing, f.Lock = true, lockFree }), decision{Do: republish}},
		{"closing republishes a start of a task another node runs",
			with(base(pending), func(f *facts) { f.Closing, f.Lock, f.Holder = true, lockOther, "n2" }),
			decision{Do: republish}},
		{"closing acknowledges a stale start rather than republish it",
			with(base(pending), func(f *facts) { f.Closing, f.Desired = true, store.DesiredStopped }), decision{Do: ack}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decide(c.f)
			got.Why = ""
			if got != c.want {
				t.Errorf("decide(%+v)\n got %+v\nwant %+v", c.f, got, c.want)
			}
		})
	}
}

// TestDecideEveryPath plays decide against every answer each fact it asks
// for can have, from every starting situation, and checks the protocol's
// rules on every path: a final step within five, no fact asked twice, and
// no final step that could run a task twice or lose its entry.
func TestDecideEveryPath(t *testing.T) {
	answers := map[step][]func(*facts){
		readDesired: {
			func(f *facts) { f.Desired = store.DesiredRunning },
			func(f *facts) { f.Desired = store.DesiredStopped },
			func(f *facts) { f.Desired = store.DesiredDeleted },
			func(f *facts) { f.Desired = desiredNone },
		},
		readLock: {
			func(f *facts) { f.Lock, f.Holder = lockFree, "" },
			func(f *facts) { f.Lock, f.Holder = lockHere, f.Self },
			func(f *facts) { f.Lock, f.Holder = lockOther, "n2" },
		},
		readLiveness: {
			func(f *facts) { f.Lock = lockLive },
			func(f *facts) { f.Lock = lockDead },
		},
		place: {
			func(f *facts) { f.Placed, f.Target = true, "" },
			func(f *facts) { f.Placed, f.Target = true, f.Self },
			func(f *facts) { f.Placed, f.Target = true, "n3" },
		},
	}
	paths := 0
	var walk func(t *testing.T, start, f facts, asked []step)
	walk = func(t *testing.T, start, f facts, asked []step) {
		d := decide(f)
		if !d.Do.final() {
			for _, a := range asked {
				if a == d.Do {
					t.Fatalf("from %+v: %v asked twice (path %v)", start, d.Do, asked)
				}
			}
			if len(asked) == 5 {
				t.Fatalf("from %+v: no final step after %v", start, asked)
			}
			fill := answers[d.Do]
			if fill == nil {
				t.Fatalf("from %+v: unknown step %d", start, d.Do)
			}
			for _, answer := range fill {
				next := f
				answer(&next)
				walk(t, start, next, append(asked[:len(asked):len(asked)], d.Do))
			}
			return
		}
		paths++
		bad := func(rule string) { t.Errorf("from %+v via %v to %+v: %s: %+v", start, asked, f, rule, d) }
		wanted := f.Desired == store.DesiredRunning
		heldElsewhere := f.Lock == lockOther || f.Lock == lockLive || f.Lock == lockDead
		switch d.Do {
		case runHere:
			switch {
			case !wanted:
				bad("runs a task not wanted running")
			case f.Closing:
				bad("runs a task on a node that is handing its tasks over")
			case f.RunsHere:
				bad("starts a second runner")
			case f.Lock != lockFree:
				bad("runs a task whose lock is not known free")
			case !(f.From == pending && f.Room) && f.Target != f.Self:
				bad("runs here what the placer put elsewhere")
			}
		case give:
			switch {
			case d.To == "" || d.To == f.Self:
				bad("gives the entry to no node or to itself")
			case !wanted || f.Closing || f.RunsHere:
				bad("gives an entry that should be acknowledged, kept or republished")
			case heldElsewhere && (f.Lock != lockLive || d.To != f.Holder):
				bad("gives the entry of a locked task to a node other than its live holder")
			case f.Lock == lockFree && (!f.Placed || d.To != f.Target):
				bad("gives a free task's entry where the placer did not say")
			}
		case ack:
			switch {
			case f.RunsHere && f.OwnEntry:
				bad("acknowledges the entry a running task holds")
			case wanted && !f.RunsHere && f.From != fresh:
				bad("acknowledges a pending or reclaimed entry of a task wanted running and not running here: it may be the only one")
			case wanted && !f.RunsHere && !heldElsewhere:
				bad("acknowledges the start of a task nobody else runs")
			}
		case republish:
			if !f.Closing || !wanted || f.Lock == lockHere {
				bad("republishes outside a hand-over, a stale start, or a task leaving with the hand-over")
			}
		case keep:
			if !wanted && !(f.RunsHere && f.OwnEntry) { // a runner's own entry is the runner's to acknowledge
				bad("keeps a start of a task not wanted running")
			}
		}
		if d.Do != runHere && d.Why == "" {
			bad("no reason to log")
		}
	}
	for _, from := range []origin{fresh, pending, reclaimed} {
		for _, desired := range []string{desiredUnknown, store.DesiredRunning} {
			for bits := 0; bits < 16; bits++ {
				f := facts{Self: "n1", From: from, Desired: desired,
					Closing: bits&1 != 0, RunsHere: bits&2 != 0, OwnEntry: bits&4 != 0, Room: bits&8 != 0}
				if f.OwnEntry && !f.RunsHere || f.Closing && f.RunsHere {
					continue // Tasks reports no runner once closing; an own entry needs a runner
				}
				t.Run(fmt.Sprintf("%d/%q/%04b", from, desired, bits), func(t *testing.T) { walk(t, f, f, nil) })
			}
		}
	}
	if paths < 100 {
		t.Fatalf("only %d paths walked", paths)
	}
	t.Logf("%d paths", paths)
}
