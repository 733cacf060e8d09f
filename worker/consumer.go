package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// How a command reached this node.
type origin int

const (
	fresh     origin = iota // read from the stream for the first time
	pending                 // found in this node's pending list (restart, or given by another node)
	reclaimed               // claimed from a dead node by XAUTOCLAIM
)

// Consumer reads the command stream as this node's consumer in group
// `workers` and applies each command. It starts and ends with the entries
// pending on this node (a restarted node resumes its tasks from them), and
// every three seconds it checks whether other nodes gave it entries (placement,
// balance, failover). A command it cannot apply is acknowledged and copied
// to P:deadletter with the reason; no command can stop it.
type Consumer struct {
	cfg    Config
	store  *store.Store
	tasks  *Tasks
	placer Placer
	log    zerolog.Logger
	m      *Metrics
	done   chan struct{}

	// applying serializes commands: the consumer's loop and the monitor's
	// reclaims (Adopt) must not act on one entry, or one task, at once.
	applying sync.Mutex

	unapplied int    // entries of the batch being applied not yet done, the current one included; guarded by applying
	lastSeen  string // newest entry read from ">", where a lost group restarts; Run's goroutine only
	failures  int    // failed reads in a row; Run's goroutine only

	// inflight holds the entries read (from the stream, or reclaimed)
	// whose batch is not applied yet: they are pending on this node
	// already, and the pending scan must leave them to their batch, or it
	// would take a new start for one waiting here, before its config is
	// stored and without placing it.
	inflightMu sync.Mutex
	inflight   map[string]bool

	healthMu sync.Mutex
	lastRead time.Time // last successful read of the stream
	lastErr  error     // the error of the last failed read, nil after a success
}

// Healthy reports an error when the consumer has not read the command
// stream for longer than a few read periods: the node would not hear
// commands (for /readyz).
func (c *Consumer) Healthy() error {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	limit := max(5*c.inboxEvery(), 10*time.Second)
	if c.lastRead.IsZero() || time.Since(c.lastRead) <= limit {
		return nil // starting, or reading
	}
	msg := fmt.Sprintf("the node has not read the command stream for %v", time.Since(c.lastRead).Round(time.Second))
	if c.lastErr != nil {
		msg += ": " + c.lastErr.Error()
	}
	return errors.New(msg)
}

func (c *Consumer) readDone(err error) {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	if err == nil {
		c.lastRead, c.lastErr = time.Now(), nil
	} else {
		c.lastErr = err
	}
}

// NewConsumer returns the command consumer of a node.
func NewConsumer(cfg Config, st *store.Store, tasks *Tasks, placer Placer, log zerolog.Logger, m *Metrics) *Consumer {
	return &Consumer{cfg: cfg, store: st, tasks: tasks, placer: placer, log: log, m: m, done: make(chan struct{})}
}

// Done is closed when Run has returned: no command is being applied.
func (c *Consumer) Done() <-chan struct{} { return c.done }

// inboxEvery is how often the consumer looks for entries given to it, and
// how long a read of the stream blocks: together two Redis commands every
// three seconds for an idle node (see BenchmarkCoordination). With a short
// FAILOVER_TIMEOUT it is a quarter of that, so that a node finds an entry
// given to it well before the entry looks orphaned to the other nodes.
func (c *Consumer) inboxEvery() time.Duration {
	return max(min(3*time.Second, c.cfg.FailoverTimeout/4), 100*time.Millisecond)
}

// Run consumes commands until ctx ends. Commands already read when ctx ends
// are still applied, each within opTimeout. The entries pending on
// this node are applied first (a restarted node resumes its tasks from
// them); at a node's stop, Node applies them once more.
func (c *Consumer) Run(ctx context.Context) error {
	defer close(c.done)
	c.readDone(nil) // the clock of Healthy starts now
	delay := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := c.store.EnsureGroup(ctx)
		if err == nil {
			err = c.pending(ctx)
		}
		if err == nil {
			break
		}
		c.fail(ctx, delay, err)
	}
	var wakes sync.WaitGroup
	defer wakes.Wait() // before done closes: no command is being applied
	wakes.Add(1)
	go func() { defer wakes.Done(); c.wakeUps(ctx) }()
	lastInbox := time.Now()
	for ctx.Err() == nil {
		cmds, err := c.store.ReadCommands(ctx, c.cfg.NodeID, ">", 16, c.inboxEvery())
		if errors.Is(err, store.ErrNoGroup) || errors.Is(err, store.ErrDamagedKey) {
			err = c.repairGroup(ctx, err)
		}
		c.readDone(err)
		if err != nil {
			c.fail(ctx, delay, err)
			continue
		}
		delay.reset()
		if c.failures > 0 {
			c.log.Info().Int("failures", c.failures).Msg("reading commands again")
			c.failures = 0
		}
		if len(cmds) > 0 {
			c.lastSeen = cmds[len(cmds)-1].ID
			c.hold(cmds)
		}
		// Commands read are applied even when ctx ends meanwhile, each
		// within opTimeout (apply).
		actx := context.WithoutCancel(ctx)
		c.Apply(actx, cmds, fresh)
		if time.Since(lastInbox) >= c.inboxEvery() {
			lastInbox = time.Now()
			if err := c.inbox(actx); err != nil && ctx.Err() == nil {
				c.log.Warn().Err(err).Msg("reading entries given to this node")
			}
		}
	}
	return nil
}

func (c *Consumer) fail(ctx context.Context, delay *backoff, err error) {
	if ctx.Err() != nil {
		return
	}
	wait := delay.next()
	c.failures++
	logRepeated(c.log, c.failures, err, "reading commands")
	_ = sleepCtx(ctx, wait)
}

// repairGroup brings back a command stream or group that was deleted or
// evicted (or a stream key overwritten with another type): the group
// restarts after the newest entry this node read, so that commands added
// since are delivered and older ones are not applied again (a command older
// than one applied already is ignored anyway). The start entries of tasks
// running here went with the group; Tasks gives them new ones.
func (c *Consumer) repairGroup(ctx context.Context, cause error) error {
	after := c.lastSeen
	if after == "" {
		after = "0"
	}
	c.log.Error().Err(cause).Str("after", after).
		Msg("the command stream or its group is gone (deleted, or evicted by Redis): recreating it")
	if err := c.store.EnsureGroupAfter(ctx, after); err != nil {
		return err
	}
	c.tasks.LostEntries()
	return nil
}

// wakeUps applies the entries other nodes give this node as soon as they
// say so, instead of at the next inbox check (up to three seconds later).
func (c *Consumer) wakeUps(ctx context.Context) {
	msgs, closeSub := c.store.WakeUps(ctx, c.cfg.NodeID)
	defer closeSub()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				return
			}
		}
		// One look at the pending list answers every wake-up queued
		// meanwhile: a burst of placements sends one per entry.
		for drained := false; !drained; {
			select {
			case _, ok := <-msgs:
				if !ok {
					return
				}
			default:
				drained = true
			}
		}
		if err := c.inbox(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug().Err(err).Msg("reading entries given to this node")
		}
	}
}

// inbox applies the pending list when it holds more entries than this
// node's runners: entries other nodes gave it, and tasks waiting for their
// lock.
func (c *Consumer) inbox(ctx context.Context) error {
	n, err := c.store.PendingCount(ctx, c.cfg.NodeID)
	if err != nil {
		return err
	}
	if n <= int64(c.tasks.Count()) {
		return nil
	}
	return c.pending(ctx)
}

// pending applies the entries pending on this node, paging by id; the
// start entries of tasks running here are skipped.
func (c *Consumer) pending(ctx context.Context) error {
	const page = 64
	from := "0"
	for {
		// Read under the lock too: a page read while a batch is being
		// applied would show entries that batch gives away meanwhile.
		c.applying.Lock()
		cmds, err := c.store.ReadCommands(ctx, c.cfg.NodeID, from, page, 0)
		if err != nil {
			c.applying.Unlock()
			return err
		}
		for _, cmd := range cmds {
			if !c.tasks.Claims(cmd.ID, cmd.Fields["task"]) && !c.held(cmd.ID) {
				c.apply(ctx, cmd, pending)
			}
		}
		c.applying.Unlock()
		if len(cmds) < page {
			return nil
		}
		from = cmds[len(cmds)-1].ID
	}
}

// Adopt applies entries this node reclaimed from dead nodes.
func (c *Consumer) Adopt(ctx context.Context, cmds []store.Command) {
	c.m.reclaimed.Add(float64(len(cmds)))
	c.Apply(ctx, cmds, reclaimed)
}

// Apply carries out commands in order, one at a time across callers.
func (c *Consumer) Apply(ctx context.Context, cmds []store.Command, from origin) {
	c.hold(cmds)
	c.applying.Lock()
	defer c.applying.Unlock()
	for i, cmd := range cmds {
		c.unapplied = len(cmds) - i
		c.apply(ctx, cmd, from)
		c.release(cmd.ID)
	}
	c.unapplied = 0
}

// hold marks cmds as read and waiting for their batch (inflight).
func (c *Consumer) hold(cmds []store.Command) {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	if c.inflight == nil {
		c.inflight = map[string]bool{}
	}
	for _, cmd := range cmds {
		c.inflight[cmd.ID] = true
	}
}

func (c *Consumer) release(id string) {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	delete(c.inflight, id)
}

func (c *Consumer) held(id string) bool {
	c.inflightMu.Lock()
	defer c.inflightMu.Unlock()
	return c.inflight[id]
}

func (c *Consumer) apply(ctx context.Context, cmd store.Command, from origin) {
	// Each command has its own time: a batch (or a pending list) of many
	// under a load that slows Redis must not time out the ones at its end.
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	name, id := cmd.Fields["cmd"], cmd.Fields["task"]
	log := c.log.With().Str("entry", cmd.ID).Str("cmd", name).Str("task", id).
		Str("request_id", cmd.Fields["request_id"]).Str("reason", cmd.Fields["reason"]).Logger()
	err := c.dispatch(ctx, cmd, name, id, from, log)
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, errRejected), errors.Is(err, store.ErrDamagedKey):
		// A damaged key of the task (its config of another type) is no
		// passing trouble: retrying cannot help, so the command is
		// rejected, naming the key.
		result = "deadletter"
		log.Warn().Err(err).Msg("command rejected")
		c.m.deadLetters.WithLabelValues(reasonOf(err)).Inc()
		cmd.Fields = task.RedactCommand(cmd.Fields)
		if err := c.store.DeadLetter(ctx, c.cfg.NodeID, cmd, err); err != nil {
			log.Error().Err(err).Msg("dead-lettering command")
		}
	default:
		// Redis trouble: the entry stays pending here and is applied
		// again from the pending list.
		result = "error"
		log.Warn().Err(err).Msg("applying command")
	}
	switch name { // a metric label: only the known names (any other text may not even be UTF-8)
	case "start", "restart", "stop", "delete", "failover", "snapshot":
	default:
		name = "invalid"
	}
	c.m.commands.WithLabelValues(name, result).Inc()
}

// ack acknowledges an entry only while it is pending on this node: a node
// that was paused may act on entries read before the pause that another
// node has since claimed, and must not take them from it.
func (c *Consumer) ack(ctx context.Context, id string) error {
	_, err := c.store.AckOwned(ctx, c.cfg.NodeID, id)
	return err
}

// errRejected marks a command that is malformed or names an unknown task.
var errRejected = errors.New("rejected")

// Why commands are dead-lettered: the reason label of
// dataingest_dead_letters_total.
const (
	reasonBadCommand  = "bad_command"  // no or an unknown cmd
	reasonBadTaskID   = "bad_task_id"  // a task id the contract does not allow
	reasonBadConfig   = "bad_config"   // a config that does not parse, validate or seal
	reasonUnknownTask = "unknown_task" // a command for a task with no stored config
	reasonDamagedKey  = "damaged_key"  // a key of the task holds another type
)

var deadLetterReasons = []string{reasonBadCommand, reasonBadTaskID, reasonBadConfig, reasonUnknownTask, reasonDamagedKey}

// rejection is an errRejected with its reason.
type rejection struct {
	reason, msg string
}

func (r *rejection) Error() string        { return errRejected.Error() + ": " + r.msg }
func (r *rejection) Is(target error) bool { return target == errRejected }

func reject(reason, format string, args ...any) error {
	return &rejection{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// reasonOf is the dead letter reason of err, a rejection or a damaged key.
func reasonOf(err error) string {
	if r, ok := errors.AsType[*rejection](err); ok {
		return r.reason
	}
	return reasonDamagedKey
}

func (c *Consumer) dispatch(ctx context.Context, cmd store.Command, name, id string, from origin, log zerolog.Logger) error {
	if err := task.ValidID(id); err != nil {
		return reject(reasonBadTaskID, "%v", err)
	}
	switch name {
	case "start", "restart":
		if cmd.Fields["handover"] == "1" && from == fresh {
			from = reclaimed // a node handing over: resume, and place it
		}
		if from != fresh && cmd.Fields["config"] == "" {
			return c.settle(ctx, cmd, id, from, desiredUnknown, log)
		}
		// An entry with a config is applied as a start wherever it comes
		// from: one reclaimed from a node that died, or pending after a
		// failure, before storing it would otherwise be lost. Applying
		// it again changes nothing (PutConfig knows its id).
		return c.start(ctx, cmd, id, name == "restart", from, log)
	case "stop":
		return c.setDesired(ctx, cmd, id, store.DesiredStopped, StateStopped, log)
	case "delete":
		return c.setDesired(ctx, cmd, id, store.DesiredDeleted, "", log)
	case "failover":
		return c.failover(ctx, cmd, id, log)
	case "":
		return reject(reasonBadCommand, "missing field cmd (want start, stop, restart, failover or delete)")
	default:
		return reject(reasonBadCommand, "unknown cmd %q (want start, stop, restart, failover or delete)", truncate(name, 32))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// start stores the config (when given), marks the task desired-running and
// places it if nobody runs it.
func (c *Consumer) start(ctx context.Context, cmd store.Command, id string, restart bool, from origin, log zerolog.Logger) error {
	var sealed, digest, name, typ string
	var previous []string // digest under previous secret keys: the same config stored under an older key
	if raw, ok := cmd.Fields["config"]; ok && raw != "" {
		cfg, err := task.Parse([]byte(raw))
		if err != nil {
			return reject(reasonBadConfig, "config of task %s: %v", id, err)
		}
		sc, err := c.cfg.Sealer.Seal(id, cfg)
		if err != nil {
			return reject(reasonBadConfig, "sealing config of task %s: %v", id, err)
		}
		// The digest is of the plain config: a config sealed by the CLI
		// or the API differs each time it is sealed.
		plain, err := c.cfg.Sealer.Open(id, sc)
		if err != nil {
			return reject(reasonBadConfig, "config of task %s: %v", id, err)
		}
		b, err := json.Marshal(sc)
		if err != nil {
			return reject(reasonBadConfig, "encoding config of task %s: %v", id, err)
		}
		sealed, digest, name, typ = string(b), c.cfg.Sealer.Digest(plain), cfg.TaskName, string(cfg.TaskType)
		if c.cfg.Sealer.Enabled() {
			// Only with a current key: without one, sealed would replace a
			// stored sealed config by a plain one.
			previous = c.cfg.Sealer.PreviousDigests(plain)
		}
	}
	changed, gen, err := c.store.PutConfig(ctx, cmd.ID, id, sealed, digest, name, typ, restart, previous...)
	if errors.Is(err, store.ErrNoConfig) {
		return reject(reasonUnknownTask, "%v", err)
	}
	if errors.Is(err, store.ErrStaleCommand) {
		log.Info().Err(err).Msg("start applied already, or older than a command applied already: only the stored state counts")
		return c.settle(ctx, cmd, id, from, desiredUnknown, log)
	}
	if err != nil {
		return err
	}
	log.Info().Bool("config_changed", changed).Int64("gen", gen).Msg("start")
	if sealed != "" {
		// The config is stored: from here on the entry only has to stand
		// for the task, and must not keep its password on the stream.
		// Where commands wait undelivered this is left to the runner
		// (Tasks.refresh) or to the ack, which deletes such entries.
		if nid, err := c.store.Rehold(ctx, c.cfg.NodeID, cmd.ID, id, "replaces "+cmd.ID+", whose config is stored"); err == nil {
			log.Debug().Str("new_entry", nid).Msg("start entry replaced by one without the config")
			cmd.ID = nid
		}
	}
	return c.settle(ctx, cmd, id, from, store.DesiredRunning, log)
}

// settle carries out what a start entry means (decide): it gathers the
// facts decide asks for, one Redis read each, and applies the final step.
// A task's start entries have no other Redis effects than these.
//
// desired is the task's desired state when the caller knows it (a start
// that has just stored it), desiredUnknown otherwise: a pending or
// reclaimed entry's config may be older than the stored one, so only the
// stored state counts.
func (c *Consumer) settle(ctx context.Context, cmd store.Command, id string, from origin, desired string, log zerolog.Logger) error {
	self := c.cfg.NodeID
	f := facts{Self: self, From: from, Desired: desired, Closing: c.tasks.Closing(), Room: c.tasks.HasRoom()}
	f.RunsHere = c.tasks.Poke(id) // the runner, if any, looks at the desired state now
	f.OwnEntry = f.RunsHere && c.tasks.OwnsEntry(cmd.ID)
	for range 8 { // decide ends within five steps; runHere may add two
		d := decide(f)
		switch d.Do {
		case readDesired:
			sc, err := c.store.LoadConfig(ctx, id)
			switch {
			case errors.Is(err, store.ErrUnknownTask):
				f.Desired = desiredNone
			case err != nil:
				return err
			default:
				f.Desired = sc.Desired.State
			}
		case readLock:
			holder, err := c.store.LockHolder(ctx, id, c.cfg.FailoverTimeout)
			if err != nil {
				return err
			}
			f.Lock, f.Holder = lockOf(holder, self)
		case readLiveness:
			alive, err := c.store.Alive(ctx, f.Holder)
			if err != nil {
				return err
			}
			f.Lock = lockDead
			if alive {
				f.Lock = lockLive
			}
		case place:
			placeFn := c.placer.Place
			if d.Near {
				placeFn = c.placer.PlaceNear
			}
			to, err := placeFn(ctx, max(c.unapplied, 1))
			if err != nil {
				return err
			}
			f.Placed, f.Target = true, to
		case runHere:
			started, holder, err := c.tasks.Start(ctx, id, cmd.ID)
			switch {
			case errors.Is(err, ErrLockedHere):
				f.Lock = lockHere
			case errors.Is(err, ErrShuttingDown):
				f.Closing, f.Lock = true, lockFree // Start released the lock it took, if any
			case err != nil:
				return err
			case started:
				return nil // the entry stays pending here while the task runs
			default: // taken meanwhile
				f.Lock, f.Holder = lockOf(holder, self)
			}
		case keep:
			ev := log.Info()
			switch {
			case d.Quiet:
				ev = log.Debug()
			case d.Warn:
				ev = log.Warn()
			}
			ev.Msg(d.Why)
			return nil
		case ack:
			log.Info().Msg(d.Why)
			return c.ack(ctx, cmd.ID)
		case give:
			log.Info().Str("to", d.To).Msg(d.Why)
			_, err := c.store.GiveEntry(ctx, cmd.ID, self, d.To)
			return err
		case republish:
			log.Info().Msg(d.Why + ": start put back on the stream")
			c.tasks.republish(ctx, id, cmd.ID, d.Why)
			return nil
		}
	}
	return fmt.Errorf("start entry %s of task %s: no decision after eight steps (%+v)", cmd.ID, id, f)
}

// lockOf turns a lock value into a lock fact and its holder's node.
func lockOf(value, self string) (lockFact, string) {
	owner := store.LockOwner(value)
	switch {
	case value == "":
		return lockFree, ""
	case owner == self:
		return lockHere, owner
	}
	return lockOther, owner
}

// setDesired records stop or delete. A runner (here or on another node)
// acts on it at its next lease renewal; when no node runs the task, this
// node takes the lock and applies it itself.
func (c *Consumer) setDesired(ctx context.Context, cmd store.Command, id, desired, state string, log zerolog.Logger) error {
	err := c.store.SetDesired(ctx, cmd.ID, id, desired, false)
	if errors.Is(err, store.ErrUnknownTask) {
		return reject(reasonUnknownTask, "%v", err)
	}
	if errors.Is(err, store.ErrStaleCommand) {
		log.Info().Msg(cmd.Fields["cmd"] + " older than a command applied already: ignored")
		return c.ack(ctx, cmd.ID)
	}
	if err != nil {
		return err
	}
	log.Info().Msg(cmd.Fields["cmd"])
	if !c.tasks.Poke(id) {
		l, _, ok, err := c.store.AcquireLease(ctx, id, c.cfg.NodeID, c.cfg.FailoverTimeout)
		if err != nil {
			return err
		}
		if ok { // nobody runs it: apply here
			if desired == store.DesiredDeleted {
				err = c.store.DeleteTask(ctx, l)
			} else {
				err = c.store.ReleaseLease(ctx, l, state, "", "")
			}
			if err != nil {
				return err
			}
		}
	}
	return c.ack(ctx, cmd.ID)
}

// failover asks the task's owner to hand it to another node.
func (c *Consumer) failover(ctx context.Context, cmd store.Command, id string, log zerolog.Logger) error {
	err := c.store.RequestHandoff(ctx, id)
	if errors.Is(err, store.ErrUnknownTask) {
		return reject(reasonUnknownTask, "%v", err)
	}
	if err != nil {
		return err
	}
	log.Info().Msg("failover requested")
	if !c.tasks.Poke(id) {
		holder, err := c.store.LockHolder(ctx, id, c.cfg.FailoverTimeout)
		if err != nil {
			return err
		}
		if holder == "" { // nobody runs it: nothing to hand over
			log.Info().Msg("failover of a task that is not running: ignored")
			if err := c.store.ClearHandoff(ctx, id); err != nil {
				return err
			}
		}
	}
	return c.ack(ctx, cmd.ID)
}
