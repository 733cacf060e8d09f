package schema

import (
	"reflect"
	"strings"
	"testing"
)

func TestLex(t *testing.T) {
	sql := "CREATE TABLE `a``b`.x (`p t` POINT, s 'it''s' \"dq\", n 1.5, h x'0A') /* c */ -- d\n# e\n/*!50100 ENGINE */"
	toks, err := lex(sql)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tok := range toks {
		got = append(got, []string{"word", "quoted", "string", "number", "punct"}[tok.kind]+":"+tok.text)
	}
	want := []string{"word:CREATE", "word:TABLE", "quoted:a`b", "punct:.", "word:x", "punct:(", "quoted:p t", "word:POINT",
		"punct:,", "word:s", "string:it's", "string:dq", "punct:,", "word:n", "number:1.5", "punct:,", "word:h", "number:x'0A'",
		"punct:)", "word:ENGINE"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tokens:\n got %q\nwant %q", got, want)
	}
	if toks[7].start != strings.Index(sql, "POINT") {
		t.Errorf("POINT at %d, want %d", toks[7].start, strings.Index(sql, "POINT"))
	}
}

func TestRewrite(t *testing.T) {
	p := func(i int) string { return "ENUM('" + placeholderPrefix + string(rune('0'+i)) + "') " }
	tests := []struct {
		in, want string
		specials []string
	}{
		{"CREATE OR REPLACE TABLE t (a int)", "CREATE TABLE t (a int)", nil},
		{"CREATE TABLE `s` (\n  `one` int NOT NULL DEFAULT '0'\n) START TRANSACTION /* xid=7 */", "CREATE TABLE `s` (\n  `one` int NOT NULL DEFAULT '0'\n) ", nil},
		{"ALTER ONLINE IGNORE TABLE t ADD b int", "ALTER IGNORE TABLE t ADD b int", nil},
		{"ALTER TABLE db.t WAIT 5 ADD b int", "ALTER TABLE db.t ADD b int", nil},
		{"ALTER TABLE t NOWAIT ADD nowait int", "ALTER TABLE t ADD nowait int", nil},
		{"CREATE TABLE t (u uuid, uuid int, `point` POINT NOT NULL SRID 4326, SPATIAL INDEX (`point`))",
			"CREATE TABLE t (u " + p(0) + ", uuid int, `point` " + p(1) + "NOT NULL , INDEX (`point`))", []string{"uuid", "point"}},
		{"ALTER TABLE t ADD COLUMN g geometry, MODIFY i inet6, CHANGE a b inet4, CHANGE COLUMN c d GeomCollection",
			"ALTER TABLE t ADD COLUMN g " + p(0) + ", MODIFY i " + p(1) + ", CHANGE a b " + p(2) + ", CHANGE COLUMN c d " + p(3),
			[]string{"geometry", "inet6", "inet4", "geomcollection"}},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS g point REF_SYSTEM_ID=4326", "ALTER TABLE t ADD COLUMN IF NOT EXISTS g " + p(0), []string{"point"}},
		{"CREATE TABLE t (a int, b int AS (a) PERSISTENT, invisible int, c int INVISIBLE, d text invisible)",
			"CREATE TABLE t (a int, b int AS (a) STORED , invisible int, c int , d text )", nil},
		{"ALTER TABLE t ALTER COLUMN c SET VISIBLE, CHANGE a invisible int", "ALTER TABLE t ALTER COLUMN c DROP DEFAULT , CHANGE a invisible int", nil},
		{"CREATE TABLE t (a varchar(3) ascii, b char(1) byte, c varchar(2) unicode, byte int, d varchar(2) charset ascii)",
			"CREATE TABLE t (a varchar(3) CHARACTER SET latin1 , b char(1) CHARACTER SET binary , c varchar(2) CHARACTER SET ucs2 , byte int, d varchar(2) charset ascii)", nil},
		{"CREATE TABLE t (s varchar(9) DEFAULT 'point uuid', c text COMMENT 'SRID 4326')",
			"CREATE TABLE t (s varchar(9) DEFAULT 'point uuid', c text COMMENT 'SRID 4326')", nil},
	}
	for _, tt := range tests {
		toks, err := lex(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, specials := rewrite(tt.in, toks)
		if got != tt.want || !reflect.DeepEqual(specials, tt.specials) {
			t.Errorf("rewrite(%q)\n got %q %q\nwant %q %q", tt.in, got, specials, tt.want, tt.specials)
		}
	}
}

func TestIsTableDDL(t *testing.T) {
	tests := map[string]bool{
		"CREATE TABLE t (a int)": true, "create or replace table t (a int)": true, "CREATE DATABASE d": true,
		"CREATE SCHEMA d": true, "ALTER TABLE t": true, "ALTER ONLINE IGNORE TABLE t": true, "ALTER DATABASE d": true,
		"DROP TABLE t": true, "DROP TABLES t": true, "DROP DATABASE d": true, "RENAME TABLE a TO b": true,
		"TRUNCATE t": true, "/* x */ /*!40000 ALTER TABLE t DISABLE KEYS */": true,
		"CREATE TEMPORARY TABLE t (a int)": false, "DROP TEMPORARY TABLE t": false, "CREATE VIEW v AS SELECT 1": false,
		"CREATE DEFINER=`a`@`b` TRIGGER x": false, "XA START 'x'": false, "RENAME USER a TO b": false,
		"CREATE INDEX i ON t (a)": false, "GRANT ALL ON *.* TO u": false, "": false,
	}
	for sql, want := range tests {
		toks, _ := lex(sql)
		if got := isTableDDL(toks); got != want {
			t.Errorf("isTableDDL(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestNationalColumns(t *testing.T) {
	toks, _ := lex("CREATE TABLE t (a NCHAR(3), `B` national varchar(2), nchar int, c nvarchar(2), d char(2) COMMENT 'nchar')")
	want := map[string]bool{"a": true, "b": true, "c": true}
	if got := nationalColumns(toks); !reflect.DeepEqual(got, want) {
		t.Errorf("nationalColumns = %v, want %v", got, want)
	}
}

func TestSetStatementBody(t *testing.T) {
	sql := "SET STATEMENT max_statement_time=60, sql_mode=(SELECT 'x FOR y') FOR ALTER TABLE t ADD c int"
	toks, _ := lex(sql)
	if got, ok := setStatementBody(sql, toks); !ok || got != "ALTER TABLE t ADD c int" {
		t.Errorf("setStatementBody = %q, %v", got, ok)
	}
}
