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
// With T tasks on N live nodes, the target is ceil(T/N). Every
// TASK_MONITOR_INTERVAL each node with more than target tasks gives its
// excess to the nodes below target, most-missing first, but only to nodes
// with at least two tasks fewer than itself. Every move therefore narrows a
// gap of two or more: the sum of the squared loads strictly falls, so moves
// cannot go back and forth (no flapping), and they stop when no two nodes
// differ by more than one, or all are at target. Each node sheds only its
// own excess, so concurrent decisions on the same view add up to the
// deficits instead of overfilling a node. A node above its MaxTasks sheds
// down to it wherever there is room. A moved task stops at a written
// checkpoint, is handed to its new node and resumes there, so a move loses
// and duplicates nothing. After a join, every old node sheds in one monitor
// interval, which is how a joining node takes its share.
package scheduler

import "sort"

// Node is one live node as the scheduler sees it.
type Node struct {
	ID       string
	Tasks    int
	MaxTasks int // 0: no limit
}

func (n Node) hasRoom() bool { return n.MaxTasks == 0 || n.Tasks < n.MaxTasks }

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

// Shed returns the nodes self should give one task each (see Balance in
// the package comment); nil when self should keep all its tasks.
func Shed(nodes []Node, self string) []string {
	var me *Node
	for i := range nodes {
		if nodes[i].ID == self {
			me = &nodes[i]
		}
	}
	if me == nil {
		return nil
	}
	target := Target(nodes)
	excess := max(me.Tasks-target, 0)
	overMax := me.MaxTasks > 0 && me.Tasks > me.MaxTasks
	if overMax {
		excess = max(excess, me.Tasks-me.MaxTasks)
	}
	if excess == 0 {
		return nil
	}
	type slot struct {
		id   string
		free int
	}
	var slots []slot
	for _, n := range nodes {
		if n.ID == self {
			continue
		}
		free := target - n.Tasks
		if !overMax {
			free = min(free, me.Tasks-1-n.Tasks) // only where the gap is two or more
		}
		if n.MaxTasks > 0 {
			free = min(free, n.MaxTasks-n.Tasks)
		}
		if free > 0 {
			slots = append(slots, slot{n.ID, free})
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].free != slots[j].free {
			return slots[i].free > slots[j].free
		}
		return slots[i].id < slots[j].id
	})
	var out []string
	for len(out) < excess {
		given := false
		for i := range slots {
			if slots[i].free > 0 && len(out) < excess {
				out = append(out, slots[i].id)
				slots[i].free--
				given = true
			}
		}
		if !given {
			break
		}
	}
	return out
}
