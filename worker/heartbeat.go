package worker

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
)

// Heartbeat announces the node every HeartbeatInterval: its heartbeat key
// (with a TTL of three intervals) lists the tasks it runs, and its score in
// P:cluster:nodes is the time of the beat. When its context ends it waits
// for the tasks to be handed over, then removes the node's traces.
type Heartbeat struct {
	cfg     Config
	store   *store.Store
	tasks   *Tasks
	log     zerolog.Logger
	started time.Time
	after   []<-chan struct{} // what must end before the node leaves (WaitFor)
}

// WaitFor makes the node leave the fleet only once done is closed too: the
// command consumer and the monitor, whose last Redis calls would otherwise
// recreate the node's consumer in the group after it was removed. Call it
// before Run.
func (h *Heartbeat) WaitFor(done <-chan struct{}) { h.after = append(h.after, done) }

// NewHeartbeat returns the heartbeat of a node.
func NewHeartbeat(cfg Config, st *store.Store, tasks *Tasks, log zerolog.Logger) *Heartbeat {
	return &Heartbeat{cfg: cfg, store: st, tasks: tasks, log: log, started: time.Now()}
}

// Run beats until ctx ends.
func (h *Heartbeat) Run(ctx context.Context) error {
	tick := time.NewTicker(h.cfg.HeartbeatInterval)
	defer tick.Stop()
	failing := false
	for {
		if h.tasks.Closing() {
			h.leave()
			return nil
		}
		err := h.store.Heartbeat(ctx, store.NodeInfo{
			NodeID: h.cfg.NodeID, Address: h.cfg.Address, Version: h.cfg.Version,
			StartedAt: h.started.UnixMilli(), Tasks: h.tasks.IDs(), MaxTasks: h.cfg.MaxTasks,
		}, 3*h.cfg.HeartbeatInterval)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			h.log.Warn().Err(err).Msg("heartbeat failed; retrying every interval")
		case err == nil && failing:
			failing = false
			h.log.Info().Msg("heartbeat restored")
		}
		select {
		case <-ctx.Done():
			h.leave()
			return nil
		case <-tick.C:
		}
	}
}

// leave removes the node from the fleet once its tasks are handed over
// and the components it waits for have ended, within 10 s in all.
func (h *Heartbeat) leave() {
	deadline := time.After(10 * time.Second)
	for _, done := range append([]<-chan struct{}{h.tasks.Drained()}, h.after...) {
		select {
		case <-done:
		case <-deadline:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.store.RemoveNode(ctx, h.cfg.NodeID); err != nil {
		h.log.Warn().Err(err).Msg("removing node")
	}
}
