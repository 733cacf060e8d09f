package worker

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
)

// probeService stands for the HTTP API: Shutdown records what the fleet
// looks like when the node closes it, and may block until its deadline.
type probeService struct {
	closed   chan struct{}
	look     func(ctx context.Context)
	block    bool // Shutdown waits for its context to end
	deadline time.Time
}

func newProbe(look func(context.Context)) *probeService {
	return &probeService{closed: make(chan struct{}), look: look}
}

func (p *probeService) Serve() error { <-p.closed; return nil }

func (p *probeService) Shutdown(ctx context.Context) error {
	p.deadline, _ = ctx.Deadline()
	if p.look != nil {
		p.look(ctx)
	}
	if p.block {
		<-ctx.Done()
	}
	close(p.closed)
	return ctx.Err()
}

// TestNodeStopsInOrder stops a node running three tasks and looks at the
// fleet when the node closes its HTTP server, the last step: the node has
// left (no heartbeat, no consumer), every task's lock is free and its start
// is back on the stream for another node, and /readyz said the node is
// stopping.
func TestNodeStopsInOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := e.testConfig("n1")
	cfg.ShutdownTimeout = 5 * time.Second
	nd := NewNode(cfg, e.st, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)))
	tasks := []string{"a", "b", "c"}

	var seen struct {
		healthy   error
		nodes     []store.NodeInfo
		consumers int
		locks     []string
		pending   int64
		handovers int
	}
	probe := newProbe(func(ctx context.Context) {
		seen.healthy = nd.Healthy()
		seen.nodes, _ = e.st.Nodes(ctx)
		cs, _ := e.st.Consumers(ctx)
		seen.consumers = len(cs)
		for _, id := range tasks {
			if h, _ := e.st.LockHolder(ctx, id, time.Minute); h != "" {
				seen.locks = append(seen.locks, id+"="+h)
			}
		}
		p, _ := e.rdb.XPending(ctx, e.st.Keys().Commands(), store.Group).Result()
		seen.pending = p.Count
		msgs, _ := e.rdb.XRange(ctx, e.st.Keys().Commands(), "-", "+").Result()
		for _, m := range msgs {
			if m.Values["reason"] == "handed over by n1" {
				seen.handovers++
			}
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- nd.Run(runCtx, probe) }()
	for _, id := range tasks {
		e.command("cmd", "start", "task", id, "config", `{"taskType":"DATAGEN","datagen":{"rate":100}}`)
	}
	for _, id := range tasks {
		e.waitState(id, StateRunning, 10*time.Second)
	}
	if err := nd.Healthy(); err != nil {
		t.Fatalf("a running node is not healthy: %v", err)
	}
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * cfg.ShutdownTimeout):
		t.Fatalf("Run did not return within twice its shutdown timeout (%v)", cfg.ShutdownTimeout)
	}
	if seen.healthy == nil || !strings.Contains(seen.healthy.Error(), "stopping") {
		t.Errorf("Healthy while stopping = %v, want an error saying the node is stopping", seen.healthy)
	}
	if len(seen.nodes) != 0 || seen.consumers != 0 {
		t.Errorf("when HTTP closed: nodes %+v, %d consumers; want the node gone", seen.nodes, seen.consumers)
	}
	if len(seen.locks) != 0 || seen.pending != 0 {
		t.Errorf("when HTTP closed: locks held %v, %d entries pending; want every task released", seen.locks, seen.pending)
	}
	if seen.handovers != len(tasks) {
		t.Errorf("when HTTP closed: %d hand-over starts on the stream, want %d", seen.handovers, len(tasks))
	}
	for _, id := range tasks {
		if st := e.status(id).Status; st != StatePending {
			t.Errorf("task %s is %s after the hand-over, want %s", id, st, StatePending)
		}
	}
}

// TestNodeShutdownHasOneDeadline gives the node's last step, closing the
// HTTP server, requests that never finish: the node still stops, and every
// step ran under the one deadline that began with the stop.
func TestNodeShutdownHasOneDeadline(t *testing.T) {
	e := newEnv(t)
	cfg := e.testConfig("n1")
	cfg.ShutdownTimeout = time.Second
	nd := NewNode(cfg, e.st, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)))
	probe := newProbe(nil)
	probe.block = true
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- nd.Run(runCtx, probe) }()
	e.command("cmd", "start", "task", "a", "config", `{"taskType":"DATAGEN","datagen":{"rate":100}}`)
	e.waitState("a", StateRunning, 10*time.Second)
	stopped := time.Now()
	stop()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return although its HTTP server's shutdown was bounded by the node's deadline")
	}
	if probe.deadline.IsZero() {
		t.Fatal("the HTTP server was closed without a deadline")
	}
	// (stopped is taken just before the stop, hence a little slack.)
	if late := probe.deadline.Sub(stopped); late > cfg.ShutdownTimeout+50*time.Millisecond {
		t.Errorf("the HTTP server's deadline was %v after the stop began, want at most the node's %v", late, cfg.ShutdownTimeout)
	}
	if h, _ := e.st.LockHolder(context.Background(), "a", time.Minute); h != "" {
		t.Errorf("lock of a still held by %q: the hand-over before the HTTP step did not happen", h)
	}
}

// TestTasksStartBeforeRun: no runner starts before Tasks.Run, whose
// context the runners run under; the start is refused without taking the
// task's lock, so its entry stays pending for a retry.
func TestTasksStartBeforeRun(t *testing.T) {
	e := newEnv(t)
	cfg := e.testConfig("n1")
	tasks := NewTasks(cfg, e.st, nil, zerolog.Nop(), NewMetrics(prometheus.NewRegistry(), func() float64 { return 0 }))
	started, _, err := tasks.Start(context.Background(), "a", "0-1")
	if started || err == nil {
		t.Fatalf("Start before Run = %v, %v; want an error", started, err)
	}
	if h, _ := e.st.LockHolder(context.Background(), "a", time.Minute); h != "" {
		t.Errorf("Start before Run took the lock: %q", h)
	}
}

// TestMemoryBudgetFollowsTasks: the soft memory limit is the budget's base
// plus its per-task part for every task running, and the zero budget
// leaves the limit alone.
func TestMemoryBudgetFollowsTasks(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	MemoryBudget{}.Apply(3)
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Fatalf("the zero budget changed the limit from %d to %d", old, got)
	}

	e := newEnv(t)
	cfg := e.testConfig("n1")
	cfg.Memory = MemoryBudget{Base: 100 << 20, PerTask: 10 << 20}
	nd := NewNode(cfg, e.st, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)))
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- nd.Run(runCtx, nil) }()
	for _, id := range []string{"a", "b"} {
		e.command("cmd", "start", "task", id, "config", `{"taskType":"DATAGEN","datagen":{"rate":10}}`)
		e.waitState(id, StateRunning, 10*time.Second)
	}
	if got, want := debug.SetMemoryLimit(-1), int64(120<<20); got != want {
		t.Errorf("limit with two tasks = %d, want %d", got, want)
	}
	e.command("cmd", "stop", "task", "a")
	e.waitState("a", StateStopped, 10*time.Second)
	e.waitFor(5*time.Second, "the limit of one task", func() bool { return debug.SetMemoryLimit(-1) == 110<<20 })
	stop()
	<-ran
	if got, want := debug.SetMemoryLimit(-1), int64(100<<20); got != want {
		t.Errorf("limit after the node stopped = %d, want %d", got, want)
	}
}

// TestUnappliedStartIsNotLost: a start read by a node that died before it
// stored the config (its entry, config and all, pending on the dead node)
// runs once another node reclaims it; it used to be acknowledged as the
// start of a task that no longer exists.
func TestUnappliedStartIsNotLost(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	e.command("cmd", "start", "task", "a", "config", `{"taskType":"DATAGEN","datagen":{"rate":100}}`)
	if cmds, err := e.st.ReadCommands(ctx, "ghost", ">", 10, 0); err != nil || len(cmds) != 1 {
		t.Fatalf("the dead node's read: %v, %v", cmds, err)
	}
	e.startNode("n1")
	ti := e.waitState("a", StateRunning, 15*time.Second)
	if ti.Node != "n1" {
		t.Errorf("task a runs on %q, want n1", ti.Node)
	}
}
