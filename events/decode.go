package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Decode decodes an encoded envelope, in either format, into a generic
// map, for tests and tools (it allocates freely). Nested maps are
// map[string]any and arrays []any. JSON numbers are json.Number. From
// msgpack: integers are int64, or uint64 when above math.MaxInt64; float32
// stays float32, float64 float64; str is string, bin []byte; a map key that
// is not a str or bin becomes the text of its JSON form.
func Decode(data []byte) (map[string]any, error) {
	switch detectFormat(data) {
	case FormatJSON:
		return decodeJSON(data)
	case FormatMsgpack:
		r := mpReader{data: data}
		v, err := r.decode(0)
		if err == nil && r.i < len(data) {
			err = r.errorf("%d bytes after the envelope", len(data)-r.i)
		}
		if err != nil {
			return nil, fmt.Errorf("decoding envelope: %w", err)
		}
		return v.(map[string]any), nil
	}
	return nil, errNotEnvelope(data)
}

// decodeJSON decodes a JSON object with encoding/json, numbers as
// json.Number.
func decodeJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding envelope: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decoding envelope: data after the JSON object")
	}
	return m, nil
}

// decode returns the next msgpack value as a generic Go value.
func (r *mpReader) decode(depth int) (any, error) {
	it, err := r.next()
	if err != nil {
		return nil, err
	}
	switch it.kind {
	case mpNil:
		return nil, nil
	case mpBool:
		return it.n == 1, nil
	case mpInt:
		return int64(it.n), nil
	case mpUint:
		if it.n <= math.MaxInt64 {
			return int64(it.n), nil
		}
		return it.n, nil
	case mpFloat32:
		return float32(it.float()), nil
	case mpFloat64:
		return it.float(), nil
	case mpStr:
		return string(it.data), nil
	case mpBin:
		return bytes.Clone(it.data), nil
	case mpArray, mpMap:
		if depth >= maxJSONDepth {
			return nil, r.errorf("nested deeper than %d", maxJSONDepth)
		}
		if it.kind == mpArray {
			return r.decodeArray(it.n, depth+1)
		}
		return r.decodeMap(it.n, depth+1)
	}
	return nil, r.errorf("msgpack ext values are not supported")
}

func (r *mpReader) decodeArray(n uint64, depth int) ([]any, error) {
	a := make([]any, 0, min(n, uint64(len(r.data)-r.i)))
	for k := uint64(0); k < n; k++ {
		v, err := r.decode(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	return a, nil
}

func (r *mpReader) decodeMap(n uint64, depth int) (map[string]any, error) {
	m := make(map[string]any, min(n, uint64(len(r.data)-r.i)/2))
	for k := uint64(0); k < n; k++ {
		key, err := r.decodeKey()
		if err != nil {
			return nil, err
		}
		if m[key], err = r.decode(depth); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// decodeKey returns the next value, a map key, as a string.
func (r *mpReader) decodeKey() (string, error) {
	start := r.i
	it, err := r.next()
	if err != nil {
		return "", err
	}
	switch it.kind {
	case mpStr, mpBin:
		return string(it.data), nil
	case mpArray, mpMap, mpExt:
		r.i = start
		return "", r.errorf("map key is not a scalar")
	}
	r.i = start
	text, err := r.toJSON(nil, 0)
	return string(text), err
}
