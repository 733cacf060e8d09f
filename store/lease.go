package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a held task lock: its value "NODE TOKEN" is what every fenced
// write of the task must present.
type Lease struct {
	Task  string
	Node  string
	Token int64
	Value string
	// PrevNode and PrevState are the node and state the task's status
	// named when this lease was taken: who ran the task before, and how it
	// left it.
	PrevNode, PrevState string
}

// LockOwner returns the node id in a lock value "NODE TOKEN".
func LockOwner(value string) string {
	if i := strings.LastIndexByte(value, ' '); i >= 0 {
		return value[:i]
	}
	return value
}

// acquireScript takes a free task lock with a new fencing token.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2] P:task:status:{ID} (field fence: the token counter)
// KEYS[3] P:task:assignment:{ID}
// ARGV[1] node id
// ARGV[2] lock TTL, ms
// ARGV[3] now, ms since the epoch
// Returns {1, value, repairs, previous node, previous state} when acquired
// (the status's node and state before), {0, current value, repairs} when
// held. It repairs what would keep the task from ever running again:
// a lock of another type (no holder can have written it) is deleted, a lock
// without a TTL (no holder can have set it either) gets one, so that it
// expires like any lease; a status of another type is rebuilt and a fencing
// counter that is not a number restarts from the time in ms, above every
// token handed out before. repairs names them ("lock", "lock-ttl",
// "status", "fence"), comma-separated.
var acquireScript = redis.NewScript(luaLease + `
local repairs = {}
local cur = readLock(KEYS[1], ARGV[2], repairs)
if cur then return {0, cur, table.concat(repairs, ',')} end
rebuildStatus(KEYS[2], ARGV[3], repairs)
local f = redis.call('HGET', KEYS[2], 'fence')
if f and not string.match(f, '^%d+$') then
  redis.call('HSET', KEYS[2], 'fence', ARGV[3])
  table.insert(repairs, 'fence')
end
local token = redis.call('HINCRBY', KEYS[2], 'fence', 1)
local val = ARGV[1] .. ' ' .. token
redis.call('SET', KEYS[1], val, 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[1])
local prev = redis.call('HMGET', KEYS[2], 'node', 'state')
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'state', 'PENDING', 'error', '', 'updated_at', ARGV[3])
return {1, val, table.concat(repairs, ','), prev[1] or '', prev[2] or ''}
`)

// AcquireLease takes the lock of task for node with ttl. When another holder
// has it, ok is false and holder is its lock value.
func (s *Store) AcquireLease(ctx context.Context, task, node string, ttl time.Duration) (l Lease, holder string, ok bool, err error) {
	k := s.keys
	res, err := acquireScript.Run(ctx, s.rdb,
		[]string{k.TaskLock(task), k.TaskStatus(task), k.TaskAssignment(task)},
		node, ttl.Milliseconds(), s.nowMs()).Slice()
	if err != nil {
		return Lease{}, "", false, fmt.Errorf("acquiring lock of task %s: %w", task, err)
	}
	val := toString(res[1])
	s.repaired(task, res, 2)
	if toInt(res[0]) != 1 {
		return Lease{}, val, false, nil
	}
	var token int64
	fmt.Sscan(val[strings.LastIndexByte(val, ' ')+1:], &token)
	l = Lease{Task: task, Node: node, Token: token, Value: val}
	if len(res) >= 5 {
		l.PrevNode, l.PrevState = toString(res[3]), toString(res[4])
	}
	return l, "", true, nil
}

// Desired is what operators asked of a task, as stored with its config.
type Desired struct {
	State   string // DesiredRunning, DesiredStopped or DesiredDeleted
	Gen     int64  // bumped by restart and by a changed config
	Handoff bool   // a failover command asks the owner to hand the task over
	// Config is nil while the config key is a hash; else why it cannot be
	// read (ErrUnknownTask: deleted or evicted; a DamagedKeyError).
	Config error
}

// Desired states of a task.
const (
	DesiredRunning = "running"
	DesiredStopped = "stopped"
	DesiredDeleted = "deleted"
)

// renewScript extends a held lock and reports the task's desired state.
// Every node runs it for each of its tasks every heartbeat, most of an
// idle fleet's Redis load, so the usual case is three commands (GET,
// PEXPIRE, HMGET): a key of the wrong type shows as the error of a
// pcall, which writes nothing, rather than as a TYPE asked each time.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2] P:task:config:{ID}
// ARGV[1] lock value
// ARGV[2] lock TTL, ms
// Returns {1, desired, gen, handoff, config type} when renewed (config type
// "hash", or "none" or another type when the config key is missing or
// damaged: then the other fields are empty), {0, current value or an empty
// string} when lost (a lock of another type is nobody's).
var renewScript = redis.NewScript(`
local cur = redis.pcall('GET', KEYS[1])
if type(cur) == 'table' and cur.err then return {0, ''} end
if cur ~= ARGV[1] then return {0, cur or ''} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local d = redis.pcall('HMGET', KEYS[2], 'desired', 'gen', 'handoff')
if d.err then return {1, '', '0', '', redis.call('TYPE', KEYS[2])['ok']} end
if not d[1] and redis.call('EXISTS', KEYS[2]) == 0 then return {1, '', '0', '', 'none'} end
return {1, d[1] or '', d[2] or '0', d[3] or '', 'hash'}
`)

// RenewLease extends l by ttl and returns the task's desired state. It
// returns ErrLeaseLost when the lock is no longer l's.
func (s *Store) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Desired, error) {
	k := s.keys
	res, err := renewScript.Run(ctx, s.rdb,
		[]string{k.TaskLock(l.Task), k.TaskConfig(l.Task)}, l.Value, ttl.Milliseconds()).Slice()
	return s.renewed(l, res, err)
}

// Renewal is the outcome of one lease's renewal in RenewLeases: what
// RenewLease returns.
type Renewal struct {
	Desired Desired
	Err     error
}

// RenewLeases renews every lease of ls by ttl in one round trip (a
// pipeline of the renew script; on a Redis Cluster one per shard), for a
// node's whole set of tasks at once. The result for ls[i] is out[i].
func (s *Store) RenewLeases(ctx context.Context, ls []Lease, ttl time.Duration) []Renewal {
	out := make([]Renewal, len(ls))
	if len(ls) == 0 {
		return out
	}
	k := s.keys
	run := func() []*redis.Cmd {
		cmds := make([]*redis.Cmd, len(ls))
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, l := range ls {
				cmds[i] = renewScript.EvalSha(ctx, p, []string{k.TaskLock(l.Task), k.TaskConfig(l.Task)}, l.Value, ttl.Milliseconds())
			}
			return nil
		})
		return cmds
	}
	cmds := run()
	// EVALSHA in a pipeline does not fall back to EVAL: load the script
	// (a restarted or new Redis) and go again.
	if err := cmds[0].Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := renewScript.Load(ctx, s.rdb).Err(); err == nil {
			cmds = run()
		}
	}
	for i, c := range cmds {
		res, err := c.Slice()
		d, err := s.renewed(ls[i], res, err)
		out[i] = Renewal{Desired: d, Err: err}
	}
	return out
}

// renewed turns a reply of renewScript for l into RenewLease's result.
func (s *Store) renewed(l Lease, res []any, err error) (Desired, error) {
	k := s.keys
	if err != nil {
		return Desired{}, fmt.Errorf("renewing lock of task %s: %w", l.Task, err)
	}
	if toInt(res[0]) != 1 {
		return Desired{}, fmt.Errorf("renewing lock of task %s (now held by %q): %w", l.Task, toString(res[1]), ErrLeaseLost)
	}
	d := Desired{State: toString(res[1]), Gen: toInt(res[2]), Handoff: toString(res[3]) != ""}
	switch ct := toString(res[4]); ct {
	case "hash":
	case "none":
		d.Config = fmt.Errorf("task %s: config key %s is missing (deleted, or evicted by Redis): %w", l.Task, k.TaskConfig(l.Task), ErrUnknownTask)
	default:
		d.Config = &DamagedKeyError{Key: k.TaskConfig(l.Task), Have: "a " + ct, Want: "a hash"}
	}
	return d, nil
}

// releaseScript gives a held lock up and records the task's final state.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2] P:task:assignment:{ID}
// KEYS[3] P:task:status:{ID}
// KEYS[4] P:task:config:{ID}
// ARGV[1] lock value
// ARGV[2] state to record (STOPPED, FAILED, PENDING)
// ARGV[3] error to record ("" for none)
// ARGV[4] now, ms since the epoch
// ARGV[5] desired state required for the release ("" = any)
// Returns 1 released, 0 not the holder, -1 kept: the desired state differs.
// A release also clears a pending hand-over request.
// A config or status of another type is left to its own repair or report;
// the release itself never fails half-way on one.
var releaseScript = redis.NewScript(luaLease + `
if not holds(KEYS[1], ARGV[1]) then return 0 end
local cfgOK = redis.call('TYPE', KEYS[4])['ok'] == 'hash'
if ARGV[5] ~= '' and (not cfgOK or redis.call('HGET', KEYS[4], 'desired') ~= ARGV[5]) then return -1 end
redis.call('DEL', KEYS[1], KEYS[2])
if cfgOK then redis.call('HDEL', KEYS[4], 'handoff') end
rebuildStatus(KEYS[3], tokenOf(ARGV[1]), {})
redis.call('HSET', KEYS[3], 'state', ARGV[2], 'error', ARGV[3], 'node', '', 'lag_ms', '0', 'updated_at', ARGV[4])
return 1
`)

// ErrDesiredChanged means a release was refused because the task's desired
// state changed since the caller looked (a start raced a stop).
var ErrDesiredChanged = fmt.Errorf("desired state changed")

// ReleaseLease gives l up, recording state and errMsg in the task's status.
// With requireDesired set, the release happens only while the task's
// desired state is still that value; otherwise ErrDesiredChanged.
func (s *Store) ReleaseLease(ctx context.Context, l Lease, state, errMsg, requireDesired string) error {
	k := s.keys
	n, err := releaseScript.Run(ctx, s.rdb,
		[]string{k.TaskLock(l.Task), k.TaskAssignment(l.Task), k.TaskStatus(l.Task), k.TaskConfig(l.Task)},
		l.Value, state, errMsg, s.nowMs(), requireDesired).Int()
	switch {
	case err != nil:
		return fmt.Errorf("releasing lock of task %s: %w", l.Task, err)
	case n == 0:
		return fmt.Errorf("releasing lock of task %s: %w", l.Task, ErrLeaseLost)
	case n < 0:
		return fmt.Errorf("releasing lock of task %s: %w", l.Task, ErrDesiredChanged)
	}
	return nil
}

// deleteScript removes a task's state while holding its lock. The output
// stream stays.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2..6] P:task:config, status, offset, schema, assignment of {ID}
// ARGV[1] lock value
// Returns 1 deleted, 0 not the holder.
var deleteScript = redis.NewScript(luaLease + `
if not holds(KEYS[1], ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
`)

// DeleteTask removes config, status, offset, schema, assignment and lock of
// l's task, then the task from P:cluster:tasks. The output stream stays.
func (s *Store) DeleteTask(ctx context.Context, l Lease) error {
	k, id := s.keys, l.Task
	n, err := deleteScript.Run(ctx, s.rdb,
		[]string{k.TaskLock(id), k.TaskConfig(id), k.TaskStatus(id), k.TaskOffset(id), k.TaskSchema(id), k.TaskAssignment(id)},
		l.Value).Int()
	if err != nil {
		return fmt.Errorf("deleting task %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("deleting task %s: %w", id, ErrLeaseLost)
	}
	if err := s.rdb.SRem(ctx, k.ClusterTasks(), id).Err(); err != nil {
		return fmt.Errorf("removing task %s from %s: %w", id, k.ClusterTasks(), err)
	}
	return nil
}

// lockHolderScript reads a task's lock, repairing what no holder can have
// written: a lock of another type is deleted, a lock without a TTL gets
// one (ttl), so that it expires like any lease.
//
// KEYS[1] P:lock:task:{ID}
// ARGV[1] TTL for a lock that has none, ms
// Returns {value or "", repairs}.
var lockHolderScript = redis.NewScript(luaLease + `
local repairs = {}
local v = readLock(KEYS[1], ARGV[1], repairs)
return {v or '', table.concat(repairs, ',')}
`)

// LockHolder returns the value of task's lock, "" when free. A lock
// without a TTL is given ttl; a lock that is not a string is deleted (the
// repair hook hears of both).
func (s *Store) LockHolder(ctx context.Context, task string, ttl time.Duration) (string, error) {
	res, err := lockHolderScript.Run(ctx, s.rdb, []string{s.keys.TaskLock(task)}, ttl.Milliseconds()).Slice()
	if err != nil {
		return "", fmt.Errorf("reading lock of task %s: %w", task, err)
	}
	s.repaired(task, res, 1)
	return toString(res[0]), nil
}
