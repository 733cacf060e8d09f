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
// consumer: the tasks it runs plus those handed to it and not yet started.
// Liveness and capacity come from the heartbeats, read at most once a
// second; the loads are read afresh (one XPENDING) for every placement, so
// that placements in a burst, by this node or by others, see each other
// and need no corrective moves afterwards.
type Fleet struct {
	store    *store.Store
	self     string
	maxTasks int

	mu      sync.Mutex // guards infos, fetched; serializes placements
	infos   []store.NodeInfo
	fetched time.Time
}

// viewTTL is how long fetched heartbeats serve placements.
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
	return f.nodes(ctx, infos)
}

func (f *Fleet) nodes(ctx context.Context, infos []store.NodeInfo) ([]Node, error) {
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
		nodes = append(nodes, Node{ID: n.NodeID, Tasks: int(loads[n.NodeID]), MaxTasks: n.MaxTasks, Running: len(n.Tasks)})
	}
	if !hasSelf { // before this node's first heartbeat: what it runs is not known
		nodes = append(nodes, Node{ID: f.self, Tasks: int(loads[f.self]), MaxTasks: f.maxTasks, Running: int(loads[f.self])})
	}
	return nodes, nil
}

// placing is the fleet as it stands for placing an entry pending on this
// node (every caller places such an entry): heartbeats of at most a second
// (fresh ones when fresh is set), loads read now, and this node's load
// without the unplaced entries pending here that await a decision (the
// rest of a batch of commands or of reclaimed entries, this one included).
func (f *Fleet) placing(ctx context.Context, fresh bool, unplaced int) ([]Node, error) {
	if fresh || f.infos == nil || time.Since(f.fetched) >= viewTTL {
		infos, err := f.store.Nodes(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the fleet: %w", err)
		}
		f.infos, f.fetched = infos, time.Now()
	}
	nodes, err := f.nodes(ctx, f.infos)
	if err != nil {
		return nil, fmt.Errorf("reading the fleet's loads: %w", err)
	}
	for i := range nodes {
		if nodes[i].ID == f.self {
			nodes[i].Tasks = max(nodes[i].Tasks-unplaced, 0)
		}
	}
	return nodes, nil
}

// Place returns the node that should run a task nobody runs, "" when no
// live node has room.
// unplaced counts the entries pending here that await a decision, this one
// included.
func (f *Fleet) Place(ctx context.Context, unplaced int) (string, error) {
	return f.place(ctx, false, unplaced)
}

// PlaceNear is Place, except that this node keeps the task when it has
// room and at most one task more than the chosen node: for tasks that must
// move at once (a dead or stopping node's), where handing them on would
// cost seconds and balance evens out the rest. It reads the fleet afresh,
// since nodes are leaving it.
func (f *Fleet) PlaceNear(ctx context.Context, unplaced int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nodes, err := f.placing(ctx, true, unplaced)
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
		to = f.self
	}
	return to, nil
}

// PlaceElsewhere is Place among the nodes other than this one.
func (f *Fleet) PlaceElsewhere(ctx context.Context) (string, error) {
	return f.place(ctx, true, 1)
}

func (f *Fleet) place(ctx context.Context, elsewhere bool, unplaced int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A failover is rare: it looks at the fleet now.
	nodes, err := f.placing(ctx, elsewhere, unplaced)
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
	return Place(candidates, f.self), nil
}
