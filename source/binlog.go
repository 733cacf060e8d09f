package source

import (
	"context"
	"fmt"
	"strconv"
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

	inTx     bool
	explicit bool    // the transaction began with BEGIN or XA START: statements inside it do not end it
	txStart  uint32  // position of the transaction's first event
	txGTID   string  // GTID of the transaction, "" without
	txRows   int64   // rows of the transaction seen so far (emitted or skipped)
	txCommit int64   // the transaction's commit time from its GTID event (MySQL 8), ms; 0 without
	txFirst  arrival // of the transaction's first event
	arrival  arrival // of the event being handled
	skip     int64   // rows still to skip: already written before a resume

	ch     events.Change
	before []any
	after  []any
}

func newReader(cfg MySQLConfig, flavor string, serverID uint32, from Checkpoint, conn *client.Conn, ep Endpoint, catalog *schema.Catalog, em Emitter) *reader {
	r := &reader{
		cfg: cfg, flavor: flavor, serverID: serverID, em: em,
		tables:   newTableCache(conn, ep, flavor, cfg.Match, catalog, cfg.Log),
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

// at names the position of an event for messages: file:pos.
func (r *reader) at(h *replication.EventHeader) string {
	return r.file + ":" + strconv.FormatUint(uint64(h.LogPos-h.EventSize), 10)
}

func (r *reader) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	if p, ok := ev.Event.(*replication.TransactionPayloadEvent); ok {
		// A compressed transaction (binlog_transaction_compression): its
		// events are read like any others, at the payload's position.
		for _, inner := range p.Events {
			if err := r.event(ctx, ev.Header, inner.Header.EventType, inner.Event); err != nil {
				return err
			}
		}
		return nil
	}
	return r.event(ctx, ev.Header, ev.Header.EventType, ev.Event)
}

// event handles one event; h is the header of the event as it stands in
// the binlog (for the events of a compressed transaction, the payload's),
// typ the event's own type.
func (r *reader) event(ctx context.Context, h *replication.EventHeader, typ replication.EventType, ev replication.Event) error {
	switch e := ev.(type) {
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
		r.begin(h, fmt.Sprintf("%d-%d-%d", e.GTID.DomainID, e.GTID.ServerID, e.GTID.SequenceNumber))
	case *replication.GtidTaggedLogEvent:
		r.beginMySQL(h, &e.GTIDEvent)
	case *replication.GTIDEvent:
		r.beginMySQL(h, e)
	case *replication.QueryEvent:
		return r.query(ctx, h, e)
	case *replication.XIDEvent:
		r.em.Advance(r.commit(h), r.commitMs(h))
	case *replication.TableMapEvent:
		return r.tables.learn(e, r.at(h))
	case *replication.RowsEvent:
		return r.rows(ctx, h, typ, e)
	default:
		return r.other(h, typ)
	}
	return nil
}

func (r *reader) beginMySQL(h *replication.EventHeader, e *replication.GTIDEvent) {
	gtid := ""
	if next, err := e.GTIDNext(); err == nil {
		gtid = next.String()
	}
	r.begin(h, gtid)
	if e.ImmediateCommitTimestamp != 0 { // MySQL 8: the commit time itself, in µs
		r.txCommit = int64(e.ImmediateCommitTimestamp / 1000)
	}
}

// other handles the events that carry no row changes, and fails on those
// that may carry changes the task cannot decode: nothing is skipped
// silently.
func (r *reader) other(h *replication.EventHeader, typ replication.EventType) error {
	switch typ {
	case replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2:
		if !r.inTx {
			r.em.Advance(r.boundary, time.Now().UnixMilli())
		}
	case replication.XA_PREPARE_LOG_EVENT:
		// The first phase of an XA transaction ends its rows; its XA
		// COMMIT comes later as a statement of its own.
		r.em.Advance(r.commit(h), r.commitMs(h))
	case replication.FORMAT_DESCRIPTION_EVENT, replication.PREVIOUS_GTIDS_EVENT, replication.STOP_EVENT,
		replication.ROWS_QUERY_EVENT, replication.IGNORABLE_EVENT, replication.TRANSACTION_CONTEXT_EVENT,
		replication.VIEW_CHANGE_EVENT, replication.ANONYMOUS_GTID_EVENT,
		replication.MARIADB_ANNOTATE_ROWS_EVENT, replication.MARIADB_BINLOG_CHECKPOINT_EVENT,
		replication.MARIADB_GTID_LIST_EVENT, replication.MARIADB_START_ENCRYPTION_EVENT:
	case replication.INCIDENT_EVENT:
		return Permanentf("the binlog has an incident event at %s: the server says changes were lost there (for example a failed write to the binlog); "+
			"the task stops, since rows after it may be missing (restart it with snapshotMode initial to read the tables again)", r.at(h))
	case replication.INTVAR_EVENT, replication.RAND_EVENT, replication.USER_VAR_EVENT,
		replication.BEGIN_LOAD_QUERY_EVENT, replication.EXECUTE_LOAD_QUERY_EVENT:
		// Context of statement-based changes, which the server wrote
		// although a task needs binlog_format=ROW.
		return Permanentf("binlog event %s at %s belongs to a statement-based change, which the task cannot decode: set binlog_format=ROW on the server "+
			"(for every session: a session may still set binlog_format=STATEMENT)", typ, r.at(h))
	default:
		return Permanentf("binlog event %s at %s is of a kind the task cannot read; it stops rather than skip changes it may carry", typ, r.at(h))
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

// begin opens a transaction at the event h heads.
func (r *reader) begin(h *replication.EventHeader, gtid string) {
	r.gtids.begin(gtid)
	r.inTx = true
	r.explicit = false
	r.txStart = h.LogPos - h.EventSize
	r.txCommit, r.txFirst = 0, r.arrival
	r.txGTID = gtid
	r.txRows = 0
}

// commitMs is the commit time of the open transaction, ms, for the lag of
// its changes (commitclock.go); h is the event being handled, whose header
// time (its statement's start) the commit cannot precede.
func (r *reader) commitMs(h *replication.EventHeader) int64 {
	if r.txCommit != 0 {
		return r.txCommit
	}
	return commitEstimate(h.Timestamp, r.txFirst)
}

// commit ends the open transaction at the event h ends and returns the new
// boundary, for the caller to hand on with Advance or a group.
func (r *reader) commit(h *replication.EventHeader) Checkpoint {
	r.inTx, r.explicit = false, false
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
	return r.boundary
}
