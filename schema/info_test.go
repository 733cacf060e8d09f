package schema

import (
	"reflect"
	"testing"
)

func TestTableFromInfo(t *testing.T) {
	cols := []InfoColumn{
		{Name: "Tags", DataType: "set", ColumnType: "set('A','b''c')", CharsetName: "utf8mb3", CollationName: "utf8_bin", IsNullable: "YES", OrdinalPosition: 4},
		{Name: "id", DataType: "bigint", ColumnType: "bigint(20) unsigned", IsNullable: "NO", ColumnKey: "PRI", OrdinalPosition: 1, NumericPrecision: 20},
		{Name: "h", DataType: "binary", ColumnType: "binary(16)", IsNullable: "YES", OrdinalPosition: 2, CharMaxLength: 16},
		{Name: "price", DataType: "decimal", ColumnType: "decimal(12,4)", IsNullable: "YES", OrdinalPosition: 3, NumericPrecision: 12, NumericScale: 4},
		{Name: "doc", DataType: "longtext", ColumnType: "longtext", CharsetName: "utf8mb4", CollationName: "utf8mb4_bin", IsNullable: "YES", OrdinalPosition: 5},
		{Name: "at", DataType: "datetime", ColumnType: "datetime(6)", IsNullable: "NO", OrdinalPosition: 6, DatetimePrecision: 6},
		{Name: "v", DataType: "vector", ColumnType: "vector(3)", IsNullable: "YES", OrdinalPosition: 7, CharMaxLength: 12},
		{Name: "name", DataType: "varchar", ColumnType: "varchar(20)", CharsetName: "latin1", CollationName: "latin1_swedish_ci", IsNullable: "YES", OrdinalPosition: 8, CharMaxLength: 20},
	}
	got := TableFromInfo("shop", "t", cols, []string{"ID"}, "utf8_general_ci", []string{"DOC"})
	want := `shop.t utf8mb3/utf8mb3_general_ci key["id"]
  "id" bigint(20) unsigned (bigint) unsigned not-null
  "h" binary(16) (binary) binary/binary len=16 null
  "price" decimal(12,4) (decimal) p=12 s=4 null
  "Tags" set('A','b''c') (set) utf8mb3/utf8mb3_bin labels["A" "b'c"] null
  "doc" longtext (longtext) utf8mb4/utf8mb4_bin null json
  "at" datetime(6) (datetime) p=0 s=6 not-null
  "v" vector(3) (vector) len=3 null
  "name" varchar(20) (varchar) latin1/latin1_swedish_ci len=20 null`
	if d := linesDiff(want, describe(got)); d != "" {
		t.Errorf("TableFromInfo (- want, + got):\n%s", d)
	}
}

func TestJSONValidColumns(t *testing.T) {
	tests := []struct {
		clause string
		want   []string
	}{
		{"json_valid(`j`)", []string{"j"}},
		{"json_valid(`a``b`) and octet_length(`a``b`) < 100", []string{"a`b"}},
		{"(json_valid(`x`)) AND (json_valid(`y`))", []string{"x", "y"}},
		{"json_valid(`x`) or `x` is null", nil},
		{"`x` > 0", nil},
	}
	for _, tt := range tests {
		got, err := JSONValidColumns(tt.clause)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("JSONValidColumns(%q) = %q, %v; want %q", tt.clause, got, err, tt.want)
		}
	}
	if _, err := JSONValidColumns("json_valid("); err == nil {
		t.Error("a broken clause parsed")
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	labels := []string{"it's", `back\slash`, "n\nl", "c\rr", "z\x00z", "tab\tx", "Ü😀", ""}
	typ := "enum(" + quoteLabels(labels) + ")"
	if want := `enum('it''s','back\\slash','n\nl','c\rr','z\0z','tab	x','Ü😀','')`; typ != want {
		t.Errorf("quoteLabels = %s, want %s", typ, want)
	}
	if got := ParseLabels(typ); !reflect.DeepEqual(got, labels) {
		t.Errorf("ParseLabels(%s) = %q, want %q", typ, got, labels)
	}
}
