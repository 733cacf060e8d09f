package worker

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
)

// Heartbeat announces the node every HeartbeatInterval: its heartbeat key
// (with a TTL of three intervals) lists the tasks it runs, and its score in
// P:cluster:nodes is the time of the beat. It beats until its context
// ends; Node removes the node's traces when it stops.
type Heartbeat struct {
	cfg     Config
	store   *store.Store
	tasks   *Tasks
	log     zerolog.Logger
	started time.Time
}

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
		err := h.store.Heartbeat(ctx, store.NodeInfo{
			NodeID: h.cfg.NodeID, Address: h.cfg.Address, Version: h.cfg.Version,
			StartedAt: h.started.UnixMilli(), Tasks: h.tasks.IDs(), MaxTasks: h.cfg.MaxTasks,
		}, 3*h.cfg.HeartbeatInterval)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			failing = true
			h.log.Warn().Err(err).Msg("heartbeat failed; retrying every interval")
		case err == nil && failing:
			failing = false
			h.log.Info().Msg("heartbeat restored")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
