package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
)

// sweepCases returns cases built from what the server offers: a table per
// character set (converted to utf8mb4 afterwards), and tables with a column
// per collation. Before that it checks the catalog's default collation and
// bytes per character of every character set, and the character set of
// every collation, against information_schema.
func sweepCases(t *testing.T, conn *client.Conn, cat *Catalog) []serverCase {
	r := query(t, conn, "SELECT CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, MAXLEN FROM information_schema.CHARACTER_SETS ORDER BY 1")
	charsets := serverCase{name: "every_charset"}
	for i := range r.RowNumber() {
		cs, _ := r.GetString(i, 0)
		want, _ := r.GetString(i, 1)
		wantLen, _ := r.GetInt(i, 2)
		if got, err := cat.defaultCollation(cs); err != nil || got != canonicalCollation(want) {
			t.Errorf("default collation of %s = %q, %v; the server says %q", cs, got, err, want)
		}
		if got, err := maxLen(cs); err != nil || int64(got) != wantLen {
			t.Errorf("bytes per character of %s = %d, %v; the server says %d", cs, got, err, wantLen)
		}
		if cs == "binary" {
			continue
		}
		charsets.stmts = append(charsets.stmts,
			fmt.Sprintf("CREATE TABLE `%[1]s` (a varchar(3), b tinytext, c text, d text(100), e mediumtext, f enum('x'), g char(2) binary) CHARSET %[1]s", cs),
			fmt.Sprintf("ALTER TABLE `%s` CONVERT TO CHARACTER SET utf8mb4", cs))
	}
	return []serverCase{charsets, collationCase(t, conn)}
}

// collationCase checks the character set of every collation and returns a
// case with a column per collation.
func collationCase(t *testing.T, conn *client.Conn) serverCase {
	r := query(t, conn, "SELECT COLLATION_NAME, IFNULL(CHARACTER_SET_NAME, '') FROM information_schema.COLLATIONS ORDER BY 1")
	tc := serverCase{name: "every_collation"}
	var cols []string
	flush := func() {
		tc.stmts = append(tc.stmts, fmt.Sprintf("CREATE TABLE t%d (%s)", len(tc.stmts), strings.Join(cols, ", ")))
		cols = nil
	}
	for i := range r.RowNumber() {
		co, _ := r.GetString(i, 0)
		cs, _ := r.GetString(i, 1)
		if cs == "" { // MariaDB's uca1400_* fit several character sets
			if !charsetless(co) {
				t.Errorf("collation %s has no character set, and the catalog does not know it as charsetless", co)
			}
			cols = append(cols, fmt.Sprintf("`%s` varchar(1) CHARACTER SET utf8mb3 COLLATE %s", co, co))
		} else {
			if got, err := collationCharset(co); err != nil || got != canonicalCharset(cs) {
				t.Errorf("character set of %s = %q, %v; the server says %q", co, got, err, cs)
			}
			cols = append(cols, fmt.Sprintf("`%s` varchar(1) COLLATE %s", co, co))
		}
		if len(cols) == 100 {
			flush()
		}
	}
	if len(cols) > 0 {
		flush()
	}
	return tc
}
