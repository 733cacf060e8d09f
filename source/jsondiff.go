package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/replication"
)

// Partial JSON updates (binlog_row_value_options=PARTIAL_JSON, MySQL 8.0+).
// An UPDATE that changes a JSON column only with JSON_SET, JSON_REPLACE or
// JSON_REMOVE is logged as a PARTIAL_UPDATE_ROWS_EVENT whose after image
// holds, for that column, a vector of diffs (operation, path, value) instead
// of the document. How go-mysql v1.16.0 delivers them (replication/
// row_event.go decodeImage and decodeValue, json_binary.go
// decodeJSONPartialBinary):
//
//   - The after image's value of a column marked partial is one
//     *replication.JsonDiff; a column left unchanged is an empty []byte
//     (its before image's value holds). Every other JSON value is a string.
//   - decodeJSONPartialBinary reads only the FIRST diff of the column's
//     vector and ignores the rest: JSON_SET(j, '$.a', 1, '$.b', 2) arrives
//     as the single diff Replace $.a, with nothing to say $.b changed too
//     (observed on MySQL 9.7.4). No caller can tell from the value that
//     diffs were dropped; only decoding the column's bytes itself can.
//   - Paths are MySQL's normalised Json_path text: $, .key (quoted, with
//     JSON escapes, when the key is not an identifier: ."c d", ."ключ"),
//     [n], [last] and [last-n] (kept from the statement: JSON_SET(j,
//     '$.a[last]', 1) logs Replace $.a[last]). No wildcards or ranges.
//   - Value is the new value as JSON text (RenderJSONAsMySQLText renders
//     it like the before image); it is empty for Remove.
//
// applyJSONDiffs applies them exactly as MySQL's own replica does
// (apply_json_diffs in sql/json_diff.cc), which rejects a diff whose target
// is missing rather than ignoring it: such a diff means the before image is
// not the document the server changed, and skipping it would hide that.

// errJSONDiffRejected is wrapped by applyJSONDiffs's error for a diff MySQL
// itself would reject against this before image.
var errJSONDiffRejected = errors.New("the before image has no such target")

// applyJSONDiffs applies diffs, in order, to doc (the column's before image,
// JSON text) and returns the whole new document as compact JSON text, with
// every object's keys in MySQL's order (shorter keys first, equal lengths
// bytewise), numbers exactly as their text was and strings re-escaped.
// Each diff follows MySQL's apply_json_diffs:
//
//   - Replace: the value at the path must exist (no auto-wrapping; [last]
//     and [last-n] count from the end) and is replaced.
//   - Insert: the path's parent must exist. Into an object, the key must be
//     absent and is added in key order; into an array at index i, the value
//     goes before element i, or is appended when i is past the end
//     ([last-n] counts from the end, n past the start inserts first).
//   - Remove: the key or the element (within bounds) must exist and is
//     removed.
//   - A path to the root, a missing target, a leg of the wrong kind (an
//     index into an object, a key into an array), an Insert of an existing
//     key, an unknown operation, or an invalid path, document or value is an
//     error naming the diff and its path.
func applyJSONDiffs(doc []byte, diffs []*replication.JsonDiff) ([]byte, error) {
	root, err := parseJSONValue(doc)
	if err != nil {
		return nil, fmt.Errorf("parsing the JSON document a partial update applies to: %w", err)
	}
	for i, d := range diffs {
		if d == nil {
			return nil, fmt.Errorf("JSON diff %d of %d is missing", i+1, len(diffs))
		}
		if err := applyJSONDiff(root, d); err != nil {
			return nil, fmt.Errorf("applying JSON diff %d of %d (%s %q): %w", i+1, len(diffs), d.Op, d.Path, err)
		}
	}
	return root.appendTo(nil), nil
}

// applyJSONDiff applies one diff to root.
func applyJSONDiff(root *jsonValue, d *replication.JsonDiff) error {
	legs, err := parseJSONPath(d.Path)
	if err != nil {
		return err
	}
	if len(legs) == 0 {
		return fmt.Errorf("a diff of the whole document: %w", errJSONDiffRejected)
	}
	var val *jsonValue
	switch d.Op {
	case replication.JsonDiffOperationReplace, replication.JsonDiffOperationInsert:
		if val, err = parseJSONValue([]byte(d.Value)); err != nil {
			return fmt.Errorf("parsing the new value: %w", err)
		}
	case replication.JsonDiffOperationRemove:
	default:
		return fmt.Errorf("unknown JSON diff operation %d", byte(d.Op))
	}
	parent := root.seek(legs[:len(legs)-1])
	if parent == nil {
		return fmt.Errorf("no value at the parent path: %w", errJSONDiffRejected)
	}
	last := legs[len(legs)-1]
	switch {
	case parent.kind == '{' && !last.isIndex:
		return parent.applyMember(d.Op, last.member, val)
	case parent.kind == '[' && last.isIndex:
		return parent.applyElement(d.Op, last, val)
	}
	return fmt.Errorf("the parent is not the object or array the last leg needs: %w", errJSONDiffRejected)
}

// applyMember applies op to key of the object o.
func (o *jsonValue) applyMember(op replication.JsonDiffOperation, key string, val *jsonValue) error {
	i, found := o.find(key)
	switch {
	case op == replication.JsonDiffOperationInsert && found:
		return fmt.Errorf("inserting key %q, which exists: %w", key, errJSONDiffRejected)
	case op == replication.JsonDiffOperationInsert:
		o.keys = slices.Insert(o.keys, i, key)
		o.elems = slices.Insert(o.elems, i, val)
	case !found:
		return fmt.Errorf("no key %q: %w", key, errJSONDiffRejected)
	case op == replication.JsonDiffOperationReplace:
		o.elems[i] = val
	default: // Remove
		o.keys = slices.Delete(o.keys, i, i+1)
		o.elems = slices.Delete(o.elems, i, i+1)
	}
	return nil
}

// applyElement applies op at leg's index of the array a.
func (a *jsonValue) applyElement(op replication.JsonDiffOperation, leg jsonPathLeg, val *jsonValue) error {
	pos, within := leg.position(len(a.elems))
	switch {
	case op == replication.JsonDiffOperationInsert:
		a.elems = slices.Insert(a.elems, pos, val)
	case !within:
		return fmt.Errorf("index %s is out of bounds of an array of %d: %w", leg, len(a.elems), errJSONDiffRejected)
	case op == replication.JsonDiffOperationReplace:
		a.elems[pos] = val
	default: // Remove
		a.elems = slices.Delete(a.elems, pos, pos+1)
	}
	return nil
}

// jsonValue is a parsed JSON value that keeps what MySQL's text keeps: the
// exact text of numbers and the order of object keys.
type jsonValue struct {
	kind   byte         // '{' object, '[' array, 0 scalar
	scalar []byte       // a scalar's compact JSON text
	keys   []string     // an object's keys, in MySQL's order
	elems  []*jsonValue // an object's values (parallel to keys) or an array's elements
}

// mysqlKeyLess orders object keys as MySQL stores and prints them: by
// length in bytes, then bytewise.
func mysqlKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// find returns the index of key in the object o, or where it would go.
func (o *jsonValue) find(key string) (int, bool) {
	return slices.BinarySearchFunc(o.keys, key, func(k, target string) int {
		switch {
		case k == target:
			return 0
		case mysqlKeyLess(k, target):
			return -1
		}
		return 1
	})
}

// seek returns the value at legs below v (exact legs, no auto-wrapping), or
// nil.
func (v *jsonValue) seek(legs []jsonPathLeg) *jsonValue {
	for _, leg := range legs {
		switch {
		case v.kind == '[' && leg.isIndex:
			pos, within := leg.position(len(v.elems))
			if !within {
				return nil
			}
			v = v.elems[pos]
		case v.kind == '{' && !leg.isIndex:
			i, found := v.find(leg.member)
			if !found {
				return nil
			}
			v = v.elems[i]
		default:
			return nil
		}
	}
	return v
}

// parseJSONValue parses one JSON text. Numbers keep their text; object keys
// are put in MySQL's order; a duplicate key is an error (MySQL documents
// have none).
func parseJSONValue(text []byte) (*jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	v, err := readJSONValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("text after the JSON value")
	}
	return v, nil
}

// readJSONValue reads the next value from dec.
func readJSONValue(dec *json.Decoder) (*jsonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &jsonValue{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k.(string)) // the decoder allows only strings here
			}
			e, err := readJSONValue(dec)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, e)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return v, v.sortKeys()
	case string:
		return &jsonValue{scalar: appendJSONString(nil, t)}, nil
	case json.Number:
		return &jsonValue{scalar: []byte(t)}, nil
	case bool:
		return &jsonValue{scalar: strconv.AppendBool(nil, t)}, nil
	case nil:
		return &jsonValue{scalar: []byte("null")}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// sortKeys puts an object's keys in MySQL's order (a no-op for MySQL's own
// text) and rejects duplicates.
func (v *jsonValue) sortKeys() error {
	if v.kind != '{' {
		return nil
	}
	idx := make([]int, len(v.keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch ka, kb := v.keys[a], v.keys[b]; {
		case ka == kb:
			return 0
		case mysqlKeyLess(ka, kb):
			return -1
		}
		return 1
	})
	keys := make([]string, len(idx))
	elems := make([]*jsonValue, len(idx))
	for i, j := range idx {
		keys[i], elems[i] = v.keys[j], v.elems[j]
		if i > 0 && keys[i] == keys[i-1] {
			return fmt.Errorf("duplicate object key %q", keys[i])
		}
	}
	v.keys, v.elems = keys, elems
	return nil
}

// appendTo appends v's compact JSON text to dst.
func (v *jsonValue) appendTo(dst []byte) []byte {
	switch v.kind {
	case '{':
		dst = append(dst, '{')
		for i, k := range v.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = v.elems[i].appendTo(dst)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		for i, e := range v.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.appendTo(dst)
		}
		return append(dst, ']')
	}
	return append(dst, v.scalar...)
}

// appendJSONString appends s as a JSON string: quote, backslash and control
// characters escaped, everything else (s is valid UTF-8) as it is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// jsonPathLeg is one leg of a JSON path: an object member or an array cell.
type jsonPathLeg struct {
	member  string
	isIndex bool
	index   int  // the array index, counted from the end when fromEnd
	fromEnd bool // [last] (index 0) or [last-n]
}

// position resolves an array leg against an array of size elements as
// MySQL's Json_array_index does: the position to use and whether it is
// within the array. An index past the end gives size; [last-n] with n past
// the start gives 0, out of bounds.
func (l jsonPathLeg) position(size int) (pos int, within bool) {
	if l.fromEnd {
		if l.index < size {
			return size - 1 - l.index, true
		}
		return 0, false
	}
	return min(l.index, size), l.index < size
}

// String returns the leg as MySQL writes it.
func (l jsonPathLeg) String() string {
	switch {
	case !l.isIndex:
		return "." + strconv.Quote(l.member)
	case l.fromEnd && l.index == 0:
		return "[last]"
	case l.fromEnd:
		return "[last-" + strconv.Itoa(l.index) + "]"
	}
	return "[" + strconv.Itoa(l.index) + "]"
}

// parseJSONPath parses a MySQL JSON path without wildcards or ranges: $
// followed by .key, ."quoted key" (JSON escapes) and [n], [last], [last-n]
// legs, with optional whitespace between tokens as MySQL allows.
func parseJSONPath(path string) ([]jsonPathLeg, error) {
	p := jsonPathParser{s: path}
	p.space()
	if !p.eat('$') {
		return nil, fmt.Errorf("invalid JSON path %q: it does not start with $", path)
	}
	var legs []jsonPathLeg
	for {
		p.space()
		if p.i == len(p.s) {
			return legs, nil
		}
		var leg jsonPathLeg
		var err error
		switch {
		case p.eat('.'):
			leg.member, err = p.member()
		case p.eat('['):
			leg, err = p.cell()
		default:
			err = fmt.Errorf("unexpected %q", p.s[p.i:])
		}
		if err != nil {
			return nil, fmt.Errorf("invalid JSON path %q at offset %d: %w", path, p.i, err)
		}
		legs = append(legs, leg)
	}
}

// jsonPathParser is the state of parseJSONPath: the path and the offset
// reached.
type jsonPathParser struct {
	s string
	i int
}

func (p *jsonPathParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *jsonPathParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// member parses the key after a '.': a quoted JSON string or a bare name.
func (p *jsonPathParser) member() (string, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		end := p.i + 1
		for end < len(p.s) && p.s[end] != '"' {
			if p.s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.s) {
			return "", errors.New("unterminated quoted key")
		}
		var key string
		if err := json.Unmarshal([]byte(p.s[p.i:end+1]), &key); err != nil {
			return "", fmt.Errorf("quoted key: %w", err)
		}
		p.i = end + 1
		return key, nil
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(".[ \t\n\r\"*", p.s[p.i]) < 0 {
		p.i++
	}
	if p.i == start {
		return "", errors.New("a key is missing (wildcards are not allowed in a diff)")
	}
	if !utf8.ValidString(p.s[start:p.i]) {
		return "", errors.New("the key is not valid UTF-8")
	}
	return p.s[start:p.i], nil
}

// cell parses an array index after a '[': n, last or last-n, then ']'.
func (p *jsonPathParser) cell() (jsonPathLeg, error) {
	leg := jsonPathLeg{isIndex: true}
	p.space()
	if strings.HasPrefix(p.s[p.i:], "last") {
		p.i += len("last")
		leg.fromEnd = true
		p.space()
		if !p.eat('-') {
			return leg, p.closeCell()
		}
		p.space()
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseUint(p.s[start:p.i], 10, 32)
	if err != nil {
		return leg, errors.New("an array index must be a number, last or last-n (wildcards and ranges are not allowed in a diff)")
	}
	leg.index = int(n)
	return leg, p.closeCell()
}

func (p *jsonPathParser) closeCell() error {
	p.space()
	if !p.eat(']') {
		return errors.New("expected ] (ranges are not allowed in a diff)")
	}
	return nil
}
