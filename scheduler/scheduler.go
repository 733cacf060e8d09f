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
// With T tasks running on N live nodes, the target is ceil(T/N) (or a
// node's MaxTasks, if lower). Every TASK_MONITOR_INTERVAL each node
// compares its own count with the target: a node above target+1 gives up
// count-target tasks, assigning them to the nodes furthest below target.
// Only nodes above target+1 move tasks, and they stop at target, so a fleet
// within one task of even never moves anything: no flapping. A moved task
// stops at a written checkpoint, is handed to its new node and resumes
// there, so a move loses and duplicates nothing. After a join, every old
// node sheds its excess in one monitor interval, which is how a joining
// node takes its share.
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

// Shed returns how many tasks self should give up and to which nodes (one
// id per task). A node above its MaxTasks sheds the excess; a node above
// Target+1 sheds down to Target. Tasks go to the nodes furthest below
// Target that have room; when none has room, nothing is shed for balance.
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
	excess := 0
	if me.Tasks > target+1 {
		excess = me.Tasks - target
	}
	if me.MaxTasks > 0 && me.Tasks-excess > me.MaxTasks {
		excess = me.Tasks - me.MaxTasks
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
