package source

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/dataingest/dataingest/events"
)

// vectorJSON renders a MySQL 9 VECTOR(n) value as a JSON array of n
// numbers. MySQL stores, logs and sends a VECTOR as n IEEE-754 float32
// values, little-endian, 4n bytes: observed on MySQL 9.7.4 as the same bytes
// in the binlog row image (type 242, MYSQL_TYPE_VECTOR, metadata 4), in a
// text-protocol result (field type 242, the raw bytes, not
// VECTOR_TO_STRING's text) and in a binary-protocol result, so the binlog
// and the snapshot both call this with the column's bytes.
//
// Each element is written as strconv.FormatFloat(float64(f), 'g', -1, 32):
// the shortest text that reads back as the same float32 (1.5, -2, 3e+20,
// 1.6777216e+07, 1e-07, -0), which is valid JSON. MySQL's own
// VECTOR_TO_STRING prints "%.5e" and so loses digits; this does not. A
// length that is not a multiple of 4, and a NaN or infinite element (which
// MySQL refuses to store), is an error naming it. Zero bytes give [] (MySQL
// refuses empty vectors too, but it is the faithful rendering).
func vectorJSON(b []byte) (events.JSON, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("a VECTOR value of %d bytes, not a whole number of 4-byte floats", len(b))
	}
	out := make([]byte, 0, 2+len(b)/4*12)
	out = append(out, '[')
	for i := 0; i < len(b); i += 4 {
		f := math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
		switch {
		case math.IsNaN(float64(f)):
			return nil, fmt.Errorf("VECTOR element %d is NaN", i/4)
		case math.IsInf(float64(f), 0):
			return nil, fmt.Errorf("VECTOR element %d is %v", i/4, f)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendFloat(out, float64(f), 'g', -1, 32)
	}
	return append(out, ']'), nil
}
