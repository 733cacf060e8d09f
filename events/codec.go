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

// ErrAbsentInFullImage is wrapped by the error a Codec returns for an
// Absent value in a change whose Source.Image is full ("" or ImageFull):
// an envelope without source.image promises every column, so the codec
// refuses rather than leave the column out unannounced.
var ErrAbsentInFullImage = errors.New("absent column in a full row image")

// Codec writes the envelope of a Change in one wire format.
//
// The envelope of a row change is a map with the keys, in this order:
//
//	op, ts_ms, before, after, key, source, tx
//
// before and after map column names to values in column order (null when
// the Change has no such image; a column that is Absent from the image is
// left out, and the map's length counts only the columns written); key
// maps the primary-key columns, in key order, to their values, taken from
// the image that has every key column (after first, then before), else
// from either image column by column (after first; a column neither has is
// left out), and is null when the table has no key or the change has no
// image. source is {flavor, server_id, file, pos, gtid, row, ts_ms,
// snapshot, db, table, image} (gtid null when the change has none; image,
// "minimal" or "noblob", only when Source.Image is one of those, so a full
// image's source map has the ten keys before it) and tx is {id, seq}. The
// envelope of a schema change (OpDDL) is
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
	// Absent in a full image, images that do not match Columns, a Key out
	// of range, an unknown Source.Image) it returns dst with its original
	// length and an error naming the column or the table.
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
// column, each key index names a column, and Source.Image is one of the
// package's names. It does not look at the values: a value of an
// unsupported type (Absent in a full image too) is found while it is
// written.
func checkChange(c *Change) error {
	switch c.Source.Image {
	case "", ImageFull, ImageMinimal, ImageNoblob:
	default:
		return fmt.Errorf("encoding %s.%s: unknown row image %q (want %q, %q or %q)",
			c.DB, c.Table, c.Source.Image, ImageFull, ImageMinimal, ImageNoblob)
	}
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

// partialImage reports whether the images of c may lack columns, that is
// whether the codecs must look for Absent values and write source.image.
// checkChange has vetted c.Source.Image.
func partialImage(c *Change) bool {
	return c.Source.Image != "" && c.Source.Image != ImageFull
}

// keyImage returns the image the key is taken from, for a change whose
// table has a key. For full images that is After, or Before when After is
// nil; for partial ones the first of After and Before that has every key
// column. It returns nil with mixed false when the key is null (no image),
// and nil with mixed true when neither image has every key column, so
// that the key is taken column by column with keyValue.
func keyImage(c *Change, partial bool) (vals []any, mixed bool) {
	switch {
	case !partial:
		if c.After != nil {
			return c.After, false
		}
		return c.Before, false
	case hasColumns(c.After, c.Key):
		return c.After, false
	case hasColumns(c.Before, c.Key):
		return c.Before, false
	case c.After == nil && c.Before == nil:
		return nil, false
	}
	return nil, true
}

// hasColumns reports whether the image vals (nil: no image) has a value,
// not Absent, for each of the columns idx.
func hasColumns(vals []any, idx []int) bool {
	if vals == nil {
		return false
	}
	for _, i := range idx {
		if isAbsent(vals[i]) {
			return false
		}
	}
	return true
}

// keyValue returns the value of column i for a key taken column by
// column: After's, or Before's when After lacks it; ok is false when
// neither image has it.
func keyValue(c *Change, i int) (v any, ok bool) {
	if c.After != nil && !isAbsent(c.After[i]) {
		return c.After[i], true
	}
	if c.Before != nil && !isAbsent(c.Before[i]) {
		return c.Before[i], true
	}
	return nil, false
}

// countPresent returns how many of the values vals are not Absent.
func countPresent(vals []any) int {
	n := 0
	for _, v := range vals {
		if !isAbsent(v) {
			n++
		}
	}
	return n
}

// countKeyPresent returns how many key columns keyValue finds.
func countKeyPresent(c *Change) int {
	n := 0
	for _, i := range c.Key {
		if _, ok := keyValue(c, i); ok {
			n++
		}
	}
	return n
}

// valueError returns the error for the value v of column col, which the
// codec cannot write: of an unsupported type, or Absent from a full image.
func valueError(c *Change, col string, v any) error {
	if isAbsent(v) {
		return fmt.Errorf("encoding column %q of %s.%s: %w: the column is absent but Source.Image %q says the row image is full",
			col, c.DB, c.Table, ErrAbsentInFullImage, c.Source.Image)
	}
	return fmt.Errorf("encoding column %q of %s.%s: %w %T", col, c.DB, c.Table, ErrUnsupportedValue, v)
}
