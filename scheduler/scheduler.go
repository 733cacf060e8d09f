// Package scheduler decides where tasks run: which node takes a new or
// orphaned task (placement), how many tasks an overloaded node gives up and
// to whom (balance), and, in Monitor, when a dead node's tasks are
// reclaimed.
//
// # Placement
//
// A task that nobody runs goes to the live node with the fewest tasks that
// still has capacity (DATAINGEST_MAX_TASKS); on a tie the deciding node
// keeps it, so a lone node never hands work around. Counts come from the
// nodes' heartbeats plus the placements this node made since it last read
// them, so a burst of starts spreads instead of piling onto one node.
//
// # Balance
//
// Every TASK_MONITOR_INTERVAL each node computes, from the same view of the
// fleet, how many tasks each live node should run (Allot): the T tasks
// spread as evenly as the nodes' DATAINGEST_MAX_TASKS allow, the one extra
// task of an uneven split going to the nodes that run the most now. A node
// above its allotment gives the excess to the nodes below theirs, most
// missing first. A sender runs at least two tasks more than its receiver
// (or is above its MaxTasks), so every move narrows a gap of two or more:
// the sum of the squared loads falls, moves cannot go back and forth (no
// flapping), and they stop when every node runs its allotment, loads of
// nodes with room within one of each other. Each node sheds only its own
// excess, so concurrent decisions on the same view add up to the deficits
// instead of overfilling a node. A moved task stops at a written
// checkpoint, is handed to its new node and resumes there, so a move loses
// and duplicates nothing. After a join, the old nodes shed in one monitor
// interval, which is how a joining node takes its share (9 tasks on 3
// nodes and a fourth joins: 3/2/2/2). Nodes balance only while no command
// waits unread and the loads are Settled: while a burst of starts or a
// dead node's tasks are being placed, the counts of the nodes placing them
// say where tasks may go, not where they run, and moves decided on them
// undo placements that were right. A fleet that stays unsettled but
// unchanged for a whole interval is balanced anyway.
package scheduler

import "sort"

// Node is one live node as the scheduler sees it.
type Node struct {
	ID       string
	Tasks    int // start entries pending on it: the tasks it runs and those it is about to start or place
	MaxTasks int // 0: no limit
	// Running is the number of tasks its last heartbeat listed, which
	// lags Tasks by up to a heartbeat.
	Running int
}

func (n Node) hasRoom() bool { return n.MaxTasks == 0 || n.Tasks < n.MaxTasks }

// Settled reports whether the loads are fit to balance: no node with room
// at or above its allotment holds start entries it does not run yet (the
// rest of a batch of commands it is placing, entries reclaimed from a dead
// node). While a burst of starts or a dead node's tasks are being placed,
// such a node's count says where tasks may go, not where they run, and
// moves decided on it undo placements that were right. A node below its
// allotment may hold entries it has not started yet (given to it by a
// move): it runs them, and balance need not wait for its heartbeat to say
// so. A node without room holds entries that wait for room; they do not
// count either.
func Settled(nodes []Node) bool {
	allot := Allot(nodes)
	for _, n := range nodes {
		if n.hasRoom() && n.Tasks > n.Running && n.Tasks >= allot[n.ID] {
			return false
		}
	}
	return true
}

// Place returns the node that should run a task nobody runs: the node with
// the fewest tasks among those with room, self on a tie; "" when no node
// has room.
func Place(nodes []Node, self string) string {
	best := -1
	for i, n := range nodes {
		if !n.hasRoom() {
			continue
		}
		if best < 0 || n.Tasks < nodes[best].Tasks || (n.Tasks == nodes[best].Tasks && n.ID == self) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return nodes[best].ID
}

// Target is the number of tasks each node should run: ceil(T/N) over the
// live nodes.
func Target(nodes []Node) int {
	total := 0
	for _, n := range nodes {
		total += n.Tasks
	}
	if len(nodes) == 0 {
		return 0
	}
	return (total + len(nodes) - 1) / len(nodes)
}

// Allot returns how many of the fleet's T tasks each node should run: as
// even as the nodes' MaxTasks allow (water-filling), so that loads of
// nodes with room differ by at most one. The nodes that get one task more
// than the level are those that run the most now (ties by id), so that a
// balanced fleet is allotted what it runs and nothing moves. Every node
// computes the same allotment from the same view. When the fleet has less
// room than tasks, every node is allotted its MaxTasks.
func Allot(nodes []Node) map[string]int {
	total := 0
	for _, n := range nodes {
		total += n.Tasks
	}
	capOf := func(n Node) int {
		if n.MaxTasks > 0 {
			return n.MaxTasks
		}
		return total
	}
	filled := func(level int) int {
		sum := 0
		for _, n := range nodes {
			sum += min(capOf(n), level)
		}
		return sum
	}
	// The highest level whose filling fits the tasks.
	lo, hi := 0, total
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if filled(mid) <= total {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := nodes[order[i]], nodes[order[j]]
		return a.Tasks > b.Tasks || (a.Tasks == b.Tasks && a.ID < b.ID)
	})
	out := make(map[string]int, len(nodes))
	rest := total - filled(lo)
	for _, i := range order {
		n := nodes[i]
		out[n.ID] = min(capOf(n), lo)
		if rest > 0 && capOf(n) > lo {
			out[n.ID]++
			rest--
		}
	}
	return out
}

// Shed returns the nodes self should give one task each (see Balance in
// the package comment); nil when self should keep all its tasks. The
// deficits of the fleet are laid out as one sequence of slots (round
// robin over the receivers, most missing first) and the senders, in id
// order, take consecutive runs of it, so that nodes deciding at once on
// the same view fill each deficit once, never a node twice over.
func Shed(nodes []Node, self string) []string {
	allot := Allot(nodes)
	if _, ok := allot[self]; !ok {
		return nil
	}
	type gap struct {
		id string
		n  int // tasks above (senders) or below (receivers) the allotment
	}
	var senders, receivers []gap
	for _, n := range nodes {
		switch d := n.Tasks - allot[n.ID]; {
		case d > 0:
			senders = append(senders, gap{n.ID, d})
		case d < 0:
			receivers = append(receivers, gap{n.ID, -d})
		}
	}
	sort.Slice(senders, func(i, j int) bool { return senders[i].id < senders[j].id })
	sort.Slice(receivers, func(i, j int) bool {
		if receivers[i].n != receivers[j].n {
			return receivers[i].n > receivers[j].n
		}
		return receivers[i].id < receivers[j].id
	})
	var slots []string
	for more := true; more; {
		more = false
		for i := range receivers {
			if receivers[i].n > 0 {
				slots = append(slots, receivers[i].id)
				receivers[i].n--
				more = true
			}
		}
	}
	from := 0
	for _, g := range senders {
		if g.id == self {
			if from >= len(slots) {
				return nil
			}
			return slots[from:min(from+g.n, len(slots))]
		}
		from += g.n
	}
	return nil
}
