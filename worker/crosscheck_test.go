package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSchemaMismatchStopsTheTask: when the schema history says other
// columns than the binlog's table map (here a history damaged by hand),
// the task stops FAILED naming the table, the position and both column
// lists, and writes nothing it decoded with the wrong columns.
func TestSchemaMismatchStopsTheTask(t *testing.T) {
	eachFlavor(t, func(t *testing.T, e *env) {
		e.freshDatabases("cc")
		e.db.Exec(t, "CREATE TABLE cc.t (id INT PRIMARY KEY, v VARCHAR(8))")
		e.startNode("n1")
		e.startMySQLTask("cc", []string{"cc.t"}, `,"format":"json"`)
		e.db.Exec(t, "INSERT INTO cc.t VALUES (1, 'a')")
		e.waitEvents("cc", 1, 10*time.Second)
		e.command("cmd", "stop", "task", "cc")
		e.waitState("cc", StateStopped, 5*time.Second)

		bogus := `{"kind":"table","pos":"test","ref":{"db":"cc","name":"t"},"table":{"db":"cc","name":"t","columns":[{"name":"id","type":"bigint","data_type":"bigint"}],"primary_key":["id"]}}`
		if err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: e.st.Keys().TaskSchema("cc"),
			Values: []string{"table", "cc.t", "data", bogus, "event", ""}}).Err(); err != nil {
			t.Fatal(err)
		}
		e.db.Exec(t, "INSERT INTO cc.t VALUES (2, 'b')")
		e.command("cmd", "start", "task", "cc")
		st := e.waitState("cc", StateFailed, 15*time.Second)
		for _, want := range []string{"cc.t", "does not match the binlog", "id bigint", "LONG", "VARCHAR"} {
			if !strings.Contains(st.Error, want) {
				t.Errorf("error %q does not say %q", st.Error, want)
			}
		}
		if !strings.Contains(st.Error, "binlog.") && !strings.Contains(st.Error, "-bin.") {
			t.Errorf("error %q names no binlog position", st.Error)
		}
		if n := len(e.events("cc")); n != 1 {
			t.Errorf("%d events, want only the one before the damage", n)
		}
	})
}

// TestCharsetWithoutDecoderStopsTheTask: a column in a character set that
// has no decoder fails the task, naming the charset, instead of passing on
// bytes as text.
func TestCharsetWithoutDecoderStopsTheTask(t *testing.T) {
	eachFlavor(t, func(t *testing.T, e *env) {
		e.freshDatabases("cs")
		e.db.Exec(t, "CREATE TABLE cs.t (id INT PRIMARY KEY, v VARCHAR(8) CHARACTER SET armscii8)")
		e.startNode("n1")
		e.startMySQLTask("cs", []string{"cs.t"}, "")
		e.db.Exec(t, "INSERT INTO cs.t VALUES (1, 'a')")
		st := e.waitState("cs", StateFailed, 15*time.Second)
		if !strings.Contains(st.Error, `"armscii8"`) || !strings.Contains(st.Error, "cs.t") {
			t.Errorf("error %q does not name the charset and the table", st.Error)
		}
		if n := len(e.events("cs")); n != 0 {
			t.Errorf("%d events written", n)
		}
	})
}
