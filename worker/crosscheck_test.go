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
	cases := []struct {
		name, columns string
		want          []string
	}{
		// A column missing: the count and the types differ.
		{"count", `[{"name":"id","type":"bigint","data_type":"bigint"}]`, []string{"id bigint", "LONG", "VARCHAR"}},
		// Same count and types, another character set: latin2 bytes are
		// not utf8mb4 text.
		{"charset", `[{"name":"id","type":"int","data_type":"int"},{"name":"v","type":"varchar(8)","data_type":"varchar","charset":"latin2","collation":"latin2_general_ci","length":8}]`,
			[]string{"v varchar(8) latin2", "utf8mb4"}},
	}
	eachFlavor(t, func(t *testing.T, e *env) {
		e.startNode("n1")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				db, task := "cc_"+tc.name, "cc-"+tc.name
				e.freshDatabases(db)
				e.db.Exec(t, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, v VARCHAR(8) CHARACTER SET utf8mb4)")
				e.startMySQLTask(task, []string{db + ".t"}, `,"format":"json"`)
				e.db.Exec(t, "INSERT INTO "+db+".t VALUES (1, 'a')")
				e.waitEvents(task, 1, 10*time.Second)
				e.command("cmd", "stop", "task", task)
				e.waitState(task, StateStopped, 5*time.Second)

				bogus := `{"kind":"table","pos":"test","ref":{"db":"` + db + `","name":"t"},"table":{"db":"` + db + `","name":"t","columns":` + tc.columns + `,"primary_key":["id"]}}`
				if err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: e.st.Keys().TaskSchema(task),
					Values: []string{"table", db + ".t", "data", bogus, "event", ""}}).Err(); err != nil {
					t.Fatal(err)
				}
				e.db.Exec(t, "INSERT INTO "+db+".t VALUES (2, 'b')")
				e.command("cmd", "start", "task", task)
				st := e.waitState(task, StateFailed, 15*time.Second)
				for _, want := range append([]string{db + ".t", "does not match the binlog"}, tc.want...) {
					if !strings.Contains(st.Error, want) {
						t.Errorf("error %q does not say %q", st.Error, want)
					}
				}
				if !strings.Contains(st.Error, "binlog.") && !strings.Contains(st.Error, "-bin.") {
					t.Errorf("error %q names no binlog position", st.Error)
				}
				if n := len(e.events(task)); n != 1 {
					t.Errorf("%d events, want only the one before the damage", n)
				}
			})
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
