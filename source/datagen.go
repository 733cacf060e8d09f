package source

import (
	"context"
	"strconv"
	"time"

	"github.com/dataingest/dataingest/events"
)

// DatagenTable is the db.table of DATAGEN rows.
const (
	DatagenDB    = "datagen"
	DatagenTable = "rows"
)

// Datagen is the built-in synthetic source: rows numbered 1, 2, 3, ... with
// no gap, at Rate rows per second (0: as fast as the output takes them),
// Total rows in all (0: no end). Its checkpoint is the last sequence
// written, so a resumed task continues with the next number: a consumer can
// check exactly-once delivery by looking for gaps and repeats.
type Datagen struct {
	Rate  int64
	Total int64
	Now   func() time.Time // nil: time.Now
}

var datagenColumns = []string{"seq", "ts_ms", "payload"}

// Run emits rows after from.Seq until Total or ctx ends.
func (d *Datagen) Run(ctx context.Context, from Checkpoint, em Emitter) error {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	start, first := now(), from.Seq
	after := make([]any, 3)
	ch := &events.Change{
		Op: events.OpCreate, DB: DatagenDB, Table: DatagenTable,
		Columns: datagenColumns, Key: []int{0}, After: after,
		Source: events.Source{Flavor: "datagen"},
	}
	em.Advance(from, now().UnixMilli())
	for seq := from.Seq + 1; d.Total == 0 || seq <= d.Total; seq++ {
		if d.Rate > 0 {
			due := start.Add(time.Duration(float64(seq-first-1) / float64(d.Rate) * float64(time.Second)))
			if wait := due.Sub(now()); wait > time.Millisecond {
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
		}
		ts := now().UnixMilli()
		after[0], after[1], after[2] = seq, ts, "row "+strconv.FormatInt(seq, 10)
		ch.TsMs, ch.Source.TsMs = ts, ts
		ch.Tx = events.Tx{ID: "datagen:" + strconv.FormatInt(seq, 10)}
		if err := em.Emit(ctx, ch, Checkpoint{Seq: seq}); err != nil {
			return err
		}
	}
	<-ctx.Done() // all rows out: idle until stopped
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
