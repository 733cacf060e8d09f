package schema

import (
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/client"
)

// queryEvent is a Query event of the binlog: its default database and text.
type queryEvent struct{ db, query string }

// binlogPosition returns the server's current binlog file and position
// (SHOW BINARY LOG STATUS on MySQL 8.4+, SHOW MASTER STATUS on MariaDB).
func binlogPosition(t *testing.T, conn *client.Conn) (string, uint64) {
	t.Helper()
	r, err := conn.Execute("SHOW BINARY LOG STATUS")
	if err != nil {
		r = query(t, conn, "SHOW MASTER STATUS")
	}
	if r.RowNumber() != 1 {
		t.Fatal("the server writes no binlog")
	}
	file, _ := r.GetString(0, 0)
	pos, _ := r.GetUint(0, 1)
	return file, pos
}

// queryEvents returns the Query events written since file:pos, with the
// default database that SHOW BINLOG EVENTS shows as a "use `db`; " prefix.
// It shows none for database statements (CREATE / ALTER / DROP DATABASE),
// whose events carry the database they change: for those it is sessionDB,
// the database the statement ran in (ALTER DATABASE without a name changes
// that one). A test statement never makes the binlog rotate.
func queryEvents(t *testing.T, conn *client.Conn, file string, pos uint64, sessionDB string) []queryEvent {
	t.Helper()
	r := query(t, conn, "SHOW BINLOG EVENTS IN '"+file+"' FROM "+itoa(pos))
	var out []queryEvent
	for i := range r.RowNumber() {
		typ, _ := r.GetString(i, 2)
		info, _ := r.GetString(i, 5)
		if typ != "Query" {
			continue
		}
		ev := queryEvent{db: sessionDB, query: info}
		if rest, ok := strings.CutPrefix(info, "use `"); ok {
			if db, q, ok := strings.Cut(rest, "`; "); ok {
				ev = queryEvent{db: strings.ReplaceAll(db, "``", "`"), query: q}
			}
		}
		out = append(out, ev)
	}
	return out
}

// itoa formats n.
func itoa(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
