package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
)

func replaceDiff(path, value string) *replication.JsonDiff {
	return &replication.JsonDiff{Op: replication.JsonDiffOperationReplace, Path: path, Value: value}
}

func insertDiff(path, value string) *replication.JsonDiff {
	return &replication.JsonDiff{Op: replication.JsonDiffOperationInsert, Path: path, Value: value}
}

func removeDiff(path string) *replication.JsonDiff {
	return &replication.JsonDiff{Op: replication.JsonDiffOperationRemove, Path: path}
}

// compactJSON returns s without insignificant whitespace, for comparing
// with MySQL's spaced output.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return b.String()
}

// TestApplyJSONDiffsObserved replays partial updates observed on MySQL 9.7.4
// (binlog_row_value_options=PARTIAL_JSON, go-mysql v1.16.0 with
// RenderJSONAsMySQLText): the before image and the diffs as go-mysql gave
// them, and the document SELECT returned after the UPDATE. Where a
// statement changed several paths, go-mysql delivered only the first diff;
// those rows list the diffs MySQL's vector holds, written by hand from the
// statement, and the after document is still the server's.
func TestApplyJSONDiffsObserved(t *testing.T) {
	tests := []struct {
		stmt   string
		before string
		diffs  []*replication.JsonDiff
		after  string // as SELECT printed it
	}{
		{
			stmt:   `JSON_SET(j, '$.a', 2)`,
			before: `{"a":1,"n":1.5,"bb":[1,2,3],"zz":"long string value here","c d":{"x":"y"}}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.a", "2")},
			after:  `{"a": 2, "n": 1.5, "bb": [1, 2, 3], "zz": "long string value here", "c d": {"x": "y"}}`,
		},
		{
			stmt:   `JSON_SET(j, '$.a', 3, '$.bb[1]', 20)`,
			before: `{"a":2,"n":1.5,"bb":[1,2,3],"zz":"long string value here","c d":{"x":"y"}}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.a", "3"), replaceDiff("$.bb[1]", "20")},
			after:  `{"a": 3, "n": 1.5, "bb": [1, 20, 3], "zz": "long string value here", "c d": {"x": "y"}}`,
		},
		{
			stmt:   `JSON_SET(j, '$.new', 5)`,
			before: `{"a":3,"n":1.5,"bb":[1,20,3],"zz":"long string value here","c d":{"x":"y"}}`,
			diffs:  []*replication.JsonDiff{insertDiff("$.new", "5")},
			after:  `{"a": 3, "n": 1.5, "bb": [1, 20, 3], "zz": "long string value here", "c d": {"x": "y"}, "new": 5}`,
		},
		{
			stmt:   `JSON_REPLACE(j, '$."c d".x', 'z')`,
			before: `{"a":3,"n":1.5,"bb":[1,20,3],"zz":"long string value here","c d":{"x":"y"},"new":5}`,
			diffs:  []*replication.JsonDiff{replaceDiff(`$."c d".x`, `"z"`)},
			after:  `{"a": 3, "n": 1.5, "bb": [1, 20, 3], "zz": "long string value here", "c d": {"x": "z"}, "new": 5}`,
		},
		{
			stmt:   `JSON_REMOVE(j, '$.bb[0]')`,
			before: `{"a":3,"n":1.5,"bb":[1,20,3],"zz":"long string value here","c d":{"x":"z"},"new":5}`,
			diffs:  []*replication.JsonDiff{removeDiff("$.bb[0]")},
			after:  `{"a": 3, "n": 1.5, "bb": [20, 3], "zz": "long string value here", "c d": {"x": "z"}, "new": 5}`,
		},
		{
			stmt:   `JSON_SET(j, '$.bb[last]', 99)`,
			before: `{"a":3,"n":1.5,"bb":[20,3],"zz":"long string value here","c d":{"x":"z"},"new":5}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.bb[last]", "99")},
			after:  `{"a": 3, "n": 1.5, "bb": [20, 99], "zz": "long string value here", "c d": {"x": "z"}, "new": 5}`,
		},
		{
			stmt:   `JSON_SET(j, '$.bb[10]', 7)`,
			before: `{"a":3,"n":1.5,"bb":[20,99],"zz":"long string value here","c d":{"x":"z"},"new":5}`,
			diffs:  []*replication.JsonDiff{insertDiff("$.bb[10]", "7")},
			after:  `{"a": 3, "n": 1.5, "bb": [20, 99, 7], "zz": "long string value here", "c d": {"x": "z"}, "new": 5}`,
		},
		{
			stmt:   `JSON_SET(j, '$.a', 1, '$.new', 6, '$.zz', 'short')`,
			before: `{"a":3,"n":1.5,"bb":[20,99,7],"zz":"long string value here","c d":{"x":"z"},"new":5}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.a", "1"), replaceDiff("$.new", "6"), replaceDiff("$.zz", `"short"`)},
			after:  `{"a": 1, "n": 1.5, "bb": [20, 99, 7], "zz": "short", "c d": {"x": "z"}, "new": 6}`,
		},
		{
			stmt:   `JSON_REMOVE(j, '$.new', '$."c d"')`,
			before: `{"a":1,"n":1.5,"bb":[20,99,7],"zz":"short","c d":{"x":"z"},"new":6}`,
			diffs:  []*replication.JsonDiff{removeDiff("$.new"), removeDiff(`$."c d"`)},
			after:  `{"a": 1, "n": 1.5, "bb": [20, 99, 7], "zz": "short"}`,
		},
		{
			stmt:   `JSON_SET(j, '$.bb', JSON_OBJECT('q', 1))`,
			before: `{"a":1,"n":1.5,"bb":[20,99,7],"zz":"short"}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.bb", `{"q":1}`)},
			after:  `{"a": 1, "n": 1.5, "bb": {"q": 1}, "zz": "short"}`,
		},
		{
			stmt:   `JSON_REPLACE(k, '$[0]', 'x')`,
			before: `[1,9,8,3]`,
			diffs:  []*replication.JsonDiff{replaceDiff("$[0]", `"x"`)},
			after:  `["x", 9, 8, 3]`,
		},
		{
			stmt:   `JSON_SET(j, '$."ключ"', 'значение', '$."a\\"b"', 1)`,
			before: `{"a":1,"n":1.5,"bb":{"q":1},"zz":"short"}`,
			diffs:  []*replication.JsonDiff{insertDiff(`$."ключ"`, `"значение"`), insertDiff(`$."a\"b"`, "1")},
			after:  `{"a": 1, "n": 1.5, "bb": {"q": 1}, "zz": "short", "a\"b": 1, "ключ": "значение"}`,
		},
		{
			stmt:   `JSON_SET(j, '$.bb[ 0 ][1]', 9)`,
			before: `{"a":3,"e":"f","bb":[[1,2],[3,4]],"c d":{"x":"y"}}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.bb[0][1]", "9")},
			after:  `{"a": 3, "e": "f", "bb": [[1, 9], [3, 4]], "c d": {"x": "y"}}`,
		},
		{
			stmt:   `JSON_REMOVE(j, '$.bb[last][0]')`,
			before: `{"a":3,"e":"f","bb":[[1,9],[3,4]],"c d":{"x":"y"}}`,
			diffs:  []*replication.JsonDiff{removeDiff("$.bb[last][0]")},
			after:  `{"a": 3, "e": "f", "bb": [[1, 9], [4]], "c d": {"x": "y"}}`,
		},
		{
			stmt:   `JSON_REMOVE(k, '$[last - 1]')`,
			before: `[1,2,3,4,5]`,
			diffs:  []*replication.JsonDiff{removeDiff("$[last-1]")},
			after:  `[1, 2, 3, 5]`,
		},
		{
			stmt:   `JSON_REPLACE(k, '$[last-2]', 7)`,
			before: `[1,2,3,5]`,
			diffs:  []*replication.JsonDiff{replaceDiff("$[last-2]", "7")},
			after:  `[1, 7, 3, 5]`,
		},
		{
			stmt:   `JSON_SET(j, '$.s', 'tab\there "q" \\ é 😀')`,
			before: `{"s":"x"}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.s", `"tab\there \"q\" \\ é 😀"`)},
			after:  `{"s": "tab\there \"q\" \\ é 😀"}`,
		},
		{
			stmt:   `JSON_SET(j, '$."\\u0041"', 1)`,
			before: `{"s":"tab\there \"q\" \\ é 😀"}`,
			diffs:  []*replication.JsonDiff{insertDiff("$.A", "1")},
			after:  `{"A": 1, "s": "tab\there \"q\" \\ é 😀"}`,
		},
		{
			stmt:   `JSON_SET(j, '$.whole', CAST('2024-01-31' AS DATE))`,
			before: `{"whole":1}`,
			diffs:  []*replication.JsonDiff{replaceDiff("$.whole", `"2024-01-31"`)},
			after:  `{"whole": "2024-01-31"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			got, err := applyJSONDiffs([]byte(tt.before), tt.diffs)
			if err != nil {
				t.Fatal(err)
			}
			if want := compactJSON(t, tt.after); string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestApplyJSONDiffs(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		diffs []*replication.JsonDiff
		want  string
	}{
		{"no diffs compacts", `{ "b" : [ 1 , 2 ] , "a" : null }`, nil, `{"a":null,"b":[1,2]}`},
		{"numbers keep their text", `[1.50, -0.0, 1e+20, 18446744073709551615, -9223372036854775808, 0.1000000000000000055511151231257827]`,
			[]*replication.JsonDiff{replaceDiff("$[0]", "100.0")},
			`[100.0,-0.0,1e+20,18446744073709551615,-9223372036854775808,0.1000000000000000055511151231257827]`},
		{"keys sorted by length then bytes", `{"bb":1,"a":2,"c":3,"aaa":4}`,
			[]*replication.JsonDiff{insertDiff("$.ab", "5"), insertDiff("$.b", "6"), insertDiff("$.zzzz", "7"), insertDiff(`$.""`, "8")},
			`{"":8,"a":2,"b":6,"c":3,"ab":5,"bb":1,"aaa":4,"zzzz":7}`},
		{"unicode keys order by UTF-8 bytes", `{"é":1,"zz":2,"ж":3}`,
			[]*replication.JsonDiff{insertDiff(`$."ab"`, "0"), insertDiff(`$."日"`, "4")},
			`{"ab":0,"zz":2,"é":1,"ж":3,"日":4}`},
		{"escaped key in path and document", `{"a\"b":1,"tab\tkey":2}`,
			[]*replication.JsonDiff{replaceDiff(`$."a\"b"`, "10"), replaceDiff(`$."tab\u0009key"`, "20")},
			`{"a\"b":10,"tab\tkey":20}`},
		{"nested objects and arrays", `{"a":{"b":[{"c":[1,2,{"d":"e"}]}]}}`,
			[]*replication.JsonDiff{replaceDiff("$.a.b[0].c[2].d", `"f"`), insertDiff("$.a.b[0].c[2].g", "[true,false]")},
			`{"a":{"b":[{"c":[1,2,{"d":"f","g":[true,false]}]}]}}`},
		{"insert shifts array", `[1,2,3]`, []*replication.JsonDiff{insertDiff("$[1]", `"x"`)}, `[1,"x",2,3]`},
		{"insert at 0", `[1]`, []*replication.JsonDiff{insertDiff("$[0]", "0")}, `[0,1]`},
		{"insert at the end", `[1,2]`, []*replication.JsonDiff{insertDiff("$[2]", "3")}, `[1,2,3]`},
		{"insert past the end appends", `[]`, []*replication.JsonDiff{insertDiff("$[4294967295]", "3")}, `[3]`},
		{"insert before last", `[1,2,3]`, []*replication.JsonDiff{insertDiff("$[last]", "9")}, `[1,2,9,3]`},
		{"insert at last-n past the start goes first", `[1,2]`, []*replication.JsonDiff{insertDiff("$[last-5]", "0")}, `[0,1,2]`},
		{"remove from object and array", `{"a":[1,2,3],"b":1}`,
			[]*replication.JsonDiff{removeDiff("$.b"), removeDiff("$.a[1]"), removeDiff("$.a[last]")},
			`{"a":[1]}`},
		{"diffs see earlier diffs", `{"a":[]}`,
			[]*replication.JsonDiff{insertDiff("$.a[0]", `{}`), insertDiff("$.a[0].k", `"v"`), replaceDiff("$.a[last].k", `"w"`)},
			`{"a":[{"k":"w"}]}`},
		{"replace with a container", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.a", `{"y":1, "x":[null]}`)}, `{"a":{"x":[null],"y":1}}`},
		{"whitespace in paths", `{"a":[0,{"b":1}]}`, []*replication.JsonDiff{replaceDiff(" $ . a [ last ] . b ", "2"), replaceDiff("$.a[ last - 1 ]", "3")},
			`{"a":[3,{"b":2}]}`},
		{"string escapes re-encoded", `["\u00e9\u0001\/\ud83d\ude00"]`, []*replication.JsonDiff{insertDiff("$[1]", `"<&>"`)},
			`["é\u0001/😀","<&>"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyJSONDiffs([]byte(tt.doc), tt.diffs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

func TestApplyJSONDiffsErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		diffs    []*replication.JsonDiff
		want     string // in the error
		rejected bool   // errors.Is(err, errJSONDiffRejected)
	}{
		{"replace missing key", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.b", "1")},
			`applying JSON diff 1 of 1 (Replace "$.b"): no key "b"`, true},
		{"replace out of bounds", `[1]`, []*replication.JsonDiff{replaceDiff("$[1]", "1")}, `index [1] is out of bounds of an array of 1`, true},
		{"replace last of empty", `[]`, []*replication.JsonDiff{replaceDiff("$[last]", "1")}, `index [last] is out of bounds`, true},
		{"insert existing key", `{"a":1}`, []*replication.JsonDiff{insertDiff("$.a", "2")}, `inserting key "a", which exists`, true},
		{"remove missing key", `{"a":1}`, []*replication.JsonDiff{removeDiff("$.b")}, `no key "b"`, true},
		{"remove out of bounds", `[1]`, []*replication.JsonDiff{removeDiff("$[last-1]")}, `index [last-1] is out of bounds`, true},
		{"missing parent", `{"a":1}`, []*replication.JsonDiff{insertDiff("$.x.y", "1")}, `no value at the parent path`, true},
		{"index into an object", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$[0]", "1")}, `the parent is not the object or array`, true},
		{"key into an array", `[1]`, []*replication.JsonDiff{removeDiff("$.a")}, `the parent is not the object or array`, true},
		{"into a scalar", `{"a":1}`, []*replication.JsonDiff{insertDiff("$.a.b", "1")}, `the parent is not the object or array`, true},
		{"root", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$", "1")}, `a diff of the whole document`, true},
		{"second diff fails", `{"a":1}`, []*replication.JsonDiff{removeDiff("$.a"), removeDiff("$.a")},
			`applying JSON diff 2 of 2 (Remove "$.a"): no key "a"`, true},
		{"wildcard", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.*", "1")}, `invalid JSON path "$.*" at offset 2: a key is missing`, false},
		{"array wildcard", `[1]`, []*replication.JsonDiff{replaceDiff("$[*]", "1")}, `invalid JSON path "$[*]"`, false},
		{"ellipsis", `[1]`, []*replication.JsonDiff{replaceDiff("$**.a", "1")}, `invalid JSON path "$**.a"`, false},
		{"range", `[1]`, []*replication.JsonDiff{replaceDiff("$[0 to 1]", "1")}, `expected ]`, false},
		{"no dollar", `[1]`, []*replication.JsonDiff{replaceDiff("[0]", "1")}, `it does not start with $`, false},
		{"unterminated quote", `{"a":1}`, []*replication.JsonDiff{replaceDiff(`$."a`, "1")}, `unterminated quoted key`, false},
		{"bad escape", `{"a":1}`, []*replication.JsonDiff{replaceDiff(`$."\x"`, "1")}, `quoted key`, false},
		{"unclosed index", `[1]`, []*replication.JsonDiff{replaceDiff(`$[0`, "1")}, `expected ]`, false},
		{"negative index", `[1]`, []*replication.JsonDiff{replaceDiff(`$[-1]`, "1")}, `an array index must be`, false},
		{"invalid value", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.a", "{")}, `parsing the new value`, false},
		{"empty value", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.a", "")}, `parsing the new value`, false},
		{"value with trailing text", `{"a":1}`, []*replication.JsonDiff{replaceDiff("$.a", "1 2")}, `text after the JSON value`, false},
		{"invalid document", `{"a":`, []*replication.JsonDiff{removeDiff("$.a")}, `parsing the JSON document`, false},
		{"empty document", ``, []*replication.JsonDiff{removeDiff("$.a")}, `parsing the JSON document`, false},
		{"duplicate keys", `{"a":1,"a":2}`, nil, `duplicate object key "a"`, false},
		{"unknown op", `{"a":1}`, []*replication.JsonDiff{{Op: 7, Path: "$.a"}}, `unknown JSON diff operation 7`, false},
		{"nil diff", `{"a":1}`, []*replication.JsonDiff{nil}, `JSON diff 1 of 1 is missing`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyJSONDiffs([]byte(tt.doc), tt.diffs)
			if err == nil {
				t.Fatalf("got %s, want an error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if errors.Is(err, errJSONDiffRejected) != tt.rejected {
				t.Errorf("error %q: errors.Is(errJSONDiffRejected) = %v, want %v", err, !tt.rejected, tt.rejected)
			}
		})
	}
}

func TestApplyJSONDiffsLeavesInputAlone(t *testing.T) {
	doc := []byte(`{"a":[1,2]}`)
	diff := []*replication.JsonDiff{removeDiff("$.a[0]")}
	if _, err := applyJSONDiffs(doc, diff); err != nil {
		t.Fatal(err)
	}
	if string(doc) != `{"a":[1,2]}` {
		t.Errorf("the before image changed to %s", doc)
	}
}
