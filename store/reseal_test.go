package store

import (
	"context"
	"testing"
)

// TestResealConfig: a resealed config replaces the one it was made from,
// with its digest, and nothing else of the config hash changes; a config
// that changed meanwhile is left alone.
func TestResealConfig(t *testing.T) {
	s, r := newStore(t)
	rdb := r.Client(t)
	ctx := context.Background()
	if _, _, err := s.PutConfig(ctx, "100-1", "t1", `{"old":1}`, "d-old", "n", "DATAGEN", false); err != nil {
		t.Fatal(err)
	}
	key := s.Keys().TaskConfig("t1")
	before, _ := rdb.HGetAll(ctx, key).Result()

	ok, err := s.ResealConfig(ctx, "t1", `{"old":1}`, `{"new":1}`, "d-new")
	if err != nil || !ok {
		t.Fatalf("ResealConfig = %v, %v; want replaced", ok, err)
	}
	after, _ := rdb.HGetAll(ctx, key).Result()
	if after["config"] != `{"new":1}` || after["digest"] != "d-new" {
		t.Errorf("after reseal: config %q digest %q", after["config"], after["digest"])
	}
	for k, v := range before {
		if k != "config" && k != "digest" && after[k] != v {
			t.Errorf("reseal changed %s from %q to %q", k, v, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("reseal changed the fields: %v -> %v", before, after)
	}

	// Made from a config that is no longer stored: nothing happens.
	ok, err = s.ResealConfig(ctx, "t1", `{"old":1}`, `{"stale":1}`, "d-stale")
	if err != nil || ok {
		t.Fatalf("ResealConfig of a config replaced meanwhile = %v, %v; want false", ok, err)
	}
	if c, _ := s.LoadConfig(ctx, "t1"); c.Config != `{"new":1}` || c.Digest != "d-new" {
		t.Errorf("stale reseal wrote: %+v", c)
	}
	// Of a task without a config: nothing, and no key is made.
	if ok, err := s.ResealConfig(ctx, "t2", "", `{"x":1}`, "d"); err != nil || ok {
		t.Errorf("ResealConfig of an unknown task = %v, %v", ok, err)
	}
	if n, _ := rdb.Exists(ctx, s.Keys().TaskConfig("t2")).Result(); n != 0 {
		t.Error("ResealConfig created the config of an unknown task")
	}
}

// TestPutConfigUnderPreviousDigest: a start of the config stored under a
// previous key's digest is no change (gen stays, no restart) but stores
// the config and digest it brings; a digest that matches nothing is a
// change.
func TestPutConfigUnderPreviousDigest(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.PutConfig(ctx, "100-1", "t1", `{"sealed":"old key"}`, "d-old", "n", "DATAGEN", false); err != nil {
		t.Fatal(err)
	}
	// A restart gives gen 1, so that "gen stays" is not just "gen is 0".
	if _, _, err := s.PutConfig(ctx, "100-2", "t1", "", "", "", "", true); err != nil {
		t.Fatal(err)
	}
	changed, gen, err := s.PutConfig(ctx, "100-3", "t1", `{"sealed":"new key"}`, "d-new", "n", "DATAGEN", false, "d-other", "d-old")
	if err != nil || changed || gen != 1 {
		t.Fatalf("start of the same config under a new key: changed %v gen %d %v; want unchanged, gen 1", changed, gen, err)
	}
	c, _ := s.LoadConfig(ctx, "t1")
	if c.Config != `{"sealed":"new key"}` || c.Digest != "d-new" || c.Desired.Gen != 1 {
		t.Errorf("stored after it: %+v", c)
	}
	// Now stored under d-new: the old digest no longer matches anything.
	changed, gen, err = s.PutConfig(ctx, "100-4", "t1", `{"sealed":"other"}`, "d-changed", "n", "DATAGEN", false, "d-old")
	if err != nil || !changed || gen != 2 {
		t.Fatalf("start of another config: changed %v gen %d %v; want changed, gen 2", changed, gen, err)
	}
	if c, _ := s.LoadConfig(ctx, "t1"); c.Config != `{"sealed":"other"}` || c.Digest != "d-changed" {
		t.Errorf("stored after a changed config: %+v", c)
	}
}
