package source

import (
	"testing"

	"github.com/dataingest/dataingest/schema"
)

// TestReplayHistory: the catalog at the end of a history is the newest
// catalog record with every later record applied; older records and
// entries of other formats are passed over.
func TestReplayHistory(t *testing.T) {
	track := func(db string) bool { return db == "d" }
	def := func(name string, cols ...string) *schema.Table {
		tb := &schema.Table{DB: "d", Name: name}
		for _, c := range cols {
			tb.Columns = append(tb.Columns, schema.Column{Name: c, Type: "int", DataType: "int"})
		}
		return tb
	}
	old := schema.NewCatalog("mysql", "utf8mb4", "utf8mb4_0900_ai_ci", track)
	old.Tables[schema.TableRef{DB: "d", Name: "gone"}] = def("gone", "x")
	seed := schema.NewCatalog("mysql", "utf8mb4", "utf8mb4_0900_ai_ci", track)
	seed.DBs["d"] = schema.DBDefaults{Charset: "utf8mb4", Collation: "utf8mb4_0900_ai_ci"}
	seed.Tables[schema.TableRef{DB: "d", Name: "a"}] = def("a", "id")
	seed.Tables[schema.TableRef{DB: "d", Name: "b"}] = def("b", "id", "v")
	a, b, tmp := schema.TableRef{DB: "d", Name: "a"}, schema.TableRef{DB: "d", Name: "b"}, schema.TableRef{DB: "d", Name: "tmp"}
	var recs [][]byte
	add := func(r ...SchemaRecord) {
		for _, x := range r {
			recs = append(recs, x.Data)
		}
	}
	add(catalogRecordOf(old, "p0"))
	recs = append(recs, []byte("\x85\xa2op\xa3ddl")) // a ddl entry kept by older versions
	add(catalogRecordOf(seed, "p1"))
	// ALTER a ADD c; then a swap a <-> b through tmp.
	add(historyRecords([]schema.Change{{Kind: "ALTER", Table: a, Def: def("a", "id", "c")}}, nil, nil, "ALTER", "p2")...)
	add(historyRecords([]schema.Change{
		{Kind: "RENAME", From: a, Table: tmp, Def: def("tmp", "id", "c")},
		{Kind: "RENAME", From: b, Table: a, Def: def("a", "id", "v")},
		{Kind: "RENAME", From: tmp, Table: b, Def: def("b", "id", "c")},
	}, nil, nil, "RENAME", "p3")...)
	add(historyRecords(nil, map[string]schema.DBDefaults{"d": seed.DBs["d"]},
		map[string]schema.DBDefaults{"d": {Charset: "latin1", Collation: "latin1_swedish_ci"}}, "ALTER DATABASE", "p4")...)

	c, n, ok, err := replayHistory(recs, track)
	if err != nil || !ok {
		t.Fatalf("replay: ok %v err %v", ok, err)
	}
	if n != len(recs)-2 {
		t.Errorf("replayed %d records, want %d (from the newest catalog)", n, len(recs)-2)
	}
	cols := func(ref schema.TableRef) string {
		tb := c.Tables[ref]
		if tb == nil {
			return "-"
		}
		s := ""
		for _, col := range tb.Columns {
			s += col.Name + " "
		}
		return s
	}
	for ref, want := range map[schema.TableRef]string{a: "id v ", b: "id c ", tmp: "-", {DB: "d", Name: "gone"}: "-"} {
		if got := cols(ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
	if c.DBs["d"].Charset != "latin1" || c.Flavor != "mysql" || c.ServerCollation != "utf8mb4_0900_ai_ci" {
		t.Errorf("catalog defaults %+v %s %s", c.DBs, c.Flavor, c.ServerCollation)
	}
	if _, _, ok, _ := replayHistory(recs[1:2], track); ok {
		t.Error("a history without a catalog record replayed")
	}
}
