package events

import (
	"fmt"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of JSON input, as encoding/json does, so
// that hostile input cannot exhaust the stack.
const maxJSONDepth = 10000

// appendCompactJSON checks that src is exactly one JSON value (RFC 8259,
// UTF-8, surrounding whitespace allowed) and appends it to dst without
// insignificant whitespace; strings and numbers are copied as they are. When
// counts is not nil, the number of members of every object and array is
// appended to it in preorder, for jsonToMsgpack. On error dst is returned
// with its original length.
func appendCompactJSON(dst, src []byte, counts *[]int) ([]byte, error) {
	s := jsonScanner{src: src, counts: counts}
	b, err := s.value(dst, 0)
	if err == nil {
		s.skipSpace()
		if s.i < len(src) {
			err = s.errorf("data after the value")
		}
	}
	if err != nil {
		return dst, err
	}
	return b, nil
}

// jsonScanner is a validating recursive-descent JSON parser that copies
// what it reads, compacted, to a buffer.
type jsonScanner struct {
	src    []byte
	i      int
	counts *[]int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value(b []byte, depth int) ([]byte, error) {
	s.skipSpace()
	if s.i >= len(s.src) {
		return b, s.errorf("unexpected end of input")
	}
	switch c := s.src[s.i]; c {
	case '{', '[':
		if depth >= maxJSONDepth {
			return b, s.errorf("nested deeper than %d", maxJSONDepth)
		}
		return s.container(b, depth+1)
	case '"':
		return s.str(b)
	case 't':
		return s.literal(b, "true")
	case 'f':
		return s.literal(b, "false")
	case 'n':
		return s.literal(b, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number(b)
		}
		return b, s.errorf("unexpected byte %q", c)
	}
}

// container reads an object or an array.
func (s *jsonScanner) container(b []byte, depth int) ([]byte, error) {
	open := s.src[s.i]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	idx := -1
	if s.counts != nil {
		idx = len(*s.counts)
		*s.counts = append(*s.counts, 0)
	}
	b = append(b, open)
	s.i++
	s.skipSpace()
	if s.i < len(s.src) && s.src[s.i] == closing {
		s.i++
		return append(b, closing), nil
	}
	for {
		var err error
		if b, err = s.member(b, open == '{', depth); err != nil {
			return b, err
		}
		if idx >= 0 {
			(*s.counts)[idx]++
		}
		s.skipSpace()
		if s.i >= len(s.src) {
			return b, s.errorf("unexpected end of input")
		}
		switch s.src[s.i] {
		case ',':
			b = append(b, ',')
			s.i++
		case closing:
			s.i++
			return append(b, closing), nil
		default:
			return b, s.errorf("unexpected byte %q after a member", s.src[s.i])
		}
	}
}

// member reads one element of an array, or one "name": value of an object.
func (s *jsonScanner) member(b []byte, named bool, depth int) ([]byte, error) {
	if named {
		s.skipSpace()
		if s.i >= len(s.src) || s.src[s.i] != '"' {
			return b, s.errorf("want an object key")
		}
		var err error
		if b, err = s.str(b); err != nil {
			return b, err
		}
		s.skipSpace()
		if s.i >= len(s.src) || s.src[s.i] != ':' {
			return b, s.errorf("want ':' after an object key")
		}
		b = append(b, ':')
		s.i++
	}
	return s.value(b, depth)
}

func (s *jsonScanner) literal(b []byte, lit string) ([]byte, error) {
	if len(s.src)-s.i < len(lit) || string(s.src[s.i:s.i+len(lit)]) != lit {
		return b, s.errorf("bad literal, want %s", lit)
	}
	s.i += len(lit)
	return append(b, lit...), nil
}

// str reads a string: no raw control characters, valid escapes, valid
// UTF-8.
func (s *jsonScanner) str(b []byte) ([]byte, error) {
	start := s.i
	s.i++ // the opening quote
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '"':
			s.i++
			return append(b, s.src[start:s.i]...), nil
		case c == '\\':
			if err := s.escape(); err != nil {
				return b, err
			}
		case c < 0x20:
			return b, s.errorf("control character %q in a string", c)
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.src[s.i:])
			if r == utf8.RuneError && size == 1 {
				return b, s.errorf("invalid UTF-8 in a string")
			}
			s.i += size
		}
	}
	return b, s.errorf("unterminated string")
}

// escape reads one escape sequence, s.i at its backslash.
func (s *jsonScanner) escape() error {
	if s.i+1 >= len(s.src) {
		return s.errorf("unterminated string")
	}
	switch s.src[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return nil
	case 'u':
		if len(s.src)-s.i < 6 {
			return s.errorf("short \\u escape")
		}
		for _, h := range s.src[s.i+2 : s.i+6] {
			if hexValue(h) < 0 {
				return s.errorf("bad \\u escape")
			}
		}
		s.i += 6
		return nil
	}
	return s.errorf("bad escape \\%c", s.src[s.i+1])
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number(b []byte) ([]byte, error) {
	start := s.i
	if s.src[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.src) && s.src[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return b, s.errorf("bad number")
	}
	if s.i < len(s.src) && s.src[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return b, s.errorf("bad number: no digits after '.'")
		}
	}
	if s.i < len(s.src) && (s.src[s.i] == 'e' || s.src[s.i] == 'E') {
		s.i++
		if s.i < len(s.src) && (s.src[s.i] == '+' || s.src[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return b, s.errorf("bad number: no digits in the exponent")
		}
	}
	return append(b, s.src[start:s.i]...), nil
}

// digits skips a run of decimal digits and returns its length.
func (s *jsonScanner) digits() int {
	start := s.i
	for s.i < len(s.src) && s.src[s.i] >= '0' && s.src[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// hexValue returns the value of the hex digit c, or -1.
func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
