package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A key of the wrong type makes the fenced write fail before its first
// write: the output gets nothing, however often the write is retried, and
// the error names the key.
func TestWriteAllOrNothingOnDamagedKeys(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	k := s.keys
	for _, key := range []string{k.TaskSchema("t1"), k.TaskOffset("t1"), k.TaskEvents("t1")} {
		t.Run(key, func(t *testing.T) {
			s.rdb.FlushAll(ctx)
			l, _, ok, err := s.AcquireLease(ctx, "t1", "n1", time.Minute)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			w := s.NewOutputWriter(l, OutputLimit{}, 0)
			if _, err := w.Write(ctx, batchOf(2, 1)); err != nil {
				t.Fatal(err)
			}
			s.rdb.Del(ctx, key)
			s.rdb.Set(ctx, key, "x", 0)
			b := batchOf(2, 2)
			b.Entries = append(b.Entries, Entry{Op: OpSchema, Table: "db.t", Data: []byte("cols")})
			for i := 0; i < 5; i++ {
				_, err := w.Write(ctx, b)
				var d *DamagedKeyError
				if !errors.As(err, &d) || d.Key != key || !errors.Is(err, ErrDamagedKey) {
					t.Fatalf("write %d: %v, want a DamagedKeyError naming %s", i, err, key)
				}
			}
			if key != k.TaskEvents("t1") {
				if n := s.rdb.XLen(ctx, k.TaskEvents("t1")).Val(); n != 2 {
					t.Fatalf("output has %d entries after failed writes, want the 2 of the first batch", n)
				}
			}
			if key != k.TaskSchema("t1") {
				if n := s.rdb.XLen(ctx, k.TaskSchema("t1")).Val(); n != 0 {
					t.Fatalf("schema history has %d records after failed writes", n)
				}
			}
			// Repaired by hand (DEL): writing goes on, once.
			s.rdb.Del(ctx, key)
			if key == k.TaskOffset("t1") {
				// The checkpoint is gone but everything written is in the
				// output: the write rebuilds it.
				var repairs []string
				s.OnRepair(func(task, what string) { repairs = append(repairs, what) })
				defer s.OnRepair(nil)
				if _, err := w.Write(ctx, b); err != nil || !slices.Contains(repairs, "offset") {
					t.Fatalf("write after DEL of the offset: %v, repairs %q", err, repairs)
				}
				return
			}
			if _, err := w.Write(ctx, b); err != nil {
				t.Fatalf("write after DEL: %v", err)
			}
		})
	}
}

// A deleted checkpoint is rebuilt only while the output still ends with
// what this writer wrote; otherwise it is a moved checkpoint.
func TestDeletedCheckpointAfterOutputChanged(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n1", time.Minute)
	w := s.NewOutputWriter(l, OutputLimit{}, 0)
	if _, err := w.Write(ctx, batchOf(2, 1)); err != nil {
		t.Fatal(err)
	}
	s.rdb.Del(ctx, s.keys.TaskOffset("t1"))
	s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.TaskEvents("t1"), Values: []any{"op", "c"}})
	if _, err := w.Write(ctx, batchOf(2, 2)); !errors.Is(err, ErrCheckpointMoved) {
		t.Fatalf("write: %v, want ErrCheckpointMoved", err)
	}
}

func TestStatusRepairs(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	var heard []string
	s.OnRepair(func(task, what string) { heard = append(heard, task+":"+what) })
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n1", time.Minute)
	w := s.NewOutputWriter(l, OutputLimit{}, 0)
	s.rdb.HSet(ctx, s.keys.TaskStatus("t1"), "events", "lots")
	if _, err := w.Write(ctx, batchOf(3, 1)); err != nil {
		t.Fatal(err)
	}
	if v := s.rdb.HGet(ctx, s.keys.TaskStatus("t1"), "events").Val(); v != "3" {
		t.Fatalf("events %q after repair, want 3", v)
	}
	s.rdb.Del(ctx, s.keys.TaskStatus("t1"))
	s.rdb.Set(ctx, s.keys.TaskStatus("t1"), "x", 0)
	if _, err := w.Write(ctx, batchOf(3, 2)); err != nil {
		t.Fatal(err)
	}
	if v := s.rdb.HGet(ctx, s.keys.TaskStatus("t1"), "state").Val(); v != "RUNNING" {
		t.Fatalf("state %q after the status was rebuilt", v)
	}
	if f := s.rdb.HGet(ctx, s.keys.TaskStatus("t1"), "fence").Val(); f != "1" {
		t.Fatalf("fence %q after rebuild, want the token in use, 1", f)
	}
	if strings.Join(heard, " ") != "t1:events t1:status" {
		t.Fatalf("repair hook heard %q", heard)
	}
}

// A lock nobody can renew (no TTL, or not a string) is repaired by the
// next node that looks at it, so the task can run again.
func TestLockRepairs(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	lock := s.keys.TaskLock("t1")
	s.rdb.Set(ctx, lock, "ghost 999", 0)
	h, err := s.LockHolder(ctx, "t1", 500*time.Millisecond)
	if err != nil || h != "ghost 999" {
		t.Fatalf("holder %q %v", h, err)
	}
	if ttl := s.rdb.PTTL(ctx, lock).Val(); ttl <= 0 || ttl > 500*time.Millisecond {
		t.Fatalf("lock TTL %v after repair, want (0, 500ms]", ttl)
	}
	time.Sleep(600 * time.Millisecond)
	if _, _, ok, err := s.AcquireLease(ctx, "t1", "n1", time.Minute); !ok || err != nil {
		t.Fatalf("acquire after the ghost lock expired: %v %v", ok, err)
	}

	s.rdb.Del(ctx, lock)
	s.rdb.HSet(ctx, lock, "a", "b")
	s.rdb.HSet(ctx, s.keys.TaskStatus("t1"), "fence", "garbage")
	l, _, ok, err := s.AcquireLease(ctx, "t1", "n2", time.Minute)
	if err != nil || !ok {
		t.Fatalf("acquire over a hash lock: %v %v", ok, err)
	}
	if l.Token < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("token %d after a garbage fence, want above every earlier token (ms clock)", l.Token)
	}
}

// Rehold swaps a held start entry for one without the config, still
// pending on the same consumer, and refuses while entries wait unread.
func TestRehold(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	s.EnsureGroup(ctx)
	id, _ := s.Publish(ctx, map[string]string{"cmd": "start", "task": "t1", "config": `{"password":"hunter2"}`})
	if _, err := s.ReadCommands(ctx, "n1", ">", 10, time.Second); err != nil {
		t.Fatal(err)
	}
	s.Publish(ctx, map[string]string{"cmd": "stop", "task": "t2"})
	if _, err := s.Rehold(ctx, "n1", id, "t1", "test"); !errors.Is(err, ErrReholdLater) {
		t.Fatalf("rehold with an unread entry: %v, want ErrReholdLater", err)
	}
	if _, err := s.ReadCommands(ctx, "n2", ">", 10, time.Second); err != nil {
		t.Fatal(err)
	}
	nid, err := s.Rehold(ctx, "n1", id, "t1", "test")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.keys.Commands(), Group: Group, Start: "-", End: "+", Count: 10, Consumer: "n1"}).Result()
	if len(p) != 1 || p[0].ID != nid {
		t.Fatalf("pending on n1: %v, want just %s", p, nid)
	}
	all, _ := s.rdb.XRange(ctx, s.keys.Commands(), "-", "+").Result()
	for _, m := range all {
		if _, ok := m.Values["config"]; ok {
			t.Fatalf("entry %s still carries a config", m.ID)
		}
	}
	if _, err := s.Rehold(ctx, "n1", id, "t1", "test"); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("rehold of a replaced entry: %v, want ErrNotHeld", err)
	}
	// The group is gone: EnsureGroupAfter brings it back, Rehold gives the
	// node an entry for its task again.
	s.rdb.Del(ctx, s.keys.Commands())
	if _, err := s.ReadCommands(ctx, "n1", ">", 1, 10*time.Millisecond); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("read without group: %v, want ErrNoGroup", err)
	}
	if err := s.EnsureGroupAfter(ctx, nid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rehold(ctx, "n1", "", "t1", "group recreated"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingCount(ctx, "n1"); n != 1 {
		t.Fatalf("pending on n1 after rehold: %d", n)
	}
}
