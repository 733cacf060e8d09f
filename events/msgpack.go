package events

// Envelope keys, each as a msgpack fixstr (header byte 0xa0|len, then the
// text).
const (
	mpKeyOp       = "\xa2op"
	mpKeyTsMs     = "\xa5ts_ms"
	mpKeyBefore   = "\xa6before"
	mpKeyAfter    = "\xa5after"
	mpKeyKey      = "\xa3key"
	mpKeySource   = "\xa6source"
	mpKeyTx       = "\xa2tx"
	mpKeyDDL      = "\xa3ddl"
	mpKeyColumns  = "\xa7columns"
	mpKeyName     = "\xa4name"
	mpKeyType     = "\xa4type"
	mpKeyFlavor   = "\xa6flavor"
	mpKeyServerID = "\xa9server_id"
	mpKeyFile     = "\xa4file"
	mpKeyPos      = "\xa3pos"
	mpKeyGTID     = "\xa4gtid"
	mpKeyRow      = "\xa3row"
	mpKeySnapshot = "\xa8snapshot"
	mpKeyDB       = "\xa2db"
	mpKeyTable    = "\xa5table"
	mpKeyImage    = "\xa5image"
	mpKeyID       = "\xa2id"
	mpKeySeq      = "\xa3seq"
)

// msgpackCodec is the Codec of FormatMsgpack. Its scratch buffers make it
// for one goroutine at a time.
type msgpackCodec struct {
	json jsonToMsgpack // scratch for JSON values
}

// Format returns FormatMsgpack.
func (m *msgpackCodec) Format() string { return FormatMsgpack }

// Append appends the msgpack envelope of c to dst.
func (m *msgpackCodec) Append(dst []byte, c *Change) ([]byte, error) {
	if err := checkChange(c); err != nil {
		return dst, err
	}
	if c.Op == OpDDL {
		return m.appendDDL(dst, c), nil
	}
	b := mpAppendMapLen(dst, 7)
	b = append(b, mpKeyOp...)
	b = mpAppendName(b, string(c.Op))
	b = append(b, mpKeyTsMs...)
	b = mpAppendInt(b, c.TsMs)
	var err error
	partial := partialImage(c)
	b = append(b, mpKeyBefore...)
	if b, err = m.appendImage(b, c, c.Before, partial); err != nil {
		return dst, err
	}
	b = append(b, mpKeyAfter...)
	if b, err = m.appendImage(b, c, c.After, partial); err != nil {
		return dst, err
	}
	b = append(b, mpKeyKey...)
	if b, err = m.appendKey(b, c, partial); err != nil {
		return dst, err
	}
	b = m.appendSource(b, c)
	return m.appendTx(b, &c.Tx), nil
}

// appendDDL appends the envelope of a schema change.
func (m *msgpackCodec) appendDDL(b []byte, c *Change) []byte {
	b = mpAppendMapLen(b, 6)
	b = append(b, mpKeyOp...)
	b = mpAppendName(b, string(c.Op))
	b = append(b, mpKeyTsMs...)
	b = mpAppendInt(b, c.TsMs)
	b = append(b, mpKeyDDL...)
	b = mpAppendStr(b, c.DDL)
	b = append(b, mpKeyColumns...)
	b = mpAppendArrayLen(b, len(c.DDLColumns))
	for _, col := range c.DDLColumns {
		b = mpAppendMapLen(b, 2)
		b = append(b, mpKeyName...)
		b = mpAppendName(b, col.Name)
		b = append(b, mpKeyType...)
		b = mpAppendName(b, col.Type)
	}
	b = m.appendSource(b, c)
	return m.appendTx(b, &c.Tx)
}

// appendImage appends the map of column name to value of the row image
// vals, nil when vals is. When partial is set, Absent columns are left
// out; the full case, the hot path, does not look for them.
func (m *msgpackCodec) appendImage(b []byte, c *Change, vals []any, partial bool) ([]byte, error) {
	if vals == nil {
		return mpAppendNil(b), nil
	}
	if partial {
		return m.appendPresent(b, c, vals)
	}
	b = mpAppendMapLen(b, len(c.Columns))
	for i, col := range c.Columns {
		b = mpAppendName(b, col)
		var ok bool
		if b, ok = m.appendValue(b, vals[i]); !ok {
			return b, valueError(c, col, vals[i])
		}
	}
	return b, nil
}

// appendPresent appends the map of the columns of vals that are not
// Absent. msgpack writes a map's length first, so it counts them first.
func (m *msgpackCodec) appendPresent(b []byte, c *Change, vals []any) ([]byte, error) {
	b = mpAppendMapLen(b, countPresent(vals))
	for i, v := range vals {
		if isAbsent(v) {
			continue
		}
		b = mpAppendName(b, c.Columns[i])
		var ok bool
		if b, ok = m.appendValue(b, v); !ok {
			return b, valueError(c, c.Columns[i], v)
		}
	}
	return b, nil
}

// appendKey appends the map of the key columns to their values (see
// keyImage), nil when the table has no key or the change no image.
func (m *msgpackCodec) appendKey(b []byte, c *Change, partial bool) ([]byte, error) {
	if len(c.Key) == 0 {
		return mpAppendNil(b), nil
	}
	vals, mixed := keyImage(c, partial)
	if mixed {
		return m.appendMixedKey(b, c)
	}
	if vals == nil {
		return mpAppendNil(b), nil
	}
	b = mpAppendMapLen(b, len(c.Key))
	for _, i := range c.Key {
		b = mpAppendName(b, c.Columns[i])
		var ok bool
		if b, ok = m.appendValue(b, vals[i]); !ok {
			return b, valueError(c, c.Columns[i], vals[i])
		}
	}
	return b, nil
}

// appendMixedKey appends the key taken column by column with keyValue,
// for a change of which neither image has every key column.
func (m *msgpackCodec) appendMixedKey(b []byte, c *Change) ([]byte, error) {
	b = mpAppendMapLen(b, countKeyPresent(c))
	for _, i := range c.Key {
		v, ok := keyValue(c, i)
		if !ok {
			continue
		}
		b = mpAppendName(b, c.Columns[i])
		if b, ok = m.appendValue(b, v); !ok {
			return b, valueError(c, c.Columns[i], v)
		}
	}
	return b, nil
}

// appendValue appends one row value; ok is false for an unsupported type.
func (m *msgpackCodec) appendValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return mpAppendNil(b), true
	case int64:
		return mpAppendInt(b, v), true
	case uint64:
		return mpAppendUint(b, v), true
	case string:
		return mpAppendStr(b, v), true
	case float64:
		return mpAppendFloat64(b, v), true
	case float32:
		return mpAppendFloat32(b, v), true
	case []byte:
		return mpAppendBin(b, v), true
	case JSON:
		return m.json.append(b, v), true
	case int:
		return mpAppendInt(b, int64(v)), true
	case int8:
		return mpAppendInt(b, int64(v)), true
	case int16:
		return mpAppendInt(b, int64(v)), true
	case int32:
		return mpAppendInt(b, int64(v)), true
	case uint:
		return mpAppendUint(b, uint64(v)), true
	case uint8:
		return mpAppendUint(b, uint64(v)), true
	case uint16:
		return mpAppendUint(b, uint64(v)), true
	case uint32:
		return mpAppendUint(b, uint64(v)), true
	case bool:
		return mpAppendBool(b, v), true
	}
	return b, false
}

// appendSource appends the source key and map; image, last, only for a
// partial image.
func (m *msgpackCodec) appendSource(b []byte, c *Change) []byte {
	s := &c.Source
	partial := partialImage(c)
	b = append(b, mpKeySource...)
	if partial {
		b = mpAppendMapLen(b, 11)
	} else {
		b = mpAppendMapLen(b, 10)
	}
	b = append(b, mpKeyFlavor...)
	b = mpAppendName(b, s.Flavor)
	b = append(b, mpKeyServerID...)
	b = mpAppendUint(b, uint64(s.ServerID))
	b = append(b, mpKeyFile...)
	b = mpAppendName(b, s.File)
	b = append(b, mpKeyPos...)
	b = mpAppendUint(b, uint64(s.Pos))
	b = append(b, mpKeyGTID...)
	if s.GTID == "" {
		b = mpAppendNil(b)
	} else {
		b = mpAppendName(b, s.GTID)
	}
	b = append(b, mpKeyRow...)
	b = mpAppendInt(b, int64(s.Row))
	b = append(b, mpKeyTsMs...)
	b = mpAppendInt(b, s.TsMs)
	b = append(b, mpKeySnapshot...)
	b = mpAppendBool(b, s.Snapshot)
	b = append(b, mpKeyDB...)
	b = mpAppendName(b, c.DB)
	b = append(b, mpKeyTable...)
	b = mpAppendName(b, c.Table)
	if partial {
		b = append(b, mpKeyImage...)
		b = mpAppendName(b, s.Image)
	}
	return b
}

// appendTx appends the tx key and map.
func (m *msgpackCodec) appendTx(b []byte, tx *Tx) []byte {
	b = append(b, mpKeyTx...)
	b = mpAppendMapLen(b, 2)
	b = append(b, mpKeyID...)
	b = mpAppendName(b, tx.ID)
	b = append(b, mpKeySeq...)
	return mpAppendInt(b, tx.Seq)
}
