package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/source"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// Task states, as the status hash shows them.
const (
	StatePending      = "PENDING"
	StateSnapshotting = "SNAPSHOTTING"
	StateRunning      = "RUNNING"
	StateBackpressure = "BACKPRESSURE"
	StateRetrying     = "RETRYING"
	StateStopped      = "STOPPED"
	StateFailed       = "FAILED"
)

// Why a session of a runner ended, when not by an error of its own.
var (
	errStopRequested    = errors.New("stop requested")
	errDeleteRequested  = errors.New("delete requested")
	errRestartRequested = errors.New("restart requested")
	errMoveRequested    = errors.New("moving to another node")
)

// How a runner ended.
const (
	outcomeStopped  = "stopped"
	outcomeDeleted  = "deleted"
	outcomeFailed   = "failed"
	outcomeLost     = "lost"
	outcomeHandOver = "handover" // the node is stopping
	outcomeMoved    = "moved"    // balance or failover command
)

// runner runs one task on this node while it holds the task's lease. Its
// lease keeper renews the lock every heartbeat and, from the reply, learns
// what operators want of the task; each session loads the config and the
// checkpoint and runs source and writer until one of them ends.
type runner struct {
	t     *Tasks
	id    string
	entry string // the start entry kept pending on this node; guarded by t.mu
	// entryClean: entry is known to carry no config; guarded by t.mu.
	entryClean bool
	// reholding is set while Tasks.rehold replaces entry (guarded by
	// t.mu): the new entry is pending here before entry names it.
	reholding bool
	lease     store.Lease
	log       zerolog.Logger

	poke    chan struct{}      // renew now: a command for this task arrived
	renewal chan store.Renewal // the heartbeat's renewal, from Tasks.renewAll
	wake    chan struct{}      // an interrupt arrived
	done    chan struct{}      // closed when run returns

	mu     sync.Mutex // guards gen, cause, cancel, move
	gen    int64      // generation of the running config
	cause  error      // interrupt waiting to be handled
	cancel context.CancelCauseFunc
	move   string // node to move the task to

	outcome string // how run ended, one of the outcome constants; read after done
}

// moveTo stops the task so that Tasks gives it to node to.
func (r *runner) moveTo(to string) {
	r.mu.Lock()
	r.move = to
	r.mu.Unlock()
	r.interrupt(errMoveRequested)
}

func (r *runner) target() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.move
}

func newRunner(t *Tasks, id, entry string, l store.Lease) *runner {
	return &runner{
		t: t, id: id, entry: entry, lease: l,
		log:  t.log.With().Str("task", id).Logger(),
		poke: make(chan struct{}, 1), renewal: make(chan store.Renewal, 1), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// interrupt ends the current session with cause.
func (r *runner) interrupt(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cause == nil || cause == ErrLeaseLostLocal || errors.Is(cause, store.ErrLeaseLost) {
		r.cause = cause
	}
	if r.cancel != nil {
		r.cancel(cause)
	}
	signal(r.wake)
}

// ErrLeaseLostLocal marks a lease this node gave up because it could not
// renew it in time.
var ErrLeaseLostLocal = fmt.Errorf("lease expiring unrenewed: %w", store.ErrLeaseLost)

func (r *runner) takeCause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cause
	r.cause = nil
	return c
}

// run runs the task until it is stopped, deleted, failed, lost or ctx ends
// (hand-over); the outcome is left in r.outcome.
func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	defer r.t.metrics.forget(r.id) // the task's lag is another node's to show now
	lctx, lcancel := context.WithCancel(ctx)
	var keeper sync.WaitGroup
	keeper.Add(1)
	go func() { defer keeper.Done(); r.keepLease(lctx) }()
	defer keeper.Wait() // before done closes
	defer lcancel()
	r.t.metrics.begin(r.id)
	r.tookOver(ctx)

	delay := newBackoff(time.Second, 30*time.Second)
	sessions := 0
	for {
		cause := r.takeCause()
		if cause == nil {
			if sessions++; sessions > 1 {
				r.t.metrics.sourceReconnects.WithLabelValues(r.id).Inc()
			}
			cause = r.session(ctx)
		}
		if ctx.Err() != nil {
			r.outcome = outcomeHandOver
			return
		}
		switch {
		case errors.Is(cause, errRestartRequested), errors.Is(cause, store.ErrCheckpointMoved):
			r.log.Info().Err(cause).Msg("restarting task")
			continue
		case errors.Is(cause, errStopRequested):
			if r.finish(ctx, StateStopped, "", store.DesiredStopped) {
				r.outcome = outcomeStopped
				return
			}
			continue
		case errors.Is(cause, errDeleteRequested):
			r.delete(ctx)
			r.outcome = outcomeDeleted
			return
		case errors.Is(cause, store.ErrUnknownTask):
			// The config key vanished without a delete command (DEL by
			// hand, or evicted): the checkpoint and history stay for a
			// start that brings the config back.
			r.log.Error().Err(cause).Msg("task failed: its config is gone")
			r.finish(ctx, StateFailed, cause.Error()+"; send start with the config to resume from the checkpoint", "")
			r.outcome = outcomeFailed
			return
		case errors.Is(cause, store.ErrLeaseLost):
			r.t.metrics.leaseLosses.Inc()
			r.log.Warn().Err(cause).Msg("lost the task's lease: stopped writing")
			r.markLost(ctx, cause)
			r.outcome = outcomeLost
			return
		case errors.Is(cause, errMoveRequested):
			r.outcome = outcomeMoved
			return
		case source.IsPermanent(cause):
			if errors.Is(cause, errSource) {
				r.t.metrics.sourceErrors.WithLabelValues(r.id, "permanent").Inc()
			}
			r.log.Error().Err(cause).Msg("task failed")
			r.finish(ctx, StateFailed, cause.Error(), "")
			r.outcome = outcomeFailed
			return
		}
		if errors.Is(cause, errSource) {
			r.t.metrics.sourceErrors.WithLabelValues(r.id, "retried").Inc()
		}
		wait := delay.next()
		r.log.Warn().Err(cause).Dur("retry_in", wait).Msg("task interrupted; retrying")
		r.setStatus(ctx, "state", StateRetrying, "error", cause.Error())
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-time.After(wait):
		}
	}
}

// activeStates are the states of a task that has, or should have, a
// runner: a new lease after one of them is a task taken over.
var activeStates = []string{StatePending, StateSnapshotting, StateRunning, StateBackpressure, StateRetrying}

// tookOver observes, when this runner takes over a task from a node that
// is gone (killed, paused, cut off, or stopped and handing over), how long
// the task was without a runner: from that node's last heartbeat to now.
func (r *runner) tookOver(ctx context.Context) {
	prev := r.lease.PrevNode
	if prev == "" || prev == r.t.cfg.NodeID || !slices.Contains(activeStates, r.lease.PrevState) {
		return
	}
	ms, alive, err := r.t.store.LastHeartbeat(ctx, prev)
	if err != nil || alive || ms == 0 {
		return // a move from a live node, or one forgotten: no failover to time
	}
	took := time.Since(time.UnixMilli(ms))
	r.t.metrics.failoverSeconds.Observe(took.Seconds())
	r.log.Info().Str("from", prev).Dur("without_runner", took).Msg("took over the task of a node that is gone")
}

// errSource marks the errors of a session's source.
var errSource = errors.New("source")

// sourceError is an error of a task's source, marked errSource.
type sourceError struct{ err error }

func (e *sourceError) Error() string        { return e.err.Error() }
func (e *sourceError) Unwrap() error        { return e.err }
func (e *sourceError) Is(target error) bool { return target == errSource }

// finish releases the lease with a final state and acknowledges the start
// entry. With requireDesired set it reports false, keeping the lease, when
// the desired state changed meanwhile.
func (r *runner) finish(ctx context.Context, state, errMsg, requireDesired string) bool {
	err := r.t.store.ReleaseLease(ctx, r.lease, state, errMsg, requireDesired)
	if errors.Is(err, store.ErrDesiredChanged) {
		return false
	}
	if err != nil {
		r.log.Warn().Err(err).Msg("releasing the lease")
	}
	r.ackEntry(ctx)
	r.log.Info().Str("state", state).Msg("task ended")
	return true
}

func (r *runner) delete(ctx context.Context) {
	if err := r.t.store.DeleteTask(ctx, r.lease); err != nil {
		r.log.Warn().Err(err).Msg("deleting task state")
	}
	r.ackEntry(ctx)
	r.log.Info().Msg("task deleted")
}

func (r *runner) ackEntry(ctx context.Context) {
	entry := r.t.entryOf(r)
	if entry == "" {
		return
	}
	if _, err := r.t.store.AckOwned(ctx, r.t.cfg.NodeID, entry); err != nil {
		r.log.Warn().Err(err).Str("entry", entry).Msg("acknowledging the start entry")
	}
}

// markLost records in the status, unless another node has taken the task
// meanwhile, that this node no longer runs it: a status must not say
// RUNNING for a task nobody writes.
func (r *runner) markLost(ctx context.Context, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := r.t.store.MarkLeaseLost(ctx, r.id, r.t.cfg.NodeID, StateRetrying, cause.Error()); err != nil {
		r.log.Debug().Err(err).Msg("recording the lost lease in the status")
	}
}

func (r *runner) setStatus(ctx context.Context, pairs ...string) {
	if err := r.t.store.SetStatus(ctx, r.lease, pairs...); err != nil {
		r.log.Debug().Err(err).Msg("writing status")
	}
}

// keepLease takes the lease renewals Tasks makes for all its runners every
// heartbeat in one round trip (and renews at once when poked), and turns
// the task's desired state into interrupts. When the lease has not been
// renewed for longer than it lasts (Redis unreachable, or no renewal
// came), it interrupts with ErrLeaseLostLocal: by then another node may
// own the task.
func (r *runner) keepLease(ctx context.Context) {
	ttl := r.t.cfg.FailoverTimeout
	check := time.NewTicker(r.t.cfg.HeartbeatInterval)
	defer check.Stop()
	renewed := time.Now()
	failures := 0
	for {
		var d store.Desired
		var err error
		select {
		case <-ctx.Done():
			return
		case res := <-r.renewal:
			d, err = res.Desired, res.Err
		case <-r.poke:
			d, err = r.t.store.RenewLease(ctx, r.lease, ttl)
		case <-check.C:
			if time.Since(renewed) > ttl-r.t.cfg.HeartbeatInterval/2 {
				r.interrupt(ErrLeaseLostLocal)
				return
			}
			continue
		}
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			r.interrupt(err)
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			if time.Since(renewed) > ttl-r.t.cfg.HeartbeatInterval/2 {
				r.interrupt(ErrLeaseLostLocal)
				return
			}
			failures++
			logRepeated(r.log, failures, err, "renewing the lease")
			continue
		}
		if failures > 0 {
			r.log.Info().Int("failures", failures).Msg("lease renewed again")
			failures = 0
		}
		renewed = time.Now()
		r.t.metrics.leaseRenewals.Inc()
		if d.Config != nil {
			// The config key is gone or damaged: the session ends and
			// the next one reports why.
			r.interrupt(d.Config)
			continue
		}
		r.mu.Lock()
		gen := r.gen
		r.mu.Unlock()
		switch {
		case d.State == store.DesiredStopped:
			r.interrupt(errStopRequested)
		case d.State == store.DesiredDeleted:
			r.interrupt(errDeleteRequested)
		case d.Gen != gen:
			r.interrupt(errRestartRequested)
		case d.Handoff:
			r.handOff(ctx)
		}
	}
}

// handOff answers a failover command: the task moves to the best other
// node, or stays when there is none.
func (r *runner) handOff(ctx context.Context) {
	to, err := r.t.placer.PlaceElsewhere(ctx)
	if err != nil {
		r.log.Warn().Err(err).Msg("choosing a node for failover")
		return
	}
	if to == "" {
		r.log.Warn().Msg("failover requested but no other live node has room: the task stays")
		if err := r.t.store.ClearHandoff(ctx, r.id); err != nil {
			r.log.Warn().Err(err).Msg("clearing the failover request")
		}
		return
	}
	r.log.Info().Str("to", to).Msg("failover requested: moving the task")
	r.moveTo(to)
}

// session runs the task once: config and checkpoint from Redis, then source
// and writer until either ends. It returns why it ended.
func (r *runner) session(ctx context.Context) error {
	st := r.t.store
	sc, err := st.LoadConfig(ctx, r.id)
	if errors.Is(err, store.ErrUnknownTask) {
		return fmt.Errorf("config key %s is missing (deleted, or evicted by Redis): %w", st.Keys().TaskConfig(r.id), err)
	}
	if err != nil {
		return err
	}
	switch sc.Desired.State {
	case store.DesiredStopped:
		return errStopRequested
	case store.DesiredDeleted:
		return errDeleteRequested
	}
	r.mu.Lock()
	r.gen = sc.Desired.Gen
	r.mu.Unlock()
	cfg, err := r.t.openConfig(r.id, sc.Config)
	if err != nil {
		return source.Permanent(err)
	}
	r.reseal(ctx, sc.Config)
	src, err := r.t.newSource(ctx, r.id, cfg, r.log)
	if err != nil {
		return err
	}
	offset, err := st.LoadOffset(ctx, r.id)
	if err != nil {
		return err
	}
	from, err := source.ParseCheckpoint(offset)
	if err != nil {
		return source.Permanent(fmt.Errorf("stored checkpoint of task %s: %w", r.id, err))
	}
	if len(offset) == 0 {
		// No checkpoint: a new task, or one whose checkpoint was lost.
		// Starting over would write every change again.
		events, entries, err := st.Written(ctx, r.id)
		if err != nil {
			return err
		}
		if events > 0 && entries > 0 {
			return source.Permanent(fmt.Errorf("checkpoint key %s is missing (deleted, or evicted by Redis) while the task "+
				"has written %d events (%d in its output): starting over would write them again; to start over on purpose, "+
				"delete the task and start it again", st.Keys().TaskOffset(r.id), events, entries))
		}
	}
	batches, _ := strconv.ParseInt(offset["batch"], 10, 64)
	codec, err := events.NewCodec(string(cfg.Format))
	if err != nil {
		return source.Permanent(err)
	}
	limit := store.OutputLimit{MaxLen: cfg.OutputMaxLen, Overflow: string(cfg.Overflow)}
	maxEntries := defaultBatchEntries
	if limit.MaxLen > 0 && limit.MaxLen < int64(maxEntries) {
		maxEntries = int(limit.MaxLen)
	}
	em := newEmitter(codec, maxEntries, from)
	ow := st.NewOutputWriter(r.lease, limit, batches)
	// PENDING until the source has its position; its first write makes
	// the task RUNNING (or SNAPSHOTTING).
	r.setStatus(ctx, "state", StatePending, "node", r.t.cfg.NodeID, "position", from.String())
	r.log.Info().Str("from", from.String()).Str("type", string(cfg.TaskType)).Msg("task session started")

	sctx, cancel := context.WithCancelCause(ctx)
	r.mu.Lock()
	r.cancel = cancel
	pending := r.cause
	r.mu.Unlock()
	if pending != nil {
		cancel(pending)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := src.Run(sctx, from, em)
		if err == nil {
			err = errors.New("source ended")
		}
		cancel(&sourceError{err})
	}()
	go func() {
		defer wg.Done()
		cancel(r.write(sctx, em, ow))
	}()
	wg.Wait()
	em.close()
	r.mu.Lock()
	r.cancel = nil
	r.mu.Unlock()
	cause := context.Cause(sctx)
	if c := r.takeCause(); c != nil {
		cause = c
	}
	return cause
}

// flight is a batch whose fenced write is in flight.
type flight struct {
	b   *pendingBatch
	sb  store.Batch
	lag int64
	p   *store.Pending
	at  time.Time
}

// write takes batches from em and writes them, fenced, until ctx ends or
// the lease is lost. While a write is in flight it sends the next batch
// as soon as that is full (pipelineDepth writes at most), so Redis has it
// when it is done with the one before; a lone change still goes out at
// once. After a failed write it waits for those in flight and writes
// every batch not written again, one at a time, retrying each: the store
// writes each batch once, in order.
func (r *runner) write(ctx context.Context, em *emitter, ow *store.OutputWriter) error {
	var flights []*flight
	var spare []*flight // flights done with, for their slices
	defer func() {
		for _, f := range flights {
			f.p.Wait() // none outlives the session
		}
	}()
	for {
		var b *pendingBatch
		var err error
		switch {
		case len(flights) == 0:
			b, err = em.take(ctx)
		case len(flights) < pipelineDepth:
			b, err = em.takeFull(ctx, flights[0].p.Done())
		default:
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-flights[0].p.Done():
			}
		}
		if err != nil {
			return context.Cause(ctx)
		}
		if b != nil {
			var f *flight
			if n := len(spare); n > 0 {
				f, spare = spare[n-1], spare[:n-1]
			} else {
				f = &flight{}
			}
			f.b, f.lag, f.at = b, r.lagOf(b), time.Now()
			state := StateRunning
			if b.snapshot {
				state = StateSnapshotting
			}
			b.toStore(&f.sb, state, f.lag)
			f.p = ow.Send(ctx, &f.sb)
			flights = append(flights, f)
			continue
		}
		// The oldest write has ended.
		f := flights[0]
		flights = flights[1:]
		_, err = f.p.Wait()
		if err == nil {
			r.wrote(em, f)
			spare = append(spare, f)
			continue
		} else if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		// A write failed: the rest end too (or are written, when the
		// failed one was written but its reply lost); then the batches
		// not written go again, one at a time.
		r.log.Debug().Err(err).Int64("batch", f.p.Number()).
			Msg("a write failed with others in flight; writing the batches not written one at a time")
		failed := append([]*flight{f}, flights...)
		flights = nil
		for _, g := range failed[1:] {
			g.p.Wait()
		}
		ow.Resync()
		for _, g := range failed {
			if g.p.Number() <= ow.Written() {
				r.wrote(em, g) // written: a later batch of the run was
			} else if err := r.writeOne(ctx, em, ow, g); err != nil {
				return err
			}
			spare = append(spare, g)
		}
	}
}

// lagOf is the lag a batch's status shows: now less its source time.
func (r *runner) lagOf(b *pendingBatch) int64 {
	if b.tsMs > 0 {
		return max(time.Now().UnixMilli()-b.tsMs, 0)
	}
	return 0
}

// wrote records a written batch and gives it back to the emitter.
func (r *runner) wrote(em *emitter, f *flight) {
	m := r.t.metrics
	entries, size := 0, 0
	for i := range f.sb.Entries {
		if e := &f.sb.Entries[i]; e.Op != store.OpSchema {
			entries, size = entries+1, size+len(e.Data)
		}
	}
	m.batches.Inc()
	m.events.WithLabelValues(r.id).Add(float64(entries))
	m.bytes.WithLabelValues(r.id).Add(float64(size))
	m.batchEntries.Observe(float64(entries))
	m.writeSeconds.Observe(time.Since(f.at).Seconds())
	m.lagSeconds.WithLabelValues(r.id).Set(float64(f.lag) / 1000)
	if entries > 0 {
		m.commitToWrite.WithLabelValues(r.id).Observe(float64(f.lag) / 1000)
	}
	if f.b.snapRows > 0 {
		m.snapshotRows.WithLabelValues(r.id).Set(float64(f.b.snapRows))
		m.snapshotEstimate.WithLabelValues(r.id).Set(float64(max(em.snapshotEstimate(), f.b.snapRows)))
	}
	em.wrote(f.lag)
	em.recycle(f.b)
	f.b = nil
}

// writeOne writes f's batch, no other write in flight, retrying until it
// is written, the lease is lost, the checkpoint moved or ctx ends.
func (r *runner) writeOne(ctx context.Context, em *emitter, ow *store.OutputWriter, f *flight) error {
	delay := newBackoff(50*time.Millisecond, 5*time.Second)
	failures := 0
	var blocked time.Time // when the task last paused for a full output, zero when it did not
	defer func() {
		if !blocked.IsZero() {
			r.t.metrics.backpressure.WithLabelValues(r.id).Add(time.Since(blocked).Seconds())
		}
	}()
	for {
		f.at = time.Now()
		_, err := ow.Write(ctx, &f.sb)
		if err == nil {
			r.wrote(em, f)
			if failures > 0 {
				r.log.Info().Int("failures", failures).Msg("writing again")
			}
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, store.ErrLeaseLost), errors.Is(err, store.ErrCheckpointMoved):
			return err
		case errors.Is(err, store.ErrDamagedKey):
			wait := delay.next()
			failures++
			logRepeated(r.log, failures, err, "writing a batch: a key of the task is damaged; retrying until it is repaired")
			if failures == 1 || failures%100 == 0 {
				r.setStatus(ctx, "state", StateRetrying, "error", err.Error()+": fix or delete the key")
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return context.Cause(ctx)
			}
		case errors.Is(err, store.ErrBackpressure):
			if blocked.IsZero() {
				r.log.Warn().Err(err).Msg("output stream full: pausing")
				r.setStatus(ctx, "state", StateBackpressure, "error", err.Error())
			} else {
				// Counted as it goes, so that a long pause shows.
				r.t.metrics.backpressure.WithLabelValues(r.id).Add(time.Since(blocked).Seconds())
			}
			blocked = time.Now()
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return context.Cause(ctx)
			}
		default:
			wait := delay.next()
			failures++
			logRepeated(r.log, failures, err, "writing a batch; retrying with backoff")
			if failures == 1 || failures%100 == 0 {
				// Redis refused the write (out of memory, say):
				// the status says so when Redis takes that.
				r.setStatus(ctx, "state", StateRetrying, "error", err.Error())
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return context.Cause(ctx)
			}
		}
	}
}

// logRepeated logs the first of a run of failures as a warning and the
// rest at debug level, except every 100th, so that an outage of Redis does
// not flood the log with one line per task and retry.
func logRepeated(log zerolog.Logger, n int, err error, msg string) {
	ev := log.Debug()
	if n == 1 || n%100 == 0 {
		ev = log.Warn()
	}
	ev.Err(err).Int("failures", n).Msg(msg)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reseal stores the task's config sealed under the current secret key when
// stored, the config this session read, holds a password sealed otherwise
// (under a key now in DATAINGEST_SECRET_KEY_PREVIOUS, in the old format, or
// not at all): so a key rotation moves every running task's config onto
// the new key. The config is the same, so nothing restarts. A failure is
// logged and left for the next session: the task runs either way.
func (r *runner) reseal(ctx context.Context, stored string) {
	resealed, digest, changed, err := r.t.cfg.Sealer.Reseal(r.id, stored)
	if err != nil || !changed {
		return // openConfig opened it, so an error here is of the same kind and reported there
	}
	ok, err := r.t.store.ResealConfig(ctx, r.id, stored, resealed, digest)
	switch {
	case err != nil:
		r.log.Warn().Err(err).Msg("storing the config sealed under the current DATAINGEST_SECRET_KEY; retried next session")
	case ok:
		r.log.Info().Msg("config sealed anew under the current DATAINGEST_SECRET_KEY")
	}
}

// openConfig decodes the stored config of task id and unseals its passwords.
func (t *Tasks) openConfig(id, stored string) (*task.Config, error) {
	var c task.Config
	if err := json.Unmarshal([]byte(stored), &c); err != nil {
		return nil, fmt.Errorf("stored config is not valid JSON: %w", err)
	}
	c.SetDefaults()
	// A config stored by an earlier version may break limits this one
	// enforces (a DATAGEN rate of 2^63-1, say): it fails the task rather
	// than flood Redis.
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("stored config: %w", err)
	}
	return t.cfg.Sealer.Open(id, &c)
}
