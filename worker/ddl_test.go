package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// ddlStep is a statement and the events it should produce, each rendered
// as "op table columns" (ddl: the table's columns; rows: after's keys or
// before's for deletes).
type ddlStep struct {
	stmt string
	want []string
}

var ddlSteps = []ddlStep{
	{"INSERT INTO dd.t VALUES (1, 10)", []string{"c dd.t id,a"}},
	{"ALTER TABLE dd.t ADD COLUMN b VARCHAR(8)", []string{"ddl dd.t id,a,b"}},
	{"INSERT INTO dd.t VALUES (2, 20, 'x')", []string{"c dd.t id,a,b"}},
	{"ALTER TABLE dd.t RENAME COLUMN a TO aa", []string{"ddl dd.t id,aa,b"}},
	{"UPDATE dd.t SET b = 'y' WHERE id = 2", []string{"u dd.t id,aa,b"}},
	{"ALTER TABLE dd.t DROP COLUMN b", []string{"ddl dd.t id,aa"}},
	{"INSERT INTO dd.t VALUES (4, 40)", []string{"c dd.t id,aa"}},
	{"CREATE TABLE dd.t2 (k INT PRIMARY KEY)", []string{"ddl dd.t2 k"}},
	{"INSERT INTO dd.t2 VALUES (7)", []string{"c dd.t2 k"}},
	{"RENAME TABLE dd.t2 TO dd.t3", []string{"ddl dd.t2 -", "ddl dd.t3 k"}},
	{"INSERT INTO dd.t3 VALUES (8)", []string{"c dd.t3 k"}},
	{"TRUNCATE TABLE dd.t", []string{"ddl dd.t id,aa"}},
	{"DROP TABLE dd.t3", []string{"ddl dd.t3 -"}},
	{"CREATE TABLE other.x (k INT PRIMARY KEY)", nil},
	{"INSERT INTO dd.t VALUES (5, 50)", []string{"c dd.t id,aa"}},
}

func renderEvent(ev event) string {
	var cols []string
	if ev.Op == "ddl" {
		list, _ := ev.Env["columns"].([]any)
		for _, c := range list {
			cols = append(cols, c.(map[string]any)["name"].(string))
		}
	} else {
		img, _ := ev.Env["after"].(map[string]any)
		if img == nil {
			img, _ = ev.Env["before"].(map[string]any)
		}
		cols = orderedKeys(ev.Raw, img)
	}
	if len(cols) == 0 {
		cols = []string{"-"}
	}
	return ev.Op + " " + ev.Table + " " + strings.Join(cols, ",")
}

func TestDDLHistory(t *testing.T) {
	eachFlavor(t, testDDLHistory)
}

func testDDLHistory(t *testing.T, e *env) {
	e.freshDatabases("dd", "other")
	e.db.Exec(t, "CREATE TABLE dd.t (id INT PRIMARY KEY, a INT)")
	n1 := e.startNode("n1")
	e.startMySQLTask("dd", []string{"dd.*"}, `,"format":"json"`)

	// Live: each statement's events before the next statement.
	var want []string
	for _, s := range ddlSteps {
		e.db.Exec(t, s.stmt)
		want = append(want, s.want...)
		e.waitEvents("dd", len(want), 10*time.Second)
	}
	checkEvents(t, e.events("dd"), want)
	// The history: the catalog the task started with, then a record per
	// table version.
	kinds := historyKinds(t, e, "dd")
	if len(kinds) == 0 || kinds[0] != "catalog" {
		t.Fatalf("schema history %v does not start with the seed catalog", kinds)
	}
	ddls := 0 // ddl events of statements that change a definition
	for _, s := range ddlSteps {
		for _, w := range s.want {
			if strings.HasPrefix(w, "ddl ") && !strings.HasPrefix(s.stmt, "TRUNCATE") {
				ddls++
			}
		}
	}
	if tables := strings.Count(strings.Join(kinds, " "), "table"); tables != ddls {
		t.Errorf("schema history has %d table records (%v), want one for each of the %d ddl events that change a definition", tables, kinds, ddls)
	}

	// Replay: a task resuming from before the whole sequence (a failover
	// into the middle of it) gives every row and every ddl event the
	// columns true at its position, from the schema history.
	n1.Stop()
	e.freshDatabases("dd", "other")
	e.db.Exec(t, "CREATE TABLE dd.t (id INT PRIMARY KEY, a INT)")
	e.startNode("n1")
	e.startMySQLTask("dd2", []string{"dd.*"}, `,"format":"json"`)
	e.command("cmd", "stop", "task", "dd2")
	e.waitState("dd2", StateStopped, 5*time.Second)
	for _, s := range ddlSteps {
		e.db.Exec(t, s.stmt)
	}
	e.command("cmd", "start", "task", "dd2")
	e.waitEvents("dd2", len(want), 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	checkEvents(t, e.events("dd2"), want)
}

// historyKinds lists the kinds of a task's schema history records.
func historyKinds(t *testing.T, e *env, task string) []string {
	t.Helper()
	hist, err := e.rdb.XRange(context.Background(), e.st.Keys().TaskSchema(task), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range hist {
		var rec struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(m.Values["data"].(string)), &rec); err != nil {
			t.Fatalf("schema record %s: %v", m.ID, err)
		}
		kinds = append(kinds, rec.Kind)
	}
	return kinds
}

func checkEvents(t *testing.T, evs []event, want []string) {
	t.Helper()
	var got []string
	for _, ev := range evs {
		got = append(got, renderEvent(ev))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// orderedKeys returns img's keys in the order the JSON envelope has them.
func orderedKeys(raw []byte, img map[string]any) []string {
	s := string(raw)
	var keys []string
	for k := range img {
		keys = append(keys, k)
	}
	pos := func(k string) int { return strings.Index(s, fmt.Sprintf("%q:", k)) }
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if pos(keys[j]) < pos(keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}
