package source

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// A snapshot copies the selected tables' rows as `r` events, then the task
// follows the binlog from the snapshot's position.
//
// It reads each table in primary-key order, in chunks, inside a consistent
// snapshot transaction whose binlog position it records (MariaDB:
// START TRANSACTION WITH CONSISTENT SNAPSHOT and binlog_snapshot_file/pos,
// no lock; MySQL: FLUSH TABLES WITH READ LOCK held only while the snapshot
// starts). Every row's checkpoint records the cursor (table and last key),
// so a node that takes a task over mid-snapshot continues after the last
// written row, in a new snapshot transaction at a later position: a
// session. Rows read by session s show the table at position P_s, so when
// the binlog is then read from P_1, a change at position p of a row that
// session s read is skipped when p is before P_s (the row already shows it)
// and emitted otherwise. Past the last session's position every change is
// emitted. So every row appears once overall, as `r` or as a change.
//
// Limits: keys compare as MySQL's numeric and binary orders do; a string
// key under a case-insensitive collation may compare differently, and an
// UPDATE moving a row's key across sessions' ranges may be seen twice. A
// table without a primary key is read in one piece: an interruption reads
// it again from its start.

const snapshotChunk = 1000

// snapshotState is the checkpoint of a snapshot: its tables, its cursor and
// its sessions. Stored as JSON in the checkpoint's Snapshot field.
type snapshotState struct {
	Phase    string            `json:"phase"` // "read", then "catchup"
	Tables   []string          `json:"tables"`
	Table    int               `json:"table"` // index of the table being read
	Key      []string          `json:"key"`   // hex of the text of the last written row's key; nil: from the start
	Rows     int64             `json:"rows"`
	Sessions []snapshotSession `json:"sessions"`
}

// snapshotSession is one consistent read: its binlog position and the
// cursor it started from.
type snapshotSession struct {
	File   string   `json:"file"`
	Pos    uint32   `json:"pos"`
	GTID   string   `json:"gtid"`
	Server uint32   `json:"server"`
	Table  int      `json:"table"`
	Key    []string `json:"key"`
}

func (s *snapshotState) encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// stateText writes encode's text of the state for each row of the table
// being read, whose checkpoint it is. From one row to the next only the
// cursor (Key) and Rows change, so the rest is encoded once per table and
// a row costs a few appends instead of a reflective Marshal of every table
// name and session.
type stateText struct {
	head []byte // `{"phase":...,"tables":[...],"table":N,"key":`
	tail []byte // `,"sessions":[...]}`
	buf  []byte
	raw  []byte // a key column's text, before its hex
}

// newStateText prepares the text of st's rows while st.Table is read, in
// the field order of snapshotState (json.Marshal's).
func newStateText(st *snapshotState) *stateText {
	phase, _ := json.Marshal(st.Phase)
	tables, _ := json.Marshal(st.Tables)
	sessions, _ := json.Marshal(st.Sessions)
	e := &stateText{}
	e.head = append(append(e.head, `{"phase":`...), phase...)
	e.head = append(append(e.head, `,"tables":`...), tables...)
	e.head = strconv.AppendInt(append(e.head, `,"table":`...), int64(st.Table), 10)
	e.head = append(e.head, `,"key":`...)
	e.tail = append(append(append(e.tail, `,"sessions":`...), sessions...), '}')
	return e
}

// row is the state's text once row, the rows-th row written, is written:
// its key columns (none: a table read whole, key null) are the cursor.
func (e *stateText) row(row []mysql.FieldValue, keyCols []int, rows int64) string {
	b := append(e.buf[:0], e.head...)
	if len(keyCols) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, k := range keyCols {
			if i > 0 {
				b = append(b, ',')
			}
			e.raw = appendText(e.raw[:0], &row[k])
			b = append(hex.AppendEncode(append(b, '"'), e.raw), '"')
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(append(b, `,"rows":`...), rows, 10)
	b = append(b, e.tail...)
	e.buf = b
	return string(b)
}

func decodeSnapshot(text string) (*snapshotState, error) {
	var s snapshotState
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("checkpoint snapshot state: %w", err)
	}
	if len(s.Sessions) == 0 && s.Phase == "catchup" {
		return nil, fmt.Errorf("checkpoint snapshot state: catch-up without sessions")
	}
	return &s, nil
}

// first returns the position binlog reading starts from after the
// snapshot: the first session's.
func (s *snapshotState) first() Checkpoint {
	f := s.Sessions[0]
	return Checkpoint{File: f.File, Pos: f.Pos, GTID: f.GTID, Server: f.Server}
}

// snapshot reads the tables from the state's cursor in a new session and
// returns the state for the binlog catch-up. The first session of a
// snapshot also seeds the task's schema catalog, true at its position, and
// returns it.
func (m *MySQL) snapshot(ctx context.Context, ep Endpoint, flavor string, serverID uint32, st *snapshotState, em Emitter) (*snapshotState, *schema.Catalog, error) {
	conn, err := connect(ctx, ep)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if _, err := conn.Execute("SET SESSION time_zone = '+00:00'"); err != nil {
		return nil, nil, classify(fmt.Errorf("snapshot on %s: %w", ep.Addr(), err))
	}
	first := len(st.Sessions) == 0
	release := func() {}
	if first {
		release = m.blockDDL(ctx, ep, flavor)
	}
	pos, held, err := lockedSnapshot(conn, ep, flavor)
	if err != nil {
		release()
		return nil, nil, err
	}
	defer conn.Execute("ROLLBACK")
	if held > 0 {
		m.cfg.Log.Info().Dur("held_ms", held).Msg("snapshot position read under FLUSH TABLES WITH READ LOCK")
	}
	var seeded *schema.Catalog
	if first {
		seeded, err = loadCatalog(conn, ep, flavor, m.cfg.Databases, m.track)
		release()
		if err != nil {
			return nil, nil, err
		}
	}
	pos.Server = serverID
	if st.Tables == nil {
		if st.Tables, err = m.snapshotTables(conn, ep); err != nil {
			return nil, nil, err
		}
	}
	st.Phase = "read"
	st.Sessions = append(st.Sessions, snapshotSession{File: pos.File, Pos: pos.Pos, GTID: pos.GTID, Server: pos.Server, Table: st.Table, Key: st.Key})
	m.cfg.Log.Info().Int("tables", len(st.Tables)).Int("from_table", st.Table).Int("session", len(st.Sessions)).
		Str("position", pos.String()).Msg("snapshot session started")
	if seeded != nil {
		cp := st.first()
		cp.Snapshot = st.encode()
		if err := em.EmitGroup(ctx, nil, []SchemaRecord{catalogRecordOf(seeded, pos.String())}, cp); err != nil {
			return nil, nil, err
		}
	}
	em.Snapshotting(true, m.estimateRows(conn, st.Tables))
	defer em.Snapshotting(false, 0)
	for ; st.Table < len(st.Tables); st.Table, st.Key = st.Table+1, nil {
		if err := m.snapshotTable(ctx, conn, ep, flavor, st, pos, em); err != nil {
			return nil, nil, err
		}
	}
	st.Phase = "catchup"
	m.cfg.Log.Info().Int64("rows", st.Rows).Msg("snapshot read; catching up with the binlog")
	return st, seeded, nil
}

// mariadbSnapshot starts MariaDB's consistent snapshot, which reports the
// binlog position it reflects.
func mariadbSnapshot(conn *client.Conn, ep Endpoint) (Checkpoint, error) {
	if _, err := conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return Checkpoint{}, classify(fmt.Errorf("starting a consistent snapshot on %s: %w", ep.Addr(), err))
	}
	r, err := conn.Execute("SHOW STATUS WHERE Variable_name IN ('binlog_snapshot_file', 'binlog_snapshot_position')")
	if err != nil {
		return Checkpoint{}, classify(fmt.Errorf("reading the snapshot position on %s: %w", ep.Addr(), err))
	}
	var cp Checkpoint
	for i := 0; i < r.RowNumber(); i++ {
		name, _ := r.GetString(i, 0)
		val, _ := r.GetString(i, 1)
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			cp.File = val
		case "binlog_snapshot_position":
			p, _ := strconv.ParseUint(val, 10, 32)
			cp.Pos = uint32(p)
		}
	}
	if cp.File == "" {
		return cp, Permanentf("%s reports no binlog_snapshot_file: binary logging is off", ep.Addr())
	}
	g, err := conn.Execute("SELECT BINLOG_GTID_POS(?, ?)", cp.File, cp.Pos)
	if err == nil {
		cp.GTID, _ = g.GetString(0, 0)
	}
	return cp, nil
}

// snapshotTables lists the base tables the task reads, in a stable order.
func (m *MySQL) snapshotTables(conn *client.Conn, ep Endpoint) ([]string, error) {
	r, err := conn.Execute(`SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY TABLE_SCHEMA, TABLE_NAME`)
	if err != nil {
		return nil, classify(fmt.Errorf("listing tables on %s: %w", ep.Addr(), err))
	}
	var out []string
	for i := 0; i < r.RowNumber(); i++ {
		db, _ := r.GetString(i, 0)
		t, _ := r.GetString(i, 1)
		if m.cfg.Match(db, t) {
			out = append(out, db+"."+t)
		}
	}
	return out, nil
}

// estimateRows is the server's estimate of the rows of tables (InnoDB's
// TABLE_ROWS, which may be off by half, and which MySQL caches for
// information_schema_stats_expiry), for the snapshot's progress; 0 when
// it cannot say.
func (m *MySQL) estimateRows(conn *client.Conn, tables []string) int64 {
	r, err := conn.Execute(`SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`)
	if err != nil {
		m.cfg.Log.Debug().Err(err).Msg("estimating the snapshot's rows")
		return 0
	}
	defer r.Close()
	want := make(map[string]bool, len(tables))
	for _, t := range tables {
		want[t] = true
	}
	var n int64
	for i := 0; i < r.RowNumber(); i++ {
		db, _ := r.GetString(i, 0)
		t, _ := r.GetString(i, 1)
		if want[db+"."+t] {
			rows, _ := r.GetInt(i, 2)
			n += rows
		}
	}
	return n
}

// snapshotTable reads one table from the cursor, a chunk at a time. The
// rows of a chunk were read at one moment, which is their ts_ms.
func (m *MySQL) snapshotTable(ctx context.Context, conn *client.Conn, ep Endpoint, flavor string, st *snapshotState, pos Checkpoint, em Emitter) error {
	db, name, _ := strings.Cut(st.Tables[st.Table], ".")
	t, err := loadTable(conn, ep, flavor, db, name)
	if err != nil {
		return err
	}
	if t == nil || len(t.Columns) == 0 {
		return nil // dropped since the snapshot began
	}
	keyCols := t.KeyIndexes()
	cols := make([]string, len(t.Columns))
	kinds := make([]textKind, len(t.Columns))
	for i := range t.Columns {
		cols[i], kinds[i] = t.Columns[i].Name, textKindOf(&t.Columns[i])
	}
	ch := &events.Change{
		Op: events.OpSnapshot, DB: db, Table: name, Columns: cols, Key: keyCols,
		Source: events.Source{Flavor: flavor, ServerID: pos.Server, File: pos.File, Pos: pos.Pos, GTID: pos.GTID, Snapshot: true},
		Tx:     events.Tx{ID: "snapshot:" + pos.File + ":" + strconv.FormatUint(uint64(pos.Pos), 10)},
	}
	after := make([]any, len(cols))
	text := newStateText(st)
	for {
		q, err := chunkQuery(t, keyCols, st.Key)
		if err != nil {
			return Permanent(err)
		}
		r, err := conn.Execute(q)
		if err != nil {
			return classify(fmt.Errorf("reading %s.%s for the snapshot on %s: %w", db, name, ep.Addr(), err))
		}
		now := time.Now().UnixMilli()
		ch.TsMs, ch.Source.TsMs = now, now
		for i := range r.Values {
			row := r.Values[i]
			for j := range kinds {
				if after[j], err = kinds[j].value(&row[j]); err != nil {
					return Permanentf("snapshot of %s.%s column %s: %v", db, name, t.Columns[j].Name, err)
				}
			}
			st.Rows++
			ch.After, ch.Source.Row, ch.Tx.Seq = after, i, st.Rows-1
			cp := st.first()
			cp.Snapshot = text.row(row, keyCols, st.Rows)
			if err := em.Emit(ctx, ch, cp); err != nil {
				return err
			}
		}
		n := len(r.Values)
		if len(keyCols) > 0 && n > 0 {
			// A new slice: sessions keep the cursor they started at.
			st.Key = keyText(r.Values[n-1], keyCols)
		}
		r.Close() // its buffers go back to the client's pool for the next chunk
		if len(keyCols) == 0 || n < snapshotChunk {
			return nil
		}
	}
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// chunkQuery selects the next chunk after key (nil: from the start); a
// table without a primary key is read whole.
func chunkQuery(t *schema.Table, keyCols []int, key []string) (string, error) {
	var b strings.Builder
	b.WriteString("SELECT * FROM " + quoteIdent(t.DB) + "." + quoteIdent(t.Name))
	if len(keyCols) == 0 {
		return b.String(), nil
	}
	var names []string
	for _, k := range keyCols {
		names = append(names, quoteIdent(t.Columns[k].Name))
	}
	if key != nil {
		var lits []string
		for i, k := range keyCols {
			raw, err := hex.DecodeString(key[i])
			if err != nil {
				return "", fmt.Errorf("snapshot cursor of %s.%s: %w", t.DB, t.Name, err)
			}
			lits = append(lits, literal(&t.Columns[k], raw))
		}
		b.WriteString(" WHERE (" + strings.Join(names, ", ") + ") > (" + strings.Join(lits, ", ") + ")")
	}
	b.WriteString(" ORDER BY " + strings.Join(names, ", ") + " LIMIT " + strconv.Itoa(snapshotChunk))
	return b.String(), nil
}
