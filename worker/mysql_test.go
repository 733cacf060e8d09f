package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// startMySQLTask starts a MYSQL_CDC task and waits until it has stored its
// starting position, so that later writes are in its stream.
func (e *env) startMySQLTask(id string, tables []string, extra string) {
	e.t.Helper()
	e.command("cmd", "start", "task", id, "config", e.cdcConfig("never", tables, extra))
	// RUNNING means the start position is stored: rows from then on are in.
	e.waitState(id, StateRunning, 10*time.Second)
	if m, _ := e.st.LoadOffset(t0(), id); m["file"] == "" {
		e.t.Fatalf("task %s is RUNNING without a stored position: %v", id, m)
	}
}

func TestMySQLWorkloadExactlyInOrder(t *testing.T) {
	eachFlavor(t, testWorkloadExactlyInOrder)
}

func testWorkloadExactlyInOrder(t *testing.T, e *env) {
	e.freshDatabases("w1")
	e.db.Exec(t,
		"CREATE TABLE w1.orders (id INT PRIMARY KEY, name VARCHAR(32), qty INT)",
		"CREATE TABLE w1.other (id INT PRIMARY KEY)")
	e.startNode("n1")
	e.startMySQLTask("orders", []string{"w1.orders"}, "")

	conn := e.db.Conn(t)
	for _, q := range []string{
		"INSERT INTO w1.orders VALUES (1,'a',1),(2,'b',2),(3,'c',3)",
		"BEGIN",
		"UPDATE w1.orders SET qty = qty + 10 WHERE id <= 2",
		"DELETE FROM w1.orders WHERE id = 3",
		"INSERT INTO w1.other VALUES (1)",
		"COMMIT",
	} {
		if _, err := conn.Execute(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := 4; i < 104; i++ {
		e.db.Exec(t, fmt.Sprintf("INSERT INTO w1.orders VALUES (%d,'n%d',%d)", i, i, i))
	}

	evs := e.waitEvents("orders", 106, 15*time.Second)
	time.Sleep(300 * time.Millisecond) // nothing more may arrive
	if evs = e.events("orders"); len(evs) != 106 {
		t.Fatalf("got %d events, want 106", len(evs))
	}
	want := []struct{ op, before, after, key string }{
		{"c", "null", `{"id":1,"name":"a","qty":1}`, `{"id":1}`},
		{"c", "null", `{"id":2,"name":"b","qty":2}`, `{"id":2}`},
		{"c", "null", `{"id":3,"name":"c","qty":3}`, `{"id":3}`},
		{"u", `{"id":1,"name":"a","qty":1}`, `{"id":1,"name":"a","qty":11}`, `{"id":1}`},
		{"u", `{"id":2,"name":"b","qty":2}`, `{"id":2,"name":"b","qty":12}`, `{"id":2}`},
		{"d", `{"id":3,"name":"c","qty":3}`, "null", `{"id":3}`},
	}
	for i, w := range want {
		ev := evs[i]
		got := []string{ev.Op, toJSON(ev.Env["before"]), toJSON(ev.Env["after"]), toJSON(ev.Env["key"])}
		if strings.Join(got, " ") != strings.Join([]string{w.op, w.before, w.after, w.key}, " ") {
			t.Errorf("event %d = %v, want %v", i, got, w)
		}
		if ev.Table != "w1.orders" || ev.Env["op"] != w.op {
			t.Errorf("event %d: table %q op %v", i, ev.Table, ev.Env["op"])
		}
	}
	// Transactions: the first three rows share one, as do the update and
	// delete; seq counts within each.
	tx := func(i int) (string, int64) {
		m := evs[i].Env["tx"].(map[string]any)
		return m["id"].(string), m["seq"].(int64)
	}
	id0, _ := tx(0)
	id3, _ := tx(3)
	for i, w := range []struct {
		id  string
		seq int64
	}{{id0, 0}, {id0, 1}, {id0, 2}, {id3, 0}, {id3, 1}, {id3, 2}} {
		id, seq := tx(i)
		if id != w.id || seq != w.seq {
			t.Errorf("event %d tx = %s/%d, want %s/%d", i, id, seq, w.id, w.seq)
		}
	}
	if id0 == id3 {
		t.Errorf("two transactions share tx id %s", id0)
	}
	for i := 6; i < 106; i++ {
		after := evs[i].Env["after"].(map[string]any)
		if after["id"] != int64(i-2) || evs[i].Op != "c" {
			t.Fatalf("event %d = %s %v, want insert of id %d", i, evs[i].Op, after, i-2)
		}
	}
	src := evs[0].Env["source"].(map[string]any)
	if src["flavor"] != e.db.Flavor || src["db"] != "w1" || src["table"] != "orders" || src["file"] == "" || src["snapshot"] != false {
		t.Errorf("source = %v", src)
	}
	st := e.status("orders")
	if st.Status != StateRunning || st.Events != 106 || st.Node != "n1" {
		t.Errorf("status = %+v", st)
	}
}

func TestMySQLResumeAfterStopAndNodeRestart(t *testing.T) {
	eachFlavor(t, testResumeAfterStopAndNodeRestart)
}

func testResumeAfterStopAndNodeRestart(t *testing.T, e *env) {
	e.freshDatabases("w2")
	e.db.Exec(t, "CREATE TABLE w2.t (id INT PRIMARY KEY, v VARCHAR(16))")
	n1 := e.startNode("n1")
	e.startMySQLTask("t2", []string{"w2.*"}, `,"format":"json"`)
	insert := func(from, to int) {
		for i := from; i < to; i++ {
			e.db.Exec(t, fmt.Sprintf("INSERT INTO w2.t VALUES (%d, 'v%d')", i, i))
		}
	}
	insert(0, 50)
	e.waitEvents("t2", 50, 10*time.Second)

	e.command("cmd", "stop", "task", "t2")
	e.waitState("t2", StateStopped, 5*time.Second)
	insert(50, 100) // written while stopped
	e.command("cmd", "start", "task", "t2")
	e.waitEvents("t2", 100, 10*time.Second)

	n1.Stop() // graceful: hands over (to nobody)
	insert(100, 150)
	e.startNode("n1")
	insert(150, 200)
	for i, ev := range e.checkRows("t2", 200, 15*time.Second) {
		if ev.Raw[0] != '{' {
			t.Fatalf("event %d is not JSON: %q", i, ev.Raw[:8])
		}
	}
}
