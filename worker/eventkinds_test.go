package worker

import (
	"strings"
	"testing"
	"time"
)

// sessionRun runs statements on one connection of the test's database, so
// that session settings (binlog_row_image, compression) apply to the rest.
func (e *env) sessionRun(stmts ...string) {
	e.t.Helper()
	conn := e.db.Conn(e.t)
	for _, q := range stmts {
		if _, err := conn.Execute(q); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
	}
}

// imagesOf renders each event as "op before after key image", the images
// as compact JSON.
func imagesOf(evs []event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		img := ""
		if src, ok := ev.Env["source"].(map[string]any); ok {
			img, _ = src["image"].(string)
		}
		out[i] = strings.Join([]string{ev.Op, imageJSON(ev.Raw, ev.Env["before"]), imageJSON(ev.Raw, ev.Env["after"]), toJSON(ev.Env["key"]), img}, " ")
	}
	return out
}

// imageJSON renders an image in the envelope's column order, null when
// there is none.
func imageJSON(raw []byte, img any) string {
	m, ok := img.(map[string]any)
	if !ok {
		return toJSON(img)
	}
	return orderedJSON(raw, m)
}

func checkImages(t *testing.T, evs []event, want []string) {
	t.Helper()
	got := imagesOf(evs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMySQLEventKinds: compressed transactions, partial JSON updates and
// MINIMAL and NOBLOB row images, each set per session as a client may,
// arrive exactly, with absent columns absent and the key from the image
// that has it.
func TestMySQLEventKinds(t *testing.T) {
	for _, fl := range flavors()[1:] { // MySQL: the settings are MySQL's
		t.Run(fl.name, func(t *testing.T) {
			if fl.full {
				fl.db.Exec(t, "SET GLOBAL binlog_row_metadata = FULL")
				t.Cleanup(func() { fl.db.Exec(t, "SET GLOBAL binlog_row_metadata = MINIMAL") })
			}
			e := newEnvOn(t, fl.db)
			e.freshDatabases("ek")
			e.db.Exec(t, "CREATE TABLE ek.t (id INT PRIMARY KEY, a INT, b VARCHAR(10), doc JSON, bl BLOB)")
			e.startNode("n1")
			e.startMySQLTask("ek", []string{"ek.t"}, `,"format":"json"`)

			// Compressed transactions: one-row autocommit INSERTs, a
			// two-statement transaction, a one-row UPDATE.
			e.sessionRun("SET SESSION binlog_transaction_compression = ON",
				`INSERT INTO ek.t VALUES (1, 10, 'x', '{"k":1}', 0x01)`,
				`INSERT INTO ek.t VALUES (2, 20, 'y', '{"k":2}', 0x02), (3, 30, 'z', NULL, NULL)`,
				"BEGIN", "UPDATE ek.t SET a = 11 WHERE id = 1", "DELETE FROM ek.t WHERE id = 3", "COMMIT",
				"UPDATE ek.t SET b = 'yy' WHERE id = 2")
			// Partial JSON updates: the event carries the whole document.
			e.sessionRun("SET SESSION binlog_row_value_options = PARTIAL_JSON",
				`UPDATE ek.t SET doc = JSON_SET(doc, '$.k', 5, '$.new', 'v') WHERE id = 1`,
				`UPDATE ek.t SET doc = JSON_REMOVE(doc, '$.k') WHERE id = 2`)
			// MINIMAL: the before image holds the key, the after image the
			// changed columns; NOBLOB leaves out unchanged blobs.
			e.sessionRun("SET SESSION binlog_row_image = MINIMAL",
				"UPDATE ek.t SET a = 12 WHERE id = 1",
				"INSERT INTO ek.t (id, a) VALUES (4, 40)",
				"DELETE FROM ek.t WHERE id = 4")
			e.sessionRun("SET SESSION binlog_row_image = NOBLOB",
				"UPDATE ek.t SET a = 13 WHERE id = 1",
				"DELETE FROM ek.t WHERE id = 2")

			want := []string{
				`c null {"id":1,"a":10,"b":"x","doc":{"k":1},"bl":"AQ=="} {"id":1} `,
				`c null {"id":2,"a":20,"b":"y","doc":{"k":2},"bl":"Ag=="} {"id":2} `,
				`c null {"id":3,"a":30,"b":"z","doc":null,"bl":null} {"id":3} `,
				`u {"id":1,"a":10,"b":"x","doc":{"k":1},"bl":"AQ=="} {"id":1,"a":11,"b":"x","doc":{"k":1},"bl":"AQ=="} {"id":1} `,
				`d {"id":3,"a":30,"b":"z","doc":null,"bl":null} null {"id":3} `,
				`u {"id":2,"a":20,"b":"y","doc":{"k":2},"bl":"Ag=="} {"id":2,"a":20,"b":"yy","doc":{"k":2},"bl":"Ag=="} {"id":2} `,
				`u {"id":1,"a":11,"b":"x","doc":{"k":1},"bl":"AQ=="} {"id":1,"a":11,"b":"x","doc":{"k":5,"new":"v"},"bl":"AQ=="} {"id":1} `,
				`u {"id":2,"a":20,"b":"yy","doc":{"k":2},"bl":"Ag=="} {"id":2,"a":20,"b":"yy","doc":{},"bl":"Ag=="} {"id":2} `,
				`u {"id":1} {"a":12} {"id":1} minimal`,
				`c null {"id":4,"a":40} {"id":4} minimal`,
				`d {"id":4} null {"id":4} minimal`,
				`u {"id":1,"a":12,"b":"x","doc":{"k":5,"new":"v"}} {"id":1,"a":13,"b":"x","doc":{"k":5,"new":"v"}} {"id":1} noblob`,
				`d {"id":2,"a":20,"b":"yy","doc":{}} null {"id":2} noblob`,
			}
			evs := e.waitEvents("ek", len(want), 15*time.Second)
			time.Sleep(300 * time.Millisecond) // nothing more may arrive
			checkImages(t, e.events("ek"), want)
			if st := e.status("ek"); st.Status != StateRunning {
				t.Errorf("status = %+v", st)
			}
			_ = evs

			// A partial update of one JSON column keeps the other, which the
			// server logs as partial with no diffs.
			e.db.Exec(t, `CREATE TABLE ek.two (id INT PRIMARY KEY, j1 JSON, j2 JSON)`, `INSERT INTO ek.two VALUES (1, '{"a":1}', '[1,2]')`)
			e.startMySQLTask("two", []string{"ek.two"}, `,"format":"json"`)
			e.sessionRun("SET SESSION binlog_row_value_options = PARTIAL_JSON",
				`UPDATE ek.two SET j1 = JSON_SET(j1, '$.a', 2, '$.b', JSON_ARRAY(3)) WHERE id = 1`,
				`UPDATE ek.two SET j2 = JSON_ARRAY_APPEND(j2, '$', 3), j1 = JSON_REMOVE(j1, '$.a') WHERE id = 1`)
			e.waitEvents("two", 2, 10*time.Second)
			checkImages(t, e.events("two"), []string{
				`u {"id":1,"j1":{"a":1},"j2":[1,2]} {"id":1,"j1":{"a":2,"b":[3]},"j2":[1,2]} {"id":1} `,
				`u {"id":1,"j1":{"a":2,"b":[3]},"j2":[1,2]} {"id":1,"j1":{"b":[3]},"j2":[1,2,3]} {"id":1} `,
			})
		})
	}
}
