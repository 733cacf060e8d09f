package worker

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
)

// The column-type matrix: every MySQL type family at its extremes and NULL,
// in both output formats. want maps each column to the JSON rendering of its
// value (msgpack is rendered by events.ToJSON, which keeps uint64 exact and
// shows bytes as base64).
const typesTable = `CREATE TABLE tm.types (
	id INT PRIMARY KEY,
	ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
	mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
	bi BIGINT, biu BIGINT UNSIGNED,
	dec1 DECIMAL(65,30), dec2 DECIMAL(10,2), f FLOAT, d DOUBLE,
	bit1 BIT(1), bit64 BIT(64),
	dt DATE, dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(6) NULL, tm TIME(6), tm0 TIME, yr YEAR,
	ch CHAR(10), vc VARCHAR(100), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB,
	en ENUM('a','b','c'), st SET('x','y','z'), js JSON,
	lat VARCHAR(10) CHARACTER SET latin1
)`

var typeRows = []struct {
	insert string
	want   map[string]string
}{
	{
		insert: `INSERT INTO tm.types VALUES (1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
			9223372036854775807, 18446744073709551615,
			'99999999999999999999999999999999999.999999999999999999999999999999', -12345678.90, 1.5, 1.7976931348623157e308,
			b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
			'9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', '2038-01-19 03:14:07.999999',
			'-838:59:59.000000', '838:59:59', 2155,
			'abc', 'héllo 😀', '😀 text', 0x00ff, 0x00ff, 0x00ff00,
			'c', 'x,z', '{"b":1,"a":[1,2.5,"x",null,true]}', 'café €')`,
		want: map[string]string{
			"id": `1`, "ti": `127`, "tiu": `255`, "si": `32767`, "siu": `65535`, "mi": `8388607`, "miu": `16777215`,
			"i": `2147483647`, "iu": `4294967295`, "bi": `9223372036854775807`, "biu": `18446744073709551615`,
			"dec1": `"99999999999999999999999999999999999.999999999999999999999999999999"`, "dec2": `"-12345678.90"`,
			"f": `1.5`, "d": `1.7976931348623157e+308`, "bit1": `1`, "bit64": `18446744073709551615`,
			"dt": `"9999-12-31"`, "dtm": `"9999-12-31T23:59:59.999999"`, "dtm0": `"9999-12-31T23:59:59"`,
			"ts": `"2038-01-19T03:14:07.999999Z"`, "tm": `"-838:59:59.000000"`, "tm0": `"838:59:59"`, "yr": `2155`,
			"ch": `"abc"`, "vc": `"héllo 😀"`, "tx": `"😀 text"`, "bn": `"AP8AAA=="`, "vb": `"AP8="`, "bl": `"AP8A"`,
			"en": `"c"`, "st": `"x,z"`, "js": `{"b":1,"a":[1,2.5,"x",null,true]}`, "lat": `"café €"`,
		},
	},
	{
		insert: `INSERT INTO tm.types VALUES (2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0,
			-9223372036854775808, 0,
			'-99999999999999999999999999999999999.999999999999999999999999999999', 0, -1.5, -2.2250738585072014e-308,
			b'0', 0, '1000-01-01', '1000-01-01 00:00:00.000000', '1000-01-01 00:00:00', '1970-01-01 00:00:01.000000',
			'-00:00:01.500000', '00:00:00', 1901, '', '', '', '', '', '', 'a', '', '[]', '')`,
		want: map[string]string{
			"id": `2`, "ti": `-128`, "tiu": `0`, "si": `-32768`, "siu": `0`, "mi": `-8388608`, "miu": `0`,
			"i": `-2147483648`, "iu": `0`, "bi": `-9223372036854775808`, "biu": `0`,
			"dec1": `"-99999999999999999999999999999999999.999999999999999999999999999999"`, "dec2": `"0.00"`,
			"f": `-1.5`, "d": `-2.2250738585072014e-308`, "bit1": `0`, "bit64": `0`,
			"dt": `"1000-01-01"`, "dtm": `"1000-01-01T00:00:00.000000"`, "dtm0": `"1000-01-01T00:00:00"`,
			"ts": `"1970-01-01T00:00:01.000000Z"`, "tm": `"-00:00:01.500000"`, "tm0": `"00:00:00"`, "yr": `1901`,
			"ch": `""`, "vc": `""`, "tx": `""`, "bn": `"AAAAAA=="`, "vb": `""`, "bl": `""`,
			"en": `"a"`, "st": `""`, "js": `[]`, "lat": `""`,
		},
	},
	{
		insert: `INSERT INTO tm.types (id) VALUES (3)`,
		want:   nil, // every column but id NULL
	},
}

func TestColumnTypeMatrix(t *testing.T) {
	e := newEnv(t)
	mariadb.Exec(t, "CREATE DATABASE tm", typesTable)
	e.startNode("n1")
	e.startMySQLTask("types-mp", []string{"tm.types"}, "")
	e.startMySQLTask("types-json", []string{"tm.types"}, `,"format":"json"`)
	conn := mariadb.Conn(t)
	if _, err := conn.Execute("SET time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	for _, r := range typeRows {
		if _, err := conn.Execute(r.insert); err != nil {
			t.Fatalf("%s: %v", r.insert, err)
		}
	}
	// A snapshot reads the same rows through the text protocol: the same
	// values must come out.
	e.command("cmd", "start", "task", "types-snap", "config", mysqlConfigSnapshot([]string{"tm.types"}))
	cols := columnsOf(typeRows[0].want)
	for _, task := range []string{"types-mp", "types-json", "types-snap"} {
		t.Run(task, func(t *testing.T) {
			evs := e.waitEvents(task, len(typeRows), 10*time.Second)
			for i, r := range typeRows {
				after := renderAfter(t, evs[i].Raw)
				for _, c := range cols {
					want := "null"
					if r.want != nil {
						want = r.want[c]
					} else if c == "id" {
						want = "3"
					}
					if got := after[c]; got != want {
						t.Errorf("row %d column %s = %s, want %s", i+1, c, got, want)
					}
				}
				if len(after) != len(cols) {
					t.Errorf("row %d has %d columns, want %d", i+1, len(after), len(cols))
				}
			}
		})
	}
}

func columnsOf(m map[string]string) []string {
	var cols []string
	for c := range m {
		cols = append(cols, c)
	}
	return cols
}

// renderAfter returns each column of the envelope's `after` as compact JSON.
func renderAfter(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	js, err := events.ToJSON(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		After map[string]json.RawMessage `json:"after"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	out := map[string]string{}
	for k, v := range env.After {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatal(err)
		}
		out[k] = strings.TrimSpace(b.String())
	}
	return out
}
