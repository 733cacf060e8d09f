// Package source reads a task's changes: the MySQL/MariaDB binlog reader
// (MYSQL_CDC) and the synthetic generator (DATAGEN). A source knows nothing
// of Redis: it turns changes into events.Change values and hands each to an
// Emitter together with the checkpoint that is true once that change is
// written. The worker's emitter encodes, batches and writes them with the
// checkpoint in one fenced step, so whatever a source resumes from is
// exactly what was written.
//
// A binlog checkpoint is always a transaction boundary (File, Pos, GTID of
// the first event of a transaction) plus TxRows, the number of that
// transaction's rows already written. Saving rows of a half-read transaction
// is what lets a huge transaction stream with bounded memory; resuming skips
// the TxRows rows that are already out.
package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dataingest/dataingest/events"
)

// Checkpoint is where a task's source resumes.
type Checkpoint struct {
	// Binlog sources: the transaction boundary to read from, on the
	// server whose server_id is Server (File and Pos mean nothing on
	// another server; GTID does).
	File   string
	Pos    uint32
	GTID   string // GTID set executed before File:Pos, "" without GTIDs
	Server uint32
	// TxRows is the number of rows of the transaction at File:Pos that are
	// already written.
	TxRows int64

	// Snapshot is the state of a snapshot in progress or catching up with
	// the binlog (JSON, see snapshot.go); "" otherwise.
	Snapshot string

	// Seq is the last sequence number DATAGEN wrote.
	Seq int64
}

// IsZero reports whether c holds no position: a new task.
func (c Checkpoint) IsZero() bool { return c == Checkpoint{} }

// Fields returns c as field/value pairs of the offset hash.
func (c Checkpoint) Fields() []string {
	return []string{
		"file", c.File,
		"pos", strconv.FormatUint(uint64(c.Pos), 10),
		"gtid", c.GTID,
		"server_id", strconv.FormatUint(uint64(c.Server), 10),
		"tx_rows", strconv.FormatInt(c.TxRows, 10),
		"snapshot", c.Snapshot,
		"seq", strconv.FormatInt(c.Seq, 10),
	}
}

// String is the position as the status shows it.
func (c Checkpoint) String() string {
	if c.File == "" {
		return "seq " + strconv.FormatInt(c.Seq, 10)
	}
	s := c.File + ":" + strconv.FormatUint(uint64(c.Pos), 10)
	if c.TxRows > 0 {
		s += "+" + strconv.FormatInt(c.TxRows, 10) + " rows"
	}
	if c.GTID != "" {
		s += " gtid " + c.GTID
	}
	if c.Snapshot != "" {
		s += " (snapshot)"
	}
	return s
}

// ParseCheckpoint reads a checkpoint from the offset hash m.
func ParseCheckpoint(m map[string]string) (Checkpoint, error) {
	var c Checkpoint
	c.File, c.GTID, c.Snapshot = m["file"], m["gtid"], m["snapshot"]
	for _, f := range []struct {
		name string
		dst  *uint32
	}{{"pos", &c.Pos}, {"server_id", &c.Server}} {
		if v := m[f.name]; v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return c, fmt.Errorf("checkpoint field %s: %q is not a 32-bit number", f.name, v)
			}
			*f.dst = uint32(n)
		}
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"tx_rows", &c.TxRows}, {"seq", &c.Seq}} {
		if v := m[f.name]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return c, fmt.Errorf("checkpoint field %s: %q is not a count", f.name, v)
			}
			*f.dst = n
		}
	}
	return c, nil
}

// Emitter receives a source's changes, in order.
type Emitter interface {
	// Emit takes one change; after is the checkpoint once it is written.
	// It blocks while the writer is behind, so memory stays bounded, and
	// fails only when ctx ends or the output is gone. ch may be reused by
	// the source once Emit returns.
	Emit(ctx context.Context, ch *events.Change, after Checkpoint) error
	// EmitGroup takes changes and schema history records that must be
	// written together, in one write, with after as the checkpoint after
	// all of them: a DDL statement's ddl events and the table versions
	// they make, so that no checkpoint falls between a schema change and
	// its record. It blocks as Emit does.
	EmitGroup(ctx context.Context, chs []*events.Change, recs []SchemaRecord, after Checkpoint) error
	// Advance moves the checkpoint without a change (a commit of other
	// tables' rows, a heartbeat); sourceTsMs is the source's clock then.
	Advance(after Checkpoint, sourceTsMs int64)
	// Snapshotting tells the writer whether the source is in a snapshot,
	// for the task's state, and how many rows the whole snapshot is
	// expected to read (the server's estimate; 0 when unknown).
	Snapshotting(on bool, estimatedRows int64)
}

// SchemaRecord is one record of a task's schema history: the table it is
// about (db.table, "" for a whole catalog) and its encoding (see
// schemahistory.go).
type SchemaRecord struct {
	Table string
	Data  []byte
}

// Source reads one task's changes from a checkpoint until ctx ends or it
// fails.
type Source interface {
	Run(ctx context.Context, from Checkpoint, em Emitter) error
}

// PermanentError is a failure that retrying cannot fix (a misconfigured
// server, a missing table): the task becomes FAILED with its message.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// Permanentf formats a PermanentError.
func Permanentf(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err is or wraps a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
