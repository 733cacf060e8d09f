package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// spread is the loads of a fleet, sorted high to low ("3/2/2/2").
func spread(load map[string]int, nodes []string) string {
	var l []int
	for _, n := range nodes {
		l = append(l, load[n])
	}
	for i := range l {
		for j := i + 1; j < len(l); j++ {
			if l[j] > l[i] {
				l[i], l[j] = l[j], l[i]
			}
		}
	}
	var s []string
	for _, n := range l {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, "/")
}

// moves counts the balance moves the nodes logged.
func (f *fleet) moves() int {
	n := 0
	for _, r := range f.runs {
		n += strings.Count(r.p.Output(), "moving task for balance")
	}
	return n
}

// TestBurstPlacesEvenlyAndAJoinerTakesItsShare: nine starts in a burst on
// three nodes are placed 3/3/3 with no corrective move; a fourth node
// joins and the fleet converges to 3/2/2/2 (loads within one) with exactly
// the two moves that needs, and then stays put.
func TestBurstPlacesEvenlyAndAJoinerTakesItsShare(t *testing.T) {
	f := newFleet(t)
	nodes := []string{"n1", "n2", "n3"}
	for _, id := range nodes {
		f.start(id)
	}
	f.waitNodes(3)
	tasks := datagenTasks(f, 9, 50)
	f.waitAllRunning(tasks, 10*time.Second)
	if s := spread(f.load(tasks), nodes); s != "3/3/3" {
		t.Errorf("a burst of 9 starts on 3 nodes placed %s, want 3/3/3", s)
	}
	time.Sleep(2500 * time.Millisecond) // two monitor rounds
	if m := f.moves(); m != 0 {
		t.Errorf("%d balance moves after a burst of starts, want none", m)
	}

	f.start("n4")
	nodes = append(nodes, "n4")
	waitFor(t, 10*time.Second, "3/2/2/2", func() bool { return spread(f.load(tasks), nodes) == "3/2/2/2" })
	f.waitAllRunning(tasks, 10*time.Second)
	time.Sleep(3 * time.Second) // three more monitor rounds: nothing moves
	if s := spread(f.load(tasks), nodes); s != "3/2/2/2" {
		t.Errorf("loads %s after the join settled, want 3/2/2/2", s)
	}
	if m := f.moves(); m != 2 {
		t.Errorf("%d balance moves for the join, want 2", m)
	}
	f.checkGapFree(tasks)
}
