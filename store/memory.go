package store

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Eviction is what Redis says of its memory limit and eviction policy.
type Eviction struct {
	Policy    string // maxmemory-policy, e.g. noeviction, allkeys-lru
	MaxBytes  int64  // maxmemory, 0 = no limit
	UsedBytes int64  // used_memory
	// EvictedKeys is INFO stats' evicted_keys, the keys Redis has evicted
	// since it started; read by RedisMemory only.
	EvictedKeys int64
}

// Full reports whether Redis is at its memory limit: under noeviction it
// refuses every write (tasks retry, writing nothing).
func (e Eviction) Full() bool { return e.MaxBytes > 0 && e.UsedBytes >= e.MaxBytes }

// Evicts reports whether Redis may delete keys on its own: any policy but
// noeviction may drop commands, configs, checkpoints, locks and output
// entries, which breaks every guarantee. A policy is reported even while
// maxmemory is 0 (no limit yet), since setting a limit later takes effect at
// once.
func (e Eviction) Evicts() bool { return e.Policy != "" && e.Policy != "noeviction" }

// Problem is the sentence nodes log and /readyz answers when Evicts, "" otherwise.
func (e Eviction) Problem() string {
	if e.Full() && !e.Evicts() {
		return fmt.Sprintf("Redis is at its memory limit (used_memory %d of maxmemory %d bytes): it refuses writes, so tasks write nothing; "+
			"free memory (trim or delete output streams) or raise maxmemory", e.UsedBytes, e.MaxBytes)
	}
	if !e.Evicts() {
		return ""
	}
	limit := "no maxmemory set yet"
	if e.MaxBytes > 0 {
		limit = "maxmemory " + strconv.FormatInt(e.MaxBytes, 10) + " bytes"
	}
	return fmt.Sprintf("Redis maxmemory-policy is %s (%s): Redis may evict DataIngest's keys (commands, configs, checkpoints, locks, output), "+
		"which breaks its guarantees; set maxmemory-policy noeviction", e.Policy, limit)
}

// EvictionPolicy reads the eviction policy from INFO memory, which managed
// Redis services allow where CONFIG GET is renamed or forbidden. On a Redis
// Cluster it reports the first node that answers with a policy.
func (s *Store) EvictionPolicy(ctx context.Context) (Eviction, error) {
	info, err := s.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return Eviction{}, fmt.Errorf("reading INFO memory: %w", err)
	}
	return parseEviction(info), nil
}

// RedisMemory is EvictionPolicy with the keys Redis has evicted so far
// (INFO stats), for the node's metrics.
func (s *Store) RedisMemory(ctx context.Context) (Eviction, error) {
	var mem, stats *redis.StringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		mem, stats = p.Info(ctx, "memory"), p.Info(ctx, "stats")
		return nil
	}); err != nil {
		return Eviction{}, fmt.Errorf("reading INFO memory and stats: %w", err)
	}
	e := parseEviction(mem.Val())
	e.EvictedKeys = infoInt(stats.Val(), "evicted_keys")
	return e, nil
}

// infoInt is the largest value of field in an INFO reply (a Cluster's
// nodes each give theirs), 0 when absent.
func infoInt(info, field string) int64 {
	var n int64
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || k != field {
			continue
		}
		if x, err := strconv.ParseInt(v, 10, 64); err == nil && x > n {
			n = x
		}
	}
	return n
}

func parseEviction(info string) Eviction {
	var e Eviction
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "maxmemory_policy":
			if e.Policy == "" || v != "noeviction" {
				e.Policy = v
			}
		case "maxmemory":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > e.MaxBytes {
				e.MaxBytes = n
			}
		case "used_memory":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > e.UsedBytes {
				e.UsedBytes = n
			}
		}
	}
	return e
}
