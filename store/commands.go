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
func (s *Store) EnsureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.keys.Commands(), Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating group %s on %s: %w", Group, s.keys.Commands(), err)
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
// has reclaimed.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer
// Returns 1 acknowledged, 0 not pending on that consumer.
var ackOwnedScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #p == 0 then return 0 end
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
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
	for _, k := range []string{"cmd", "task", "config", "request_id", "reason", "handover"} {
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
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.DeadLetter(), MaxLen: 10000, Approx: true, Values: vals}).Err(); err != nil {
		return fmt.Errorf("dead-lettering command %s: %w", c.ID, err)
	}
	_, err := s.AckOwned(ctx, consumer, c.ID)
	return err
}

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
