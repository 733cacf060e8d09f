package worker

import (
	"context"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/source"
)

func TestEmitterBatchesAndBlocks(t *testing.T) {
	codec, _ := events.NewCodec("json")
	e := newEmitter(codec, 3, source.Checkpoint{Seq: 0})
	ctx := context.Background()
	ch := &events.Change{Op: events.OpCreate, DB: "d", Table: "t", Columns: []string{"x"}, After: []any{int64(1)}}
	for i := 1; i <= 3; i++ {
		if err := e.Emit(ctx, ch, source.Checkpoint{Seq: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The batch is full: the next Emit blocks until the writer takes it.
	emitted := make(chan error)
	go func() { emitted <- e.Emit(ctx, ch, source.Checkpoint{Seq: 4}) }()
	select {
	case <-emitted:
		t.Fatal("Emit did not block on a full batch")
	case <-time.After(50 * time.Millisecond):
	}
	b, err := e.take(ctx)
	if err != nil || len(b.spans) != 3 || b.cp.Seq != 3 {
		t.Fatalf("took %d entries to seq %d (%v)", len(b.spans), b.cp.Seq, err)
	}
	if err := <-emitted; err != nil {
		t.Fatal(err)
	}
	e.recycle(b)
	b, _ = e.take(ctx)
	if len(b.spans) != 1 || b.cp.Seq != 4 || string(b.buf[b.spans[0].start:b.spans[0].end])[0] != '{' {
		t.Fatalf("second batch: %d entries to seq %d", len(b.spans), b.cp.Seq)
	}
	e.recycle(b)

	// A checkpoint-only advance is taken; an unchanged one is not, unless
	// the status shows a lag to clear.
	e.Advance(source.Checkpoint{Seq: 5}, 1)
	if b, _ = e.take(ctx); len(b.spans) != 0 || b.cp.Seq != 5 {
		t.Fatalf("advance: %d entries to seq %d", len(b.spans), b.cp.Seq)
	}
	e.recycle(b)
	e.Advance(source.Checkpoint{Seq: 5}, 2)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := e.take(tctx); err == nil {
		t.Fatal("an unchanged checkpoint was taken")
	}
	cancel()
	for _, shown := range []int64{5000, settledLagMs + 1} {
		e.wrote(shown)
		e.Advance(source.Checkpoint{Seq: 5}, time.Now().UnixMilli())
		if b, _ = e.take(ctx); b.cp.Seq != 5 {
			t.Fatalf("a heartbeat did not refresh a stale lag of %d ms", shown)
		}
		e.recycle(b)
	}
	e.wrote(settledLagMs)
	e.Advance(source.Checkpoint{Seq: 5}, time.Now().UnixMilli())
	tctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := e.take(tctx); err == nil {
		t.Fatal("a heartbeat rewrote a settled lag")
	}
	cancel()

	e.close()
	if err := e.Emit(ctx, ch, source.Checkpoint{Seq: 6}); err != errOutputClosed {
		t.Fatalf("Emit after close = %v", err)
	}
}

func TestEmitterLagTime(t *testing.T) {
	codec, _ := events.NewCodec("json")
	e := newEmitter(codec, 10, source.Checkpoint{})
	ctx := context.Background()
	ch := &events.Change{Op: events.OpCreate, DB: "d", Table: "t", Columns: []string{"x"}, After: []any{int64(1)},
		Source: events.Source{TsMs: 7000}}
	if err := e.Emit(ctx, ch, source.Checkpoint{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	ch.CommitMs = 7420
	if err := e.EmitGroup(ctx, []*events.Change{ch}, nil, source.Checkpoint{Seq: 2}); err != nil {
		t.Fatal(err)
	}
	b, _ := e.take(ctx)
	if b.tsMs != 7420 {
		t.Errorf("lag measured from %d, want the change's commit time 7420", b.tsMs)
	}
	e.recycle(b)
	ch.CommitMs = 0
	if err := e.Emit(ctx, ch, source.Checkpoint{Seq: 3}); err != nil {
		t.Fatal(err)
	}
	if b, _ = e.take(ctx); b.tsMs != 7000 {
		t.Errorf("without a commit time: lag measured from %d, want source.ts_ms 7000", b.tsMs)
	}
}
