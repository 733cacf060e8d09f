package worker

import (
	"context"
	"errors"
	"sync"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/source"
	"github.com/dataingest/dataingest/store"
)

// Limits of one write: entries and encoded bytes.
const (
	defaultBatchEntries = 500
	// pipelineDepth is how many fenced writes a task's writer keeps in
	// flight: the next batch reaches Redis while it runs the previous one.
	pipelineDepth = 2
	// pipelineBytes is the largest batch sent while another is in flight,
	// and the largest buffer kept beside another spare: a task of large
	// rows writes one batch at a time and keeps two buffers, as before.
	pipelineBytes = 1 << 20
	batchBytes    = 8 << 20
)

// settledLagMs is the most lag, ms, that the status and the lag metric
// may go on showing once the source is idle; a binlog heartbeat refreshes a
// larger one.
const settledLagMs = 50

// errOutputClosed means the writer is gone; the source should stop.
var errOutputClosed = errors.New("output closed")

// span locates one encoded entry in a pendingBatch's buffer.
type span struct {
	op, table  string
	start, end int
}

// pendingBatch is what the source has handed over since the writer last
// took a batch: encoded entries and the checkpoint after them.
type pendingBatch struct {
	spans    []span
	buf      []byte
	cp       source.Checkpoint
	tsMs     int64 // source time of the newest change or heartbeat
	dirty    bool  // cp changed since the last take
	snapshot bool
	snapRows int64 // rows of the snapshot written once b is (its last r event's), 0 when b has none
}

func (b *pendingBatch) reset() {
	b.spans, b.buf, b.dirty, b.snapRows = b.spans[:0], b.buf[:0], false, 0
}

// emitter is the hand-over point between a task's source goroutine, which
// encodes changes into the current batch, and its writer goroutine, which
// takes whole batches: the writer takes whatever accumulated while it was
// writing the previous batch, so batches grow with load and a lone change
// goes out at once. While one write is in flight the writer takes the
// next batch only once it is full (takeFull) and sends it at once, so that
// Redis has the next batch as soon as it is done with the previous one.
// The source blocks when the current batch is full, so a task holds at
// most 1 + pipelineDepth batches in memory.
type emitter struct {
	codec    events.Codec
	max      int
	mu       sync.Mutex // guards cur, spares, closed, shownLag and started
	shownLag int64      // lag_ms of the last write: what the status shows
	started  bool       // the source has called Advance: it has its position
	cur      *pendingBatch
	spares   []*pendingBatch // written batches, for reuse
	closed   bool
	ready    chan struct{} // a batch has something to write
	full     chan struct{} // the current batch is full
	space    chan struct{} // the writer took a batch
	done     chan struct{} // closed when the writer stops
	table    string        // last db.table, to avoid building the string per row
	tableDB  string
	tableNm  string
	snapEst  int64 // rows the snapshot is expected to read (Snapshotting)
}

func newEmitter(codec events.Codec, maxEntries int, from source.Checkpoint) *emitter {
	if maxEntries <= 0 {
		maxEntries = defaultBatchEntries
	}
	return &emitter{
		codec: codec, max: maxEntries,
		cur:    &pendingBatch{cp: from},
		spares: newSpares(),
		ready:  make(chan struct{}, 1), full: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// newSpares is the batches a new emitter has for the writer to fill
// while it writes: one for each write that may be in flight.
func newSpares() []*pendingBatch {
	spares := make([]*pendingBatch, pipelineDepth)
	for i := range spares {
		spares[i] = &pendingBatch{}
	}
	return spares
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// lockRoom waits until the current batch has room (fits says so) and
// returns with e.mu held; on an error it is not held.
func (e *emitter) lockRoom(ctx context.Context, fits func(*pendingBatch) bool) error {
	e.mu.Lock()
	for !e.closed && !fits(e.cur) {
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.done:
			return errOutputClosed
		case <-e.space:
		}
		e.mu.Lock()
	}
	if e.closed {
		e.mu.Unlock()
		return errOutputClosed
	}
	return nil
}

// Emit implements source.Emitter.
func (e *emitter) Emit(ctx context.Context, ch *events.Change, after source.Checkpoint) error {
	if err := e.lockRoom(ctx, func(b *pendingBatch) bool { return !e.isFull(b) }); err != nil {
		return err
	}
	defer e.mu.Unlock()
	b := e.cur
	start := len(b.buf)
	var err error
	if b.buf, err = e.codec.Append(b.buf, ch); err != nil {
		b.buf = b.buf[:start]
		return err
	}
	b.spans = append(b.spans, span{op: string(ch.Op), table: e.tableName(ch), start: start, end: len(b.buf)})
	b.cp, b.tsMs, b.dirty = after, commitMs(ch), true
	if ch.Op == events.OpSnapshot {
		b.snapRows = ch.Tx.Seq + 1 // a snapshot numbers its rows from 0 (source/snapshot.go)
	}
	signal(e.ready)
	if e.isFull(b) {
		signal(e.full)
	}
	return nil
}

// isFull reports whether b can take no more changes.
func (e *emitter) isFull(b *pendingBatch) bool {
	return len(b.spans) >= e.max || len(b.buf) >= batchBytes
}

// EmitGroup implements source.Emitter. The group goes into one batch: it
// waits for an empty batch when the group does not fit in the current one,
// and a group larger than a batch makes a larger batch.
func (e *emitter) EmitGroup(ctx context.Context, chs []*events.Change, recs []source.SchemaRecord, after source.Checkpoint) error {
	n := len(chs) + len(recs)
	if err := e.lockRoom(ctx, func(b *pendingBatch) bool {
		return len(b.spans) == 0 || (len(b.spans)+n <= e.max && len(b.buf) < batchBytes)
	}); err != nil {
		return err
	}
	defer e.mu.Unlock()
	b := e.cur
	mark, spans := len(b.buf), len(b.spans)
	var ts int64
	for _, ch := range chs {
		start := len(b.buf)
		var err error
		if b.buf, err = e.codec.Append(b.buf, ch); err != nil {
			b.buf, b.spans = b.buf[:mark], b.spans[:spans]
			return err
		}
		b.spans = append(b.spans, span{op: string(ch.Op), table: e.tableName(ch), start: start, end: len(b.buf)})
		ts = commitMs(ch)
	}
	for _, r := range recs {
		start := len(b.buf)
		b.buf = append(b.buf, r.Data...)
		b.spans = append(b.spans, span{op: store.OpSchema, table: r.Table, start: start, end: len(b.buf)})
	}
	if ts != 0 {
		b.tsMs = ts
	}
	b.cp, b.dirty = after, true
	signal(e.ready)
	return nil
}

// commitMs is the source time the lag of ch is measured from.
func commitMs(ch *events.Change) int64 {
	if ch.CommitMs != 0 {
		return ch.CommitMs
	}
	return ch.Source.TsMs
}

func (e *emitter) tableName(ch *events.Change) string {
	if ch.DB != e.tableDB || ch.Table != e.tableNm {
		e.tableDB, e.tableNm, e.table = ch.DB, ch.Table, ch.DB+"."+ch.Table
	}
	return e.table
}

// Advance implements source.Emitter.
func (e *emitter) Advance(after source.Checkpoint, sourceTsMs int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cur.tsMs = sourceTsMs
	// A new position is written; so is the first call, which says the
	// source has its position (the task is RUNNING from then), and a
	// heartbeat of a caught-up source while the status still shows a lag
	// (lag_ms stays true when idle: it falls to about 0 one binlog
	// heartbeat after a burst).
	first := !e.started
	e.started = true
	if first || e.cur.cp != after || (e.shownLag > settledLagMs && !e.cur.dirty) {
		e.cur.cp, e.cur.dirty = after, true
		signal(e.ready)
	}
}

// wrote records the lag the status shows after a write.
func (e *emitter) wrote(lagMs int64) {
	e.mu.Lock()
	e.shownLag = lagMs
	e.mu.Unlock()
}

// Snapshotting implements source.Emitter.
func (e *emitter) Snapshotting(on bool, estimatedRows int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cur.snapshot = on
	if on {
		e.snapEst = estimatedRows
	}
}

// snapshotEstimate is the estimate of the last Snapshotting(true).
func (e *emitter) snapshotEstimate() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snapEst
}

// take waits for a batch with something to write and returns it; the
// caller gives it back with recycle once written.
func (e *emitter) take(ctx context.Context) (*pendingBatch, error) {
	return e.takeWhen(ctx, nil, false)
}

// takeFull waits for a full batch, as take does, until done is closed:
// then it returns nil.
func (e *emitter) takeFull(ctx context.Context, done <-chan struct{}) (*pendingBatch, error) {
	return e.takeWhen(ctx, done, true)
}

func (e *emitter) takeWhen(ctx context.Context, done <-chan struct{}, full bool) (*pendingBatch, error) {
	wake := e.ready
	if full {
		wake = e.full
	}
	for {
		e.mu.Lock()
		if e.cur.dirty && len(e.spares) > 0 && (!full || e.isFull(e.cur) && len(e.cur.buf) <= pipelineBytes) {
			b := e.cur
			next := e.spares[len(e.spares)-1]
			e.spares = e.spares[:len(e.spares)-1]
			next.reset()
			next.cp, next.tsMs, next.snapshot = b.cp, b.tsMs, b.snapshot
			e.cur = next
			e.mu.Unlock()
			signal(e.space)
			return b, nil
		}
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-done:
			return nil, nil
		case <-wake:
		}
	}
}

// recycle returns a written batch for reuse.
func (e *emitter) recycle(b *pendingBatch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cap(b.buf) > pipelineBytes && len(e.spares) > 0 {
		b = &pendingBatch{} // one large buffer kept is enough
	}
	e.spares = append(e.spares, b)
	signal(e.ready) // the current batch may have filled meanwhile
	if e.isFull(e.cur) {
		signal(e.full)
	}
}

// close stops the emitter: blocked and later Emits fail.
func (e *emitter) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.done)
	}
}

// toStore turns b into the store's batch form, reusing out's slices.
func (b *pendingBatch) toStore(out *store.Batch, state string, lagMs int64) {
	out.Entries = out.Entries[:0]
	for _, s := range b.spans {
		out.Entries = append(out.Entries, store.Entry{Op: s.op, Table: s.table, Data: b.buf[s.start:s.end]})
	}
	out.Offset = b.cp.Fields()
	out.State = state
	out.Position = b.cp.String()
	out.LagMs = lagMs
}
