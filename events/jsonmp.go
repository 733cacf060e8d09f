package events

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonToMsgpack turns the text of a JSON column into the native msgpack
// value it denotes: objects become maps with their keys in the original
// order, integers stay exact (int64, or uint64 above MaxInt64; integers
// beyond uint64 become float64), other numbers float64.
//
// It works in two passes over scratch buffers it keeps between calls:
// appendCompactJSON validates the text, compacts it and counts the members
// of each container (msgpack writes a container's length before its
// members); then walk emits msgpack from the compact text.
type jsonToMsgpack struct {
	compact []byte // the value, compacted
	counts  []int  // members of each container of compact, in preorder
	text    []byte // an unescaped string

	i  int // read offset in compact
	ci int // next index in counts
}

// append appends the msgpack form of the JSON text raw. Text that is not
// valid JSON is written as a msgpack str of the text itself.
func (j *jsonToMsgpack) append(b []byte, raw []byte) []byte {
	var err error
	j.counts = j.counts[:0]
	j.compact, err = appendCompactJSON(j.compact[:0], raw, &j.counts)
	if err != nil {
		return mpAppendStr(b, string(raw))
	}
	j.i, j.ci = 0, 0
	return j.walk(b)
}

// walk emits the value at j.compact[j.i:], which is valid and compact.
func (j *jsonToMsgpack) walk(b []byte) []byte {
	switch j.compact[j.i] {
	case '{', '[':
		named := j.compact[j.i] == '{'
		n := j.counts[j.ci]
		j.ci++
		j.i++ // the bracket
		if named {
			b = mpAppendMapLen(b, n)
		} else {
			b = mpAppendArrayLen(b, n)
		}
		for k := 0; k < n; k++ {
			if named {
				b = j.str(b)
				j.i++ // the colon
			}
			b = j.walk(b)
			j.i++ // the comma or the closing bracket
		}
		if n == 0 {
			j.i++ // the closing bracket
		}
		return b
	case '"':
		return j.str(b)
	case 't':
		j.i += len("true")
		return mpAppendBool(b, true)
	case 'f':
		j.i += len("false")
		return mpAppendBool(b, false)
	case 'n':
		j.i += len("null")
		return mpAppendNil(b)
	}
	return j.number(b)
}

// str emits the string at j.compact[j.i:] as a msgpack str.
func (j *jsonToMsgpack) str(b []byte) []byte {
	start := j.i + 1
	end := start
	escaped := false
	for j.compact[end] != '"' {
		if j.compact[end] == '\\' {
			escaped = true
			end++
		}
		end++
	}
	j.i = end + 1
	body := j.compact[start:end]
	if escaped {
		j.text = unescapeJSON(j.text[:0], body)
		body = j.text
	}
	// The scanner checked the UTF-8, and unescapeJSON writes only valid
	// UTF-8, so the body goes as is.
	return append(mpAppendStrLen(b, len(body)), body...)
}

// number emits the number at j.compact[j.i:].
func (j *jsonToMsgpack) number(b []byte) []byte {
	start := j.i
	integer := true
	for ; j.i < len(j.compact); j.i++ {
		c := j.compact[j.i]
		if c == ',' || c == ']' || c == '}' {
			break
		}
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
		}
	}
	text := j.compact[start:j.i]
	if integer {
		if text[0] == '-' {
			if n, ok := parseUint(text[1:]); ok && n <= 1<<63 {
				return mpAppendInt(b, int64(-n)) // -(1<<63) wraps to MinInt64
			}
		} else if n, ok := parseUint(text); ok {
			return mpAppendUint(b, n)
		}
	}
	// The scanner checked the syntax, so the only error is ErrRange, with f
	// the nearest value (±Inf beyond float64's range).
	f, _ := strconv.ParseFloat(string(text), 64)
	return mpAppendFloat64(b, f)
}

// parseUint parses decimal digits into a uint64; ok is false on overflow.
func parseUint(digits []byte) (n uint64, ok bool) {
	for _, c := range digits {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, len(digits) > 0
}

// unescapeJSON appends the text of the body of a valid JSON string. Lone
// surrogates become U+FFFD, as in encoding/json.
func unescapeJSON(b, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch e := body[i+1]; e {
		case 'u':
			r := hex4(body[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2 = hex4(body[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		default: // '"', '\\', '/'
			b = append(b, e)
		}
		i += 2
	}
	return b
}

// hex4 returns the value of the four hex digits at the start of h.
func hex4(h []byte) rune {
	return rune(hexValue(h[0])<<12 | hexValue(h[1])<<8 | hexValue(h[2])<<4 | hexValue(h[3]))
}
