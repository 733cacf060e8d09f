package events

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// ToJSON appends one line of compact JSON (no newline) for the encoded
// envelope data, in either format, to dst. Map keys keep their order,
// integers stay exact (uint64 too), bin becomes a base64 (standard
// encoding) string, float32 is printed with 32-bit precision (0.1, not
// 0.10000000149011612), NaN and ±Inf become null. JSON input is validated
// and compacted. Truncated or malformed input is an error, and then dst is
// returned with its original length.
func ToJSON(dst []byte, data []byte) ([]byte, error) {
	switch detectFormat(data) {
	case FormatJSON:
		out, err := appendCompactJSON(dst, data, nil)
		if err != nil {
			return dst, fmt.Errorf("converting envelope to JSON: %w", err)
		}
		return out, nil
	case FormatMsgpack:
		r := mpReader{data: data}
		out, err := r.toJSON(dst, 0)
		if err == nil && r.i < len(data) {
			err = r.errorf("%d bytes after the envelope", len(data)-r.i)
		}
		if err != nil {
			return dst, fmt.Errorf("converting envelope to JSON: %w", err)
		}
		return out, nil
	}
	return dst, errNotEnvelope(data)
}

// detectFormat returns the format of an encoded envelope (a map), or ""
// when data is neither: a JSON object starts with '{' (after optional
// whitespace), a msgpack map with a fixmap, map16 or map32 code.
func detectFormat(data []byte) string {
	for _, c := range data {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '{':
			return FormatJSON
		case c >= 0x80 && c <= 0x8f || c == mpCodeMap16 || c == mpCodeMap32:
			return FormatMsgpack
		}
		return ""
	}
	return ""
}

// errNotEnvelope returns the error for data that is not an envelope.
func errNotEnvelope(data []byte) error {
	if len(data) == 0 {
		return errors.New("empty envelope")
	}
	return fmt.Errorf("not an envelope: neither a JSON object nor a msgpack map (first byte 0x%02x)", data[0])
}

// toJSON appends the JSON of the next msgpack value.
func (r *mpReader) toJSON(b []byte, depth int) ([]byte, error) {
	it, err := r.next()
	if err != nil {
		return b, err
	}
	switch it.kind {
	case mpNil:
		return append(b, "null"...), nil
	case mpBool:
		return strconv.AppendBool(b, it.n == 1), nil
	case mpInt:
		return strconv.AppendInt(b, int64(it.n), 10), nil
	case mpUint:
		return strconv.AppendUint(b, it.n, 10), nil
	case mpFloat32:
		return appendJSONFloat(b, it.float(), 32), nil
	case mpFloat64:
		return appendJSONFloat(b, it.float(), 64), nil
	case mpStr:
		return appendJSONString(b, it.data), nil
	case mpBin:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, it.data)
		return append(b, '"'), nil
	case mpArray, mpMap:
		if depth >= maxJSONDepth {
			return b, r.errorf("nested deeper than %d", maxJSONDepth)
		}
		return r.containerToJSON(b, it, depth+1)
	}
	return b, r.errorf("msgpack ext values are not supported")
}

// containerToJSON appends the JSON of the members of the array or map it.
func (r *mpReader) containerToJSON(b []byte, it mpItem, depth int) ([]byte, error) {
	open, closing := byte('['), byte(']')
	if it.kind == mpMap {
		open, closing = '{', '}'
	}
	b = append(b, open)
	var err error
	for k := uint64(0); k < it.n; k++ {
		if k > 0 {
			b = append(b, ',')
		}
		if it.kind == mpMap {
			if b, err = r.keyToJSON(b); err != nil {
				return b, err
			}
			b = append(b, ':')
		}
		if b, err = r.toJSON(b, depth); err != nil {
			return b, err
		}
	}
	return append(b, closing), nil
}

// keyToJSON appends the next msgpack value, a map key, as a JSON string:
// str and bin as their text, other scalars as their JSON text in quotes.
func (r *mpReader) keyToJSON(b []byte) ([]byte, error) {
	start := r.i
	it, err := r.next()
	if err != nil {
		return b, err
	}
	switch it.kind {
	case mpStr, mpBin:
		return appendJSONString(b, it.data), nil
	case mpArray, mpMap, mpExt:
		r.i = start
		return b, r.errorf("map key is not a scalar")
	}
	r.i = start
	// A scalar's JSON text has no characters that need escaping.
	b = append(b, '"')
	if b, err = r.toJSON(b, 0); err != nil {
		return b, err
	}
	return append(b, '"'), nil
}
