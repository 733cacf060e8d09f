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
// another's, only while it is pending on the first.
//
// KEYS[1] P:commands
// ARGV[1] group, ARGV[2] entry id, ARGV[3] from consumer, ARGV[4] to consumer
// Returns 1 moved, 0 not pending on the from consumer.
var giveScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #p == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[4], 0, ARGV[2], 'JUSTID')
return 1
`)

// GiveEntry hands command entry id, pending on consumer from, to consumer
// to, which finds it in its pending list. It reports false when the entry
// was not pending on from.
func (s *Store) GiveEntry(ctx context.Context, id, from, to string) (bool, error) {
	n, err := giveScript.Run(ctx, s.rdb, []string{s.keys.Commands()}, Group, id, from, to).Int()
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

// Alive reports whether node's heartbeat key exists.
func (s *Store) Alive(ctx context.Context, node string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.keys.NodeHeartbeat(node)).Result()
	if err != nil {
		return false, fmt.Errorf("reading heartbeat of %s: %w", node, err)
	}
	return n == 1, nil
}

// ForgetNode removes a dead node from P:cluster:nodes.
func (s *Store) ForgetNode(ctx context.Context, node string) error {
	if err := s.rdb.ZRem(ctx, s.keys.ClusterNodes(), node).Err(); err != nil {
		return fmt.Errorf("removing %s from %s: %w", node, s.keys.ClusterNodes(), err)
	}
	return nil
}

// TrimCommands drops command entries that every node is done with: older
// than the oldest pending entry and than the group's last delivered entry,
// keeping at least keep of the newest entries for inspection. Pending
// entries are never dropped.
func (s *Store) TrimCommands(ctx context.Context, keep int64) error {
	k := s.keys.Commands()
	groups, err := s.rdb.XInfoGroups(ctx, k).Result()
	if err != nil {
		return fmt.Errorf("reading groups of %s: %w", k, err)
	}
	floor := ""
	for _, g := range groups {
		if g.Name == Group {
			floor = g.LastDeliveredID
		}
	}
	if floor == "" || floor == "0-0" {
		return nil
	}
	p, err := s.rdb.XPending(ctx, k, Group).Result()
	if err != nil {
		return fmt.Errorf("reading pending entries of %s: %w", k, err)
	}
	if p.Count > 0 && idLess(p.Lower, floor) {
		floor = p.Lower
	}
	newest, err := s.rdb.XRevRangeN(ctx, k, "+", "-", keep).Result()
	if err != nil {
		return fmt.Errorf("reading %s: %w", k, err)
	}
	if int64(len(newest)) < keep {
		return nil
	}
	if oldestKept := newest[len(newest)-1].ID; idLess(oldestKept, floor) {
		floor = oldestKept
	}
	if err := s.rdb.XTrimMinID(ctx, k, floor).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("trimming %s: %w", k, err)
	}
	return nil
}

// idLess compares stream ids "ms-seq".
func idLess(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am < bm || (am == bm && as < bs)
}
