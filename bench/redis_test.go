package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

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
	// checkpoint, when set, is the checkpoint after the first end
	// envelopes, in the shape the node writes for this output; nil: a
	// binlog position (encodeWorkload).
	checkpoint func(end int) source.Checkpoint
}

// encodeWorkload encodes every change of w in format.
func encodeWorkload(w workload, format string) (*encoded, error) {
	codec, err := events.NewCodec(format)
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

// limitScript is the cheapest write that gives a task's output and
// checkpoint: the batch's entries XADDed in the project's shape (op, table,
// data), the checkpoint's fields and the status's event counter, in one
// script, so atomic like the node's write, but with no lock check, no
// sequence check, no key checks and no status fields beyond the counter.
//
// KEYS[1] output stream, KEYS[2] checkpoint hash, KEYS[3] status hash
// ARGV[1] k, then k field/value pairs, then n, then n triples op, table, data
var limitScript = redis.NewScript(`
local k = tonumber(ARGV[1])
local ni = 2 + 2 * k
local n = tonumber(ARGV[ni])
for i = ni + 1, ni + 3 * n, 3 do
  redis.call('XADD', KEYS[1], '*', 'op', ARGV[i], 'table', ARGV[i + 1], 'data', ARGV[i + 2])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 2, 1 + 2 * k))
redis.call('HINCRBY', KEYS[3], 'events', n)
return n
`)

// measureLimit writes enc's envelopes with limitScript in batches of
// batchEntries, each with its checkpoint, from one goroutine, the next
// batch sent after the previous one's reply: what Redis can take of the
// same output. name names the phase and its keys.
func measureLimit(ctx context.Context, rg *rig, enc *encoded, name string) (phase, error) {
	keys := []string{"bench_" + name + ":events", "bench_" + name + ":offset", "bench_" + name + ":status"}
	n := len(enc.ends)
	args := make([]any, 0, 2+2*6+3*batchEntries)
	cp := source.Checkpoint{File: "binlog.000001", Pos: 4}
	if err := limitScript.Load(ctx, rg.rdb).Err(); err != nil {
		return phase{}, err
	}
	cpu := rg.startCPU()
	start := time.Now()
	for i := 0; i < n; i += batchEntries {
		j := min(i+batchEntries, n)
		cp.Pos += uint32(160 * batchEntries)
		cp.TxRows = int64(j % txRows)
		fields := cp.Fields()
		if enc.checkpoint != nil {
			fields = enc.checkpoint(j).Fields()
		}
		args = append(args[:0], len(fields)/2)
		for _, f := range fields {
			args = append(args, f)
		}
		args = append(args, j-i)
		for k := i; k < j; k++ {
			args = append(args, string(enc.ops[k]), enc.table, enc.data(k))
		}
		if err := limitScript.EvalSha(ctx, rg.rdb, keys, args...).Err(); err != nil {
			return phase{}, fmt.Errorf("after %d entries: %w", i, err)
		}
	}
	p := phase{Name: name, Events: n, Elapsed: time.Since(start)}
	p.CPU = cpu.stop()
	got, err := rg.rdb.XLen(ctx, keys[0]).Result()
	if err != nil {
		return phase{}, err
	}
	if got != int64(n) {
		return phase{}, fmt.Errorf("%s has %d entries, want %d", keys[0], got, n)
	}
	return p, rg.rdb.Del(ctx, keys...).Err()
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
		if enc.checkpoint != nil {
			cp = enc.checkpoint(j)
		}
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
