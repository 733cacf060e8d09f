package source

import (
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/schema"
)

// fastColumnCase is a column of fastTable: its table-map type and
// metadata, its definition in the history and a value for a row image.
type fastColumnCase struct {
	fake fakeColumn
	def  schema.Column
}

// fastCases has a column of every type fastImage decodes, in each of its
// kinds: signed and unsigned integers, DECIMAL, FLOAT, DOUBLE, DATE,
// YEAR, DATETIME and TIMESTAMP of several precisions, character data in
// UTF-8 and latin1, binary data, BINARY(n) and BLOB and TEXT.
func fastCases() []fastColumnCase {
	col := func(name, dt string, mod func(*schema.Column)) schema.Column {
		c := schema.Column{Name: name, DataType: dt, Type: dt, Nullable: true}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	unsigned := func(c *schema.Column) { c.Unsigned = true }
	scale := func(n int) func(*schema.Column) { return func(c *schema.Column) { c.Scale = n } }
	charset := func(cs string, n int) func(*schema.Column) {
		return func(c *schema.Column) { c.Charset, c.Length = cs, n }
	}
	return []fastColumnCase{
		{fakeColumn{mysql.MYSQL_TYPE_LONG, nil, le(4, 1)}, col("id", "int", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_TINY, nil, []byte{0xff}}, col("ti", "tinyint", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_TINY, nil, []byte{0xff}}, col("tu", "tinyint", unsigned)},
		{fakeColumn{mysql.MYSQL_TYPE_SHORT, nil, le(2, 0x8000)}, col("si", "smallint", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_SHORT, nil, le(2, 0xffff)}, col("su", "smallint", unsigned)},
		{fakeColumn{mysql.MYSQL_TYPE_INT24, nil, le(3, 0x800000)}, col("mi", "mediumint", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_INT24, nil, le(3, 0xffffff)}, col("mu", "mediumint", unsigned)},
		{fakeColumn{mysql.MYSQL_TYPE_LONG, nil, le(4, 0xfffffffe)}, col("ii", "int", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_LONG, nil, le(4, 0xfffffffe)}, col("iu", "int", unsigned)},
		{fakeColumn{mysql.MYSQL_TYPE_LONGLONG, nil, le(8, math.MaxUint64)}, col("bi", "bigint", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_LONGLONG, nil, le(8, math.MaxUint64)}, col("bu", "bigint", unsigned)},
		{fakeColumn{mysql.MYSQL_TYPE_NEWDECIMAL, []byte{10, 2}, decimalBin("-12345678.05", 10, 2)}, col("d1", "decimal", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_NEWDECIMAL, []byte{30, 12}, decimalBin("123456789012345678.000000000001", 30, 12)}, col("d2", "decimal", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_NEWDECIMAL, []byte{5, 5}, decimalBin("0.00500", 5, 5)}, col("d3", "decimal", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_NEWDECIMAL, []byte{65, 0}, decimalBin("-"+strings.Repeat("9", 65), 65, 0)}, col("d4", "decimal", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_FLOAT, []byte{4}, le(4, uint64(math.Float32bits(-1.5)))}, col("f", "float", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_DOUBLE, []byte{8}, le(8, math.Float64bits(math.Pi))}, col("db", "double", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_DATE, nil, le(3, 2024*16*32+2*32+29)}, col("da", "date", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_YEAR, nil, []byte{124}}, col("y", "year", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_DATETIME2, []byte{0}, datetime2(2024, 1, 31, 12, 34, 56, 0, 0)}, col("dt0", "datetime", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_DATETIME2, []byte{3}, datetime2(2024, 1, 31, 12, 34, 56, 789000, 3)}, col("dt3", "datetime", scale(3))},
		{fakeColumn{mysql.MYSQL_TYPE_DATETIME2, []byte{6}, datetime2(1969, 12, 31, 23, 59, 59, 999999, 6)}, col("dt6", "datetime", scale(6))},
		{fakeColumn{mysql.MYSQL_TYPE_DATETIME2, []byte{1}, datetime2(0, 0, 0, 0, 0, 0, 0, 1)}, col("dtz", "datetime", scale(1))},
		{fakeColumn{mysql.MYSQL_TYPE_TIMESTAMP2, []byte{0}, be(4, 1700000000)}, col("ts0", "timestamp", nil)},
		{fakeColumn{mysql.MYSQL_TYPE_TIMESTAMP2, []byte{4}, append(be(4, 1700000000), be(2, 1234)...)}, col("ts4", "timestamp", scale(4))},
		{fakeColumn{mysql.MYSQL_TYPE_TIMESTAMP2, []byte{5}, append(be(4, 0), be(3, 0)...)}, col("tsz", "timestamp", scale(5))},
		{fakeColumn{mysql.MYSQL_TYPE_VARCHAR, le(2, 1200), append(le(2, 5), "ünï"...)}, col("v", "varchar", charset("utf8mb4", 300))},
		{fakeColumn{mysql.MYSQL_TYPE_VARCHAR, le(2, 20), append([]byte{3}, "a\xe9b"...)}, col("vl", "varchar", charset("latin1", 20))},
		{fakeColumn{mysql.MYSQL_TYPE_VARCHAR, le(2, 255), []byte{0}}, col("ve", "varchar", charset("ascii", 255))},
		{fakeColumn{mysql.MYSQL_TYPE_VARCHAR, le(2, 300), append(le(2, 2), 0, 1)}, col("vb", "varbinary", charset("binary", 300))},
		{fakeColumn{mysql.MYSQL_TYPE_STRING, []byte{mysql.MYSQL_TYPE_STRING, 40}, append([]byte{2}, "hi"...)}, col("c", "char", charset("utf8mb4", 10))},
		{fakeColumn{mysql.MYSQL_TYPE_STRING, []byte{0xee, 0x90}, append(le(2, 2), "yz"...)}, col("c4", "char", charset("utf8mb4", 100))},
		{fakeColumn{mysql.MYSQL_TYPE_STRING, []byte{mysql.MYSQL_TYPE_STRING, 4}, append([]byte{2}, 1, 2)}, col("bn", "binary", charset("binary", 4))},
		{fakeColumn{mysql.MYSQL_TYPE_BLOB, []byte{2}, append(le(2, 3), 0, 1, 2)}, col("bl", "blob", charset("binary", 0))},
		{fakeColumn{mysql.MYSQL_TYPE_BLOB, []byte{3}, append(le(3, 5), "texts"...)}, col("tx", "mediumtext", charset("utf8mb4", 0))},
		{fakeColumn{mysql.MYSQL_TYPE_BLOB, []byte{1}, append([]byte{2}, "\xe0\xe1"...)}, col("tl", "tinytext", charset("latin1", 0))},
	}
}

// datetime2 is a DATETIME(dec) in MySQL's binary form.
func datetime2(year, month, day, hour, minute, second, usec, dec int) []byte {
	ym := int64(year*13 + month)
	packed := (ym<<5|int64(day))<<17 | int64(hour)<<12 | int64(minute)<<6 | int64(second)
	b := be(5, uint64(packed+0x8000000000))
	switch dec {
	case 1, 2:
		return append(b, byte(usec/10000))
	case 3, 4:
		return append(b, be(2, uint64(usec/100))...)
	case 5, 6:
		return append(b, be(3, uint64(usec))...)
	}
	return b
}

// be is v in n big-endian bytes.
func be(n int, v uint64) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// fastTable is the table of cases, as a fake table map and as the
// tableInfo the reader builds from the table map and the history.
func fastTable(t testing.TB, cases []fastColumnCase) (fakeTable, *tableInfo) {
	t.Helper()
	var ft fakeTable
	def := &schema.Table{DB: "d", Name: "t", PrimaryKey: []string{cases[0].def.Name}}
	for _, c := range cases {
		ft.cols = append(ft.cols, c.fake)
		def.Columns = append(def.Columns, c.def)
	}
	evs, err := parseAsSource(readRowsEvent, ft.tableMap())
	if err != nil {
		t.Fatal(err)
	}
	info, err := describe(evs[1].Event.(*replication.TableMapEvent), def, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ft, info
}

// parseAsSource parses events after a format description with a parser
// set up as the source's syncer sets up its own (MySQL.Run), decode being
// its RowsEventDecodeFunc.
func parseAsSource(decode func(*replication.RowsEvent, []byte) error, events ...[]byte) ([]*replication.BinlogEvent, error) {
	p := replication.NewBinlogParser()
	p.SetFlavor(mysql.MySQLFlavor)
	p.SetParseTime(true)
	p.SetTimestampStringLocation(time.UTC)
	p.SetRenderJSONAsMySQLText(true)
	p.SetRowsEventDecodeFunc(decode)
	return parseEvents(p, events...)
}

// decodeBoth decodes the rows event built from images both ways: by
// go-mysql then tableInfo.convert, and by fastImage. slowErr is
// go-mysql's or convert's error, fastErr fastImage's.
func decodeBoth(ft fakeTable, info *tableInfo, tp replication.EventType, bitmap1, bitmap2, images []byte) (slow, fast [][]any, slowErr, fastErr error) {
	// Clipped: go-mysql slices values without checking the length, so
	// it would read past the images' end into spare capacity.
	event := slices.Clip(rowsEvent(tp, len(ft.cols), bitmap1, bitmap2, images))
	evs, err := parseAsSource(decodeRowsEvent, ft.tableMap(), event)
	if err != nil {
		slowErr = err
	} else {
		e := evs[2].Event.(*replication.RowsEvent)
		for i, row := range e.Rows {
			img, err := info.convert(nil, row, e.SkippedColumns[i], nil)
			if err != nil {
				slowErr = err
				break
			}
			slow = append(slow, img)
		}
	}
	evs, err = parseAsSource(readRowsEvent, ft.tableMap(), event)
	if err != nil {
		return slow, nil, slowErr, err
	}
	e := evs[2].Event.(*replication.RowsEvent)
	raw, ok := deferredRows(e)
	if !ok {
		return slow, nil, slowErr, fmt.Errorf("readRowsEvent left no row images")
	}
	fast, err = fastImages(info, e, raw)
	return slow, fast, slowErr, err
}

// fastImages decodes every row image of e, raw, with fastImage: an
// update's before and after images in turn.
func fastImages(info *tableInfo, e *replication.RowsEvent, raw []byte) ([][]any, error) {
	var imgs [][]any
	r := &imageReader{table: e.Table, data: raw}
	for n := 0; r.pos < len(r.data); n++ {
		bitmap := e.ColumnBitmap1
		if e.ColumnBitmap2 != nil && n%2 == 1 {
			bitmap = e.ColumnBitmap2
		}
		img, err := info.fastImage(nil, r, bitmap)
		if err != nil {
			return imgs, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

func TestFastImageMatchesGoMySQL(t *testing.T) {
	cases := fastCases()
	ft, info := fastTable(t, cases)
	if !info.fast {
		t.Fatal("the table of fast columns is not decoded fast")
	}
	n := len(cases)
	all := slices.Repeat([]byte{0xff}, (n+7)/8)
	some := slices.Clone(all)
	some[0] &^= 0b110 // columns 2 and 3 left out
	vals := ft.values(nil)
	other := ft.values(map[int][]byte{
		1:  {0x7f},
		9:  le(8, 1<<63),
		11: decimalBin("0.00", 10, 2),
		13: decimalBin("-0.00001", 5, 5),
		19: datetime2(1970, 1, 1, 0, 0, 0, 0, 0),
		20: datetime2(2024, 0, 15, 1, 2, 3, 4000, 3), // a zero month
		21: datetime2(9999, 12, 31, 23, 59, 59, 999999, 6),
		23: be(4, 1),
		26: le(2, 0),
		29: le(2, 0),
		32: []byte{0},
	})
	image := func(vals [][]byte, bitmap []byte, nulls map[int]bool) []byte {
		nullBits, present := present(vals, bitmap, nulls)
		return rowImage(nullBits, present...)
	}
	nullEvery := map[int]bool{}
	for i := 1; i < n; i += 2 {
		nullEvery[i] = true
	}
	tests := []struct {
		name             string
		tp               replication.EventType
		bitmap1, bitmap2 []byte
		images           []byte
	}{
		{"insert", replication.WRITE_ROWS_EVENTv2, all, nil,
			slices.Concat(image(vals, all, nil), image(other, all, nil), image(vals, all, nullEvery))},
		{"insert v1", replication.WRITE_ROWS_EVENTv1, all, nil, image(other, all, nil)},
		{"delete minimal", replication.DELETE_ROWS_EVENTv2, some, nil, slices.Concat(image(vals, some, nil), image(other, some, nullEvery))},
		{"update", replication.UPDATE_ROWS_EVENTv2, all, some,
			slices.Concat(image(vals, all, nil), image(other, some, nil), image(other, all, nullEvery), image(vals, some, nil))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slow, fast, slowErr, fastErr := decodeBoth(ft, info, tc.tp, tc.bitmap1, tc.bitmap2, tc.images)
			if slowErr != nil || fastErr != nil {
				t.Fatalf("go-mysql: %.300v; fastImage: %v", slowErr, fastErr)
			}
			if len(slow) == 0 || !reflect.DeepEqual(slow, fast) {
				t.Fatalf("go-mysql and convert:\n%#v\nfastImage:\n%#v", slow, fast)
			}
		})
	}
	// Spot checks of what both give, so that both cannot be wrong alike.
	slow, _, _, _ := decodeBoth(ft, info, replication.WRITE_ROWS_EVENTv2, all, nil, image(vals, all, nil))
	want := map[string]any{
		"ti": int64(-1), "tu": uint64(255), "mi": int64(-0x800000), "mu": uint64(0xffffff), "bi": int64(-1), "bu": uint64(math.MaxUint64),
		"d1": "-12345678.05", "d2": "123456789012345678.000000000001", "d3": "0.00500", "d4": "-" + strings.Repeat("9", 65),
		"da": "2024-02-29", "y": int64(2024), "dt3": "2024-01-31T12:34:56.789", "dt6": "1969-12-31T23:59:59.999999",
		"dtz": "0000-00-00T00:00:00.0", "ts0": "2023-11-14T22:13:20Z", "ts4": "2023-11-14T22:13:20.1234Z", "tsz": "0000-00-00T00:00:00.00000Z",
		"v": "ünï", "vl": "aéb", "ve": "", "vb": []byte{0, 1}, "c4": "yz", "bn": []byte{1, 2, 0, 0}, "tx": "texts", "tl": "àá",
	}
	for i, c := range cases {
		if w, ok := want[c.def.Name]; ok && !reflect.DeepEqual(slow[0][i], w) {
			t.Errorf("column %s: %#v, want %#v", c.def.Name, slow[0][i], w)
		}
	}
}

// TestFastColumns checks which columns fastImage takes: JSON, BIT, ENUM,
// SET, TIME, geometry and the MariaDB types go to go-mysql.
func TestFastColumns(t *testing.T) {
	for _, c := range fastCases() {
		info := &tableInfo{kinds: make([]kind, 1), labels: make([][]string, 1), pad: make([]int, 1), fsp: make([]int, 1),
			decode: make([]func([]byte) (string, error), 1), blobby: make([]bool, 1)}
		if err := info.setKind(0, &c.def); err != nil {
			t.Fatal(err)
		}
		if !fastColumn(c.fake.tp, metaOf(c.fake), info.kinds[0]) {
			t.Errorf("column %s (%s, type %d) is not decoded fast", c.def.Name, c.def.DataType, c.fake.tp)
		}
	}
	slow := []struct {
		tp   byte
		meta uint16
		k    kind
	}{
		{mysql.MYSQL_TYPE_JSON, 4, kindJSON},
		{mysql.MYSQL_TYPE_BLOB, 4, kindJSON}, // MariaDB's JSON
		{mysql.MYSQL_TYPE_BIT, 0x0101, kindBit},
		{mysql.MYSQL_TYPE_STRING, uint16(mysql.MYSQL_TYPE_ENUM)<<8 | 1, kindEnum},
		{mysql.MYSQL_TYPE_STRING, uint16(mysql.MYSQL_TYPE_SET)<<8 | 2, kindSet},
		{mysql.MYSQL_TYPE_TIME2, 3, kindTime},
		{mysql.MYSQL_TYPE_GEOMETRY, 4, kindBytes},
		{mysql.MYSQL_TYPE_STRING, uint16(mysql.MYSQL_TYPE_STRING)<<8 | 16, kindUUID},
		{mysql.MYSQL_TYPE_STRING, uint16(mysql.MYSQL_TYPE_STRING)<<8 | 16, kindInet6},
		{mysql.MYSQL_TYPE_DATETIME2, 7, kindDatetime},
		{mysql.MYSQL_TYPE_NEWDECIMAL, 0x0203, kindPass}, // scale above precision
		{mysql.MYSQL_TYPE_LONG, 0, kindInet4},
	}
	for _, c := range slow {
		if fastColumn(c.tp, c.meta, c.k) {
			t.Errorf("type %d, metadata %#x, kind %d is decoded fast", c.tp, c.meta, c.k)
		}
	}
}

// metaOf is a fake column's metadata as go-mysql reads it from the table
// map.
func metaOf(c fakeColumn) uint16 {
	switch len(c.meta) {
	case 0:
		return 0
	case 1:
		return uint16(c.meta[0])
	}
	if c.tp == mysql.MYSQL_TYPE_VARCHAR {
		return uint16(c.meta[0]) | uint16(c.meta[1])<<8
	}
	return uint16(c.meta[0])<<8 | uint16(c.meta[1])
}

// FuzzFastImage decodes arbitrary row images of the fast table both ways:
// fastImage never panics, and whatever go-mysql and convert decode
// without an error, fastImage decodes to the same values.
func FuzzFastImage(f *testing.F) {
	cases := fastCases()
	ft, info := fastTable(f, cases)
	n := len(cases)
	all := slices.Repeat([]byte{0xff}, (n+7)/8)
	nullBits, present := present(ft.values(nil), all, nil)
	f.Add(rowImage(nullBits, present...), byte(0xff))
	f.Add(rowImage(make([]bool, n)), byte(0x0f))
	f.Add(slices.Concat(rowImage(nullBits, present...), rowImage(nullBits, present...)), byte(0xf0))
	f.Fuzz(func(t *testing.T, images []byte, mask byte) {
		bitmap := slices.Clone(all)
		bitmap[1] &= mask
		slow, fast, slowErr, fastErr := decodeBoth(ft, info, replication.WRITE_ROWS_EVENTv2, bitmap, nil, images)
		if slowErr != nil {
			return
		}
		if fastErr != nil {
			t.Fatalf("go-mysql decodes the images, fastImage fails: %v", fastErr)
		}
		if !sameImages(slow, fast) {
			t.Fatalf("go-mysql and convert:\n%#v\nfastImage:\n%#v", slow, fast)
		}
	})
}

// sameImages reports whether fastImage's images equal go-mysql's but for
// DATETIME values on days the calendar lacks (2024-02-30), which go-mysql
// turns into the next month's (2024-03-01) and fastImage keeps.
func sameImages(slow, fast [][]any) bool {
	if len(slow) != len(fast) {
		return false
	}
	for i := range slow {
		if len(slow[i]) != len(fast[i]) {
			return false
		}
		for c := range slow[i] {
			if reflect.DeepEqual(slow[i][c], fast[i][c]) || bothNaN(slow[i][c], fast[i][c]) {
				continue
			}
			s, ok1 := slow[i][c].(string)
			f, ok2 := fast[i][c].(string)
			if !ok1 || !ok2 || normalDate(f) != s {
				return false
			}
		}
	}
	return true
}

func bothNaN(a, b any) bool {
	nan := func(v any) bool {
		switch x := v.(type) {
		case float32:
			return x != x
		case float64:
			return math.IsNaN(x)
		}
		return false
	}
	return nan(a) && nan(b)
}

// normalDate is datetime text with a date past its month's end moved to
// the next month, as time.Date moves it.
func normalDate(text string) string {
	if len(text) < 10 || text[4] != '-' || text[7] != '-' {
		return text
	}
	y, err1 := strconv.Atoi(text[:4])
	m, err2 := strconv.Atoi(text[5:7])
	d, err3 := strconv.Atoi(text[8:10])
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 {
		return text
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Format("2006-01-02") + text[10:]
}

// TestFastImageLive writes rows of every fast type, edge values among
// them, on MariaDB and MySQL, and decodes each rows event of the binlog
// both ways.
func TestFastImageLive(t *testing.T) {
	for _, flavor := range []string{"mariadb", "mysql"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			var db *testenv.DB
			if flavor == "mysql" {
				db = testenv.StartMySQL(t)
			} else {
				db = testenv.StartMariaDB(t)
			}
			conn := db.Conn(t)
			db.Exec(t, "CREATE DATABASE f",
				`CREATE TABLE f.t (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
					mi MEDIUMINT, mu MEDIUMINT UNSIGNED, ii INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
					d1 DECIMAL(10,2), d2 DECIMAL(30,12), d3 DECIMAL(5,5), d4 DECIMAL(65,0), f FLOAT, db DOUBLE,
					da DATE, y YEAR, dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6), ts0 TIMESTAMP NULL, ts4 TIMESTAMP(4) NULL,
					v VARCHAR(300) CHARACTER SET utf8mb4, vl VARCHAR(20) CHARACTER SET latin1, vb VARBINARY(300),
					c CHAR(10) CHARACTER SET utf8mb4, c4 CHAR(100) CHARACTER SET utf8mb4, bn BINARY(4),
					bl BLOB, tx MEDIUMTEXT CHARACTER SET utf8mb4, tl TINYTEXT CHARACTER SET latin1)`,
				"CREATE TABLE f.s (id INT PRIMARY KEY, e ENUM('a', 'b'), dt DATETIME(2))")
			var pos mysql.Position
			if flavor == "mysql" {
				pos = binlogEnd(t, conn)
			} else {
				res, err := conn.Execute("SHOW BINLOG STATUS")
				if err != nil {
					t.Fatal(err)
				}
				file, _ := res.GetString(0, 0)
				at, _ := res.GetInt(0, 1)
				pos = mysql.Position{Name: file, Pos: uint32(at)}
			}
			stmts := []string{
				"SET SESSION time_zone = '+00:00', sql_mode = 'ALLOW_INVALID_DATES'",
				`INSERT INTO f.t VALUES
					(1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
					 -12345678.05, 123456789012345678.000000000001, 0.00500, -99999999999999999999999999999999999999999999999999999999999999999, -1.5, 3.141592653589793,
					 '2024-02-29', 2024, '1000-01-01 00:00:00', '1969-12-31 23:59:59.999', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', '2038-01-19 03:14:07.9999',
					 'ünïcödé ✓', 'café', x'00ff00', 'hi', REPEAT('z', 100), x'0102', x'000102', REPEAT('t', 70000), 'àá'),
					(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0000-00-00', 0, '0000-00-00 00:00:00', '2024-00-15 01:02:03.004', '2024-02-30 00:00:00', NULL, NULL,
					 '', '', '', '', '', '', '', '', ''),
					(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
					 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
				"UPDATE f.t SET d1 = -0.01, dt6 = '1970-01-01 00:00:00.000001', v = CONCAT(v, '!'), bu = 1 WHERE id IN (1, 2)",
				"DELETE FROM f.t WHERE id = 2",
				"INSERT INTO f.s VALUES (1, 'b', '2023-02-29 01:02:03.45'), (2, 'a', '2023-03-01 01:02:03.45'), (3, NULL, '1960-04-31 00:00:00')",
			}
			for _, s := range stmts {
				if _, err := conn.Execute(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			def, err := loadTable(conn, Endpoint{Host: db.Host, Port: db.Port}, flavor, "f", "t")
			if err != nil || def == nil {
				t.Fatalf("reading f.t's definition: %v", err)
			}
			syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
				ServerID: 7102, Flavor: flavor, Host: db.Host, Port: uint16(db.Port),
				User: testenv.DBUser, Password: testenv.DBPassword, Logger: slog.New(slog.DiscardHandler),
				TimestampStringLocation: time.UTC, ParseTime: true, RenderJSONAsMySQLText: true, RowsEventDecodeFunc: readRowsEvent,
			})
			t.Cleanup(syncer.Close)
			stream, err := syncer.StartSync(pos)
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := liveEvents(t, stream, len(stmts)-1)
			rows := 0
			defS, err := loadTable(conn, Endpoint{Host: db.Host, Port: db.Port}, flavor, "f", "s")
			if err != nil || defS == nil {
				t.Fatalf("reading f.s's definition: %v", err)
			}
			var dts []any
			for _, ev := range evs {
				e, ok := ev.Event.(*replication.RowsEvent)
				if ok && string(e.Table.Table) == "s" {
					// An ENUM: go-mysql decodes the table, keepDatetimes
					// keeps each DATETIME as MySQL shows it.
					info, err := describe(e.Table, defS, "live")
					if err != nil {
						t.Fatal(err)
					}
					raw, _ := deferredRows(e)
					if info.fast {
						t.Fatal("f.s, with an ENUM, is decoded fast")
					}
					if err := decodeRowsData(e, raw); err != nil {
						t.Fatal(err)
					}
					if err := info.keepDatetimes(e, ev.Header.EventType, raw); err != nil {
						t.Fatal(err)
					}
					for k, row := range e.Rows {
						img, err := info.convert(nil, row, e.SkippedColumns[k], nil)
						if err != nil {
							t.Fatal(err)
						}
						dts = append(dts, img[2])
					}
				}
				if !ok || string(e.Table.Table) != "t" {
					continue
				}
				info, err := describe(e.Table, def, "live")
				if err != nil {
					t.Fatal(err)
				}
				if !info.fast || !plainRows(ev.Header.EventType) {
					t.Fatalf("f.t's %s events are not decoded fast", ev.Header.EventType)
				}
				raw, _ := deferredRows(e)
				got, err := fastImages(info, e, raw)
				if err != nil {
					t.Fatalf("fastImage: %v", err)
				}
				if err := decodeRowsData(e, raw); err != nil {
					t.Fatal(err)
				}
				for k, row := range e.Rows {
					want, err := info.convert(nil, row, e.SkippedColumns[k], nil)
					if err != nil {
						t.Fatal(err)
					}
					if k >= len(got) || !sameImages([][]any{want}, got[k:k+1]) {
						t.Errorf("%s image %d:\nfastImage %#v\ngo-mysql  %#v", ev.Header.EventType, k, got, want)
					}
					rows++
					if e.Type() == replication.EnumRowsEventTypeInsert && k < len(got) && got[k][0] == int64(2) && got[k][21] != "2024-02-30T00:00:00.000000" {
						t.Errorf("row 2's dt6 is %#v, want MySQL's text 2024-02-30T00:00:00.000000", got[k][21])
					}
				}
				if len(got) != len(e.Rows) {
					t.Errorf("%s: fastImage read %d images, go-mysql %d", ev.Header.EventType, len(got), len(e.Rows))
				}
			}
			if want := []any{"2023-02-29T01:02:03.45", "2023-03-01T01:02:03.45", "1960-04-31T00:00:00.00"}; !reflect.DeepEqual(dts, want) {
				t.Errorf("f.s's DATETIMEs: %#v, want %#v", dts, want)
			}
			if rows != 3+4+1 {
				t.Errorf("compared %d row images, want 8 (3 inserted, 2 updated, 1 deleted)", rows)
			}
		})
	}
}

// TestImageOf checks that the image kind fastImage's events get from
// their column bitmaps is the one go-mysql's skipped columns give.
func TestImageOf(t *testing.T) {
	cases := fastCases()
	ft, info := fastTable(t, cases)
	n := len(cases)
	all := slices.Repeat([]byte{0xff}, (n+7)/8)
	noBlobs := slices.Clone(all)
	for c := range n {
		if info.blobby[c] {
			noBlobs[c/8] &^= 1 << (c % 8)
		}
	}
	minimal := slices.Clone(noBlobs)
	minimal[0] &^= 0b110
	vals := ft.values(nil)
	image := func(bitmap []byte) []byte {
		nullBits, present := present(vals, bitmap, nil)
		return rowImage(nullBits, present...)
	}
	tests := []struct {
		name             string
		tp               replication.EventType
		bitmap1, bitmap2 []byte
		want             string
	}{
		{"full insert", replication.WRITE_ROWS_EVENTv2, all, nil, ""},
		{"insert without blobs", replication.WRITE_ROWS_EVENTv2, noBlobs, nil, "noblob"},
		{"minimal delete", replication.DELETE_ROWS_EVENTv2, minimal, nil, "minimal"},
		{"update, blobs left out after", replication.UPDATE_ROWS_EVENTv2, all, noBlobs, "noblob"},
		{"update, minimal before", replication.UPDATE_ROWS_EVENTv2, minimal, all, "minimal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			images := image(tc.bitmap1)
			if tc.bitmap2 != nil {
				images = append(images, image(tc.bitmap2)...)
			}
			evs, err := parseAsSource(decodeRowsEvent, ft.tableMap(), rowsEvent(tc.tp, n, tc.bitmap1, tc.bitmap2, images))
			if err != nil {
				t.Fatalf("%.300v", err)
			}
			e := evs[2].Event.(*replication.RowsEvent)
			slow := info.image(e.SkippedColumns)
			fast := info.imageOf(e.ColumnBitmap1, e.ColumnBitmap2)
			if slow != tc.want || fast != tc.want {
				t.Errorf("image from skipped columns %q, from bitmaps %q; want %q", slow, fast, tc.want)
			}
		})
	}
}
