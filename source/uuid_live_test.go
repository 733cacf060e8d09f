package source

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/internal/testenv"
)

// TestMariaDBUUIDTextLive writes UUIDs of every kind to a private MariaDB
// and checks that mariadbUUIDText of each binlog value is the text SELECT
// returns: versions 1, 4, 5 and 7, the Microsoft variant, a non-RFC value,
// the nil and max UUIDs, and values whose stored or text form ends in zero
// bytes.
func TestMariaDBUUIDTextLive(t *testing.T) {
	db := testenv.StartMariaDB(t)
	uuids := []string{
		"6ccd780c-baba-1026-9564-5b8c656024db",
		"123e4567-e89b-42d3-a456-426614174000",
		"123e4567-e89b-52d3-a456-426614174000",
		"01890a5d-ac96-774b-bcce-b302099a8057",
		"123e4567-e89b-42d3-c456-426614174000",
		"11220000-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
		"11223344-5566-1788-9900-000000000000",
		"11223344-0000-1000-8000-aabbccddeeff",
		"01890a5d-ac96-7000-8000-000000000000",
	}
	conn := db.Conn(t)
	res, err := conn.Execute("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	file, _ := res.GetString(0, 0)
	pos, _ := res.GetInt(0, 1)
	values := make([]string, len(uuids))
	for i, u := range uuids {
		values[i] = fmt.Sprintf("(%d, '%s')", i, u)
	}
	db.Exec(t, "CREATE DATABASE u", "CREATE TABLE u.t (id INT PRIMARY KEY, u UUID)",
		"INSERT INTO u.t VALUES "+strings.Join(values, ", "))
	res, err = conn.Execute("SELECT u FROM u.t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range uuids {
		if got, _ := res.GetString(i, 0); got != u {
			t.Fatalf("SELECT returned %q for %q", got, u)
		}
	}

	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: 7001, Flavor: db.Flavor, Host: db.Host, Port: uint16(db.Port),
		User: testenv.DBUser, Password: testenv.DBPassword, Logger: slog.New(slog.DiscardHandler),
	})
	defer syncer.Close()
	stream, err := syncer.StartSync(mysql.Position{Name: file, Pos: uint32(pos)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := stream.GetEvent(ctx)
		if err != nil {
			t.Fatalf("reading the binlog: %v", err)
		}
		rows, ok := ev.Event.(*replication.RowsEvent)
		if !ok || string(rows.Table.Table) != "t" {
			continue
		}
		if len(rows.Rows) != len(uuids) {
			t.Fatalf("%d rows in the binlog, want %d", len(rows.Rows), len(uuids))
		}
		for i, row := range rows.Rows {
			v, ok := row[1].(string) // go-mysql gives BINARY(n) as a string
			if !ok {
				t.Fatalf("binlog value %T, want a string", row[1])
			}
			got, err := mariadbUUIDText([]byte(v))
			if err != nil {
				t.Errorf("%s: %v", uuids[i], err)
			} else if got != uuids[i] {
				t.Errorf("binlog value % X: got %q, SELECT says %q", row[1], got, uuids[i])
			}
		}
		return
	}
}
