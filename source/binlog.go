package source

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// reader turns binlog events into changes. It runs on one goroutine and
// tracks the transaction boundary that checkpoints are made of.
type reader struct {
	cfg      MySQLConfig
	flavor   string
	serverID uint32
	em       Emitter
	tables   *tableCache

	file     string // current binlog file
	boundary Checkpoint
	gtids    gtidState

	snap *catchup // filters changes a snapshot already holds; nil when none

	inTx    bool
	txStart uint32 // position of the transaction's first event
	txGTID  string // GTID of the transaction, "" without
	txRows  int64  // rows of the transaction seen so far (emitted or skipped)
	skip    int64  // rows still to skip: already written before a resume

	ch     events.Change
	before []any
	after  []any
}

func newReader(cfg MySQLConfig, flavor string, serverID uint32, from Checkpoint, conn *client.Conn, ep Endpoint, em Emitter) *reader {
	r := &reader{
		cfg: cfg, flavor: flavor, serverID: serverID, em: em,
		tables:   newTableCache(conn, ep, flavor, cfg.Match, cfg.Log),
		file:     from.File,
		boundary: from,
		skip:     from.TxRows,
	}
	r.boundary.TxRows = 0
	if r.boundary.Server == 0 { // a checkpoint from before server ids were kept
		r.boundary.Server = serverID
	}
	r.gtids.parse(flavor, from.GTID)
	return r
}

// catchUp makes the reader skip what a snapshot already holds until its
// last session's position.
func (r *reader) catchUp(st *snapshotState) error {
	c, err := newCatchup(st)
	if err != nil {
		return err
	}
	if c.done(r.boundary.Server, r.boundary.File, r.boundary.Pos, r.boundary.GTID) {
		r.boundary.Snapshot = "" // one session: the binlog from here is all new
		return nil
	}
	r.snap = c
	r.boundary.Snapshot = c.text
	return nil
}

func (r *reader) position() string { return r.boundary.String() }

func (r *reader) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	start := h.LogPos - h.EventSize
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		r.file = string(e.NextLogName)
		// A real rotate ends a file: the next transaction starts in the
		// new one. The fake rotate at the start of a dump only names the
		// file; the boundary stays the checkpoint's, which after a GTID
		// start on another server is only good by its GTID.
		if !r.inTx && h.Timestamp != 0 && r.boundary.Server == r.serverID {
			r.boundary.File, r.boundary.Pos = r.file, uint32(e.Position)
		}
	case *replication.MariadbGTIDEvent:
		r.begin(start, fmt.Sprintf("%d-%d-%d", e.GTID.DomainID, e.GTID.ServerID, e.GTID.SequenceNumber))
	case *replication.GTIDEvent:
		gtid := ""
		if next, err := e.GTIDNext(); err == nil {
			gtid = next.String()
		}
		r.begin(start, gtid)
	case *replication.QueryEvent:
		q := string(e.Query)
		switch {
		case strings.EqualFold(q, "BEGIN"):
			if !r.inTx {
				r.begin(start, "")
			}
		default:
			// COMMIT of a non-transactional table, or a DDL, which is a
			// transaction of its own.
			if !strings.EqualFold(q, "COMMIT") {
				r.tables.invalidate(q)
				if d, ok := schema.ParseDDL(string(e.Schema), q); ok {
					if err := r.ddl(ctx, h, q, d); err != nil {
						return err
					}
				}
			}
			r.commit(h)
		}
	case *replication.XIDEvent:
		r.commit(h)
	case *replication.TableMapEvent:
		if err := r.tables.learn(e); err != nil {
			return err
		}
	case *replication.RowsEvent:
		return r.rows(ctx, h, e)
	default:
		if h.EventType == replication.HEARTBEAT_EVENT || h.EventType == replication.HEARTBEAT_LOG_EVENT_V2 {
			if !r.inTx {
				r.em.Advance(r.boundary, time.Now().UnixMilli())
			}
		}
	}
	return nil
}

// ddl emits a ddl event for each table of the task a statement changes,
// with the table's columns after it (from information_schema when the node
// processes the statement; none for a dropped or renamed-away table).
func (r *reader) ddl(ctx context.Context, h *replication.EventHeader, stmt string, d schema.DDL) error {
	if !r.inTx {
		r.begin(h.LogPos-h.EventSize, "")
	}
	seen := map[schema.TableRef]bool{}
	for i, ref := range d.Tables {
		if seen[ref] || !r.cfg.Match(ref.DB, ref.Name) {
			continue
		}
		seen[ref] = true
		r.txRows++
		if r.skip > 0 {
			r.skip--
			continue
		}
		gone := d.Kind == "DROP" || (d.Kind == "RENAME" && i%2 == 0)
		var cols []events.ColumnDef
		if !gone {
			t, err := r.tables.schema(ref.DB, ref.Name)
			if err != nil {
				return err
			}
			for _, c := range t.Columns {
				cols = append(cols, events.ColumnDef{Name: c.Name, Type: c.Type})
			}
		}
		ch := &r.ch
		*ch = events.Change{
			Op: events.OpDDL, TsMs: time.Now().UnixMilli(), DB: ref.DB, Table: ref.Name, DDL: stmt, DDLColumns: cols,
			Source: events.Source{
				Flavor: r.flavor, ServerID: h.ServerID, File: r.file, Pos: h.LogPos - h.EventSize,
				GTID: r.txGTID, TsMs: int64(h.Timestamp) * 1000,
			},
			Tx: events.Tx{ID: r.txID(), Seq: r.txRows - 1},
		}
		if err := r.em.Emit(ctx, ch, r.txCheckpoint()); err != nil {
			return err
		}
	}
	return nil
}

// txCheckpoint is the checkpoint inside the open transaction.
func (r *reader) txCheckpoint() Checkpoint {
	cp := Checkpoint{File: r.file, Pos: r.txStart, GTID: r.gtids.text, Server: r.serverID, TxRows: r.txRows}
	if r.snap != nil {
		cp.Snapshot = r.snap.text
	}
	return cp
}

// txID is the open transaction's id: its GTID, or file:pos of its start.
func (r *reader) txID() string {
	if r.txGTID != "" {
		return r.txGTID
	}
	return r.file + ":" + strconv.FormatUint(uint64(r.txStart), 10)
}

func (r *reader) begin(start uint32, gtid string) {
	r.gtids.begin(gtid)
	r.inTx = true
	r.txStart = start
	r.txGTID = gtid
	r.txRows = 0
}

func (r *reader) commit(h *replication.EventHeader) {
	r.inTx = false
	r.skip = 0
	r.gtids.commit()
	r.boundary = Checkpoint{File: r.file, Pos: h.LogPos, GTID: r.gtids.text, Server: r.serverID}
	if r.snap != nil {
		if r.snap.done(r.serverID, r.file, h.LogPos, r.gtids.text) {
			r.cfg.Log.Info().Str("position", r.boundary.String()).Msg("snapshot caught up with the binlog")
			r.snap = nil
		} else {
			r.boundary.Snapshot = r.snap.text
		}
	}
	r.em.Advance(r.boundary, int64(h.Timestamp)*1000)
}

func (r *reader) rows(ctx context.Context, h *replication.EventHeader, e *replication.RowsEvent) error {
	t := r.tables.get(e.TableID)
	if t == nil {
		return nil // a table the task does not read
	}
	if !r.inTx { // a server that does not send BEGIN: the event is its own boundary
		r.begin(h.LogPos-h.EventSize, "")
	}
	var op events.Op
	step := 1
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		op = events.OpCreate
	case replication.EnumRowsEventTypeUpdate:
		op, step = events.OpUpdate, 2
	case replication.EnumRowsEventTypeDelete:
		op = events.OpDelete
	default:
		return nil
	}
	ch := &r.ch
	*ch = events.Change{
		Op: op, DB: t.db, Table: t.name, Columns: t.columns, Key: t.key,
		Source: events.Source{
			Flavor: r.flavor, ServerID: h.ServerID, File: r.file, Pos: h.LogPos - h.EventSize,
			GTID: r.txGTID, TsMs: int64(h.Timestamp) * 1000,
		},
	}
	txID := r.txID()
	for i := 0; i+step <= len(e.Rows); i += step {
		r.txRows++
		if r.skip > 0 {
			r.skip--
			continue
		}
		ch.Before, ch.After = nil, nil
		var err error
		switch op {
		case events.OpCreate:
			r.after, err = t.convert(r.after[:0], e.Rows[i])
			ch.After = r.after
		case events.OpDelete:
			r.before, err = t.convert(r.before[:0], e.Rows[i])
			ch.Before = r.before
		case events.OpUpdate:
			if r.before, err = t.convert(r.before[:0], e.Rows[i]); err == nil {
				r.after, err = t.convert(r.after[:0], e.Rows[i+1])
			}
			ch.Before, ch.After = r.before, r.after
		}
		if err != nil {
			return Permanentf("decoding a row of %s.%s at %s:%d: %v", t.db, t.name, r.file, h.LogPos-h.EventSize, err)
		}
		if r.snap != nil && len(t.key) > 0 {
			img := ch.After
			if img == nil {
				img = ch.Before
			}
			key := make([]any, len(t.key))
			for j, k := range t.key {
				key[j] = img[k]
			}
			if r.snap.skip(t, key, r.serverID, r.file, r.txStart, r.txGTID) {
				continue
			}
		}
		ch.TsMs = time.Now().UnixMilli()
		ch.Source.Row = i / step
		ch.Tx = events.Tx{ID: txID, Seq: r.txRows - 1}
		if err := r.em.Emit(ctx, ch, r.txCheckpoint()); err != nil {
			return err
		}
	}
	return nil
}
