package store

import (
	"context"
	"strings"
	"testing"
)

func TestEvictionPolicy(t *testing.T) {
	s, r := newStore(t)
	ctx := context.Background()
	rdb := r.Client(t)
	e, err := s.EvictionPolicy(ctx)
	if err != nil || e.Evicts() || e.Full() || e.Problem() != "" {
		t.Fatalf("a fresh Redis: %+v %v, want noeviction and no problem", e, err)
	}
	rdb.ConfigSet(ctx, "maxmemory-policy", "volatile-lru")
	if e, _ = s.EvictionPolicy(ctx); !e.Evicts() || !strings.Contains(e.Problem(), "volatile-lru") {
		t.Fatalf("volatile-lru: %+v, problem %q", e, e.Problem())
	}
	rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	rdb.ConfigSet(ctx, "maxmemory", "1")
	defer rdb.ConfigSet(ctx, "maxmemory", "0")
	if e, _ = s.EvictionPolicy(ctx); e.Evicts() || !e.Full() || !strings.Contains(e.Problem(), "memory limit") {
		t.Fatalf("maxmemory 1 byte: %+v, problem %q", e, e.Problem())
	}
}
