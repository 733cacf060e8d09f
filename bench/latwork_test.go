package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/source"
)

// steadyDDL is the table of the steady phases: small rows, so that what is
// measured is the path, not the encoding.
const steadyDDL = `(id BIGINT PRIMARY KEY, note VARCHAR(16) NOT NULL) ENGINE=InnoDB`

// paced inserts n rows with ids first.. into table, one autocommit INSERT
// each, row i sent at t0 + i/rate (at once when behind), the connections
// taking turns. commits[i] is when row i's INSERT returned: its commit as
// the client sees it. elapsed runs from the first row's slot to the last
// reply.
func paced(conns []*client.Conn, table string, first int64, n, rate int) (commits []time.Time, elapsed time.Duration, err error) {
	commits = make([]time.Time, n)
	errs := make([]error, len(conns))
	t0 := time.Now().Add(50 * time.Millisecond) // the reader has issued its XREAD
	var wg sync.WaitGroup
	for c, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += len(conns) {
				if d := time.Until(t0.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
					time.Sleep(d)
				}
				res, err := conn.Execute(fmt.Sprintf("INSERT INTO %s VALUES (%d, 'steady')", table, first+int64(i)))
				commits[i] = time.Now()
				if err != nil {
					errs[c] = fmt.Errorf("inserting row %d: %w", first+int64(i), err)
					return
				}
				res.Close()
			}
		}()
	}
	wg.Wait()
	return commits, time.Since(t0), errors.Join(errs...)
}

// arrivals stamps the entries of a stream with the time the XREAD reply
// holding them arrived, by row id: at[i] is row first+i's.
type arrivals struct {
	at   []time.Time
	done chan error
}

// collect reads stream after entry id from until rows first..first+n-1
// have all arrived or ctx ends; idOf gives an entry's row id (negative:
// not a row of interest). Wait for it with wait.
func collect(ctx context.Context, rdb *redis.Client, stream, from string, first int64, n int, idOf func(redis.XMessage) (int64, error)) *arrivals {
	a := &arrivals{at: make([]time.Time, n), done: make(chan error, 1)}
	go func() { a.done <- a.read(ctx, rdb, stream, from, first, idOf) }()
	return a
}

func (a *arrivals) read(ctx context.Context, rdb *redis.Client, stream, from string, first int64, idOf func(redis.XMessage) (int64, error)) error {
	got := 0
	for got < len(a.at) {
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{stream, from}, Count: 1000, Block: 200 * time.Millisecond}).Result()
		now := time.Now()
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d rows arrived in %s: %w", got, len(a.at), stream, ctx.Err())
		}
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		for _, m := range res[0].Messages {
			from = m.ID
			id, err := idOf(m)
			if err != nil {
				return err
			}
			if i := id - first; i >= 0 && i < int64(len(a.at)) && a.at[i].IsZero() {
				a.at[i] = now
				got++
			}
		}
	}
	return nil
}

// wait waits for the reader to finish.
func (a *arrivals) wait() error { return <-a.done }

// lastID is the id of the newest entry of stream, "0-0" when it is empty.
func lastID(ctx context.Context, rdb *redis.Client, stream string) (string, error) {
	msgs, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", stream, err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// envelopeID is the id column of an output entry's row (after, or before
// for a delete); -1 for an entry without one (a ddl entry).
func envelopeID(m redis.XMessage) (int64, error) {
	data, _ := m.Values["data"].(string)
	env, err := events.Decode([]byte(data))
	if err != nil {
		return 0, fmt.Errorf("entry %s: %w", m.ID, err)
	}
	img, _ := env["after"].(map[string]any)
	if img == nil {
		img, _ = env["before"].(map[string]any)
	}
	switch v := img["id"].(type) {
	case int64:
		return v, nil
	case uint64:
		return int64(v), nil
	case json.Number:
		return v.Int64()
	}
	return -1, nil
}

// fieldID is the id field of an entry the minimal pipeline wrote.
func fieldID(m redis.XMessage) (int64, error) {
	s, _ := m.Values["id"].(string)
	return strconv.ParseInt(s, 10, 64)
}

// minimalServerID is the minimal pipeline's replication client id.
const minimalServerID = 4243

// minimal is the least a CDC pipeline does with a row change: go-mysql's
// BinlogSyncer reads the binlog from a position and, at each commit (XID)
// event of a transaction with rows of one table, hands the id of its last
// row to a writer goroutine, which XADDs what accumulated while it wrote
// the previous ones in one pipeline, as the node's writer takes whole
// batches.
type minimal struct {
	binlog []time.Time // binlog[i]: when row first+i's commit event arrived
	done   chan error
}

// runMinimal starts the pipeline from `from` for rows first..first+n-1 of
// db.table and returns once the binlog dump is under way; it ends when all
// n rows are written or ctx ends.
func runMinimal(ctx context.Context, rg *rig, from source.Checkpoint, db, table, stream string, first int64, n int) (*minimal, error) {
	syncer := newSyncer(rg.m, minimalServerID)
	streamer, err := syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		syncer.Close()
		return nil, fmt.Errorf("starting binlog dump from %s: %w", from, err)
	}
	mp := &minimal{binlog: make([]time.Time, n), done: make(chan error, 2)}
	ids := make(chan int64, n)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer syncer.Close()
		err := mp.read(ctx, streamer, db, table, first, ids)
		if err != nil {
			cancel()
		}
		close(ids)
		mp.done <- err
	}()
	go func() {
		defer cancel()
		mp.done <- mp.write(ctx, rg.rdb, stream, ids)
	}()
	return mp, nil
}

// read hands on the last row id of each transaction of db.table.
func (mp *minimal) read(ctx context.Context, streamer *replication.BinlogStreamer, db, table string, first int64, ids chan<- int64) error {
	got, last := 0, int64(-1)
	for got < len(mp.binlog) {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			return fmt.Errorf("minimal pipeline after %d rows: %w", got, err)
		}
		switch e := ev.Event.(type) {
		case *replication.RowsEvent:
			if string(e.Table.Schema) == db && string(e.Table.Table) == table && len(e.Rows) > 0 {
				last, _ = e.Rows[len(e.Rows)-1][0].(int64)
			}
		case *replication.XIDEvent:
			if i := last - first; last >= 0 && i < int64(len(mp.binlog)) {
				mp.binlog[i] = time.Now()
				ids <- last
				got++
			}
			last = -1
		}
	}
	return nil
}

// write XADDs the ids in batches of what is waiting, until ids closes.
func (mp *minimal) write(ctx context.Context, rdb *redis.Client, stream string, ids <-chan int64) error {
	pipe := rdb.Pipeline()
	for id := range ids {
		for more := true; more; {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"id", id}})
			select {
			case id, more = <-ids:
			default:
				more = false
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("minimal pipeline: %w", err)
		}
	}
	return nil
}

// wait waits for the pipeline to finish.
func (mp *minimal) wait() error { return errors.Join(<-mp.done, <-mp.done) }

// burstWriter writes a workload's inserts as fast as it can, one
// transaction of txRows rows after the other on each of its connections,
// and records when each transaction's INSERT returned.
type burstWriter struct {
	w         workload
	t0        time.Time
	commitNs  []atomic.Int64 // per transaction: ns since t0 when it returned, 0 before
	committed atomic.Int64   // transactions returned
}

func newBurstWriter(w workload) *burstWriter {
	return &burstWriter{w: w, commitNs: make([]atomic.Int64, len(ranges(1, w.Inserts)))}
}

// write runs the inserts, transaction k on connection k % len(conns).
func (bw *burstWriter) write(conns []*client.Conn) error {
	txs := ranges(1, bw.w.Inserts)
	errs := make([]error, len(conns))
	bw.t0 = time.Now()
	var wg sync.WaitGroup
	for c, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := c; k < len(txs); k += len(conns) {
				res, err := conn.Execute(bw.w.insertSQL(txs[k][0], txs[k][1]))
				bw.commitNs[k].Store(max(int64(time.Since(bw.t0)), 1))
				if err != nil {
					errs[c] = fmt.Errorf("burst transaction %d: %w", k, err)
					return
				}
				res.Close()
				bw.committed.Add(1)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// commitAt is when transaction k returned; ok is false before it has.
func (bw *burstWriter) commitAt(k int) (time.Time, bool) {
	ns := bw.commitNs[k].Load()
	return bw.t0.Add(time.Duration(ns)), ns != 0
}

// trueLag is the age at t of the oldest committed row that the node has
// not written, 0 when it has written them all, given written rows of the
// burst, the newest of them with id newest. Rows reach the output in binlog
// order, which is commit order: the rows of transactions that committed
// before the newest written row's are written too.
func (bw *burstWriter) trueLag(t time.Time, written int, newest int64) time.Duration {
	oldest := time.Time{} // commit time of the oldest unwritten committed transaction
	var after time.Time   // every committed transaction up to here is written
	if written > 0 {
		k := int((newest - 1) / txRows)
		c, ok := bw.commitAt(k)
		if !ok {
			c = t // written before its INSERT returned: it committed just now
		}
		if newest%txRows != 0 && newest != int64(bw.w.Inserts) {
			return max(t.Sub(c), 0) // transaction k is half written
		}
		after = c
	}
	for k := range bw.commitNs {
		c, ok := bw.commitAt(k)
		if ok && c.After(after) && !c.After(t) && (oldest.IsZero() || c.Before(oldest)) {
			oldest = c
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return t.Sub(oldest)
}
