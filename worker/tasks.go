package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/source"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// Config is what the worker's components need of the node's configuration.
type Config struct {
	NodeID              string
	Address             string // the node's HTTP address, shown in its heartbeat
	Version             string
	HeartbeatInterval   time.Duration
	TaskMonitorInterval time.Duration
	FailoverTimeout     time.Duration // the lease TTL
	MaxTasks            int
	ShutdownTimeout     time.Duration // bounds Node's whole stop; 0: DefaultShutdownTimeout
	Sealer              *task.Sealer  // nil: passwords stored as given
	// MySQLEventCache bounds decoded binlog events buffered per task; 0: 64.
	MySQLEventCache int
	// Memory is the soft memory limit kept as tasks start and stop; zero:
	// the limit is left alone (GOMEMLIMIT, or none).
	Memory MemoryBudget
}

// Tasks runs this node's tasks: one runner per task whose lease the node
// holds. Each heartbeat it renews their leases in one round trip and
// refreshes the idle time of their start entries, so that only the entries
// of dead nodes look orphaned. It moves
// tasks to other nodes when asked (balance, failover): the runner stops at a
// written checkpoint, the lease is released and the start entry is given to
// the new node's pending list. When the node stops, handOver gives every
// task away: the lease is released and a new start entry is published for
// any node to take, before the old one is acknowledged.
type Tasks struct {
	cfg     Config
	store   *store.Store
	placer  Placer
	log     zerolog.Logger
	metrics *Metrics

	runCtx  context.Context // runners' context, Run's: it ends at hand-over
	started chan struct{}   // closed once Run has set runCtx
	wg      sync.WaitGroup  // every runner's goroutine

	touchFailures int           // failed refreshes in a row; Run's goroutine only
	recheck       chan struct{} // refresh now: the command group was recreated

	mu      sync.Mutex      // guards closing, stopCtx, handed and runners
	closing bool            // handing over: no new runners
	stopCtx context.Context // the node's shutdown deadline, once closing
	handed  int             // tasks handed over
	runners map[string]*runner
}

// Placer chooses nodes for tasks; the scheduler's Fleet is one.
type Placer interface {
	// Place returns the node that should run a task nobody runs, "" when
	// no live node has room. unplaced is how many of the entries pending
	// on this node await a decision, this one included: they are not
	// this node's load.
	Place(ctx context.Context, unplaced int) (string, error)
	// PlaceNear is Place, but keeps the task here when this node has room
	// and at most one task more than the node Place would choose.
	PlaceNear(ctx context.Context, unplaced int) (string, error)
	// PlaceElsewhere is Place among the other nodes.
	PlaceElsewhere(ctx context.Context) (string, error)
}

// NewTasks returns the task supervisor of a node.
func NewTasks(cfg Config, st *store.Store, placer Placer, log zerolog.Logger, m *Metrics) *Tasks {
	return &Tasks{
		cfg: cfg, store: st, placer: placer, log: log, metrics: m, started: make(chan struct{}),
		runners: map[string]*runner{}, recheck: make(chan struct{}, 1),
	}
}

// Count returns the number of tasks this node runs.
func (t *Tasks) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.runners)
}

// IDs returns the ids of the tasks this node runs, sorted.
func (t *Tasks) IDs() []string {
	t.mu.Lock()
	ids := make([]string, 0, len(t.runners))
	for id := range t.runners {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	sort.Strings(ids)
	return ids
}

// OwnsEntry reports whether entry is the start entry of a task running
// here.
func (t *Tasks) OwnsEntry(entry string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.runners {
		if r.entry == entry {
			return true
		}
	}
	return false
}

// Claims reports whether a runner of this node stands for entry, a start
// entry of task pending here: it is the runner's entry, or the runner is
// replacing its entry (rehold), and entry may be the replacement, pending
// here before the runner names it. The consumer's pending scan must leave
// such entries alone: applying one as a duplicate start acknowledged it and
// left the task without a start entry (TestThousandTasks on a loaded
// machine).
func (t *Tasks) Claims(entry, task string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.runners[task]; r != nil && (r.entry == entry || r.reholding) {
		return true
	}
	for _, r := range t.runners {
		if r.entry == entry {
			return true
		}
	}
	return false
}

// entryOf returns r's start entry, which Tasks may replace (rehold).
func (t *Tasks) entryOf(r *runner) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return r.entry
}

// LostEntries tells Tasks that the command group was recreated, so the
// start entries of its tasks are gone: it gives them new ones at once.
func (t *Tasks) LostEntries() { signal(t.recheck) }

// HasRoom reports whether this node may start another task
// (DATAINGEST_MAX_TASKS).
func (t *Tasks) HasRoom() bool {
	return t.cfg.MaxTasks == 0 || t.Count() < t.cfg.MaxTasks
}

// Poke makes the runner of task, if it runs here, look at the task's
// desired state now instead of at its next heartbeat. It reports whether
// the task runs here and will go on running: false once hand-over began,
// since then every task here is about to leave.
func (t *Tasks) Poke(id string) bool {
	t.mu.Lock()
	r := t.runners[id]
	closing := t.closing
	t.mu.Unlock()
	if r != nil {
		signal(r.poke)
	}
	return r != nil && !closing
}

// Closing reports whether hand-over has begun.
func (t *Tasks) Closing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closing
}

// ErrShuttingDown means the node is handing its tasks over and starts no
// more.
var ErrShuttingDown = errors.New("node is shutting down")

// opTimeout bounds one coordination step outside a shutdown: applying one
// command, a move's release and hand-off, recording a lost lease.
const opTimeout = 5 * time.Second

// errNotRunning means Run has not begun: no runner can start yet.
var errNotRunning = errors.New("the task supervisor is not running yet")

// ErrLockedHere means the task's lock is held by an earlier run of this node
// (it was killed): the start entry stays pending and the task starts when the
// lock expires.
var ErrLockedHere = errors.New("lock held by an earlier run of this node")

// Start runs task here with entry as its pending start entry, if its lock
// is free. It reports false with the holder's lock value when another node
// runs it, and ErrLockedHere when an earlier run of this node holds it.
func (t *Tasks) Start(ctx context.Context, id, entry string) (started bool, holder string, err error) {
	t.mu.Lock()
	if _, ok := t.runners[id]; ok {
		t.mu.Unlock()
		return false, t.cfg.NodeID, nil
	}
	t.mu.Unlock()
	select {
	case <-t.started:
	default:
		return false, "", errNotRunning
	}
	if t.runCtx.Err() != nil {
		return false, "", ErrShuttingDown
	}
	l, holder, ok, err := t.store.AcquireLease(ctx, id, t.cfg.NodeID, t.cfg.FailoverTimeout)
	if err != nil {
		return false, "", err
	}
	if !ok {
		if store.LockOwner(holder) == t.cfg.NodeID {
			return false, holder, ErrLockedHere
		}
		return false, holder, nil
	}
	if !t.spawn(id, entry, l) {
		// Hand-over began meanwhile: give the task back at once.
		if err := t.store.ReleaseLease(ctx, l, StatePending, "", ""); err != nil {
			return false, "", err
		}
		return false, "", ErrShuttingDown
	}
	return true, "", nil
}

// spawn starts a runner, unless hand-over has begun.
func (t *Tasks) spawn(id, entry string, l store.Lease) bool {
	r := newRunner(t, id, entry, l)
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return false
	}
	t.runners[id] = r
	t.wg.Add(1)
	n := len(t.runners)
	t.mu.Unlock()
	t.cfg.Memory.Apply(n)
	t.log.Info().Str("task", id).Str("entry", entry).Int64("token", l.Token).Msg("task acquired")
	go func() {
		defer t.wg.Done()
		r.run(t.runCtx)
		// The runner stays listed until its task has left: its entry is
		// pending here, not running, and an inbox check must not start
		// the task again before the entry moves (that bounced balance
		// moves back at once), nor handOver miss a task still leaving.
		switch r.outcome {
		case outcomeHandOver:
			t.finishHandOver(r)
		case outcomeMoved:
			t.finishMove(r)
		}
		t.mu.Lock()
		if t.runners[id] == r {
			delete(t.runners, id)
		}
		n := len(t.runners)
		t.mu.Unlock()
		t.cfg.Memory.Apply(n)
	}()
	return true
}

// Move asks this node's runners to move one task to each node of targets.
// It picks the tasks with the highest fencing tokens first, those whose
// lock changed hands most often, so that long-settled tasks stay put.
func (t *Tasks) Move(targets []string) {
	t.mu.Lock()
	if t.closing { // every task is leaving anyway
		t.mu.Unlock()
		return
	}
	rs := make([]*runner, 0, len(t.runners))
	for _, r := range t.runners {
		select {
		case <-r.done: // ended, or leaving already
		default:
			rs = append(rs, r)
		}
	}
	t.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool {
		return rs[i].lease.Token > rs[j].lease.Token || (rs[i].lease.Token == rs[j].lease.Token && rs[i].id > rs[j].id)
	})
	for i, to := range targets {
		if i >= len(rs) {
			break
		}
		t.log.Info().Str("task", rs[i].id).Str("to", to).Msg("moving task for balance")
		t.metrics.balanceMoves.Inc()
		rs[i].moveTo(to)
	}
}

// finishMove gives a stopped runner's task to its new node: the lease is
// released, then the start entry moves to the new node's pending list,
// which that node is woken to read.
func (t *Tasks) finishMove(r *runner) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.runCtx), opTimeout)
	defer cancel()
	to := r.target()
	if err := t.store.ReleaseLease(ctx, r.lease, StatePending, "", ""); err != nil {
		t.log.Warn().Err(err).Str("task", r.id).Msg("releasing lease to move task")
		return // the entry stays here; the inbox scan retries the task
	}
	if _, err := t.store.GiveEntry(ctx, t.entryOf(r), t.cfg.NodeID, to); err != nil {
		t.log.Warn().Err(err).Str("task", r.id).Str("to", to).Msg("giving start entry")
		return
	}
	t.log.Info().Str("task", r.id).Str("to", to).Msg("task moved")
}

// Run renews the runners' leases and keeps their start entries fresh
// until ctx ends. Runners run under ctx: when it ends they stop at a
// written checkpoint, and handOver gives their tasks to other nodes.
func (t *Tasks) Run(ctx context.Context) error {
	t.runCtx = ctx
	close(t.started)
	// Renewals have a goroutine of their own: refresh may take a round
	// trip per entry (replacing those that carried a config, after a
	// burst of starts), and a renewal waiting behind them made whole
	// nodes' leases expire (TestThousandTasks on a loaded machine).
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(t.cfg.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.renewAll(ctx)
			}
		}
	}()
	defer func() { <-renewed }()
	tick := time.NewTicker(t.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			t.refresh(ctx)
		case <-t.recheck:
			t.refresh(ctx)
		}
	}
}

// renewAll renews the leases of every runner in one round trip and hands
// each runner its result; a runner not done with the previous one gets
// the newer instead.
func (t *Tasks) renewAll(ctx context.Context) {
	t.mu.Lock()
	runners := make([]*runner, 0, len(t.runners))
	leases := make([]store.Lease, 0, len(t.runners))
	for _, r := range t.runners {
		runners = append(runners, r)
		leases = append(leases, r.lease)
	}
	t.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, t.cfg.HeartbeatInterval)
	defer cancel()
	for i, res := range t.store.RenewLeases(rctx, leases, t.cfg.FailoverTimeout) {
		r := runners[i]
		select {
		case <-r.renewal: // an older result nobody took: replaced
		default:
		}
		select {
		case r.renewal <- res:
		default:
		}
	}
}

// refresh resets the idle time of the running tasks' start entries, and
// replaces (rehold) those that carry a config, which may hold a password,
// and gives an entry to tasks whose entry is gone (the command stream was
// deleted or evicted).
func (t *Tasks) refresh(ctx context.Context) {
	t.mu.Lock()
	var entries []string
	runners := make([]*runner, 0, len(t.runners))
	for _, r := range t.runners {
		runners = append(runners, r)
		if r.entry != "" {
			entries = append(entries, r.entry)
		}
	}
	t.mu.Unlock()
	held, err := t.store.Touch(ctx, t.cfg.NodeID, entries)
	if err != nil {
		if ctx.Err() == nil {
			t.touchFailures++
			logRepeated(t.log, t.touchFailures, err, "refreshing start entries")
		}
		return
	}
	t.touchFailures = 0
	pending := make(map[string]bool, len(held))
	for _, id := range held {
		pending[id] = true
	}
	for _, r := range runners {
		t.mu.Lock()
		entry, clean := r.entry, r.entryClean
		t.mu.Unlock()
		switch {
		case entry == "" || !pending[entry]:
			t.rehold(ctx, r, "", "its start entry is gone from the command stream")
		case !clean:
			has, err := t.store.HasConfig(ctx, entry)
			if err != nil {
				t.log.Debug().Err(err).Str("task", r.id).Msg("reading the start entry")
				continue
			}
			if !has {
				t.mu.Lock()
				r.entryClean = true
				t.mu.Unlock()
				continue
			}
			t.rehold(ctx, r, entry, "replaces "+entry+", which carried the config")
		}
	}
}

// rehold gives r's task a fresh start entry without a config, in place
// of held ("": r has none pending; only while r still holds the lock).
func (t *Tasks) rehold(ctx context.Context, r *runner, held, reason string) {
	log := r.log.With().Str("entry", held).Logger()
	if held == "" {
		holder, err := t.store.LockHolder(ctx, r.id, t.cfg.FailoverTimeout)
		if err != nil || holder != r.lease.Value {
			return // the lease keeper finds out what happened
		}
	}
	t.mu.Lock()
	r.reholding = true
	t.mu.Unlock()
	id, err := t.store.Rehold(ctx, t.cfg.NodeID, held, r.id, reason)
	t.mu.Lock()
	r.reholding = false
	if err == nil {
		r.entry, r.entryClean = id, true
	}
	t.mu.Unlock()
	switch {
	case err == nil:
		log.Info().Str("new_entry", id).Str("why", reason).Msg("start entry replaced")
	case errors.Is(err, store.ErrReholdLater), errors.Is(err, store.ErrNoGroup):
		log.Debug().Err(err).Msg("replacing the start entry at the next heartbeat")
	case errors.Is(err, store.ErrNotHeld):
		log.Debug().Err(err).Msg("start entry moved meanwhile")
	default:
		log.Warn().Err(err).Msg("replacing the start entry")
	}
}

// close makes the supervisor start no more runners: from here on a start
// of a task running here is not a duplicate to acknowledge (the task is
// leaving) but a command to put back on the stream. ctx is the node's
// shutdown deadline, which the hand-over of each task works under.
func (t *Tasks) close(ctx context.Context) {
	t.mu.Lock()
	t.closing, t.stopCtx = true, ctx
	t.mu.Unlock()
}

// finishHandOver gives the task of a runner that stopped because Run's
// context ended to any other node: its lease is released and its start
// republished.
func (t *Tasks) finishHandOver(r *runner) {
	t.mu.Lock()
	ctx := t.stopCtx
	t.mu.Unlock()
	if ctx == nil { // Run's context ended without a node stop
		c, cancel := context.WithTimeout(context.WithoutCancel(t.runCtx), opTimeout)
		defer cancel()
		ctx = c
	}
	if err := t.store.ReleaseLease(ctx, r.lease, StatePending, "", ""); err != nil {
		r.log.Warn().Err(err).Msg("releasing lease at hand-over")
		return
	}
	t.republish(ctx, r.id, t.entryOf(r), "handed over by "+t.cfg.NodeID)
	t.mu.Lock()
	t.handed++
	t.mu.Unlock()
}

// handOver waits, once Run has ended (and with it the runners' context),
// until every runner has stopped at a written checkpoint and handed its
// task over, or ctx ends. It reports how many tasks were handed over and
// how many runners were still under way at the deadline: their tasks are
// reclaimed once their locks expire.
func (t *Tasks) handOver(ctx context.Context) (handed, left int) {
	all := handOverWait(ctx, &t.wg)
	t.mu.Lock()
	handed = t.handed
	var late []string
	for id := range t.runners {
		late = append(late, id)
	}
	t.mu.Unlock()
	sort.Strings(late)
	if !all {
		t.log.Warn().Strs("tasks", late).Msg("tasks not handed over by the shutdown deadline; they are reclaimed when their locks expire")
	}
	t.log.Info().Int("tasks", handed).Msg("tasks handed over")
	return handed, len(late)
}

// republish writes a new start entry for task and then acknowledges the old
// one, so that the task is never without a start entry.
func (t *Tasks) republish(ctx context.Context, id, entry, reason string) {
	// handover marks a start that only moves the task: it does not count
	// as an operator's command (it cannot undo a stop issued meanwhile).
	if _, err := t.store.Publish(ctx, map[string]string{"cmd": "start", "task": id, "reason": reason, "handover": "1"}); err != nil {
		t.log.Warn().Err(err).Str("task", id).Msg("republishing start")
		return
	}
	if entry != "" {
		if _, err := t.store.AckOwned(ctx, t.cfg.NodeID, entry); err != nil {
			t.log.Warn().Err(err).Str("task", id).Msg("acknowledging start entry")
		}
	}
}

// newSource builds the source a task config asks for.
func (t *Tasks) newSource(ctx context.Context, id string, cfg *task.Config, log zerolog.Logger) (source.Source, error) {
	switch cfg.TaskType {
	case task.TypeDatagen:
		d := source.Datagen{}
		if cfg.Datagen != nil {
			d.Rate, d.Total = cfg.Datagen.Rate, cfg.Datagen.Total
		}
		return &d, nil
	case task.TypeMySQLCDC:
		filter, err := cfg.TableFilter()
		if err != nil {
			return nil, source.Permanent(err)
		}
		sid := cfg.ServerID
		if sid == 0 {
			// A fresh id each session: the server may still hold a
			// dump thread of the previous owner (paused, cut off)
			// under the old one, and would queue this one behind it.
			if sid, err = t.store.NewServerID(ctx, id); err != nil {
				return nil, err
			}
		}
		mc := source.MySQLConfig{
			Match: filter.Match, SnapshotMode: string(cfg.SnapshotMode), ServerID: sid,
			EventCacheCount: t.cfg.MySQLEventCache, Log: log, Databases: filter.Databases(),
			History: func(ctx context.Context) ([][]byte, error) { return t.store.LoadSchema(ctx, id) },
		}
		for _, ds := range cfg.DataSourceConfigs {
			mc.Endpoints = append(mc.Endpoints, source.Endpoint{
				Host: ds.Host, Port: ds.Port, User: ds.Username, Password: ds.Password, Flavor: string(ds.Flavor),
				SSLMode: string(ds.SSLMode), SSLCa: ds.SSLCa,
			})
		}
		for _, tb := range cfg.CDCTables {
			if !strings.HasSuffix(tb, ".*") {
				mc.Tables = append(mc.Tables, tb)
			}
		}
		return source.NewMySQL(mc), nil
	}
	return nil, source.Permanent(fmt.Errorf("unknown taskType %q", cfg.TaskType))
}
