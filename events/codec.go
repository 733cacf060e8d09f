package events

import (
	"errors"
	"fmt"
)

// The formats of an envelope, as a task config's "format" names them.
const (
	FormatMsgpack = "msgpack" // the default
	FormatJSON    = "json"
)

// ErrUnsupportedValue is wrapped by the error a Codec returns for a row
// value whose Go type is not one of those Change lists.
var ErrUnsupportedValue = errors.New("unsupported value type")

// Codec writes the envelope of a Change in one wire format.
//
// The envelope of a row change is a map with the keys, in this order:
//
//	op, ts_ms, before, after, key, source, tx
//
// before and after map column names to values in column order (null when
// the Change has no such image); key maps the primary-key columns to their
// values, taken from after, or from before when after is null, and is null
// when the table has no key. source is {flavor, server_id, file, pos, gtid,
// row, ts_ms, snapshot, db, table} (gtid null when the change has none) and
// tx is {id, seq}. The envelope of a schema change (OpDDL) is
//
//	op, ts_ms, ddl, columns: [{name, type}, ...], source, tx
//
// String values and DDL statements that are not valid UTF-8 are written
// with each bad byte replaced by U+FFFD, in both formats (the JSON codec
// does so for names too; the msgpack codec trusts names, which come from
// the server's metadata, to be UTF-8).
//
// A Codec keeps scratch buffers, so it is for use by one goroutine at a
// time: give each task (or goroutine) its own.
type Codec interface {
	// Format returns the codec's format name, FormatMsgpack or FormatJSON.
	Format() string

	// Append appends the envelope of c to dst and returns the extended
	// buffer. Callers reuse dst across calls; once buffers have grown,
	// Append allocates nothing. On error (a value of an unsupported type,
	// images that do not match Columns, a Key out of range) it returns dst
	// with its original length and an error naming the column.
	Append(dst []byte, c *Change) ([]byte, error)
}

// NewCodec returns a new Codec for format: FormatMsgpack (also for ""),
// or FormatJSON.
func NewCodec(format string) (Codec, error) {
	switch format {
	case FormatMsgpack, "":
		return &msgpackCodec{}, nil
	case FormatJSON:
		return &jsonCodec{}, nil
	}
	return nil, fmt.Errorf("unknown event format %q (want %q or %q)", format, FormatMsgpack, FormatJSON)
}

// checkChange checks what the codecs rely on: each image has one value per
// column and each key index names a column.
func checkChange(c *Change) error {
	if c.Op == OpDDL {
		return nil
	}
	if c.Before != nil && len(c.Before) != len(c.Columns) {
		return fmt.Errorf("encoding %s.%s: before has %d values for %d columns", c.DB, c.Table, len(c.Before), len(c.Columns))
	}
	if c.After != nil && len(c.After) != len(c.Columns) {
		return fmt.Errorf("encoding %s.%s: after has %d values for %d columns", c.DB, c.Table, len(c.After), len(c.Columns))
	}
	for _, k := range c.Key {
		if k < 0 || k >= len(c.Columns) {
			return fmt.Errorf("encoding %s.%s: key column index %d out of range (%d columns)", c.DB, c.Table, k, len(c.Columns))
		}
	}
	return nil
}

// keyImage returns the image the key is taken from: After, or Before when
// After is nil. It is nil when the key is null.
func keyImage(c *Change) []any {
	if len(c.Key) == 0 {
		return nil
	}
	if c.After != nil {
		return c.After
	}
	return c.Before
}

// valueError returns the error for the value v of column col, whose type
// is unsupported.
func valueError(c *Change, col string, v any) error {
	return fmt.Errorf("encoding column %q of %s.%s: %w %T", col, c.DB, c.Table, ErrUnsupportedValue, v)
}
