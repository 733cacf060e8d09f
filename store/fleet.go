package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// giveScript moves a command entry from one consumer's pending list to
// another's, only while it is pending on the first, and wakes the other
// node (PUBLISH: a node that misses it finds the entry at its next inbox
// check).
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] entry id, ARGV[3] from consumer, ARGV[4] to
// consumer, ARGV[5] the wake channel of to
// Returns 1 moved, 0 not pending on the from consumer.
var giveScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #p == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[4], 0, ARGV[2], 'JUSTID')
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
`)

// GiveEntry hands command entry id, pending on consumer from, to consumer
// to, which finds it in its pending list and is woken (WakeUps). It
// reports false when the entry was not pending on from.
func (s *Store) GiveEntry(ctx context.Context, id, from, to string) (bool, error) {
	n, err := giveScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, id, from, to, s.keys.NodeWake(to)).Int()
	if err != nil {
		return false, fmt.Errorf("giving entry %s from %s to %s: %w", id, from, to, err)
	}
	return n == 1, nil
}

// PendingCount returns how many command entries are pending on consumer.
func (s *Store) PendingCount(ctx context.Context, consumer string) (int64, error) {
	counts, err := s.PendingCounts(ctx)
	return counts[consumer], err
}

// PendingCounts returns the number of command entries pending on each
// consumer: the tasks each node runs or is about to start.
func (s *Store) PendingCounts(ctx context.Context) (map[string]int64, error) {
	p, err := s.rdb.XPending(ctx, s.keys.Commands(), Group).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") || errors.Is(err, redis.Nil) {
			return map[string]int64{}, nil
		}
		return nil, fmt.Errorf("reading pending entries: %w", err)
	}
	return p.Consumers, nil
}

// waitingScript reports whether the command group has entries it has not
// delivered to any consumer yet.
//
// KEYS[1] P:commands
// ARGV[1] group
// Returns 1 when an entry waits undelivered, 0 when none does (also when
// the stream or the group is missing: then nothing is delivered at all).
var waitingScript = redis.NewScript(luaStreams + `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return 0 end
local last = lastDelivered(KEYS[1], ARGV[1])
if not last then return 0 end
return #redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
`)

// CommandsWaiting reports whether commands wait in the command stream
// that no node has read yet: a burst of them is being placed.
func (s *Store) CommandsWaiting(ctx context.Context) (bool, error) {
	n, err := waitingScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group).Int()
	if err != nil {
		return false, fmt.Errorf("looking for undelivered entries of %s: %w", s.keys.Commands(), err)
	}
	return n > 0, nil
}

// AutoClaim claims for consumer every command entry idle longer than
// minIdle (entries of dead nodes) and returns them.
func (s *Store) AutoClaim(ctx context.Context, consumer string, minIdle time.Duration) ([]Command, error) {
	var out []Command
	start := "0-0"
	for {
		msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: s.keys.Commands(), Group: Group, Consumer: consumer, MinIdle: minIdle, Start: start, Count: 100,
		}).Result()
		if err != nil {
			return out, fmt.Errorf("reclaiming idle entries as %s: %w", consumer, err)
		}
		for _, m := range msgs {
			out = append(out, Command{ID: m.ID, Fields: stringFields(m.Values)})
		}
		if next == "0-0" || next == "" {
			return out, nil
		}
		start = next
	}
}

// Consumer is one consumer of the command group.
type Consumer struct {
	Name    string
	Pending int64
	Idle    time.Duration
}

// Consumers lists the consumers of the command group.
func (s *Store) Consumers(ctx context.Context) ([]Consumer, error) {
	cs, err := s.rdb.XInfoConsumers(ctx, s.keys.Commands(), Group).Result()
	if err != nil {
		return nil, fmt.Errorf("listing consumers of %s: %w", s.keys.Commands(), err)
	}
	out := make([]Consumer, 0, len(cs))
	for _, c := range cs {
		out = append(out, Consumer{Name: c.Name, Pending: c.Pending, Idle: c.Idle})
	}
	return out, nil
}

// Alive reports whether node's heartbeat key exists (as the string nodes
// write: a value of another type is no node's heartbeat).
func (s *Store) Alive(ctx context.Context, node string) (bool, error) {
	t, err := s.rdb.Type(ctx, s.keys.NodeHeartbeat(node)).Result()
	if err != nil {
		return false, fmt.Errorf("reading heartbeat of %s: %w", node, err)
	}
	return t == "string", nil
}

// ForgetNode removes a dead node from P:cluster:nodes.
func (s *Store) ForgetNode(ctx context.Context, node string) error {
	if err := s.rdb.ZRem(ctx, s.keys.ClusterNodes(), node).Err(); err != nil {
		return fmt.Errorf("removing %s from %s: %w", node, s.keys.ClusterNodes(), err)
	}
	return nil
}

// trimScript deletes, in pages, the command entries every node is done
// with: those older than the newest keep entries and no later than the
// group's last delivered entry, except the pending ones (start entries of
// running tasks, commands being applied), which stay wherever they are.
// Entries before the oldest pending one go with one XTRIM; between pending
// ones, with XDEL.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] keep, ARGV[3] scan from (exclusive; "" from the
// oldest pending entry), ARGV[4] page size
// Returns {deleted, next}: next is where the next page starts, "" when done.
var trimScript = redis.NewScript(luaStreams + `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return {0, ''} end
local last = lastDelivered(KEYS[1], ARGV[1])
if not last or last == '0-0' then return {0, ''} end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', tonumber(ARGV[2]))
if #newest < tonumber(ARGV[2]) then return {0, ''} end
-- limit: the entries to keep start at the oldest of the newest keep and
-- of the undelivered ones.
local limit = newest[#newest][1]
local lm, ls = string.match(last, '(%d+)-(%d+)')
local afterLast = lm .. '-' .. (tonumber(ls) + 1)
if idLess(afterLast, limit) then limit = afterLast end
local pend = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '(' .. limit, 1000000)
local deleted = 0
if #pend == 0 then
  return {redis.call('XTRIM', KEYS[1], 'MINID', limit), ''}
end
local from = ARGV[3]
if from == '' then
  deleted = redis.call('XTRIM', KEYS[1], 'MINID', pend[1][1])
  from = pend[1][1]
end
local held = {}
for _, p in ipairs(pend) do held[p[1]] = true end
local page = redis.call('XRANGE', KEYS[1], '(' .. from, '(' .. limit, 'COUNT', tonumber(ARGV[4]))
for _, e in ipairs(page) do
  if not held[e[1]] then deleted = deleted + redis.call('XDEL', KEYS[1], e[1]) end
end
if #page < tonumber(ARGV[4]) then return {deleted, ''} end
return {deleted, page[#page][1]}
`)

// TrimCommands keeps the command stream bounded: beyond the pending
// entries (one per running task, and commands being applied) and the
// undelivered ones, it keeps the newest keep entries. It returns how many
// entries it deleted.
func (s *Store) TrimCommands(ctx context.Context, keep int64) (int64, error) {
	const page = 500
	var total int64
	from := ""
	for {
		res, err := trimScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, keep, from, page).Slice()
		if err != nil {
			return total, fmt.Errorf("trimming %s: %w", s.keys.Commands(), err)
		}
		total += toInt(res[0])
		if from = toString(res[1]); from == "" {
			return total, nil
		}
	}
}

// idLess compares stream ids "ms-seq".
func idLess(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am < bm || (am == bm && as < bs)
}

// WakeUps subscribes to node's wake channel: a message arrives on the
// returned channel whenever another node gives it an entry. The
// subscription reconnects by itself; close it with the returned func.
func (s *Store) WakeUps(ctx context.Context, node string) (<-chan *redis.Message, func() error) {
	ps := s.rdb.Subscribe(ctx, s.keys.NodeWake(node))
	return ps.Channel(), ps.Close
}
