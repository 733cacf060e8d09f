package store

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/redis/go-redis/v9"
)

// StoredConfig is a task's config hash.
type StoredConfig struct {
	Config  string // the task config JSON, secrets sealed
	Digest  string // digest of the unsealed config
	Name    string
	Type    string
	Desired Desired
}

// luaStale defines stale(id): whether command entry id is older than the
// last command applied to the task (field cmd_id of KEYS[1]). Nodes apply
// commands concurrently, so a command can arrive after a later one; the
// later one wins, as the order of the stream says.
const luaStale = `
local function stale(id)
  local last = redis.call('HGET', KEYS[1], 'cmd_id')
  if not last then return false end
  local am, as = string.match(id, '(%d+)-(%d+)')
  local bm, bs = string.match(last, '(%d+)-(%d+)')
  if not am or not bm then return false end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
`

// ErrStaleCommand means a later command for the task was applied already;
// this one changes nothing.
var ErrStaleCommand = fmt.Errorf("a later command for the task was applied already")

// putConfigScript stores a task's config (when given and changed) and marks
// the task desired-running.
//
// KEYS[1] P:task:config:{ID}
// ARGV[1] config JSON, secrets sealed ("" = keep the stored one)
// ARGV[2] digest of the unsealed config
// ARGV[3] task name, ARGV[4] task type
// ARGV[5] now, ms since the epoch
// ARGV[6] '1' to bump gen even when unchanged (restart), else '0'
// ARGV[7] the command's entry id
// ARGV[8..] digests of the same unsealed config under previous secret keys:
// a stored digest among them is the same config, stored under an older key;
// it is replaced by ARGV[1] and ARGV[2] as no change (gen stays).
// Returns {changed (0|1), gen}, {-1, 0} when ARGV[1] is "" and no config
// is stored, or {-2, 0} when a later command was applied.
var putConfigScript = redis.NewScript(luaStale + `
if redis.call('HGET', KEYS[1], 'cmd_id') == ARGV[7] then return {-3, 0} end
if stale(ARGV[7]) then return {-2, 0} end
local stored = redis.call('HGET', KEYS[1], 'digest')
local changed = 0
if ARGV[1] == '' then
  if not stored then return {-1, 0} end
elseif stored ~= ARGV[2] then
  changed = 1
  for i = 8, #ARGV do
    if stored == ARGV[i] then changed = 0 end
  end
  if changed == 1 then
    redis.call('HSET', KEYS[1], 'config', ARGV[1], 'digest', ARGV[2], 'name', ARGV[3], 'type', ARGV[4], 'updated_at', ARGV[5])
  else
    redis.call('HSET', KEYS[1], 'config', ARGV[1], 'digest', ARGV[2])
  end
end
redis.call('HSET', KEYS[1], 'desired', 'running', 'cmd_id', ARGV[7])
local gen
if (changed == 1 and stored) or ARGV[6] == '1' then
  gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
else
  gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
end
return {changed, gen}
`)

// ErrNoConfig means a start without a config named a task with none stored.
var ErrNoConfig = fmt.Errorf("no config stored")

// PutConfig applies start or restart command cmdID: it stores task's config
// (sealedJSON empty: keep the stored one), marks it desired-running and adds
// it to P:cluster:tasks. restart bumps the generation so a running owner
// restarts it. previousDigests are digest's counterparts under previous
// secret keys (task.Sealer.PreviousDigests): a config stored under one of
// them is the same config, so it is stored anew under the current key
// without counting as a change. It reports whether the config changed and
// the resulting generation; ErrStaleCommand when a later command, or this
// one, was applied already (so applying a start again changes nothing).
func (s *Store) PutConfig(ctx context.Context, cmdID, task, sealedJSON, digest, name, typ string, restart bool,
	previousDigests ...string) (changed bool, gen int64, err error) {
	bump := "0"
	if restart {
		bump = "1"
	}
	args := []any{sealedJSON, digest, name, typ, s.nowMs(), bump, cmdID}
	for _, d := range previousDigests {
		args = append(args, d)
	}
	res, err := putConfigScript.Run(ctx, s.rdb, []string{s.keys.TaskConfig(task)}, args...).Slice()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskConfig(task), "hash")
		return false, 0, fmt.Errorf("storing config of task %s: %w", task, err)
	}
	switch toInt(res[0]) {
	case -2:
		return false, 0, fmt.Errorf("command %s for task %s: %w", cmdID, task, ErrStaleCommand)
	case -3: // applied before: a start applied again from a pending list
		return false, 0, fmt.Errorf("command %s for task %s was applied already, and %w", cmdID, task, ErrStaleCommand)
	}
	if toInt(res[0]) < 0 {
		return false, 0, fmt.Errorf("task %s: %w; a first start needs a config", task, ErrNoConfig)
	}
	if err := s.addTask(ctx, task); err != nil {
		return false, 0, err
	}
	return toInt(res[0]) == 1, toInt(res[1]), nil
}

// resealConfigScript replaces a task's stored config by the same config
// sealed under another key, unless it changed meanwhile.
//
// KEYS[1] P:task:config:{ID}
// ARGV[1] the config JSON as it was read, ARGV[2] the config JSON sealed
// anew, ARGV[3] its digest under the current key
// Returns 1 replaced, 0 the stored config is not ARGV[1] (changed or gone).
var resealConfigScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'config') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'config', ARGV[2], 'digest', ARGV[3])
return 1
`)

// ResealConfig stores resealed (task.Sealer.Reseal's result) and its
// digest as task's config in place of read, the config JSON it was made
// from. It changes nothing else (not gen: the config is the same) and
// reports false when the stored config is no longer read: a start stored
// another one meanwhile, which its node sealed itself.
func (s *Store) ResealConfig(ctx context.Context, task, read, resealed, digest string) (bool, error) {
	n, err := resealConfigScript.Run(ctx, s.rdb, []string{s.keys.TaskConfig(task)}, read, resealed, digest).Int()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskConfig(task), "hash")
		return false, fmt.Errorf("storing the resealed config of task %s: %w", task, err)
	}
	return n == 1, nil
}

// setDesiredScript sets the desired state of a task that has a config.
//
// KEYS[1] P:task:config:{ID}
// ARGV[1] desired state, ARGV[2] '1' to bump gen, ARGV[3] the command's
// entry id
// Returns 1 set, 0 no such task, -2 a later command was applied.
var setDesiredScript = redis.NewScript(luaStale + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if stale(ARGV[3]) then return -2 end
redis.call('HSET', KEYS[1], 'desired', ARGV[1], 'cmd_id', ARGV[3])
if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[1], 'gen', 1) end
return 1
`)

// ErrUnknownTask means a command named a task that has no stored config.
var ErrUnknownTask = fmt.Errorf("unknown task")

// SetDesired applies command cmdID, which asks that task be state; bump
// also bumps its generation. It returns ErrUnknownTask for a task without a
// config, ErrStaleCommand when a later command was applied already.
func (s *Store) SetDesired(ctx context.Context, cmdID, task, state string, bump bool) error {
	b := "0"
	if bump {
		b = "1"
	}
	n, err := setDesiredScript.Run(ctx, s.rdb, []string{s.keys.TaskConfig(task)}, state, b, cmdID).Int()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskConfig(task), "hash")
		return fmt.Errorf("setting task %s %s: %w", task, state, err)
	}
	switch n {
	case 0:
		return fmt.Errorf("task %s: %w", task, ErrUnknownTask)
	case -2:
		return fmt.Errorf("command %s for task %s: %w", cmdID, task, ErrStaleCommand)
	}
	return nil
}

// requestHandoffScript asks the owner of a task to hand it over.
//
// KEYS[1] P:task:config:{ID}
// ARGV[1] now, ms since the epoch
// Returns 1 set, 0 no such task.
var requestHandoffScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'handoff', ARGV[1])
return 1
`)

// RequestHandoff records a failover command: the owner hands the task to
// another node at its next lease renewal. ErrUnknownTask for a task
// without a config.
func (s *Store) RequestHandoff(ctx context.Context, task string) error {
	n, err := requestHandoffScript.Run(ctx, s.rdb, []string{s.keys.TaskConfig(task)}, s.nowMs()).Int()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskConfig(task), "hash")
		return fmt.Errorf("requesting hand-over of task %s: %w", task, err)
	}
	if n == 0 {
		return fmt.Errorf("task %s: %w", task, ErrUnknownTask)
	}
	return nil
}

// ClearHandoff withdraws a hand-over request that cannot be met (no other
// node).
func (s *Store) ClearHandoff(ctx context.Context, task string) error {
	if err := s.wrongType(ctx, s.rdb.HDel(ctx, s.keys.TaskConfig(task), "handoff").Err(), s.keys.TaskConfig(task), "hash"); err != nil {
		return fmt.Errorf("clearing hand-over of task %s: %w", task, err)
	}
	return nil
}

// LoadConfig reads task's config hash; ErrUnknownTask when absent.
func (s *Store) LoadConfig(ctx context.Context, task string) (StoredConfig, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.TaskConfig(task)).Result()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskConfig(task), "hash")
		return StoredConfig{}, fmt.Errorf("reading config of task %s: %w", task, err)
	}
	if m["config"] == "" {
		return StoredConfig{}, fmt.Errorf("task %s: %w", task, ErrUnknownTask)
	}
	return StoredConfig{
		Config: m["config"], Digest: m["digest"], Name: m["name"], Type: m["type"],
		Desired: Desired{State: m["desired"], Gen: toInt(m["gen"])},
	}, nil
}

// LoadOffset reads task's checkpoint hash (empty map when none).
func (s *Store) LoadOffset(ctx context.Context, task string) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.TaskOffset(task)).Result()
	if err != nil {
		err = s.wrongType(ctx, err, s.keys.TaskOffset(task), "hash")
		return nil, fmt.Errorf("reading checkpoint of task %s: %w", task, err)
	}
	return m, nil
}

// statusScript updates fields of a task's status while the caller holds its
// lock.
//
// KEYS[1] P:lock:task:{ID}
// KEYS[2] P:task:status:{ID}
// ARGV[1] lock value
// ARGV[2..] field/value pairs
// Returns 1 written, 0 not the holder.
// A status of another type is rebuilt (it is DataIngest's own report),
// keeping the fencing counter at the token in use.
var statusScript = redis.NewScript(luaLease + `
if not holds(KEYS[1], ARGV[1]) then return 0 end
rebuildStatus(KEYS[2], tokenOf(ARGV[1]), {})
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1
`)

// SetStatus writes fields (pairs) of l's task status, fenced by l; it sets
// updated_at itself.
func (s *Store) SetStatus(ctx context.Context, l Lease, pairs ...string) error {
	args := make([]any, 0, len(pairs)+3)
	args = append(args, l.Value)
	for _, p := range pairs {
		args = append(args, p)
	}
	args = append(args, "updated_at", s.nowMs())
	n, err := statusScript.Run(ctx, s.rdb, []string{s.keys.TaskLock(l.Task), s.keys.TaskStatus(l.Task)}, args...).Int()
	if err != nil {
		return fmt.Errorf("writing status of task %s: %w", l.Task, err)
	}
	if n == 0 {
		return fmt.Errorf("writing status of task %s: %w", l.Task, ErrLeaseLost)
	}
	return nil
}

// serverIDBase is added to the counter of allocated replication client ids,
// keeping them clear of the small server_id values servers usually have.
const serverIDBase = 1_000_000

// NewServerID allocates a replication client id for one session of task
// from the fleet-wide counter P:cluster:server_ids, and records it in the
// task's config hash (field server_id) for operators. Every session gets a
// new one, never used before by any task or session (until the counter
// wraps after about 4 billion sessions): a server keeps the dump thread of
// a paused or cut-off node alive until its net_write_timeout, and queues a
// new dump with the same id behind it, so a new owner reusing the old id
// would write nothing for up to a minute.
func (s *Store) NewServerID(ctx context.Context, task string) (uint32, error) {
	n, err := s.rdb.Incr(ctx, s.keys.ClusterServerIDs()).Result()
	if err != nil {
		return 0, fmt.Errorf("allocating a server id for task %s: %w", task, s.wrongType(ctx, err, s.keys.ClusterServerIDs(), "string"))
	}
	id := uint32(serverIDBase + (n-1)%(math.MaxUint32-serverIDBase))
	key := s.keys.TaskConfig(task)
	if err := s.rdb.HSet(ctx, key, "server_id", id).Err(); err != nil {
		return 0, fmt.Errorf("storing server id of task %s: %w", task, s.wrongType(ctx, err, key, "hash"))
	}
	return id, nil
}

// markLostScript records a lost lease in a task's status, if the status
// still names the node that lost it (the new owner writes its own).
//
// KEYS[1] P:task:status:{ID}
// ARGV[1] node, ARGV[2] state, ARGV[3] error, ARGV[4] now, ms
// Returns 1 written, 0 the status names another node.
var markLostScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'error', ARGV[3], 'updated_at', ARGV[4])
return 1
`)

// MarkLeaseLost records state and errMsg in task's status if the status
// still names node: node lost the lease and writes nothing.
func (s *Store) MarkLeaseLost(ctx context.Context, task, node, state, errMsg string) error {
	if err := markLostScript.Run(ctx, s.rdb, []string{s.keys.TaskStatus(task)}, node, state, errMsg, s.nowMs()).Err(); err != nil {
		return fmt.Errorf("recording the lost lease of task %s: %w", task, err)
	}
	return nil
}

// Written returns the events task's status counts and the entries its
// output stream holds: both above zero means the task has written before.
func (s *Store) Written(ctx context.Context, task string) (events, entries int64, err error) {
	ev, err := s.rdb.HGet(ctx, s.keys.TaskStatus(task), "events").Result()
	if err != nil && !errors.Is(err, redis.Nil) && !IsWrongType(err) {
		return 0, 0, fmt.Errorf("reading status of task %s: %w", task, err)
	}
	n, err := s.rdb.XLen(ctx, s.keys.TaskEvents(task)).Result()
	if err != nil && !IsWrongType(err) {
		return 0, 0, fmt.Errorf("reading the output of task %s: %w", task, err)
	}
	return toInt(ev), n, nil
}
