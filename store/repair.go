package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RepairFleetKey deletes key, one of the fleet's own keys (the command
// stream, the dead-letter stream, P:cluster:tasks, P:cluster:nodes), when
// it holds a value of another type than want: nothing DataIngest wrote is
// in it, and every node is deaf or blind while it stays. It reports
// whether it deleted the key; the repair hook hears of it too.
func (s *Store) RepairFleetKey(ctx context.Context, key, want string) (bool, error) {
	// One script: never delete what a producer just recreated.
	t, err := repairKeyScript.Run(ctx, s.rdb, []string{key}, want).Text()
	if err != nil {
		return false, fmt.Errorf("checking the type of %s: %w", key, err)
	}
	if t == "" {
		return false, nil
	}
	if s.onRepair != nil {
		s.onRepair("", fmt.Sprintf("%s (a %s, not a %s: deleted)", key, t, want))
	}
	return true, nil
}

// repairKeyScript deletes KEYS[1] if its type is neither none nor ARGV[1],
// and returns the type it deleted ("" when it kept the key).
var repairKeyScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' or t == ARGV[1] then return '' end
redis.call('DEL', KEYS[1])
return t
`)

// addTask adds task to P:cluster:tasks, repairing a set of another type
// (rebuilt from the tasks' config and status keys).
func (s *Store) addTask(ctx context.Context, task string) error {
	key := s.keys.ClusterTasks()
	err := s.rdb.SAdd(ctx, key, task).Err()
	if IsWrongType(err) {
		if err = s.RepairTaskSet(ctx); err == nil {
			err = s.rdb.SAdd(ctx, key, task).Err()
		}
	}
	if err != nil {
		return fmt.Errorf("adding task %s to %s: %w", task, key, err)
	}
	return nil
}

// RepairTaskSet rebuilds P:cluster:tasks when it is of another type than a
// set: from the config and status keys of every task (a SCAN of the
// keyspace, so only when damaged).
func (s *Store) RepairTaskSet(ctx context.Context) error {
	deleted, err := s.RepairFleetKey(ctx, s.keys.ClusterTasks(), "set")
	if err != nil || !deleted {
		return err
	}
	ids, err := s.ScanTaskIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.rdb.SAdd(ctx, s.keys.ClusterTasks(), members...).Err(); err != nil {
		return fmt.Errorf("rebuilding %s: %w", s.keys.ClusterTasks(), err)
	}
	return nil
}

// ScanTaskIDs finds the ids of every task that has a config or a status
// key, by SCAN (on every master of a Redis Cluster). It is for repairs
// and fallbacks, not the common path.
func (s *Store) ScanTaskIDs(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		for _, pattern := range []string{s.keys.TaskConfig("*"), s.keys.TaskStatus("*")} {
			prefix := strings.TrimSuffix(pattern, "*}")
			it := c.Scan(ctx, 0, escapeGlob(prefix)+"*}", 1000).Iterator()
			for it.Next(ctx) {
				id := strings.TrimSuffix(strings.TrimPrefix(it.Val(), prefix), "}")
				mu.Lock()
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
				mu.Unlock()
			}
			if err := it.Err(); err != nil {
				return fmt.Errorf("scanning for %s: %w", pattern, err)
			}
		}
		return nil
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	return ids, err
}

// escapeGlob escapes the glob characters of a key prefix for SCAN MATCH.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
