package worker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/scheduler"
	"github.com/dataingest/dataingest/store"
)

// DefaultShutdownTimeout bounds a node's whole stop when
// Config.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 10 * time.Second

// Service is served beside a node and closed last, once the node has left
// the fleet: the HTTP API, whose probes and status say what the node does
// until then.
type Service interface {
	Serve() error
	Shutdown(ctx context.Context) error
}

// Node is one DataIngest node: its command consumer, its task runners, its
// heartbeat and its monitor, run together and stopped in one order under
// one deadline (Run).
type Node struct {
	cfg   Config
	store *store.Store
	log   zerolog.Logger

	tasks     *Tasks
	consumer  *Consumer
	heartbeat *Heartbeat
	monitor   *scheduler.Monitor

	stopping atomic.Bool
}

// NewNode builds a node's components. Their metrics go to reg; log gets
// each component's name and the node id.
func NewNode(cfg Config, st *store.Store, reg prometheus.Registerer, log zerolog.Logger) *Node {
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	n := &Node{cfg: cfg, store: st, log: component(log, "node", cfg.NodeID)}
	m := NewMetrics(reg, func() float64 { return float64(n.tasks.Count()) })
	m.InstrumentRedis(st.Client())
	reg.MustRegister(newFleetCollector(st, cfg.NodeID, cfg.HeartbeatInterval, component(log, "metrics", cfg.NodeID)))
	fleet := scheduler.NewFleet(st, cfg.NodeID, cfg.MaxTasks)
	n.tasks = NewTasks(cfg, st, fleet, component(log, "tasks", cfg.NodeID), m)
	n.consumer = NewConsumer(cfg, st, n.tasks, fleet, component(log, "commands", cfg.NodeID), m)
	n.heartbeat = NewHeartbeat(cfg, st, n.tasks, component(log, "heartbeat", cfg.NodeID))
	n.monitor = scheduler.NewMonitor(scheduler.MonitorConfig{
		NodeID: cfg.NodeID, Interval: cfg.TaskMonitorInterval, FailoverTimeout: cfg.FailoverTimeout,
	}, st, fleet, n.consumer.Adopt, n.tasks.Move, component(log, "monitor", cfg.NodeID))
	return n
}

func component(log zerolog.Logger, name, node string) zerolog.Logger {
	return log.With().Str("component", name).Str("node", node).Logger()
}

// Healthy reports why the node should not get traffic, nil when it
// should (for /readyz): it is stopping, or it does not read the command
// stream.
func (n *Node) Healthy() error {
	if n.stopping.Load() {
		return errors.New("the node is stopping: its tasks are being handed over")
	}
	return n.consumer.Healthy()
}

// Run runs the node and svc (nil: none) until ctx ends or svc fails, then
// stops in this order, all within Config.ShutdownTimeout:
//
//  1. It leaves the fleet's view: no runner starts here any more, and the
//     heartbeat key is deleted, so that no node places a task here.
//  2. It stops reading commands. A start read meanwhile goes back on the
//     stream for another node.
//  3. It stops the monitor: no reclaim, no balance move.
//  4. It hands every task over: each runner stops at a written
//     checkpoint, its lock is released, and a new start entry is
//     published for any node to take before the old one is acknowledged.
//  5. Entries other nodes gave it meanwhile go back on the stream too.
//  6. It leaves the fleet (its consumer, if nothing is pending on it).
//  7. It closes svc.
//
// A runner still running at the deadline keeps its lock until the lock
// expires, and its task is reclaimed like a dead node's. Run returns svc's
// error, if svc failed.
func (n *Node) Run(ctx context.Context, svc Service) error {
	// The components end one by one below, not when ctx ends.
	base := context.WithoutCancel(ctx)
	type part struct {
		name string
		stop context.CancelFunc
		done chan struct{}
	}
	start := func(name string, run func(context.Context) error) *part {
		pctx, cancel := context.WithCancel(base)
		p := &part{name: name, stop: cancel, done: make(chan struct{})}
		go func() {
			defer close(p.done)
			if err := run(pctx); err != nil {
				n.log.Error().Err(err).Str("part", name).Msg("node component failed")
			}
		}()
		return p
	}
	tasks := start("tasks", n.tasks.Run)
	<-n.tasks.started // runners may start from here on
	heartbeat := start("heartbeat", n.heartbeat.Run)
	consumer := start("commands", n.consumer.Run)
	monitor := start("monitor", n.monitor.Run)
	served := make(chan error, 1)
	if svc != nil {
		go func() { served <- svc.Serve() }()
	}

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-served:
		n.log.Error().Err(failed).Msg("the HTTP server failed: stopping the node")
	}

	n.stopping.Store(true)
	began := time.Now()
	sctx, cancel := context.WithTimeout(base, n.cfg.ShutdownTimeout)
	defer cancel()
	n.log.Info().Dur("deadline", n.cfg.ShutdownTimeout).Int("tasks", n.tasks.Count()).Msg("stopping: handing tasks over")
	await := func(p *part) bool {
		p.stop()
		select {
		case <-p.done:
			return true
		case <-sctx.Done():
			n.log.Warn().Str("part", p.name).Msg("shutdown deadline passed before this part stopped")
			return false
		}
	}

	// 1. Out of the placement view.
	n.tasks.close(sctx)
	await(heartbeat)
	if err := n.store.DeleteHeartbeat(sctx, n.cfg.NodeID); err != nil {
		n.log.Warn().Err(err).Msg("removing the heartbeat")
	}
	// 2 and 3. No more commands, reclaims or moves.
	await(consumer)
	await(monitor)
	// 4. Hand the tasks over.
	await(tasks)
	handed, left := n.tasks.handOver(sctx)
	// 5. Whatever was given to this node meanwhile.
	if err := n.consumer.pending(sctx); err != nil {
		n.log.Warn().Err(err).Msg("putting back the start entries given to this node while it stopped")
	}
	// 6. Leave the fleet: the consumer goes only once nothing is pending
	// on it, or the entries of tasks that did not stop in time would be
	// lost with it.
	if err := n.store.RemoveNode(sctx, n.cfg.NodeID); err != nil {
		n.log.Warn().Err(err).Msg("leaving the fleet")
	}
	// 7. The HTTP server, last, so that /readyz said 503 all along.
	if svc != nil && failed == nil {
		if err := svc.Shutdown(sctx); err != nil {
			n.log.Warn().Err(err).Msg("closing the HTTP server")
		}
		<-served
	}
	ev := n.log.Info()
	if left > 0 {
		ev = n.log.Warn()
	}
	ev.Int("handed_over", handed).Int("left_to_reclaim", left).Dur("took", time.Since(began)).Msg("node stopped")
	return failed
}

// handOverWait waits for wg or ctx, whichever ends first, reporting
// whether wg did.
func handOverWait(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
