package events

import (
	"encoding/base64"
	"strconv"
)

// jsonCodec is the Codec of FormatJSON. It has no state, but it is
// documented, like every Codec, as for one goroutine at a time.
type jsonCodec struct{}

// Format returns FormatJSON.
func (j *jsonCodec) Format() string { return FormatJSON }

// Append appends the JSON envelope of c, one line of compact JSON, to dst.
func (j *jsonCodec) Append(dst []byte, c *Change) ([]byte, error) {
	if err := checkChange(c); err != nil {
		return dst, err
	}
	if c.Op == OpDDL {
		return j.appendDDL(dst, c), nil
	}
	b := append(dst, `{"op":`...)
	b = appendJSONString(b, string(c.Op))
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, c.TsMs, 10)
	var err error
	partial := partialImage(c)
	b = append(b, `,"before":`...)
	if b, err = j.appendImage(b, c, c.Before, partial); err != nil {
		return dst, err
	}
	b = append(b, `,"after":`...)
	if b, err = j.appendImage(b, c, c.After, partial); err != nil {
		return dst, err
	}
	b = append(b, `,"key":`...)
	if b, err = j.appendKey(b, c, partial); err != nil {
		return dst, err
	}
	b = j.appendSource(b, c)
	return j.appendTx(b, &c.Tx), nil
}

// appendDDL appends the envelope of a schema change.
func (j *jsonCodec) appendDDL(b []byte, c *Change) []byte {
	b = append(b, `{"op":`...)
	b = appendJSONString(b, string(c.Op))
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, c.TsMs, 10)
	b = append(b, `,"ddl":`...)
	b = appendJSONString(b, c.DDL)
	b = append(b, `,"columns":[`...)
	for i, col := range c.DDLColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, col.Name)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, col.Type)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = j.appendSource(b, c)
	return j.appendTx(b, &c.Tx)
}

// appendImage appends the object of column name to value of the row image
// vals, null when vals is nil. When partial is set, Absent columns are
// left out; the full case, the hot path, does not look for them.
func (j *jsonCodec) appendImage(b []byte, c *Change, vals []any, partial bool) ([]byte, error) {
	if vals == nil {
		return append(b, "null"...), nil
	}
	if partial {
		return j.appendPresent(b, c, vals)
	}
	b = append(b, '{')
	for i, col := range c.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, col)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSONValue(b, vals[i]); !ok {
			return b, valueError(c, col, vals[i])
		}
	}
	return append(b, '}'), nil
}

// appendPresent appends the object of the columns of vals that are not
// Absent.
func (j *jsonCodec) appendPresent(b []byte, c *Change, vals []any) ([]byte, error) {
	b = append(b, '{')
	sep := false
	for i, v := range vals {
		if isAbsent(v) {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		var err error
		if b, err = appendJSONMember(b, c, c.Columns[i], v); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendKey appends the object of the key columns to their values (see
// keyImage), null when the table has no key or the change no image.
func (j *jsonCodec) appendKey(b []byte, c *Change, partial bool) ([]byte, error) {
	if len(c.Key) == 0 {
		return append(b, "null"...), nil
	}
	vals, mixed := keyImage(c, partial)
	if mixed {
		return j.appendMixedKey(b, c)
	}
	if vals == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	for k, i := range c.Key {
		if k > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSONMember(b, c, c.Columns[i], vals[i]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendMixedKey appends the key taken column by column with keyValue,
// for a change of which neither image has every key column.
func (j *jsonCodec) appendMixedKey(b []byte, c *Change) ([]byte, error) {
	b = append(b, '{')
	sep := false
	for _, i := range c.Key {
		v, ok := keyValue(c, i)
		if !ok {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		var err error
		if b, err = appendJSONMember(b, c, c.Columns[i], v); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONMember appends "col":v, one member of an image object.
func appendJSONMember(b []byte, c *Change, col string, v any) ([]byte, error) {
	b = appendJSONString(b, col)
	b = append(b, ':')
	b, ok := appendJSONValue(b, v)
	if !ok {
		return b, valueError(c, col, v)
	}
	return b, nil
}

// appendJSONValue appends one row value; ok is false for an unsupported
// type.
func appendJSONValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case uint64:
		return strconv.AppendUint(b, v, 10), true
	case string:
		return appendJSONString(b, v), true
	case float64:
		return appendJSONFloat(b, v, 64), true
	case float32:
		return appendJSONFloat(b, float64(v), 32), true
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"'), true
	case JSON:
		return appendJSONColumn(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int8:
		return strconv.AppendInt(b, int64(v), 10), true
	case int16:
		return strconv.AppendInt(b, int64(v), 10), true
	case int32:
		return strconv.AppendInt(b, int64(v), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), true
	case bool:
		return strconv.AppendBool(b, v), true
	}
	return b, false
}

// appendJSONColumn appends the value of a JSON column: its text, compacted,
// when it is valid JSON, else the text as a JSON string.
func appendJSONColumn(b []byte, v JSON) []byte {
	out, err := appendCompactJSON(b, v, nil)
	if err != nil {
		return appendJSONString(b, v)
	}
	return out
}

// appendSource appends the source key and object; image, last, only for
// a partial image.
func (j *jsonCodec) appendSource(b []byte, c *Change) []byte {
	s := &c.Source
	b = append(b, `,"source":{"flavor":`...)
	b = appendJSONString(b, s.Flavor)
	b = append(b, `,"server_id":`...)
	b = strconv.AppendUint(b, uint64(s.ServerID), 10)
	b = append(b, `,"file":`...)
	b = appendJSONString(b, s.File)
	b = append(b, `,"pos":`...)
	b = strconv.AppendUint(b, uint64(s.Pos), 10)
	b = append(b, `,"gtid":`...)
	if s.GTID == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, s.GTID)
	}
	b = append(b, `,"row":`...)
	b = strconv.AppendInt(b, int64(s.Row), 10)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, s.TsMs, 10)
	b = append(b, `,"snapshot":`...)
	b = strconv.AppendBool(b, s.Snapshot)
	b = append(b, `,"db":`...)
	b = appendJSONString(b, c.DB)
	b = append(b, `,"table":`...)
	b = appendJSONString(b, c.Table)
	if partialImage(c) {
		b = append(b, `,"image":`...)
		b = appendJSONString(b, s.Image)
	}
	return append(b, '}')
}

// appendTx appends the tx key and object, and closes the envelope.
func (j *jsonCodec) appendTx(b []byte, tx *Tx) []byte {
	b = append(b, `,"tx":{"id":`...)
	b = appendJSONString(b, tx.ID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, tx.Seq, 10)
	return append(b, "}}"...)
}
