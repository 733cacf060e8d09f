package worker

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/events"
)

// typeCol is one column of the type matrix: its SQL type, the literal
// written in each of two rows (a third row leaves every column but id
// NULL) and the JSON rendering each must come out as (msgpack is rendered
// by events.ToJSON, which keeps uint64 exact and shows bytes as base64).
// only limits the column to one flavor; wantMySQL overrides want where
// MySQL renders a value differently (its JSON type sorts object keys).
type typeCol struct {
	name, sqlType string
	vals, want    [2]string
	only          string
	wantMySQL     [2]string
}

// pointWKB is the stored form of POINT(x y) with SRID 0: 4 bytes of SRID,
// then WKB, base64 as the JSON codec shows bytes.
func pointWKB(x, y float64) string {
	b := make([]byte, 0, 25)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(y))
	return `"` + base64.StdEncoding.EncodeToString(b) + `"`
}

var typeCols = []typeCol{
	{name: "ti", sqlType: "TINYINT", vals: [2]string{"127", "-128"}, want: [2]string{"127", "-128"}},
	{name: "tiu", sqlType: "TINYINT UNSIGNED", vals: [2]string{"255", "0"}, want: [2]string{"255", "0"}},
	{name: "si", sqlType: "SMALLINT", vals: [2]string{"32767", "-32768"}, want: [2]string{"32767", "-32768"}},
	{name: "siu", sqlType: "SMALLINT UNSIGNED", vals: [2]string{"65535", "0"}, want: [2]string{"65535", "0"}},
	{name: "mi", sqlType: "MEDIUMINT", vals: [2]string{"8388607", "-8388608"}, want: [2]string{"8388607", "-8388608"}},
	{name: "miu", sqlType: "MEDIUMINT UNSIGNED", vals: [2]string{"16777215", "0"}, want: [2]string{"16777215", "0"}},
	{name: "i", sqlType: "INT", vals: [2]string{"2147483647", "-2147483648"}, want: [2]string{"2147483647", "-2147483648"}},
	{name: "iu", sqlType: "INT UNSIGNED", vals: [2]string{"4294967295", "0"}, want: [2]string{"4294967295", "0"}},
	{name: "bi", sqlType: "BIGINT", vals: [2]string{"9223372036854775807", "-9223372036854775808"}, want: [2]string{"9223372036854775807", "-9223372036854775808"}},
	{name: "biu", sqlType: "BIGINT UNSIGNED", vals: [2]string{"18446744073709551615", "0"}, want: [2]string{"18446744073709551615", "0"}},
	{name: "dec1", sqlType: "DECIMAL(65,30)",
		vals: [2]string{"'99999999999999999999999999999999999.999999999999999999999999999999'", "'-99999999999999999999999999999999999.999999999999999999999999999999'"},
		want: [2]string{`"99999999999999999999999999999999999.999999999999999999999999999999"`, `"-99999999999999999999999999999999999.999999999999999999999999999999"`}},
	{name: "dec2", sqlType: "DECIMAL(10,2)", vals: [2]string{"-12345678.90", "0"}, want: [2]string{`"-12345678.90"`, `"0.00"`}},
	{name: "f", sqlType: "FLOAT", vals: [2]string{"1.5", "-1.5"}, want: [2]string{"1.5", "-1.5"}},
	{name: "d", sqlType: "DOUBLE", vals: [2]string{"1.7976931348623157e308", "-2.2250738585072014e-308"}, want: [2]string{"1.7976931348623157e+308", "-2.2250738585072014e-308"}},
	{name: "bit1", sqlType: "BIT(1)", vals: [2]string{"b'1'", "b'0'"}, want: [2]string{"1", "0"}},
	{name: "bit64", sqlType: "BIT(64)", vals: [2]string{"b'1111111111111111111111111111111111111111111111111111111111111111'", "0"}, want: [2]string{"18446744073709551615", "0"}},
	{name: "dt", sqlType: "DATE", vals: [2]string{"'9999-12-31'", "'1000-01-01'"}, want: [2]string{`"9999-12-31"`, `"1000-01-01"`}},
	{name: "dtm", sqlType: "DATETIME(6)", vals: [2]string{"'9999-12-31 23:59:59.999999'", "'1000-01-01 00:00:00.000000'"}, want: [2]string{`"9999-12-31T23:59:59.999999"`, `"1000-01-01T00:00:00.000000"`}},
	{name: "dtm0", sqlType: "DATETIME", vals: [2]string{"'9999-12-31 23:59:59'", "'1000-01-01 00:00:00'"}, want: [2]string{`"9999-12-31T23:59:59"`, `"1000-01-01T00:00:00"`}},
	{name: "dtm3", sqlType: "DATETIME(3)", vals: [2]string{"'2024-02-29 09:05:03.120'", "'1969-12-31 23:59:59.999'"}, want: [2]string{`"2024-02-29T09:05:03.120"`, `"1969-12-31T23:59:59.999"`}},
	{name: "ts2", sqlType: "TIMESTAMP(2) NULL", vals: [2]string{"'2001-09-09 01:46:40.05'", "'1970-01-01 00:00:01.00'"}, want: [2]string{`"2001-09-09T01:46:40.05Z"`, `"1970-01-01T00:00:01.00Z"`}},
	{name: "ts", sqlType: "TIMESTAMP(6) NULL", vals: [2]string{"'2038-01-19 03:14:07.999999'", "'1970-01-01 00:00:01.000000'"}, want: [2]string{`"2038-01-19T03:14:07.999999Z"`, `"1970-01-01T00:00:01.000000Z"`}},
	{name: "tm", sqlType: "TIME(6)", vals: [2]string{"'-838:59:59.000000'", "'-00:00:01.500000'"}, want: [2]string{`"-838:59:59.000000"`, `"-00:00:01.500000"`}},
	{name: "tm0", sqlType: "TIME", vals: [2]string{"'838:59:59'", "'00:00:00'"}, want: [2]string{`"838:59:59"`, `"00:00:00"`}},
	{name: "yr", sqlType: "YEAR", vals: [2]string{"2155", "1901"}, want: [2]string{"2155", "1901"}},
	{name: "ch", sqlType: "CHAR(10)", vals: [2]string{"'abc'", "''"}, want: [2]string{`"abc"`, `""`}},
	{name: "vc", sqlType: "VARCHAR(100)", vals: [2]string{"'héllo 😀'", "''"}, want: [2]string{`"héllo 😀"`, `""`}},
	{name: "tx", sqlType: "TEXT", vals: [2]string{"'😀 text'", "''"}, want: [2]string{`"😀 text"`, `""`}},
	{name: "bn", sqlType: "BINARY(4)", vals: [2]string{"0x00ff", "''"}, want: [2]string{`"AP8AAA=="`, `"AAAAAA=="`}},
	{name: "vb", sqlType: "VARBINARY(10)", vals: [2]string{"0x00ff", "''"}, want: [2]string{`"AP8="`, `""`}},
	{name: "bl", sqlType: "BLOB", vals: [2]string{"0x00ff00", "''"}, want: [2]string{`"AP8A"`, `""`}},
	{name: "en", sqlType: "ENUM('a','b','c')", vals: [2]string{"'c'", "'a'"}, want: [2]string{`"c"`, `"a"`}},
	{name: "st", sqlType: "SET('x','y','z')", vals: [2]string{"'x,z'", "''"}, want: [2]string{`"x,z"`, `""`}},
	{name: "js", sqlType: "JSON", vals: [2]string{`'{"b":1,"a":[1,2.5,"x",null,true]}'`, "'[]'"},
		want: [2]string{`{"b":1,"a":[1,2.5,"x",null,true]}`, `[]`}, wantMySQL: [2]string{`{"a":[1,2.5,"x",null,true],"b":1}`, `[]`}},
	{name: "lat", sqlType: "VARCHAR(10) CHARACTER SET latin1", vals: [2]string{"'café €'", "''"}, want: [2]string{`"café €"`, `""`}},
	{name: "lat2", sqlType: "VARCHAR(20) CHARACTER SET latin2", vals: [2]string{"'Žluťoučký kůň'", "'a'"}, want: [2]string{`"Žluťoučký kůň"`, `"a"`}},
	{name: "cyr", sqlType: "VARCHAR(20) CHARACTER SET cp1251", vals: [2]string{"'Привет'", "''"}, want: [2]string{`"Привет"`, `""`}},
	{name: "u16", sqlType: "VARCHAR(20) CHARACTER SET utf16", vals: [2]string{"'héllo 😀'", "''"}, want: [2]string{`"héllo 😀"`, `""`}},
	{name: "gb", sqlType: "VARCHAR(20) CHARACTER SET gbk", vals: [2]string{"'中文字符'", "''"}, want: [2]string{`"中文字符"`, `""`}},
	{name: "sj", sqlType: "VARCHAR(20) CHARACTER SET sjis", vals: [2]string{"'日本語'", "''"}, want: [2]string{`"日本語"`, `""`}},
	{name: "pt", sqlType: "POINT", vals: [2]string{"ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('POINT(-0.5 1e10)')"}, want: [2]string{pointWKB(1, 2), pointWKB(-0.5, 1e10)}},
	{name: "jsx", sqlType: "JSON", only: "mysql",
		vals: [2]string{"JSON_OBJECT('d', CAST('2024-01-31' AS DATE), 'n', CAST(12.345 AS DECIMAL(10,3)), 't', CAST('2024-01-31 12:34:56.5' AS DATETIME(1)))", "JSON_ARRAY(CAST(-1.5 AS DECIMAL(5,1)), CAST('13:14:15' AS TIME))"},
		want: [2]string{`{"d":"2024-01-31","n":12.345,"t":"2024-01-31 12:34:56.500000"}`, `[-1.5,"13:14:15.000000"]`}},
	{name: "vec", sqlType: "VECTOR(3)", only: "mysql", vals: [2]string{"STRING_TO_VECTOR('[1,2.5,-3]')", "STRING_TO_VECTOR('[0,0,0.25]')"}, want: [2]string{`[1,2.5,-3]`, `[0,0,0.25]`}},
	{name: "uid", sqlType: "UUID", only: "mariadb", vals: [2]string{"'123e4567-e89b-12d3-a456-426614174000'", "'ffffffff-ffff-4fff-8fff-ff0000000000'"},
		want: [2]string{`"123e4567-e89b-12d3-a456-426614174000"`, `"ffffffff-ffff-4fff-8fff-ff0000000000"`}},
}

// typeMatrix returns the columns of the matrix for a flavor, the CREATE
// TABLE of db.types and the INSERTs of its three rows.
func typeMatrix(flavor, db string) (cols []typeCol, create string, inserts []string) {
	var defs, names []string
	for _, c := range typeCols {
		if c.only != "" && c.only != flavor {
			continue
		}
		if flavor == "mysql" && c.wantMySQL[0] != "" {
			c.want = c.wantMySQL
		}
		cols = append(cols, c)
		defs = append(defs, c.name+" "+c.sqlType)
		names = append(names, c.name)
	}
	create = fmt.Sprintf("CREATE TABLE %s.types (id INT PRIMARY KEY, %s)", db, strings.Join(defs, ", "))
	for row := range 2 {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = c.vals[row]
		}
		inserts = append(inserts, fmt.Sprintf("INSERT INTO %s.types (id, %s) VALUES (%d, %s)", db, strings.Join(names, ", "), row+1, strings.Join(vals, ", ")))
	}
	inserts = append(inserts, fmt.Sprintf("INSERT INTO %s.types (id) VALUES (3)", db))
	return cols, create, inserts
}

func TestColumnTypeMatrix(t *testing.T) {
	eachFlavor(t, func(t *testing.T, e *env) {
		e.freshDatabases("tm")
		cols, create, inserts := typeMatrix(e.db.Flavor, "tm")
		e.db.Exec(t, create)
		e.startNode("n1")
		e.startMySQLTask("types-mp", []string{"tm.types"}, "")
		e.startMySQLTask("types-json", []string{"tm.types"}, `,"format":"json"`)
		conn := e.db.Conn(t)
		if _, err := conn.Execute("SET time_zone = '+00:00'"); err != nil {
			t.Fatal(err)
		}
		for _, q := range inserts {
			if _, err := conn.Execute(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// A snapshot reads the same rows through the text protocol: the
		// same values must come out.
		e.command("cmd", "start", "task", "types-snap", "config", e.cdcConfig("initial", []string{"tm.types"}, ""))
		for _, task := range []string{"types-mp", "types-json", "types-snap"} {
			t.Run(task, func(t *testing.T) {
				evs := e.waitEvents(task, len(inserts), 10*time.Second)
				for i := range inserts {
					after := renderAfter(t, evs[i].Raw)
					if got := after["id"]; got != fmt.Sprint(i+1) {
						t.Fatalf("event %d is row %s", i, got)
					}
					for _, c := range cols {
						want := "null"
						if i < 2 {
							want = c.want[i]
						}
						if got := after[c.name]; got != want {
							t.Errorf("row %d column %s (%s) = %s, want %s", i+1, c.name, c.sqlType, got, want)
						}
					}
					if len(after) != len(cols)+1 {
						t.Errorf("row %d has %d columns, want %d", i+1, len(after), len(cols)+1)
					}
				}
			})
		}
	})
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
