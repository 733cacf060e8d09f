// Package events defines the change event that DataIngest writes to a task's
// output stream, and its two wire codecs (msgpack, the default, and JSON).
//
// A source turns each row change into a Change; a Codec appends the Change's
// envelope to a caller-owned buffer, so the hot path allocates little per row.
// The envelope is the contract's:
//
//	{op, ts_ms, before, after, key, source: {flavor, server_id, file, pos, gtid,
//	 row, ts_ms, snapshot, db, table}, tx: {id, seq}}
//
// and a schema change (op "ddl") carries `ddl` and `columns` instead of
// before, after and key. NewCodec picks a codec by format name; ToJSON and
// Decode read an envelope of either format back, for the CLI and tests. The
// codecs write with hand-rolled append functions rather than reflection or
// io.Writer calls, so that encoding a row allocates nothing once the
// caller's buffer has grown. This package does no I/O.
package events

// Op is the kind of a change, the `op` field of an entry and its envelope.
type Op string

// The operations of the contract.
const (
	OpCreate   Op = "c"
	OpUpdate   Op = "u"
	OpDelete   Op = "d"
	OpSnapshot Op = "r"
	OpDDL      Op = "ddl"
)

// Change is one row change (or one schema change) of one table.
//
// Before and After hold the row's values in column order, parallel to
// Columns; Before is nil for c and r, After is nil for d. A value is one of:
// nil, int64, uint64, float32, float64, string (also DECIMAL as its exact
// text, dates and times as their formatted text), []byte (BINARY and BLOB
// columns) and JSON (a JSON column's text). Sources convert to these types;
// codecs reject anything else with an error naming the column.
type Change struct {
	Op   Op
	TsMs int64 // when DataIngest processed the change, ms since the epoch

	DB    string
	Table string

	Columns []string // column names at the moment of the change
	Key     []int    // indexes into Columns of the primary key; empty: no key
	Before  []any
	After   []any

	DDL        string      // the statement, for OpDDL
	DDLColumns []ColumnDef // the table's columns after the statement, for OpDDL

	Source Source
	Tx     Tx
}

// ColumnDef names one column of a table and its SQL type, as a ddl event
// lists them.
type ColumnDef struct {
	Name string
	Type string // e.g. "bigint(20) unsigned", "varchar(64)"
}

// Source says where a change came from. DB and Table are taken from the
// Change.
type Source struct {
	Flavor   string // "mysql", "mariadb" or "datagen"
	ServerID uint32 // the source server's server_id
	File     string // binlog file of the change's event
	Pos      uint32 // position of the change's event in File
	GTID     string // GTID of the change's transaction, "" without GTIDs
	Row      int    // index of the row within its binlog event
	TsMs     int64  // when the source committed the change, ms since the epoch
	Snapshot bool   // true for rows read by a snapshot
}

// Tx identifies the transaction of a change and the change's place in it.
type Tx struct {
	ID  string // GTID, or file:pos of the transaction's first event
	Seq int64  // 0-based index of the change within the transaction
}

// JSON is the text of a JSON column's value. The msgpack codec writes it as
// the native msgpack value it denotes (map, array, number, string, bool or
// nil, object keys in their original order); the JSON codec embeds it with
// insignificant whitespace removed. Text that is not valid JSON (UTF-8
// included) is written as a string of the text, in both formats.
type JSON []byte
