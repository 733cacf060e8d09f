package worker

import (
	"strings"
	"testing"
	"time"
)

// momentSteps are statements run while a task is stopped, and the events
// each must give once it starts again and reads them from the binlog:
// rows as "op table after-or-before", ddl events as "ddl table columns".
// Every row must decode with the table as it was when it was written.
var momentSteps = []ddlStep{
	// BINARY(16) values written before a MODIFY to BINARY(20) keep 16 bytes.
	{"CREATE TABLE sm.b16 (id INT PRIMARY KEY, v BINARY(16))", []string{"ddl sm.b16 id,v"}},
	{"INSERT INTO sm.b16 VALUES (1, 0x01)", []string{`c sm.b16 {"id":1,"v":"AQAAAAAAAAAAAAAAAAAAAA=="}`}},
	{"ALTER TABLE sm.b16 MODIFY v BINARY(20)", []string{"ddl sm.b16 id,v"}},
	{"INSERT INTO sm.b16 VALUES (2, 0x02)", []string{`c sm.b16 {"id":2,"v":"AgAAAAAAAAAAAAAAAAAAAAAAAAA="}`}},
	// Columns renamed keep their padding and their JSON type.
	{"CREATE TABLE sm.r (id INT PRIMARY KEY, b3 BINARY(3), j JSON)", []string{"ddl sm.r id,b3,j"}},
	{`INSERT INTO sm.r VALUES (1, 0x01, '{"a":1}')`, []string{`c sm.r {"id":1,"b3":"AQAA","j":{"a":1}}`}},
	{"ALTER TABLE sm.r RENAME COLUMN b3 TO b3x, RENAME COLUMN j TO jx", []string{"ddl sm.r id,b3x,jx"}},
	{`INSERT INTO sm.r VALUES (2, 0x02, '[1]')`, []string{`c sm.r {"id":2,"b3x":"AgAA","jx":[1]}`}},
	// MySQL's default MINIMAL metadata: DROP and ADD while stopped.
	{"CREATE TABLE sm.m (id INT PRIMARY KEY, a VARCHAR(5), b INT)", []string{"ddl sm.m id,a,b"}},
	{"INSERT INTO sm.m VALUES (1, 'x', 2)", []string{`c sm.m {"id":1,"a":"x","b":2}`}},
	{"ALTER TABLE sm.m DROP COLUMN a", []string{"ddl sm.m id,b"}},
	{"ALTER TABLE sm.m ADD COLUMN c DATE FIRST", []string{"ddl sm.m c,id,b"}},
	{"INSERT INTO sm.m VALUES ('2024-01-31', 2, 3)", []string{`c sm.m {"c":"2024-01-31","id":2,"b":3}`}},
	{"ALTER TABLE sm.m CHANGE b bb BIGINT UNSIGNED AFTER c", []string{"ddl sm.m c,bb,id"}},
	{"INSERT INTO sm.m VALUES (NULL, 18446744073709551615, 3)", []string{`c sm.m {"c":null,"bb":18446744073709551615,"id":3}`}},
	// An ALTER then a RENAME TABLE: the ddl entries carry the columns of
	// their moment.
	{"CREATE TABLE sm.a1 (id INT PRIMARY KEY)", []string{"ddl sm.a1 id"}},
	{"ALTER TABLE sm.a1 ADD COLUMN c INT", []string{"ddl sm.a1 id,c"}},
	{"RENAME TABLE sm.a1 TO sm.a2", []string{"ddl sm.a1 -", "ddl sm.a2 id,c"}},
	{"INSERT INTO sm.a2 VALUES (1, 2)", []string{`c sm.a2 {"id":1,"c":2}`}},
	// A swap: the new s has s2's columns.
	{"CREATE TABLE sm.s (id INT PRIMARY KEY, old INT)", []string{"ddl sm.s id,old"}},
	{"CREATE TABLE sm.s2 (id INT PRIMARY KEY, nu VARCHAR(3))", []string{"ddl sm.s2 id,nu"}},
	{"RENAME TABLE sm.s TO sm.s_old, sm.s2 TO sm.s", []string{"ddl sm.s -", "ddl sm.s_old id,old", "ddl sm.s2 -", "ddl sm.s id,nu"}},
	{"INSERT INTO sm.s VALUES (1, 'abc')", []string{`c sm.s {"id":1,"nu":"abc"}`}},
	{"INSERT INTO sm.s_old VALUES (1, 5)", []string{`c sm.s_old {"id":1,"old":5}`}},
	// Quoted names: a backquote, a space, a dot.
	{"CREATE TABLE sm.`we``ird na.me` (id INT PRIMARY KEY, `c``1` INT)", []string{"ddl sm.we`ird na.me id,c`1"}},
	{"ALTER TABLE sm.`we``ird na.me` ADD COLUMN `x y` VARCHAR(5) AFTER id", []string{"ddl sm.we`ird na.me id,x y,c`1"}},
	{"INSERT INTO sm.`we``ird na.me` VALUES (1, 'q', 2)", []string{"c sm.we`ird na.me {\"id\":1,\"x y\":\"q\",\"c`1\":2}"}},
	// CREATE TABLE ... LIKE, and a table of another database renamed in.
	{"CREATE TABLE sm.lk LIKE sm.r", []string{"ddl sm.lk id,b3x,jx"}},
	{`INSERT INTO sm.lk VALUES (1, 0x03, 'true')`, []string{`c sm.lk {"id":1,"b3x":"AwAA","jx":true}`}},
	{"CREATE TABLE smo.x (id INT PRIMARY KEY, z TINYINT)", nil},
	{"INSERT INTO smo.x VALUES (1, 1)", nil},
	{"ALTER TABLE smo.x ADD COLUMN y INT", nil},
	{"RENAME TABLE smo.x TO sm.x", []string{"ddl sm.x id,z,y"}},
	{"INSERT INTO sm.x VALUES (2, 2, 2)", []string{`c sm.x {"id":2,"z":2,"y":2}`}},
	// Dropped and truncated.
	{"TRUNCATE TABLE sm.s_old", []string{"ddl sm.s_old id,old"}},
	{"DROP TABLE sm.s_old, sm.a2", []string{"ddl sm.s_old -", "ddl sm.a2 -"}},
	{"DELETE FROM sm.s", []string{`d sm.s {"id":1,"nu":"abc"}`}},
}

// renderMoment renders an event as momentSteps want it.
func renderMoment(ev event) string {
	if ev.Op == "ddl" {
		return renderEvent(ev)
	}
	img := ev.Env["after"]
	if img == nil {
		img = ev.Env["before"]
	}
	return ev.Op + " " + ev.Table + " " + orderedJSON(ev.Raw, img.(map[string]any))
}

// orderedJSON renders an image as compact JSON with the envelope's key
// order.
func orderedJSON(raw []byte, img map[string]any) string {
	var parts []string
	for _, k := range orderedKeys(raw, img) {
		parts = append(parts, toJSON(k)+":"+toJSON(img[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestSchemaOfTheMoment: DDL written while a task is stopped is replayed
// from the binlog with the schema history, so every row and ddl event has
// the columns, types and widths of its position, on every flavor and at
// MySQL's default MINIMAL metadata.
func TestSchemaOfTheMoment(t *testing.T) {
	eachFlavor(t, func(t *testing.T, e *env) {
		e.freshDatabases("sm", "smo")
		e.startNode("n1")
		e.startMySQLTask("sm", []string{"sm.*"}, `,"format":"json"`)
		e.command("cmd", "stop", "task", "sm")
		e.waitState("sm", StateStopped, 5*time.Second)
		var want []string
		for _, s := range momentSteps {
			e.db.Exec(t, s.stmt)
			want = append(want, s.want...)
		}
		e.command("cmd", "start", "task", "sm")
		e.waitFor(20*time.Second, "the replayed events", func() bool {
			return len(e.events("sm")) >= len(want) || e.status("sm").Status == StateFailed
		})
		time.Sleep(300 * time.Millisecond)
		var got []string
		for _, ev := range e.events("sm") {
			got = append(got, renderMoment(ev))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("events:\n%s\nwant:\n%s\nstatus: %+v", strings.Join(got, "\n"), strings.Join(want, "\n"), e.status("sm"))
		}
		// The ddl entry of the MODIFY names the new width.
		for _, ev := range e.events("sm") {
			if ev.Op == "ddl" && strings.Contains(toJSON(ev.Env["ddl"]), "BINARY(20)") {
				if cols := toJSON(ev.Env["columns"]); !strings.Contains(cols, `"binary(20)"`) {
					t.Errorf("ddl of the MODIFY has columns %s, want v binary(20)", cols)
				}
			}
		}
	})
}
