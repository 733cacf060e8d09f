package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/source"
	"github.com/dataingest/dataingest/store"
)

// batchEntries is the node's batch size (worker's defaultBatchEntries).
const batchEntries = 500

// encoded is a workload's envelopes, encoded before any clock starts, in
// one buffer so that half a million of them cost the collector nothing.
type encoded struct {
	table string
	buf   []byte
	ends  []int       // end of envelope i in buf
	ops   []events.Op // op of envelope i
}

// encodeWorkload encodes every change of w with the node's default codec.
func encodeWorkload(w workload) (*encoded, error) {
	codec, err := events.NewCodec(events.FormatMsgpack)
	if err != nil {
		return nil, err
	}
	e := &encoded{table: w.Table, buf: make([]byte, 0, 400*w.Changes())}
	w.changes(func(ch *events.Change) {
		if err != nil {
			return
		}
		if e.buf, err = codec.Append(e.buf, ch); err == nil {
			e.ends = append(e.ends, len(e.buf))
			e.ops = append(e.ops, ch.Op)
		}
	})
	return e, err
}

func (e *encoded) data(i int) []byte {
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.buf[start:e.ends[i]]
}

// avgSize is the mean size of the envelopes by op.
func (e *encoded) avgSize() map[events.Op]float64 {
	n, sum := map[events.Op]int{}, map[events.Op]int{}
	for i, op := range e.ops {
		n[op]++
		sum[op] += len(e.data(i))
	}
	avg := map[events.Op]float64{}
	for op, k := range n {
		avg[op] = float64(sum[op]) / float64(k)
	}
	return avg
}

// measureRedis writes enc's envelopes to a task's output stream with the
// product's OutputWriter, in batches of batchEntries, each with a
// checkpoint, the way the node's writer does: one goroutine, one fenced
// script per batch, the next batch built after the previous one's reply.
// Each round writes under a key prefix of its own.
func measureRedis(ctx context.Context, rg *rig, enc *encoded, round int) (phase, error) {
	st := store.New(rg.rdb, fmt.Sprintf("bench_redis_%d", round))
	const task = "bench"
	l, holder, ok, err := st.AcquireLease(ctx, task, "bench-writer", time.Hour)
	if err != nil {
		return phase{}, err
	}
	if !ok {
		return phase{}, fmt.Errorf("lock of task %s held by %s", task, holder)
	}
	w := st.NewOutputWriter(l, store.OutputLimit{}, 0)
	n := len(enc.ends)
	b := store.Batch{Entries: make([]store.Entry, 0, batchEntries), State: "RUNNING"}
	cp := source.Checkpoint{File: "binlog.000001", Pos: 4}

	cpu := rg.startCPU()
	start := time.Now()
	for i := 0; i < n; i += batchEntries {
		j := min(i+batchEntries, n)
		b.Entries = b.Entries[:0]
		for k := i; k < j; k++ {
			b.Entries = append(b.Entries, store.Entry{Op: string(enc.ops[k]), Table: enc.table, Data: enc.data(k)})
		}
		cp.Pos += uint32(160 * batchEntries)
		cp.TxRows = int64(j % txRows)
		b.Offset, b.Position = cp.Fields(), cp.String()
		if _, err := w.Write(ctx, &b); err != nil {
			return phase{}, fmt.Errorf("after %d entries: %w", i, err)
		}
	}
	p := phase{Name: "redis", Events: n, Elapsed: time.Since(start)}
	p.CPU = cpu.stop()

	key := st.Keys().TaskEvents(task)
	got, err := rg.rdb.XLen(ctx, key).Result()
	if err != nil {
		return phase{}, err
	}
	if got != int64(n) {
		return phase{}, fmt.Errorf("%s has %d entries, want %d", key, got, n)
	}
	// Free Redis of them before the next phase, outside the clock.
	if err := rg.rdb.Del(ctx, key).Err(); err != nil {
		return phase{}, err
	}
	return p, nil
}
