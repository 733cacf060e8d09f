package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
)

func newStore(t *testing.T) (*Store, *testenv.Redis) {
	r := testenv.StartRedis(t)
	return New(r.Client(t), "test"), r
}

func batchOf(n int, seq int) *Batch {
	b := &Batch{State: "RUNNING", Position: fmt.Sprint(seq), Offset: []string{"seq", fmt.Sprint(seq)}}
	for i := 0; i < n; i++ {
		b.Entries = append(b.Entries, Entry{Op: "c", Table: "db.t", Data: []byte(fmt.Sprintf("row %d", i))})
	}
	return b
}

func TestFencedWrites(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	ttl := time.Second

	a, _, ok, err := s.AcquireLease(ctx, "t1", "node-a", ttl)
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	if _, holder, ok, _ := s.AcquireLease(ctx, "t1", "node-b", ttl); ok || holder != a.Value {
		t.Fatalf("second acquire: ok %v holder %q, want refused with %q", ok, holder, a.Value)
	}
	wa := s.NewOutputWriter(a, OutputLimit{}, 0)
	if _, err := wa.Write(ctx, batchOf(3, 1)); err != nil {
		t.Fatal(err)
	}

	// The lease expires (a paused node); another node takes over.
	time.Sleep(1100 * time.Millisecond)
	b, _, ok, err := s.AcquireLease(ctx, "t1", "node-b", ttl)
	if err != nil || !ok || b.Token <= a.Token {
		t.Fatalf("takeover: ok %v err %v token %d (old %d)", ok, err, b.Token, a.Token)
	}
	if _, err := wa.Write(ctx, batchOf(3, 2)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale writer: err %v, want ErrLeaseLost", err)
	}
	if _, err := s.RenewLease(ctx, a, ttl); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale renew: err %v, want ErrLeaseLost", err)
	}
	if err := s.SetStatus(ctx, a, "state", "RUNNING"); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale status write: err %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, a, "STOPPED", "", ""); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale release: err %v, want ErrLeaseLost", err)
	}
	off, _ := s.LoadOffset(ctx, "t1")
	wb := s.NewOutputWriter(b, OutputLimit{}, 1)
	if _, err := wb.Write(ctx, batchOf(2, 2)); err != nil {
		t.Fatalf("new owner: %v (offset %v)", err, off)
	}
	n, _ := s.rdb.XLen(ctx, s.keys.TaskEvents("t1")).Result()
	if n != 5 {
		t.Fatalf("stream has %d entries, want 5", n)
	}
}

func TestRetriedBatchIsWrittenOnce(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n", time.Minute)
	w := s.NewOutputWriter(l, OutputLimit{}, 0)
	b := batchOf(4, 1)
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	// The reply was lost: a fresh writer for the same lease retries batch 1.
	w2 := s.NewOutputWriter(l, OutputLimit{}, 0)
	id, err := w2.Write(ctx, b)
	if err != nil || id != "" {
		t.Fatalf("retry: id %q err %v, want no write", id, err)
	}
	if n, _ := s.rdb.XLen(ctx, s.keys.TaskEvents("t1")).Result(); n != 4 {
		t.Fatalf("stream has %d entries, want 4", n)
	}
	// A writer whose idea of the checkpoint is behind is refused.
	w3 := s.NewOutputWriter(l, OutputLimit{}, 5)
	if _, err := w3.Write(ctx, batchOf(1, 9)); !errors.Is(err, ErrCheckpointMoved) {
		t.Fatalf("err %v, want ErrCheckpointMoved", err)
	}
	st, _ := s.rdb.HGetAll(ctx, s.keys.TaskStatus("t1")).Result()
	if st["events"] != "4" || st["state"] != "RUNNING" {
		t.Errorf("status %v", st)
	}
}

func TestBlockTrimsOnlyWhatEveryGroupRead(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n", time.Minute)
	stream := s.keys.TaskEvents("t1")
	w := s.NewOutputWriter(l, OutputLimit{MaxLen: 10, Overflow: OverflowBlock}, 0)
	if _, err := w.Write(ctx, batchOf(10, 1)); err != nil {
		t.Fatal(err)
	}
	// No group reads the stream: nothing may be trimmed.
	if _, err := w.Write(ctx, batchOf(1, 2)); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("err %v, want ErrBackpressure", err)
	}
	// Group g1 has read 6 entries and acknowledged 4; g2 read and
	// acknowledged 8.
	s.rdb.XGroupCreate(ctx, stream, "g1", "0")
	s.rdb.XGroupCreate(ctx, stream, "g2", "0")
	r1, _ := s.rdb.XReadGroup(ctx, &readArgs{Group: "g1", Consumer: "c", Streams: []string{stream, ">"}, Count: 6}).Result()
	for _, m := range r1[0].Messages[:4] {
		s.rdb.XAck(ctx, stream, "g1", m.ID)
	}
	r2, _ := s.rdb.XReadGroup(ctx, &readArgs{Group: "g2", Consumer: "c", Streams: []string{stream, ">"}, Count: 8}).Result()
	for _, m := range r2[0].Messages {
		s.rdb.XAck(ctx, stream, "g2", m.ID)
	}
	if _, err := w.Write(ctx, batchOf(4, 2)); err != nil {
		t.Fatalf("write after reads: %v", err)
	}
	msgs, _ := s.rdb.XRange(ctx, stream, "-", "+").Result()
	// g1's first unacknowledged entry (the 5th) is the oldest kept.
	if len(msgs) != 10 || msgs[0].ID != r1[0].Messages[4].ID {
		t.Fatalf("stream has %d entries from %s, want 10 from %s", len(msgs), msgs[0].ID, r1[0].Messages[4].ID)
	}
}

func TestTouchAndAckOwnedLeaveOtherNodesEntriesAlone(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroup(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	id, _ := s.Publish(ctx, map[string]string{"cmd": "start", "task": "t1"})
	cmds, err := s.ReadCommands(ctx, "a", ">", 10, time.Second)
	if err != nil || len(cmds) != 1 {
		t.Fatalf("read: %v %v", cmds, err)
	}
	// b claims a's entry (a was presumed dead).
	s.rdb.XClaim(ctx, &claimArgs{Stream: s.keys.Commands(), Group: Group, Consumer: "b", Messages: []string{id}})
	mine, err := s.Touch(ctx, "a", []string{id})
	if err != nil || len(mine) != 0 {
		t.Fatalf("a touched %v (%v), want nothing", mine, err)
	}
	if ok, err := s.AckOwned(ctx, "a", id); ok || err != nil {
		t.Fatalf("a acknowledged b's entry: %v %v", ok, err)
	}
	if mine, _ := s.Touch(ctx, "b", []string{id}); len(mine) != 1 {
		t.Fatalf("b touched %v, want its entry", mine)
	}
	if ok, _ := s.AckOwned(ctx, "b", id); !ok {
		t.Fatal("b could not acknowledge its entry")
	}
}

func TestTrimCommandsKeepsPendingAndUndelivered(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 20; i++ {
		id, _ := s.Publish(ctx, map[string]string{"cmd": "stop", "task": fmt.Sprint("t", i)})
		ids = append(ids, id)
	}
	cmds, err := s.ReadCommands(ctx, "n1", ">", 15, time.Second)
	if err != nil || len(cmds) != 15 {
		t.Fatalf("read %d: %v", len(cmds), err)
	}
	for i, c := range cmds {
		if i != 3 { // entry 3 stays pending: a running task's start
			s.AckOwned(ctx, "n1", c.ID)
		}
	}
	if _, err := s.TrimCommands(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// Kept: the pending entry 3, and 15..19, never delivered.
	msgs, _ := s.rdb.XRange(ctx, s.keys.Commands(), "-", "+").Result()
	if got := entryIDs(msgs); !slices.Equal(got, append([]string{ids[3]}, ids[15:]...)) {
		t.Fatalf("after trim: %v, want %v and %v", got, ids[3], ids[15:])
	}
	s.AckOwned(ctx, "n1", ids[3])
	if _, err := s.TrimCommands(ctx, 2); err != nil {
		t.Fatal(err)
	}
	msgs, _ = s.rdb.XRange(ctx, s.keys.Commands(), "-", "+").Result()
	if got := entryIDs(msgs); !slices.Equal(got, ids[15:]) {
		t.Fatalf("after the ack: %v, want %v", got, ids[15:])
	}
}

// The stream stays bounded however old the entries that hold running tasks
// are: entries between them go too.
func TestTrimCommandsBoundedBehindOldPendingEntries(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	var held []string
	for i := 0; i < 3000; i++ {
		if _, err := s.Publish(ctx, map[string]string{"cmd": "stop", "task": fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
		cmds, err := s.ReadCommands(ctx, "n1", ">", 1, time.Second)
		if err != nil || len(cmds) != 1 {
			t.Fatalf("read: %d %v", len(cmds), err)
		}
		if i%700 == 0 { // five entries stay pending, the first the oldest of all
			held = append(held, cmds[0].ID)
			continue
		}
		s.AckOwned(ctx, "n1", cmds[0].ID)
	}
	for i := 0; i < 7; i++ { // never delivered
		s.Publish(ctx, map[string]string{"cmd": "stop", "task": "late"})
	}
	n, err := s.TrimCommands(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.rdb.XRange(ctx, s.keys.Commands(), "-", "+").Result()
	// The 1000 newest (entries 2007..3006: the 7 undelivered, held[3] and
	// held[4] among them), plus the older held[0..2].
	if len(msgs) != 1003 || n != 3007-1003 {
		t.Fatalf("after trim: %d entries (deleted %d), want 1003", len(msgs), n)
	}
	kept := map[string]bool{}
	for _, m := range msgs {
		kept[m.ID] = true
	}
	for _, h := range held {
		if !kept[h] {
			t.Fatalf("pending entry %s was trimmed", h)
		}
	}
	if p, _ := s.rdb.XPending(ctx, s.keys.Commands(), Group).Result(); p.Count != 5 {
		t.Fatalf("pending %d after trim, want 5", p.Count)
	}
}

func entryIDs(msgs []redis.XMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestLaterCommandWins(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.PutConfig(ctx, "100-5", "t1", `{"taskType":"DATAGEN"}`, "d1", "", "DATAGEN", false); err != nil {
		t.Fatal(err)
	}
	// A stop read late, issued before the start: ignored.
	if err := s.SetDesired(ctx, "100-4", "t1", DesiredStopped, false); !errors.Is(err, ErrStaleCommand) {
		t.Fatalf("older stop: %v, want ErrStaleCommand", err)
	}
	if c, _ := s.LoadConfig(ctx, "t1"); c.Desired.State != DesiredRunning {
		t.Fatalf("desired %q after an older stop", c.Desired.State)
	}
	if err := s.SetDesired(ctx, "101-0", "t1", DesiredStopped, false); err != nil {
		t.Fatal(err)
	}
	// A start with another config, issued before that stop: ignored too.
	if _, _, err := s.PutConfig(ctx, "100-9", "t1", `{"taskType":"DATAGEN","format":"json"}`, "d2", "", "DATAGEN", false); !errors.Is(err, ErrStaleCommand) {
		t.Fatalf("older start: %v, want ErrStaleCommand", err)
	}
	c, _ := s.LoadConfig(ctx, "t1")
	if c.Desired.State != DesiredStopped || c.Digest != "d1" {
		t.Fatalf("after an older start: desired %q digest %q", c.Desired.State, c.Digest)
	}
	// A restart applied a second time (from a pending list): no second
	// restart.
	_, gen, err := s.PutConfig(ctx, "102-0", "t1", "", "", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutConfig(ctx, "102-0", "t1", "", "", "", "", true); !errors.Is(err, ErrStaleCommand) {
		t.Fatalf("the same restart again: %v, want ErrStaleCommand", err)
	}
	if c, _ := s.LoadConfig(ctx, "t1"); c.Desired.Gen != gen {
		t.Fatalf("gen %d after the same restart twice, want %d", c.Desired.Gen, gen)
	}
}

// TestSchemaRecordsGoToTheHistory: a batch's schema records land in
// P:task:schema:{ID} with the id of the output entry before them, not in
// the output, and do not count as events; a retried batch adds none again.
func TestSchemaRecordsGoToTheHistory(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n", time.Minute)
	w := s.NewOutputWriter(l, OutputLimit{MaxLen: 2, Overflow: OverflowBlock}, 0)
	b := &Batch{State: "RUNNING", Offset: []string{"seq", "1"}, Entries: []Entry{
		{Op: OpSchema, Table: "", Data: []byte(`{"kind":"catalog"}`)},
		{Op: "ddl", Table: "db.t", Data: []byte("ddl event")},
		{Op: OpSchema, Table: "db.t", Data: []byte(`{"kind":"table"}`)},
		{Op: "c", Table: "db.t", Data: []byte("row")},
	}}
	if b.OutputEntries() != 2 {
		t.Fatalf("OutputEntries = %d, want 2", b.OutputEntries())
	}
	// MaxLen 2 holds the two output entries: records do not count.
	last, err := w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewOutputWriter(l, OutputLimit{}, 0).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	out, _ := s.rdb.XRange(ctx, s.keys.TaskEvents("t1"), "-", "+").Result()
	if len(out) != 2 || out[0].Values["op"] != "ddl" || out[1].ID != last {
		t.Fatalf("output %v, want the ddl and the row", out)
	}
	hist, _ := s.rdb.XRange(ctx, s.keys.TaskSchema("t1"), "-", "+").Result()
	if len(hist) != 2 || hist[0].Values["event"] != "" || hist[1].Values["event"] != out[0].ID || hist[1].Values["table"] != "db.t" {
		t.Fatalf("history %v, want the catalog (no event) and the table record after the ddl event %s", hist, out[0].ID)
	}
	recs, err := s.LoadSchema(ctx, "t1")
	if err != nil || len(recs) != 2 || string(recs[1]) != `{"kind":"table"}` {
		t.Fatalf("LoadSchema = %q, %v", recs, err)
	}
	if st, _ := s.rdb.HGet(ctx, s.keys.TaskStatus("t1"), "events").Result(); st != "2" {
		t.Errorf("status events = %s, want 2", st)
	}
}

// GiveEntry wakes the receiving node.
func TestGiveEntryWakes(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	s.EnsureGroup(ctx)
	wakes, closeSub := s.WakeUps(ctx, "n2")
	defer closeSub()
	id, _ := s.Publish(ctx, map[string]string{"cmd": "start", "task": "t1"})
	if _, err := s.ReadCommands(ctx, "n1", ">", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n, _ := s.rdb.PubSubNumSub(ctx, s.keys.NodeWake("n2")).Result(); n[s.keys.NodeWake("n2")] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription never showed up")
		}
	}
	if ok, err := s.GiveEntry(ctx, id, "n1", "n2"); !ok || err != nil {
		t.Fatalf("give: %v %v", ok, err)
	}
	select {
	case m := <-wakes:
		if m.Payload != id {
			t.Fatalf("woken with %q, want the entry %s", m.Payload, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("n2 was not woken")
	}
}

// RenewLeases renews many leases in one round trip, each with its own
// result, and loads its script into a Redis that lost it.
func TestRenewLeases(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	var ls []Lease
	for i := 0; i < 50; i++ {
		l, _, ok, err := s.AcquireLease(ctx, fmt.Sprint("t", i), "n1", time.Minute)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		ls = append(ls, l)
	}
	s.rdb.Del(ctx, s.keys.TaskLock("t7")) // lost
	s.rdb.HSet(ctx, s.keys.TaskConfig("t9"), "desired", DesiredStopped)
	s.rdb.ScriptFlush(ctx)
	res := s.RenewLeases(ctx, ls, 2*time.Minute)
	for i, r := range res {
		switch {
		case i == 7:
			if !errors.Is(r.Err, ErrLeaseLost) {
				t.Errorf("t7: %v, want ErrLeaseLost", r.Err)
			}
		case r.Err != nil:
			t.Errorf("t%d: %v", i, r.Err)
		case i == 9 && r.Desired.State != DesiredStopped:
			t.Errorf("t9: desired %q, want stopped", r.Desired.State)
		}
	}
	if ttl := s.rdb.PTTL(ctx, s.keys.TaskLock("t3")).Val(); ttl < time.Minute {
		t.Errorf("t3's lock TTL %v after the renewal, want about 2m", ttl)
	}
}

// A renewal reports a lost lock (freed, taken, or of another type) and a
// missing or damaged config as before, and a healthy one costs Redis four
// commands: the EVALSHA and GET, PEXPIRE, HMGET inside it. Every node
// renews each of its tasks every heartbeat, so this is most of an idle
// fleet's load (BenchmarkCoordination: at most 0.5 commands/s a task with
// the 10s default heartbeat).
func TestRenewLeaseCases(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	commands := func() int64 {
		info, _ := s.rdb.InfoMap(ctx, "stats").Result()
		var n int64
		fmt.Sscan(info["Stats"]["total_commands_processed"], &n)
		return n
	}
	tests := []struct {
		name       string
		damage     func(id string)
		lost       bool
		desired    string
		config     string // what Desired.Config says: "" fine, "unknown" or "damaged"
		maxCommand int64  // Redis commands of the renewal, 0: not counted
	}{
		{"healthy", func(string) {}, false, DesiredRunning, "", 4},
		{"stopped", func(id string) { s.rdb.HSet(ctx, s.keys.TaskConfig(id), "desired", DesiredStopped) }, false, DesiredStopped, "", 4},
		{"lock freed", func(id string) { s.rdb.Del(ctx, s.keys.TaskLock(id)) }, true, "", "", 0},
		{"lock taken", func(id string) { s.rdb.Set(ctx, s.keys.TaskLock(id), "n2 99", time.Minute) }, true, "", "", 0},
		{"lock of another type", func(id string) {
			s.rdb.Del(ctx, s.keys.TaskLock(id))
			s.rdb.HSet(ctx, s.keys.TaskLock(id), "a", "b")
		}, true, "", "", 0},
		{"config missing", func(id string) { s.rdb.Del(ctx, s.keys.TaskConfig(id)) }, false, "", "unknown", 0},
		{"config of another type", func(id string) {
			s.rdb.Del(ctx, s.keys.TaskConfig(id))
			s.rdb.Set(ctx, s.keys.TaskConfig(id), "x", 0)
		}, false, "", "damaged", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprint("r", i)
			if _, _, err := s.PutConfig(ctx, fmt.Sprintf("%d-1", i+1), id, `{"taskType":"DATAGEN"}`, "d", "", "DATAGEN", false); err != nil {
				t.Fatal(err)
			}
			l, _, ok, err := s.AcquireLease(ctx, id, "n1", time.Minute)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if _, err := s.RenewLease(ctx, l, time.Minute); err != nil { // loads the script
				t.Fatal(err)
			}
			tt.damage(id)
			before := commands()
			d, err := s.RenewLease(ctx, l, 2*time.Minute)
			used := commands() - before - 1 // the INFO of before
			if lost := errors.Is(err, ErrLeaseLost); lost != tt.lost || (err != nil && !lost) {
				t.Fatalf("err %v, want lost %v", err, tt.lost)
			}
			if tt.lost {
				return
			}
			if d.State != tt.desired {
				t.Errorf("desired %q, want %q", d.State, tt.desired)
			}
			var damaged *DamagedKeyError
			got := ""
			switch {
			case errors.Is(d.Config, ErrUnknownTask):
				got = "unknown"
			case errors.As(d.Config, &damaged):
				got = "damaged"
			case d.Config != nil:
				got = d.Config.Error()
			}
			if got != tt.config {
				t.Errorf("config %q (%v), want %q", got, d.Config, tt.config)
			}
			if ttl := s.rdb.PTTL(ctx, s.keys.TaskLock(id)).Val(); ttl <= time.Minute {
				t.Errorf("lock TTL %v after renewing for 2m", ttl)
			}
			if tt.maxCommand > 0 && used > tt.maxCommand {
				t.Errorf("the renewal ran %d Redis commands, want at most %d", used, tt.maxCommand)
			}
		})
	}
}

// CommandsWaiting sees entries no consumer has read yet, and none once
// they are read (pending or acknowledged) or when there is no group.
func TestCommandsWaiting(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	waiting := func() bool {
		t.Helper()
		w, err := s.CommandsWaiting(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	s.Publish(ctx, map[string]string{"cmd": "start", "task": "t1"})
	if waiting() {
		t.Error("waiting without a group")
	}
	s.EnsureGroup(ctx)
	if !waiting() {
		t.Error("an unread entry not seen")
	}
	cmds, err := s.ReadCommands(ctx, "n1", ">", 10, time.Second)
	if err != nil || len(cmds) != 1 {
		t.Fatal(cmds, err)
	}
	if waiting() {
		t.Error("waiting with the entry pending on n1")
	}
	s.AckOwned(ctx, "n1", cmds[0].ID)
	if waiting() {
		t.Error("waiting with the entry acknowledged")
	}
}

// TestPipelinedWrites sends batches with others in flight: they are
// written in order, once each; one sent ahead of a batch that was not
// written (a write that fails, or one Redis runs early) writes nothing,
// and after Resync the batches go again one at a time.
func TestPipelinedWrites(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	l, _, _, _ := s.AcquireLease(ctx, "t1", "n", time.Minute)
	stream := s.keys.TaskEvents("t1")
	w := s.NewOutputWriter(l, OutputLimit{MaxLen: 12, Overflow: OverflowBlock}, 0)

	// Three batches in flight at once, on the pool's connections: Redis
	// may run them in any order; those it runs too early write nothing
	// and go again, one at a time, after Resync.
	batches := []*Batch{batchOf(3, 1), batchOf(3, 2), batchOf(3, 3)}
	for i, b := range batches {
		for j := range b.Entries {
			b.Entries[j].Data = []byte(fmt.Sprintf("batch %d row %d", i+1, j))
		}
	}
	var ps []*Pending
	for _, b := range batches {
		ps = append(ps, w.Send(ctx, b))
	}
	early := 0
	for i, p := range ps {
		if p.Number() != int64(i+1) {
			t.Errorf("batch %d sent as number %d", i+1, p.Number())
		}
		if _, err := p.Wait(); errors.Is(err, ErrCheckpointMoved) {
			early++
		} else if err != nil {
			t.Fatalf("batch %d: %v", i+1, err)
		}
	}
	w.Resync()
	for i := w.Written(); i < 3; i++ {
		if _, err := w.Write(ctx, batches[i]); err != nil {
			t.Fatalf("batch %d again: %v", i+1, err)
		}
	}
	t.Logf("%d of 3 batches ran too early", early)
	msgs, _ := s.rdb.XRange(ctx, stream, "-", "+").Result()
	var got []string
	for _, m := range msgs {
		got = append(got, m.Values["data"].(string))
	}
	var want []string
	for _, b := range batches {
		for _, e := range b.Entries {
			want = append(want, string(e.Data))
		}
	}
	if !slices.Equal(got, want) || w.Written() != 3 {
		t.Fatalf("stream %q, %d batches written; want %q and 3", got, w.Written(), want)
	}

	// Batch 4 does not fit (12 entries at most): it writes nothing, and
	// batch 5, sent behind it, finds the checkpoint at 3 and writes
	// nothing either.
	p4, p5 := w.Send(ctx, batchOf(4, 4)), w.Send(ctx, batchOf(1, 5))
	if _, err := p4.Wait(); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("batch 4: %v, want ErrBackpressure", err)
	}
	if _, err := p5.Wait(); !errors.Is(err, ErrCheckpointMoved) {
		t.Fatalf("batch 5: %v, want ErrCheckpointMoved", err)
	}
	if n, _ := s.rdb.XLen(ctx, stream).Result(); n != 9 || w.Written() != 3 {
		t.Fatalf("after the failed batches: %d entries, %d batches written; want 9 and 3", n, w.Written())
	}
	// Again one at a time: batch 5's entries as batch 4.
	w.Resync()
	if _, err := w.Write(ctx, batchOf(1, 5)); err != nil {
		t.Fatal(err)
	}
	off, _ := s.LoadOffset(ctx, "t1")
	if off["batch"] != "4" || off["seq"] != "5" || w.Written() != 4 {
		t.Fatalf("checkpoint %v, %d batches written; want batch 4 at seq 5", off, w.Written())
	}

	// A batch that Redis runs before the one ahead of it (sent on another
	// connection) writes nothing: here it is sent with number 6 while
	// the stored count is 4.
	w.Resync()
	w.sent++
	if _, err := w.Send(ctx, batchOf(1, 7)).Wait(); !errors.Is(err, ErrCheckpointMoved) {
		t.Fatalf("early batch: %v, want ErrCheckpointMoved", err)
	}
	if n, _ := s.rdb.XLen(ctx, stream).Result(); n != 10 {
		t.Fatalf("stream has %d entries after the early batch, want 10", n)
	}

	// The same for a task's first batches: batch 2 run before batch 1 on
	// an empty output with no checkpoint yet must not be taken for a
	// write after a deleted checkpoint, which the script rewrites.
	l2, _, _, _ := s.AcquireLease(ctx, "t2", "n", time.Minute)
	w2 := s.NewOutputWriter(l2, OutputLimit{}, 0)
	w2.tail = "0-0" // read by an earlier write: the output is empty
	w2.sent++       // batch 1 in flight, not yet run
	if _, err := w2.Send(ctx, batchOf(2, 2)).Wait(); !errors.Is(err, ErrCheckpointMoved) {
		t.Fatalf("batch 2 before batch 1: %v, want ErrCheckpointMoved", err)
	}
	if n, _ := s.rdb.XLen(ctx, s.keys.TaskEvents("t2")).Result(); n != 0 || w2.Written() != 0 {
		t.Fatalf("batch 2 before batch 1 wrote %d entries, %d batches", n, w2.Written())
	}
}
