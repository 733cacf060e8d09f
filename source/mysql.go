package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/internal/tidbcharset"
	"github.com/dataingest/dataingest/schema"
)

// Endpoint is one server of a logical MySQL/MariaDB source.
type Endpoint struct {
	Host     string
	Port     int
	User     string
	Password string
	Flavor   string // "mysql", "mariadb" or "" to detect
	SSLMode  string // "", DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY (task.SSLMode)
	SSLCa    string // PEM CA file for the VERIFY modes
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// MySQLConfig configures a MySQL source.
type MySQLConfig struct {
	Endpoints    []Endpoint
	Match        func(db, table string) bool // which tables to read
	Tables       []string                    // explicitly named db.table entries, which must exist
	SnapshotMode string                      // initial, never, when_needed
	ServerID     uint32                      // replication client id
	// EventCacheCount bounds the decoded events the binlog reader buffers
	// ahead of the emitter; 0 means 64.
	EventCacheCount int
	// Heartbeat is the binlog heartbeat period, 0 meaning
	// defaultHeartbeat: an idle source sends one each period, which tells
	// the task it is caught up (its lag falls to about 0).
	Heartbeat time.Duration
	// Databases are the databases with selected tables: the schema
	// catalog keeps every table of these (a table renamed into the
	// selection keeps its columns).
	Databases []string
	// History loads the task's schema history records, oldest first; nil
	// means none.
	History func(ctx context.Context) ([][]byte, error)
	Log     zerolog.Logger
}

// defaultHeartbeat is short so that the lag a task shows falls under 100
// ms within a second of its catching up after a burst; a heartbeat costs
// an idle task a few bytes from the server and no Redis command.
const defaultHeartbeat = 250 * time.Millisecond

// MySQL reads a MySQL or MariaDB binlog (MYSQL_CDC tasks).
type MySQL struct {
	cfg MySQLConfig
}

// NewMySQL returns a MySQL source.
func NewMySQL(cfg MySQLConfig) *MySQL {
	if cfg.EventCacheCount == 0 {
		cfg.EventCacheCount = 64
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = defaultHeartbeat
	}
	return &MySQL{cfg: cfg}
}

// Run reads changes from the checkpoint (a new task starts at the server's
// current position) until ctx ends or the source fails. It reads from the
// first endpoint that answers, primary first: on the server of the
// checkpoint it resumes by file and position, on another one (a replica
// after the primary failed) by GTID.
func (m *MySQL) Run(ctx context.Context, from Checkpoint, em Emitter) error {
	conn, ep, flavor, serverID, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	catalog, err := m.loadHistory(ctx)
	if err != nil {
		return err
	}
	var snap *snapshotState
	switch {
	case from.Snapshot != "":
		if snap, err = decodeSnapshot(from.Snapshot); err != nil {
			return Permanent(err)
		}
	case from.File == "" && m.cfg.SnapshotMode == "never":
		if from, catalog, err = m.seedNow(ctx, conn, ep, flavor); err != nil {
			return err
		}
		from.Server = serverID
		m.cfg.Log.Info().Str("position", from.String()).Msg("new task: starting at the current binlog position")
		if err := em.EmitGroup(ctx, nil, []SchemaRecord{catalogRecordOf(catalog, from.String())}, from); err != nil {
			return err
		}
	case from.File == "":
		snap = &snapshotState{}
	}
	// A binlog position on this server must still be there: the
	// checkpoint's, or for a snapshot in progress its first session's,
	// from which the binlog is read once the snapshot is done.
	file, server := from.File, from.Server
	if snap != nil && len(snap.Sessions) > 0 {
		file, server = snap.Sessions[0].File, snap.Sessions[0].Server
	}
	if file != "" && (server == 0 || server == serverID) {
		if err := binlogExists(conn, ep, file); err != nil {
			if !errors.Is(err, ErrBinlogPurged) || m.cfg.SnapshotMode != "when_needed" {
				return err
			}
			m.cfg.Log.Warn().Err(err).Msg("the checkpoint's binlog is gone: snapshotting again (snapshotMode when_needed)")
			snap = &snapshotState{}
		}
	}
	if snap != nil && snap.Phase != "catchup" {
		var seeded *schema.Catalog
		if snap, seeded, err = m.snapshot(ctx, ep, flavor, serverID, snap, em); err != nil {
			return err
		}
		if seeded != nil {
			catalog = seeded
		}
		from = snap.first()
		from.Snapshot = snap.encode()
		em.Advance(from, time.Now().UnixMilli())
	}
	if catalog == nil {
		// A task from before schema histories were kept: the schema is
		// today's from here on.
		_, catalog, err = m.seedNow(ctx, conn, ep, flavor)
		if err != nil {
			return err
		}
		m.cfg.Log.Warn().Str("position", from.String()).
			Msg("the task has no schema history: seeding it from information_schema now; changes before any DDL since the checkpoint decode with today's columns")
		if err := em.EmitGroup(ctx, nil, []SchemaRecord{catalogRecordOf(catalog, from.String())}, from); err != nil {
			return err
		}
	}
	tc, err := ep.tlsConfig()
	if err != nil {
		return err
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: m.cfg.ServerID, Flavor: flavor,
		Host: ep.Host, Port: uint16(ep.Port), User: ep.User, Password: ep.Password,
		TimestampStringLocation: time.UTC,
		ParseTime:               true, // DATETIME and TIMESTAMP as time.Time: tableInfo formats them without fmt
		HeartbeatPeriod:         m.cfg.Heartbeat,
		ReadTimeout:             max(m.cfg.Heartbeat*5+5*time.Second, 10*time.Second),
		DisableRetrySync:        true,
		EventCacheCount:         m.cfg.EventCacheCount,
		TLSConfig:               tc,
		RenderJSONAsMySQLText:   true,          // JSON as MySQL renders it: DATE as 2024-01-31, DECIMAL as a number
		RowsEventDecodeFunc:     readRowsEvent, // the reader decodes the rows (rowimage.go)
		Logger:                  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer syncer.Close()
	streamer, err := m.startSync(conn, syncer, ep, flavor, serverID, from)
	if err != nil {
		return err
	}
	r := newReader(m.cfg, flavor, serverID, from, conn, ep, catalog, em)
	if snap != nil {
		if err := r.catchUp(snap); err != nil {
			return Permanent(err)
		}
	}
	em.Advance(r.boundary, time.Now().UnixMilli()) // reading: the task runs
	for {
		asked := time.Now()
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return classify(fmt.Errorf("reading binlog of %s at %s: %w", ep.Addr(), r.position(), err))
		}
		r.arrival = arrived(asked, time.Now())
		if err := r.handle(ctx, ev); err != nil {
			return err
		}
	}
}

// track says whether the catalog keeps a database's tables.
func (m *MySQL) track(db string) bool { return slices.Contains(m.cfg.Databases, db) }

// loadHistory rebuilds the schema catalog at the checkpoint from the
// task's schema history; nil when there is none yet.
func (m *MySQL) loadHistory(ctx context.Context) (*schema.Catalog, error) {
	if m.cfg.History == nil {
		return nil, nil
	}
	recs, err := m.cfg.History(ctx)
	if err != nil {
		return nil, err
	}
	c, n, ok, err := replayHistory(recs, m.track)
	if err != nil {
		return nil, Permanent(err)
	}
	if !ok {
		return nil, nil
	}
	m.cfg.Log.Debug().Int("records", n).Int("tables", len(c.Tables)).Msg("schema history loaded")
	return c, nil
}

// seedNow reads the current binlog position and the schema catalog true
// there, with DDL held off in between where the user may (see blockDDL).
func (m *MySQL) seedNow(ctx context.Context, conn *client.Conn, ep Endpoint, flavor string) (Checkpoint, *schema.Catalog, error) {
	release := m.blockDDL(ctx, ep, flavor)
	defer release()
	pos, err := currentPosition(conn, ep, flavor)
	if err != nil {
		return pos, nil, err
	}
	c, err := loadCatalog(conn, ep, flavor, m.cfg.Databases, m.track)
	return pos, c, err
}

// open connects to the first endpoint that answers and passes the checks.
// A server that answers but is misconfigured fails the task at once.
func (m *MySQL) open(ctx context.Context) (*client.Conn, Endpoint, string, uint32, error) {
	var errs []error
	for i, ep := range m.cfg.Endpoints {
		conn, err := connect(ctx, ep)
		if err != nil {
			if IsPermanent(err) {
				return nil, ep, "", 0, err
			}
			errs = append(errs, err)
			continue
		}
		flavor, serverID, err := preflight(conn, ep, m.cfg)
		if err != nil {
			conn.Close()
			return nil, ep, "", 0, err
		}
		if i > 0 {
			m.cfg.Log.Warn().Str("endpoint", ep.Addr()).Errs("unreachable", errs).Msg("reading from a fallback endpoint")
		}
		return conn, ep, flavor, serverID, nil
	}
	return nil, Endpoint{}, "", 0, fmt.Errorf("no endpoint answers: %w", errors.Join(errs...))
}

// startSync starts the binlog dump at the checkpoint: by file and position
// on the checkpoint's own server, by GTID on another one.
func (m *MySQL) startSync(conn *client.Conn, syncer *replication.BinlogSyncer, ep Endpoint, flavor string, serverID uint32, from Checkpoint) (*replication.BinlogStreamer, error) {
	if from.Server != 0 && from.Server != serverID {
		if from.GTID == "" {
			return nil, Permanentf("the checkpoint is at %s on server_id %d, and %s is server_id %d: continuing on another server needs a GTID position, which the checkpoint lacks",
				from, from.Server, ep.Addr(), serverID)
		}
		set, err := mysql.ParseGTIDSet(flavor, from.GTID)
		if err != nil {
			return nil, Permanentf("checkpoint GTID %q: %v", from.GTID, err)
		}
		m.cfg.Log.Info().Str("gtid", from.GTID).Uint32("checkpoint_server_id", from.Server).Str("endpoint", ep.Addr()).
			Msg("continuing on another server by GTID")
		unlock := tidbcharset.Read() // the handshake reads TiDB's collation table
		s, err := syncer.StartSyncGTID(set)
		unlock()
		if err != nil {
			return nil, classify(fmt.Errorf("starting binlog dump from GTID %s on %s: %w", from.GTID, ep.Addr(), err))
		}
		return s, nil
	}
	unlock := tidbcharset.Read()
	s, err := syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	unlock()
	if err != nil {
		return nil, classify(fmt.Errorf("starting binlog dump from %s on %s: %w", from, ep.Addr(), err))
	}
	return s, nil
}

// ErrBinlogPurged means the checkpoint's binlog file is no longer on the
// server.
var ErrBinlogPurged = errors.New("binlog purged")

// binlogExists fails permanently when file is not among the server's
// binary logs any more.
func binlogExists(conn *client.Conn, ep Endpoint, file string) error {
	r, err := conn.Execute("SHOW BINARY LOGS")
	if err != nil {
		return classify(fmt.Errorf("SHOW BINARY LOGS on %s: %w", ep.Addr(), err))
	}
	var oldest string
	for i := 0; i < r.RowNumber(); i++ {
		name, _ := r.GetString(i, 0)
		if name == file {
			return nil
		}
		if oldest == "" {
			oldest = name
		}
	}
	return Permanent(fmt.Errorf("%w: the checkpoint's binlog file %s is no longer on %s (oldest: %s); "+
		"use snapshotMode when_needed to snapshot again, or delete and recreate the task", ErrBinlogPurged, file, ep.Addr(), oldest))
}

func connect(ctx context.Context, ep Endpoint) (*client.Conn, error) {
	tc, err := ep.tlsConfig()
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if tc != nil {
		opts = append(opts, func(c *client.Conn) error { c.SetTLSConfig(tc); return nil })
	}
	unlock := tidbcharset.Read()
	c, err := client.ConnectWithContext(ctx, ep.Addr(), ep.User, ep.Password, "", 10*time.Second, opts...)
	unlock()
	if err != nil {
		return nil, classify(fmt.Errorf("connecting to %s as %s: %w", ep.Addr(), ep.User, err))
	}
	return c, nil
}

// classify marks errors that retrying cannot fix as permanent: bad
// credentials and missing privileges.
func classify(err error) error {
	var me *mysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case mysql.ER_ACCESS_DENIED_ERROR, mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR, mysql.ER_DBACCESS_DENIED_ERROR,
			mysql.ER_TABLEACCESS_DENIED_ERROR, mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG:
			return Permanent(err)
		}
	}
	return err
}

func variable(conn *client.Conn, name string) (string, error) {
	r, err := conn.Execute("SELECT @@GLOBAL." + name)
	if err != nil {
		return "", classify(fmt.Errorf("reading %s: %w", name, err))
	}
	return r.GetString(0, 0)
}

// preflight checks what CDC needs of the server and returns its flavor and
// server_id.
func preflight(conn *client.Conn, ep Endpoint, cfg MySQLConfig) (flavor string, serverID uint32, err error) {
	version, err := variable(conn, "version")
	if err != nil {
		return "", 0, err
	}
	flavor = ep.Flavor
	if flavor == "" {
		flavor = mysql.MySQLFlavor
		if strings.Contains(strings.ToLower(version), "mariadb") {
			flavor = mysql.MariaDBFlavor
		}
	}
	want := []struct{ name, value, fix string }{
		{"log_bin", "1", "start the server with log-bin"},
		{"binlog_format", "ROW", "SET GLOBAL binlog_format=ROW and binlog_format=ROW in the server's config"},
	}
	for _, w := range want {
		got, err := variable(conn, w.name)
		if err != nil {
			return "", 0, err
		}
		if !strings.EqualFold(got, w.value) && !(w.value == "1" && strings.EqualFold(got, "ON")) {
			return "", 0, Permanentf("%s is %q on %s; CDC needs %s: %s", w.name, got, ep.Addr(), w.value, w.fix)
		}
	}
	if img, err := variable(conn, "binlog_row_image"); err == nil && !strings.EqualFold(img, "FULL") {
		cfg.Log.Warn().Str("binlog_row_image", img).Str("server", ep.Addr()).
			Msg("binlog_row_image is not FULL: update and delete events hold only the columns the server logs (source.image says which)")
	}
	if meta, err := variable(conn, "binlog_row_metadata"); err == nil && !strings.EqualFold(meta, "FULL") {
		cfg.Log.Info().Str("binlog_row_metadata", meta).Str("server", ep.Addr()).
			Msg("binlog_row_metadata is not FULL: rows decode with the task's schema history, checked against the binlog's column types; with FULL the column names are checked too")
	}
	if _, err := masterStatus(conn); err != nil {
		return "", 0, classify(fmt.Errorf("reading the binlog position on %s as %s (the user needs REPLICATION CLIENT, or BINLOG MONITOR on MariaDB 10.5+, and REPLICATION SLAVE): %w", ep.Addr(), ep.User, err))
	}
	for _, t := range cfg.Tables {
		db, table, _ := strings.Cut(t, ".")
		r, err := conn.Execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, table)
		if err != nil {
			return "", 0, classify(fmt.Errorf("looking up table %s on %s: %w", t, ep.Addr(), err))
		}
		if n, _ := r.GetInt(0, 0); n == 0 {
			return "", 0, Permanentf("table %s does not exist on %s (or user %s cannot see it: it needs SELECT on it)", t, ep.Addr(), ep.User)
		}
	}
	id, err := variable(conn, "server_id")
	if err != nil {
		return "", 0, err
	}
	sid, _ := strconv.ParseUint(id, 10, 32)
	return flavor, uint32(sid), nil
}

// currentPosition is the server's binlog end: where a new task without a
// snapshot starts. On MariaDB it comes with the GTID position of that
// point, so that the task can continue on a replica.
func currentPosition(conn *client.Conn, ep Endpoint, flavor string) (Checkpoint, error) {
	r, err := masterStatus(conn)
	if err != nil {
		return Checkpoint{}, classify(fmt.Errorf("reading the binlog position on %s: %w", ep.Addr(), err))
	}
	if r.RowNumber() == 0 {
		return Checkpoint{}, Permanentf("SHOW MASTER STATUS on %s is empty: binary logging is off", ep.Addr())
	}
	file, _ := r.GetString(0, 0)
	pos, _ := r.GetUint(0, 1)
	cp := Checkpoint{File: file, Pos: uint32(pos)}
	if flavor == mysql.MySQLFlavor && len(r.Fields) >= 5 {
		cp.GTID, _ = r.GetString(0, 4) // Executed_Gtid_Set, with gtid_mode ON
		cp.GTID = strings.ReplaceAll(cp.GTID, "\n", "")
	}
	if flavor == mysql.MariaDBFlavor {
		g, err := conn.Execute("SELECT BINLOG_GTID_POS(?, ?)", file, pos)
		if err != nil {
			return cp, classify(fmt.Errorf("reading the GTID position of %s on %s: %w", cp, ep.Addr(), err))
		}
		cp.GTID, _ = g.GetString(0, 0)
	}
	return cp, nil
}

// masterStatus runs SHOW MASTER STATUS, or SHOW BINARY LOG STATUS on
// MySQL 8.4+, which removed the older statement.
func masterStatus(conn *client.Conn) (*mysql.Result, error) {
	r, err := conn.Execute("SHOW MASTER STATUS")
	var me *mysql.MyError
	if errors.As(err, &me) && me.Code == mysql.ER_PARSE_ERROR {
		return conn.Execute("SHOW BINARY LOG STATUS")
	}
	return r, err
}
