package events

import (
	"encoding/binary"
	"fmt"
	"math"
)

// mpKind is the kind of a msgpack item.
type mpKind uint8

const (
	mpNil mpKind = iota
	mpBool
	mpInt  // signed integer, in mpItem.n as int64 bits
	mpUint // unsigned integer, in mpItem.n
	mpFloat32
	mpFloat64
	mpStr
	mpBin
	mpArray // mpItem.n elements follow
	mpMap   // mpItem.n key/value pairs follow
	mpExt
)

// mpItem is one msgpack item: a scalar, or the header of a container.
type mpItem struct {
	kind mpKind
	n    uint64 // bool (0/1), integer bits, float bits, or container length
	data []byte // the payload of a str, bin or ext
}

// mpReader reads msgpack items from a byte slice. It never reads past the
// end: truncated input is an error.
type mpReader struct {
	data []byte
	i    int
}

func (r *mpReader) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid msgpack at offset %d: %s", r.i, fmt.Sprintf(format, args...))
}

// take returns the next n bytes.
func (r *mpReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.data)-r.i) {
		return nil, r.errorf("truncated: want %d bytes, have %d", n, len(r.data)-r.i)
	}
	b := r.data[r.i : r.i+int(n)]
	r.i += int(n)
	return b, nil
}

// uint reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (r *mpReader) uint(size int) (uint64, error) {
	b, err := r.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// next reads one item; for a container, only its header.
func (r *mpReader) next() (mpItem, error) {
	if r.i >= len(r.data) {
		return mpItem{}, r.errorf("truncated: want an item")
	}
	c := r.data[r.i]
	r.i++
	switch {
	case c <= 0x7f:
		return mpItem{kind: mpUint, n: uint64(c)}, nil
	case c >= 0xe0:
		return mpItem{kind: mpInt, n: uint64(int64(int8(c)))}, nil
	case c <= 0x8f:
		return mpItem{kind: mpMap, n: uint64(c & 0x0f)}, nil
	case c <= 0x9f:
		return mpItem{kind: mpArray, n: uint64(c & 0x0f)}, nil
	case c <= 0xbf:
		return r.payload(mpStr, uint64(c&0x1f))
	}
	switch c {
	case mpCodeNil:
		return mpItem{kind: mpNil}, nil
	case mpCodeFalse, mpCodeTrue:
		return mpItem{kind: mpBool, n: uint64(c - mpCodeFalse)}, nil
	case mpCodeUint8, mpCodeUint16, mpCodeUint32, mpCodeUint64:
		n, err := r.uint(1 << (c - mpCodeUint8))
		return mpItem{kind: mpUint, n: n}, err
	case mpCodeInt8, mpCodeInt16, mpCodeInt32, mpCodeInt64:
		return r.int(1 << (c - mpCodeInt8))
	case mpCodeFloat32:
		n, err := r.uint(4)
		return mpItem{kind: mpFloat32, n: n}, err
	case mpCodeFloat64:
		n, err := r.uint(8)
		return mpItem{kind: mpFloat64, n: n}, err
	case mpCodeStr8, mpCodeStr16, mpCodeStr32:
		return r.sized(mpStr, 1<<(c-mpCodeStr8))
	case mpCodeBin8, mpCodeBin16, mpCodeBin32:
		return r.sized(mpBin, 1<<(c-mpCodeBin8))
	case mpCodeArray16, mpCodeArray32:
		n, err := r.uint(2 << (c - mpCodeArray16))
		return mpItem{kind: mpArray, n: n}, err
	case mpCodeMap16, mpCodeMap32:
		n, err := r.uint(2 << (c - mpCodeMap16))
		return mpItem{kind: mpMap, n: n}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return r.payload(mpExt, 1+1<<(c-0xd4))
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32
		n, err := r.uint(1 << (c - 0xc7))
		if err != nil {
			return mpItem{}, err
		}
		return r.payload(mpExt, 1+n) // the type byte, then n bytes
	}
	return mpItem{}, r.errorf("unused format code 0x%02x", c)
}

// int reads a signed integer of size bytes.
func (r *mpReader) int(size int) (mpItem, error) {
	u, err := r.uint(size)
	var n int64
	switch size {
	case 1:
		n = int64(int8(u))
	case 2:
		n = int64(int16(u))
	case 4:
		n = int64(int32(u))
	default:
		n = int64(u)
	}
	return mpItem{kind: mpInt, n: uint64(n)}, err
}

// sized reads a length of lenSize bytes, then that many payload bytes.
func (r *mpReader) sized(kind mpKind, lenSize int) (mpItem, error) {
	n, err := r.uint(lenSize)
	if err != nil {
		return mpItem{}, err
	}
	return r.payload(kind, n)
}

// payload reads n payload bytes of an item of the given kind.
func (r *mpReader) payload(kind mpKind, n uint64) (mpItem, error) {
	data, err := r.take(n)
	return mpItem{kind: kind, n: n, data: data}, err
}

// float returns the value of a float item.
func (it mpItem) float() float64 {
	if it.kind == mpFloat32 {
		return float64(math.Float32frombits(uint32(it.n)))
	}
	return math.Float64frombits(it.n)
}
