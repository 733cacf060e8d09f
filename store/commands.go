package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Command is one entry of the command stream.
type Command struct {
	ID     string
	Fields map[string]string
}

// EnsureGroup creates the command stream and its consumer group `workers`
// when missing. A new group starts at the beginning of the stream, so
// commands written before the first node started are not lost.
func (s *Store) EnsureGroup(ctx context.Context) error { return s.EnsureGroupAfter(ctx, "0") }

// ErrNoGroup means the command stream or its consumer group is gone (the
// key was deleted or evicted): EnsureGroupAfter recreates it.
var ErrNoGroup = errors.New("command group missing")

// EnsureGroupAfter creates the command stream and its group when missing,
// with the group's last delivered entry at after: the entries after it are
// delivered. A command stream of another type is deleted first (repair).
// It reports whether it created the group.
func (s *Store) EnsureGroupAfter(ctx context.Context, after string) error {
	if _, err := s.RepairFleetKey(ctx, s.keys.Commands(), "stream"); err != nil {
		return err
	}
	err := s.rdb.XGroupCreateMkStream(ctx, s.keys.Commands(), Group, after).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating group %s on %s: %w", Group, s.keys.Commands(), err)
	}
	if err == nil && after != "0" {
		// A recreated stream would number its next entry from the
		// current millisecond, perhaps below after in the same one, and
		// the group would never deliver it: the stream's last id becomes
		// after. Redis refuses when the stream already holds a later
		// entry, whose successors are later still.
		if serr := s.rdb.Do(ctx, "XSETID", s.keys.Commands(), after).Err(); serr != nil && !strings.Contains(serr.Error(), "smaller") {
			return fmt.Errorf("setting the last id of %s to %s: %w", s.keys.Commands(), after, serr)
		}
	}
	if err == nil && s.onRepair != nil && after != "0" {
		s.onRepair("", fmt.Sprintf("%s group %s (missing: recreated, delivering the entries after %s)", s.keys.Commands(), Group, after))
	}
	return nil
}

// ReadCommands reads up to count commands for consumer: new ones (from ">"),
// blocking up to block, or with from "0" the consumer's own pending entries
// (which never block).
func (s *Store) ReadCommands(ctx context.Context, consumer, from string, count int64, block time.Duration) ([]Command, error) {
	args := &redis.XReadGroupArgs{
		Group: Group, Consumer: consumer, Streams: []string{s.keys.Commands(), from}, Count: count, Block: block,
	}
	if from != ">" {
		args.Block = -1
	}
	res, err := s.rdb.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			err = ErrNoGroup
		}
		err = s.wrongType(ctx, err, s.keys.Commands(), "stream")
		return nil, fmt.Errorf("reading %s as %s: %w", s.keys.Commands(), consumer, err)
	}
	var out []Command
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, Command{ID: m.ID, Fields: stringFields(m.Values)})
		}
	}
	return out, nil
}

func stringFields(v map[string]any) map[string]string {
	m := make(map[string]string, len(v))
	for k, x := range v {
		m[k] = fmt.Sprint(x)
	}
	return m
}

// ackOwnedScript acknowledges a command entry only while it is pending on
// the given consumer, so a node never acknowledges an entry another node
// has reclaimed. An entry that carries a config is deleted once
// acknowledged: its config is stored (sealed) or was rejected, and the
// stream must not keep the password it may hold.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer
// Returns 1 acknowledged, 0 not pending on that consumer.
var ackOwnedScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #p == 0 then return 0 end
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 1 then
  for i = 1, #e[1][2], 2 do
    if e[1][2][i] == 'config' then
      redis.call('XDEL', KEYS[1], ARGV[2])
      break
    end
  end
end
return n
`)

// AckOwned acknowledges entry id if it is pending on consumer; it reports
// whether it was.
func (s *Store) AckOwned(ctx context.Context, consumer, id string) (bool, error) {
	n, err := ackOwnedScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, id, consumer).Int()
	if err != nil {
		return false, fmt.Errorf("acknowledging %s as %s: %w", id, consumer, err)
	}
	return n == 1, nil
}

// touchScript resets the idle time of those entries that are still pending
// on the consumer, so that XAUTOCLAIM by other nodes only finds entries of
// dead nodes. Entries another node has claimed are left alone.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids
// Returns the ids that were pending on the consumer.
var touchScript = redis.NewScript(`
local want = {}
for i = 3, #ARGV do want[ARGV[i]] = true end
local mine = {}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000000, ARGV[2])
for _, e in ipairs(p) do
  if want[e[1]] then table.insert(mine, e[1]) end
end
-- XCLAIM in chunks: Lua's unpack takes a few thousand values at most.
for c = 1, #mine, 1000 do
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0}
  for j = c, math.min(c + 999, #mine) do table.insert(args, mine[j]) end
  table.insert(args, 'JUSTID')
  redis.call(unpack(args))
end
return mine
`)

// Touch refreshes consumer's pending entries ids and returns those still
// pending on it.
func (s *Store) Touch(ctx context.Context, consumer string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+2)
	args = append(args, Group, consumer)
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := touchScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("refreshing pending entries of %s: %w", consumer, err)
	}
	return res, nil
}

// Publish appends a command to the command stream and returns its id.
func (s *Store) Publish(ctx context.Context, fields map[string]string) (string, error) {
	vals := make([]any, 0, 2*len(fields))
	for _, k := range []string{"cmd", "task", "config", "tables", "request_id", "reason", "handover"} {
		if v, ok := fields[k]; ok {
			vals = append(vals, k, v)
		}
	}
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.Commands(), Values: vals}).Result()
	if err != nil {
		return "", fmt.Errorf("adding %s command to %s: %w", fields["cmd"], s.keys.Commands(), err)
	}
	return id, nil
}

// DeadLetter copies a rejected command with its error to P:deadletter and
// acknowledges it, if it is still pending on consumer. The caller redacts
// secrets in c.Fields first.
func (s *Store) DeadLetter(ctx context.Context, consumer string, c Command, reason error) error {
	vals := make([]any, 0, 2*len(c.Fields)+4)
	for k, v := range c.Fields {
		if k == "error" || k == "command_id" {
			continue
		}
		vals = append(vals, k, v)
	}
	vals = append(vals, "command_id", c.ID, "error", reason.Error())
	add := &redis.XAddArgs{Stream: s.keys.DeadLetter(), MaxLen: DeadLetterMaxLen, Approx: true, Values: vals}
	err := s.rdb.XAdd(ctx, add).Err()
	if IsWrongType(err) {
		if _, err = s.RepairFleetKey(ctx, s.keys.DeadLetter(), "stream"); err == nil {
			err = s.rdb.XAdd(ctx, add).Err()
		}
	}
	if err != nil {
		return fmt.Errorf("dead-lettering command %s: %w", c.ID, err)
	}
	acked, err := s.AckOwned(ctx, consumer, c.ID)
	if err != nil || !acked {
		return err
	}
	// The copy above is the redacted one; the original may hold secrets
	// in any field.
	if err := s.rdb.XDel(ctx, s.keys.Commands(), c.ID).Err(); err != nil {
		return fmt.Errorf("deleting dead-lettered command %s: %w", c.ID, err)
	}
	return nil
}

// DeadLetterMaxLen is about the most entries P:deadletter keeps: the
// newest.
const DeadLetterMaxLen = 10000

// DeadLetters returns the newest count entries of P:deadletter, newest first.
func (s *Store) DeadLetters(ctx context.Context, count int64) ([]Command, error) {
	res, err := s.rdb.XRevRangeN(ctx, s.keys.DeadLetter(), "+", "-", count).Result()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.keys.DeadLetter(), err)
	}
	out := make([]Command, 0, len(res))
	for _, m := range res {
		out = append(out, Command{ID: m.ID, Fields: stringFields(m.Values)})
	}
	return out, nil
}

// reholdScript gives a consumer a fresh start entry for a task it runs,
// in place of the one it holds (if any): an entry that carries the task's
// config, which may hold a password, or one lost with the group. The new
// entry carries no config (the config is stored) and is marked handover,
// so that whoever reads it resumes the task rather than applying a new
// start. It is delivered to the consumer inside the script with
// XREADGROUP, which delivers the oldest undelivered entry: so the script
// runs only when no entry waits undelivered, and otherwise asks to be
// tried again.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] consumer, ARGV[3] entry held now ("": none),
// ARGV[4] task id, ARGV[5] reason
// Returns {1, new id}; {0, ""} entries wait undelivered: try later; {-1,
// ""} the held entry is no longer pending on the consumer; {-2, ""} no
// group.
var reholdScript = redis.NewScript(luaStreams + `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return {-2, ''} end
local last = lastDelivered(KEYS[1], ARGV[1])
if not last then return {-2, ''} end
if #redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1) > 0 then return {0, ''} end
if ARGV[3] ~= '' and #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2]) == 0 then
  return {-1, ''}
end
local id = redis.call('XADD', KEYS[1], '*', 'cmd', 'start', 'task', ARGV[4], 'reason', ARGV[5], 'handover', '1')
redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if ARGV[3] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
end
return {1, id}
`)

// Errors of Rehold.
var (
	// ErrReholdLater means commands wait undelivered in the stream; try
	// again in a moment.
	ErrReholdLater = errors.New("commands wait undelivered")
	// ErrNotHeld means the entry is no longer pending on the consumer.
	ErrNotHeld = errors.New("entry not pending on this consumer")
)

// Rehold replaces the start entry held (pending on consumer) for task with
// a fresh one without a config, acknowledging and deleting the old one;
// with held "" it gives the consumer a start entry for a task it runs
// without one (the group was recreated). It returns the new entry's id.
// ErrReholdLater, ErrNotHeld and ErrNoGroup mean nothing changed.
func (s *Store) Rehold(ctx context.Context, consumer, held, task, reason string) (string, error) {
	res, err := reholdScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, consumer, held, task, reason).Slice()
	if err != nil {
		return "", fmt.Errorf("replacing start entry %q of task %s: %w", held, task, err)
	}
	switch toInt(res[0]) {
	case 1:
		return toString(res[1]), nil
	case 0:
		return "", ErrReholdLater
	case -1:
		return "", fmt.Errorf("replacing start entry %s of task %s: %w", held, task, ErrNotHeld)
	default:
		return "", fmt.Errorf("replacing start entry of task %s: %w", task, ErrNoGroup)
	}
}

// HasConfig reports whether command entry id carries a config field
// (false when the entry is gone).
func (s *Store) HasConfig(ctx context.Context, id string) (bool, error) {
	msgs, err := s.rdb.XRange(ctx, s.keys.Commands(), id, id).Result()
	if err != nil {
		return false, fmt.Errorf("reading command entry %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return false, nil
	}
	_, ok := msgs[0].Values["config"]
	return ok, nil
}
