package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dataingest/dataingest/store"
)

// Fleet is one node's view of the live nodes and their loads, for placing
// tasks. A node's load is the number of start entries pending on its
// consumer: the tasks it runs plus those handed to it and not yet started,
// which is fresher than heartbeats. Liveness and capacity come from the
// heartbeats. A view is reused for a second; placements made meanwhile are
// added to it.
type Fleet struct {
	store    *store.Store
	self     string
	maxTasks int

	mu      sync.Mutex // guards nodes, fetched
	nodes   []Node
	fetched time.Time
}

// viewTTL is how long a fetched view serves placements.
const viewTTL = time.Second

// NewFleet returns the fleet view of node self, whose own MaxTasks is
// maxTasks.
func NewFleet(st *store.Store, self string, maxTasks int) *Fleet {
	return &Fleet{store: st, self: self, maxTasks: maxTasks}
}

// Nodes reads the live nodes and their loads now.
func (f *Fleet) Nodes(ctx context.Context) ([]Node, error) {
	infos, err := f.store.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	loads, err := f.store.PendingCounts(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []Node
	hasSelf := false
	for _, n := range infos {
		if !n.Alive {
			continue
		}
		if n.NodeID == f.self {
			hasSelf = true
			n.MaxTasks = f.maxTasks
		}
		nodes = append(nodes, Node{ID: n.NodeID, Tasks: int(loads[n.NodeID]), MaxTasks: n.MaxTasks})
	}
	if !hasSelf { // before this node's first heartbeat
		nodes = append(nodes, Node{ID: f.self, Tasks: int(loads[f.self]), MaxTasks: f.maxTasks})
	}
	return nodes, nil
}

func (f *Fleet) view(ctx context.Context) ([]Node, error) {
	if time.Since(f.fetched) < viewTTL && f.nodes != nil {
		return f.nodes, nil
	}
	nodes, err := f.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the fleet: %w", err)
	}
	f.nodes, f.fetched = nodes, time.Now()
	return nodes, nil
}

// Place returns the node that should run a task nobody runs, "" when no
// live node has room, and counts the task on that node.
func (f *Fleet) Place(ctx context.Context) (string, error) {
	return f.place(ctx, false)
}

// PlaceNear is Place, except that this node keeps the task when it has
// room and at most one task more than the chosen node: for tasks that must
// move at once (a dead or stopping node's), where handing them on would
// cost seconds and balance evens out the rest. It reads the fleet afresh,
// since nodes are leaving it.
func (f *Fleet) PlaceNear(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nil // nodes are dying: look at the fleet now, not a second ago
	nodes, err := f.view(ctx)
	if err != nil {
		return "", err
	}
	to := Place(nodes, f.self)
	var best, self *Node
	for i := range nodes {
		switch nodes[i].ID {
		case to:
			best = &nodes[i]
		case f.self:
			self = &nodes[i]
		}
	}
	if to == f.self {
		self = best
	}
	if self != nil && self.hasRoom() && (best == nil || self.Tasks <= best.Tasks+1) {
		to, best = f.self, self
	}
	if best != nil {
		best.Tasks++
	}
	return to, nil
}

// PlaceElsewhere is Place among the nodes other than this one.
func (f *Fleet) PlaceElsewhere(ctx context.Context) (string, error) {
	return f.place(ctx, true)
}

func (f *Fleet) place(ctx context.Context, elsewhere bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if elsewhere {
		f.nodes = nil // a failover is rare: always look at the fleet now
	}
	nodes, err := f.view(ctx)
	if err != nil {
		return "", err
	}
	candidates := nodes
	if elsewhere {
		candidates = nil
		for _, n := range nodes {
			if n.ID != f.self {
				candidates = append(candidates, n)
			}
		}
	}
	to := Place(candidates, f.self)
	for i := range nodes {
		if nodes[i].ID == to {
			nodes[i].Tasks++
		}
	}
	return to, nil
}
