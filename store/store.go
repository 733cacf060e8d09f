// Package store is the only code that talks to Redis. It owns every key name
// (keys.go) and every Lua script, each declared right above the one method
// that runs it, with its KEYS, ARGV and return values documented.
//
// Per-task scripts touch only keys of that task (one Cluster slot); global
// keys (the command stream, P:cluster:*, heartbeats) are written by separate
// commands, never from inside a per-task script.
package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLeaseLost means the caller no longer holds the task's lock: another
// node took the task over, or the lock expired. Nothing was written.
var ErrLeaseLost = errors.New("lease lost")

// Store reads and writes DataIngest's state in Redis.
type Store struct {
	rdb      redis.UniversalClient
	keys     Keys
	now      func() time.Time
	onRepair func(task, what string)
}

// OnRepair sets f to hear of every repair a script made of a task's keys
// (task "" for the fleet's keys); what names the repairs, comma-separated:
// lock (a lock of another type, deleted), lock-ttl (a lock without TTL,
// given one), status (a status of another type, rebuilt), fence and events
// (status counters that were not numbers, restarted), offset (a deleted
// checkpoint, rewritten from the writer's own), and the names of fleet keys
// (see RepairFleetKey). Set it before the Store is used.
func (s *Store) OnRepair(f func(task, what string)) { s.onRepair = f }

// repaired passes res[i], a script's list of repairs, to the repair hook.
func (s *Store) repaired(task string, res []any, i int) {
	if len(res) <= i || s.onRepair == nil {
		return
	}
	if what := toString(res[i]); what != "" {
		s.onRepair(task, what)
	}
}

// New returns a Store over rdb using the keys of prefix.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, keys: NewKeys(prefix), now: time.Now}
}

// Keys returns the store's key builder.
func (s *Store) Keys() Keys { return s.keys }

// Client returns the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

func msString(t int64) string { return strconv.FormatInt(t, 10) }

// toString converts a Lua reply element to a string.
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case nil:
		return ""
	default:
		return ""
	}
}

// toInt converts a Lua reply element to an int64.
func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	default:
		return 0
	}
}
