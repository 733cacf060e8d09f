// Package events defines the change event that DataIngest writes to a task's
// output stream, and its two wire codecs (msgpack, the default, and JSON).
//
// A source turns each row change into a Change; a Codec appends the Change's
// envelope to a caller-owned buffer, so the hot path allocates little per row.
// The envelope is the contract's:
//
//	{op, ts_ms, before, after, key, source: {flavor, server_id, file, pos, gtid,
//	 row, ts_ms, snapshot, db, table, image}, tx: {id, seq}}
//
// with the keys of every map in that order (image is there only for a row
// image that may lack columns, see below), and a schema change (op "ddl")
// carries `ddl` and `columns` instead of before, after and key.
//
// With binlog_row_image MINIMAL or NOBLOB a row image holds only some
// columns. A source marks each column the image lacks with Absent and sets
// Source.Image to ImageMinimal or ImageNoblob; the codecs leave absent
// columns out of before and after (never null), take key from the image
// that holds every key column, and write source.image. A full image (Image
// "" or ImageFull) is written without image, and the codecs do not look
// for Absent in it: its cost is one branch per image. NewCodec picks a codec by format name; ToJSON and
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
//
// A value may also be Absent: the binlog's row image does not carry that
// column (binlog_row_image MINIMAL or NOBLOB). Absent is allowed only when
// Source.Image is ImageMinimal or ImageNoblob; the codecs leave the column
// out of that image's map, so an absent column is never confused with
// NULL. The key is taken from After when After has every key column, else
// from Before when Before has them all, else column by column from
// whichever image has it (After first); a key column neither image has is
// left out of the key.
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

	// CommitMs is when the source committed the change, ms since the
	// epoch, as closely as the source can tell, for the task's lag; 0
	// means Source.TsMs. It is not part of the envelope: Source.TsMs is
	// the source's own timestamp, which a binlog gives in whole seconds.
	CommitMs int64
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

	// Image says whether the row images are full ("" or ImageFull, not
	// written) or may lack columns (ImageMinimal, ImageNoblob, written as
	// source.image). Any other value is an error of the codecs.
	Image string
}

// The values of Source.Image, named as binlog_row_image names its modes.
const (
	ImageFull    = "full"    // every column; the same as ""
	ImageMinimal = "minimal" // before: the key (or every column without one); after: the columns the statement set
	ImageNoblob  = "noblob"  // every column but BLOB and TEXT columns that were not needed or changed
)

// Absent stands in Change.Before or Change.After for a column that the
// row image does not carry. It is of an unexported type, so no real value
// equals it; test for it with v == Absent. It prints as "events.Absent".
const Absent = absentValue(0)

// absentValue is the type of Absent. A constant of its own type needs no
// mutable package variable and boxes into an interface without allocating.
type absentValue uint8

// String returns "events.Absent".
func (absentValue) String() string { return "events.Absent" }

// isAbsent reports whether v is Absent. A type assertion is one compare of
// the type word; v == Absent calls the runtime's interface equality.
func isAbsent(v any) bool {
	_, ok := v.(absentValue)
	return ok
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
