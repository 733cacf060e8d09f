package source

import (
	"context"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
)

// rowsOp is the change kind of a rows event type; ok is false for a type
// that is not a rows event the reader knows.
func rowsOp(typ replication.EventType) (op events.Op, step int, ok bool) {
	switch typ {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		return events.OpCreate, 1, true
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		return events.OpUpdate, 2, true
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		return events.OpDelete, 1, true
	}
	return "", 0, false
}

func (r *reader) rows(ctx context.Context, h *replication.EventHeader, typ replication.EventType, e *replication.RowsEvent) error {
	t := r.tables.get(e.TableID)
	if t == nil {
		return nil // a table the task does not read
	}
	op, step, ok := rowsOp(typ)
	if !ok {
		return Permanentf("binlog event %s at %s holds rows of %s.%s in a form the task cannot decode", typ, r.at(h), t.db, t.name)
	}
	// The row images, which readRowsEvent left undecoded: read straight
	// into event values (fastImage) when every column allows it, else
	// decoded by go-mysql and converted.
	var fast *imageReader
	if raw, deferred := deferredRows(e); deferred {
		if t.fast && plainRows(typ) && int(e.ColumnCount) == len(t.kinds) {
			fast = &imageReader{table: e.Table, data: raw}
		} else if err := decodeRowsData(e, raw); err != nil {
			return Permanentf("decoding the rows event of %s.%s at %s: %v", t.db, t.name, r.at(h), err)
		} else if err := t.keepDatetimes(e, typ, raw); err != nil {
			return Permanentf("decoding the DATETIME values of the rows event of %s.%s at %s: %v", t.db, t.name, r.at(h), err)
		}
	}
	image := ""
	if fast != nil {
		image = t.imageOf(e.ColumnBitmap1, e.ColumnBitmap2)
	} else {
		image = t.image(e.SkippedColumns)
	}
	if !r.inTx { // a server that does not send BEGIN: the event is its own boundary
		r.begin(h, "")
	}
	ch := &r.ch
	*ch = events.Change{
		Op: op, DB: t.db, Table: t.name, Columns: t.columns, Key: t.key,
		Source: events.Source{
			Flavor: r.flavor, ServerID: h.ServerID, File: r.file, Pos: h.LogPos - h.EventSize,
			GTID: r.txGTID, TsMs: int64(h.Timestamp) * 1000, Image: image,
		},
		CommitMs: r.commitMs(h),
	}
	txID := r.txID()
	// One clock reading an event: a rows event holds at most
	// binlog_row_event_max_size (8 KiB by default) of rows, read in well
	// under a millisecond, and the clock is a measurable share of the
	// node's CPU per row.
	now := time.Now().UnixMilli()
	for i := 0; ; i += step {
		if fast != nil {
			if fast.pos >= len(fast.data) {
				break
			}
		} else if i+step > len(e.Rows) {
			break
		}
		r.txRows++
		var err error
		if fast != nil {
			// Read even a row to skip: the next one starts after it.
			err = r.fastRow(ch, op, e, t, fast)
		} else if r.skip == 0 {
			err = r.convertRow(ch, op, e, i)
		}
		if err != nil {
			return Permanentf("decoding a row of %s.%s at %s: %v", t.db, t.name, r.at(h), err)
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		if r.snap != nil && len(t.key) > 0 && r.snap.skip(t, keyValues(t, ch), r.serverID, r.file, r.txStart, r.txGTID) {
			continue
		}
		ch.TsMs = now
		ch.Source.Row = i / step
		ch.Tx = events.Tx{ID: txID, Seq: r.txRows - 1}
		if err := r.em.Emit(ctx, ch, r.txCheckpoint()); err != nil {
			return err
		}
	}
	return nil
}

// convertRow sets ch's images from row i (and i+1 for an update) of e.
func (r *reader) convertRow(ch *events.Change, op events.Op, e *replication.RowsEvent, i int) error {
	t := r.tables.get(e.TableID)
	skipped := func(j int) []int {
		if j < len(e.SkippedColumns) {
			return e.SkippedColumns[j]
		}
		return nil
	}
	ch.Before, ch.After = nil, nil
	var err error
	switch op {
	case events.OpCreate:
		r.after, err = t.convert(r.after[:0], e.Rows[i], skipped(i), nil)
		ch.After = r.after
	case events.OpDelete:
		r.before, err = t.convert(r.before[:0], e.Rows[i], skipped(i), nil)
		ch.Before = r.before
	case events.OpUpdate:
		if r.before, err = t.convert(r.before[:0], e.Rows[i], skipped(i), nil); err == nil {
			r.after, err = t.convert(r.after[:0], e.Rows[i+1], skipped(i+1), r.before)
		}
		ch.Before, ch.After = r.before, r.after
	}
	return err
}

// fastRow sets ch's images from the next row of the images at fast.
func (r *reader) fastRow(ch *events.Change, op events.Op, e *replication.RowsEvent, t *tableInfo, fast *imageReader) error {
	ch.Before, ch.After = nil, nil
	var err error
	switch op {
	case events.OpCreate:
		r.after, err = t.fastImage(r.after[:0], fast, e.ColumnBitmap1)
		ch.After = r.after
	case events.OpDelete:
		r.before, err = t.fastImage(r.before[:0], fast, e.ColumnBitmap1)
		ch.Before = r.before
	case events.OpUpdate:
		if r.before, err = t.fastImage(r.before[:0], fast, e.ColumnBitmap1); err == nil {
			r.after, err = t.fastImage(r.after[:0], fast, e.ColumnBitmap2)
		}
		ch.Before, ch.After = r.before, r.after
	}
	return err
}

// keyValues is the row's primary key, from the image that holds it.
func keyValues(t *tableInfo, ch *events.Change) []any {
	img := ch.After
	if img == nil || !holdsAll(img, t.key) {
		img = ch.Before
	}
	key := make([]any, len(t.key))
	for j, k := range t.key {
		key[j] = img[k]
	}
	return key
}

func holdsAll(img []any, idx []int) bool {
	for _, k := range idx {
		if img[k] == events.Absent {
			return false
		}
	}
	return true
}

// imageOf is image for the rows of an event whose images hold the
// columns set in its bitmaps (bitmap2 is nil but for an update).
func (t *tableInfo) imageOf(bitmap1, bitmap2 []byte) string {
	img := ""
	for _, bitmap := range [][]byte{bitmap1, bitmap2} {
		if bitmap == nil {
			continue
		}
		for c := range t.blobby {
			if c/8 < len(bitmap) && bitSet(bitmap, c) {
				continue
			}
			if !t.blobby[c] {
				return "minimal"
			}
			img = "noblob"
		}
	}
	return img
}

// image says what a rows event's images hold: "" when every image is
// full, "noblob" when only BLOB, TEXT, JSON and similar columns are left
// out (binlog_row_image=NOBLOB), else "minimal".
func (t *tableInfo) image(skipped [][]int) string {
	img := ""
	for _, cols := range skipped {
		for _, c := range cols {
			if c < len(t.blobby) && !t.blobby[c] {
				return "minimal"
			}
			img = "noblob"
		}
	}
	return img
}
