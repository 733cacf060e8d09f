package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// Consumer reads the command stream as this node's consumer in group
// `workers` and applies each command. It first re-reads the entries still
// pending on this node (a restarted node resumes its tasks from them), then
// new ones. A command it cannot apply is acknowledged and copied to
// P:deadletter with the reason; no command can stop it.
type Consumer struct {
	cfg   Config
	store *store.Store
	tasks *Tasks
	log   zerolog.Logger
	m     *Metrics
	done  chan struct{}
}

// NewConsumer returns the command consumer of a node.
func NewConsumer(cfg Config, st *store.Store, tasks *Tasks, log zerolog.Logger, m *Metrics) *Consumer {
	return &Consumer{cfg: cfg, store: st, tasks: tasks, log: log, m: m, done: make(chan struct{})}
}

// Done is closed when Run has returned: no command is being applied.
func (c *Consumer) Done() <-chan struct{} { return c.done }

// Run consumes commands until ctx ends. It starts with the entries pending
// on this node (a restarted node resumes its tasks from them) and ends with
// them too: entries delivered while it stopped are applied then, with a
// short deadline of their own, so none is left pending without a task.
func (c *Consumer) Run(ctx context.Context) error {
	defer close(c.done)
	delay := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		if err := c.store.EnsureGroup(ctx); err != nil {
			c.fail(ctx, delay, err)
			continue
		}
		if err := c.pending(ctx); err != nil {
			c.fail(ctx, delay, err)
			continue
		}
		break
	}
	for ctx.Err() == nil {
		cmds, err := c.store.ReadCommands(ctx, c.cfg.NodeID, ">", 16, 2*time.Second)
		if err != nil {
			c.fail(ctx, delay, err)
			continue
		}
		delay.reset()
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		for _, cmd := range cmds {
			c.apply(actx, cmd, false)
		}
		cancel()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.pending(actx); err != nil {
		c.log.Warn().Err(err).Msg("applying pending commands at shutdown")
	}
	return nil
}

// pending applies the entries pending on this node, paging by id; the
// start entries of tasks running here are skipped.
func (c *Consumer) pending(ctx context.Context) error {
	const page = 16
	from := "0"
	for {
		cmds, err := c.store.ReadCommands(ctx, c.cfg.NodeID, from, page, 0)
		if err != nil {
			return err
		}
		for _, cmd := range cmds {
			if !c.tasks.OwnsEntry(cmd.ID) {
				c.apply(ctx, cmd, true)
			}
		}
		if len(cmds) < page {
			return nil
		}
		from = cmds[len(cmds)-1].ID
	}
}

func (c *Consumer) fail(ctx context.Context, delay *backoff, err error) {
	if ctx.Err() != nil {
		return
	}
	wait := delay.next()
	c.log.Warn().Err(err).Dur("retry_in", wait).Msg("reading commands")
	_ = sleepCtx(ctx, wait)
}

// apply carries out one command. A replayed command is one read again from
// this node's pending list.
func (c *Consumer) apply(ctx context.Context, cmd store.Command, replay bool) {
	name, id := cmd.Fields["cmd"], cmd.Fields["task"]
	log := c.log.With().Str("entry", cmd.ID).Str("cmd", name).Str("task", id).
		Str("request_id", cmd.Fields["request_id"]).Str("reason", cmd.Fields["reason"]).Logger()
	err := c.dispatch(ctx, cmd, name, id, replay, log)
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, errRejected):
		result = "deadletter"
		log.Warn().Err(err).Msg("command rejected")
		if raw, ok := cmd.Fields["config"]; ok {
			cmd.Fields["config"] = task.RedactJSON(raw)
		}
		if err := c.store.DeadLetter(ctx, cmd, err); err != nil {
			log.Error().Err(err).Msg("dead-lettering command")
		}
	default:
		// Redis trouble: the entry stays pending here and is read again
		// from the pending list after a restart; skip it for now.
		result = "error"
		log.Warn().Err(err).Msg("applying command")
	}
	if name == "" || len(name) > 16 {
		name = "invalid"
	}
	c.m.commands.WithLabelValues(name, result).Inc()
}

// errRejected marks a command that is malformed or names an unknown task.
var errRejected = errors.New("rejected")

func reject(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRejected, fmt.Sprintf(format, args...))
}

func (c *Consumer) dispatch(ctx context.Context, cmd store.Command, name, id string, replay bool, log zerolog.Logger) error {
	if err := task.ValidID(id); err != nil {
		return reject("%v", err)
	}
	switch name {
	case "start", "restart":
		if replay {
			return c.resume(ctx, cmd, id, log)
		}
		return c.start(ctx, cmd, id, name == "restart", log)
	case "stop":
		return c.setDesired(ctx, cmd, id, store.DesiredStopped, StateStopped, log)
	case "delete":
		return c.setDesired(ctx, cmd, id, store.DesiredDeleted, "", log)
	case "failover":
		return reject("failover is not supported by this version yet")
	case "":
		return reject("missing field cmd (want start, stop, restart, failover or delete)")
	default:
		return reject("unknown cmd %q (want start, stop, restart, failover or delete)", truncate(name, 32))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// start stores the config (when given), marks the task desired-running and
// runs it here if nobody does. The entry stays pending while this node runs
// the task; otherwise it is acknowledged.
func (c *Consumer) start(ctx context.Context, cmd store.Command, id string, restart bool, log zerolog.Logger) error {
	var sealed, digest, name, typ string
	if raw, ok := cmd.Fields["config"]; ok && raw != "" {
		cfg, err := task.Parse([]byte(raw))
		if err != nil {
			return reject("config of task %s: %v", id, err)
		}
		sc, err := c.cfg.Sealer.Seal(cfg)
		if err != nil {
			return reject("sealing config of task %s: %v", id, err)
		}
		b, err := json.Marshal(sc)
		if err != nil {
			return reject("encoding config of task %s: %v", id, err)
		}
		sealed, digest, name, typ = string(b), c.cfg.Sealer.Digest(cfg), cfg.TaskName, string(cfg.TaskType)
	}
	changed, gen, err := c.store.PutConfig(ctx, id, sealed, digest, name, typ, restart)
	if errors.Is(err, store.ErrNoConfig) {
		return reject("%v", err)
	}
	if err != nil {
		return err
	}
	log.Info().Bool("config_changed", changed).Int64("gen", gen).Msg("start")
	return c.run(ctx, cmd, id, log)
}

// run runs a task that should be running here, unless it runs already.
func (c *Consumer) run(ctx context.Context, cmd store.Command, id string, log zerolog.Logger) error {
	if c.tasks.Poke(id) {
		// Running here; the runner picks up a new gen. Its own entry
		// stays pending.
		if c.tasks.OwnsEntry(cmd.ID) {
			return nil
		}
		return c.store.Ack(ctx, cmd.ID)
	}
	started, holder, err := c.tasks.Start(ctx, id, cmd.ID)
	switch {
	case errors.Is(err, ErrShuttingDown):
		c.tasks.republish(ctx, id, cmd.ID, "node "+c.cfg.NodeID+" shutting down")
		return nil
	case errors.Is(err, ErrLockedHere):
		log.Info().Str("holder", holder).Msg("task locked by an earlier run of this node; starting it when the lock expires")
		return nil
	case err != nil:
		return err
	case started:
		return nil // the entry stays pending here while the task runs
	}
	log.Info().Str("holder", holder).Msg("task runs on another node")
	return c.store.Ack(ctx, cmd.ID)
}

// resume runs a task whose start entry was pending on this node (the node
// restarted). The entry's config may be older than the stored one, so only
// the stored state counts.
func (c *Consumer) resume(ctx context.Context, cmd store.Command, id string, log zerolog.Logger) error {
	sc, err := c.store.LoadConfig(ctx, id)
	if errors.Is(err, store.ErrUnknownTask) {
		return c.store.Ack(ctx, cmd.ID)
	}
	if err != nil {
		return err
	}
	if sc.Desired.State != store.DesiredRunning {
		log.Info().Str("desired", sc.Desired.State).Msg("pending start of a task no longer wanted running")
		return c.store.Ack(ctx, cmd.ID)
	}
	return c.run(ctx, cmd, id, log)
}

// setDesired records stop or delete. A runner (here or on another node)
// acts on it at its next lease renewal; when no node runs the task, this
// node takes the lock and applies it itself.
func (c *Consumer) setDesired(ctx context.Context, cmd store.Command, id, desired, state string, log zerolog.Logger) error {
	err := c.store.SetDesired(ctx, id, desired, false)
	if errors.Is(err, store.ErrUnknownTask) {
		return reject("%v", err)
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
	return c.store.Ack(ctx, cmd.ID)
}
