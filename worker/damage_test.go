package worker

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A schema history key of another type: the ALTER TABLE's ddl event is
// not written at all (not once per retry), the status says RETRYING naming
// the key, and once the key is deleted the task writes the ddl event and
// the rows after it, each once.
func TestDamagedSchemaKeyWritesNothingTwice(t *testing.T) {
	eachFlavor(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.freshDatabases("dk")
		e.db.Exec(t, "CREATE TABLE dk.t (id INT PRIMARY KEY, a INT)")
		e.startNode("n1")
		e.startMySQLTask("dk", []string{"dk.t"}, `,"format":"json"`)
		e.db.Exec(t, "INSERT INTO dk.t VALUES (1, 1)")
		e.waitEvents("dk", 1, 10*time.Second)

		key := e.st.Keys().TaskSchema("dk")
		e.rdb.Del(ctx, key)
		e.rdb.Set(ctx, key, "x", 0)
		e.db.Exec(t, "ALTER TABLE dk.t ADD COLUMN b INT", "INSERT INTO dk.t VALUES (2, 2, 2)")
		e.waitFor(10*time.Second, "the status naming the schema key", func() bool {
			ti := e.status("dk")
			return ti.Status == StateRetrying && strings.Contains(ti.Error, key)
		})
		time.Sleep(time.Second) // retries meanwhile
		if n := len(e.events("dk")); n != 1 {
			t.Fatalf("%d events while the schema key is damaged, want the 1 before it", n)
		}

		e.rdb.Del(ctx, key)
		evs := e.waitEvents("dk", 3, 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		evs = e.events("dk")
		var got []string
		for _, ev := range evs {
			got = append(got, renderEvent(ev))
		}
		want := []string{"c dk.t id,a", "ddl dk.t id,a,b", "c dk.t id,a,b"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("events %v, want %v", got, want)
		}
		e.waitState("dk", StateRunning, 5*time.Second)
	})
}
