package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
)

// TestDDLCorpus replays long generated sequences of DDL mixed with DML
// (ADD / DROP / MODIFY / CHANGE / RENAME COLUMN, several specs in one
// ALTER, primary keys added and dropped, RENAME TABLE and swaps, CREATE
// TABLE ... LIKE, DROP and re-CREATE, TRUNCATE, quoted and unicode names,
// charset changes of VARCHARs and tables, widened INT, DECIMAL, VARCHAR,
// BINARY, DATETIME and ENUM columns) and checks every decoded row against
// what the server held, on every flavor, three times: with the task
// running (live), replayed from the binlog after a stop, where only the
// schema history knows the tables' past shapes (replay), and replayed with
// the node stopped and started three times on the way, so the catalog is
// rebuilt from the stored history at positions inside the sequence
// (resume). Each run must give the live run's number of events.
//
// How it checks. Right before each DDL statement that changes an existing
// table, the generator copies that table (CREATE TABLE dcsnap.cpN LIKE,
// INSERT ... SELECT): a frozen picture of the table's rows and definition
// as the server had them just then. After each DDL it touches every row
// of the table (UPDATE t SET seq = seq + 1, seq being a counter column no
// statement drops), so each row's state at the next checkpoint comes from
// an event written under the table's current definition. A model applies
// the task's events in order (c: set by id; u: move from before's id to
// after's; d: delete; ddl: TRUNCATE and DROP clear, RENAME moves rows to
// the new name; rows are matched by their id column, unique in every
// table, the primary key or part of it when there is one, and named one
// of corpusIDNames) and, at each checkpoint's place in the stream (before the
// ddl event of the statement the copy preceded), must equal the copy as a
// snapshot task reads it (the type matrix test shows snapshot and binlog
// values equal). So rows written under every version of every table are
// compared with the server, not just the last version. Besides: every row
// event's columns are those of the table's ddl event in force; a ddl
// event's column names and types are those of the copy (information_schema
// of the frozen table); every row event's key names the copy's primary key
// columns and holds the image's values; before images equal the model's
// row; no row is inserted twice or updated or deleted while absent; the
// ddl events are exactly those the statements give.
//
// What it catches, each shown by making the mistake on purpose (in a
// scratch copy; none is kept): a model that ignores what TRUNCATE, DROP and
// RENAME do to rows (checked on every run below: that model must fail the
// checks, or the corpus has grown too weak); a history that keeps a
// column's old ENUM labels after a MODIFY inserts one (the rows of that
// version differ from their copy on MySQL, where the binlog has no
// labels); a history that forgets DROP PRIMARY KEY (the key check); rows
// decoded with the table information_schema shows now instead of the
// history's (live: keys and JSON values differ from the copies; replay:
// the task fails on a table since dropped); a history that does not store
// a renamed table's definition (only the resume run: the task fails its
// table-map cross-check after a restart); an ALTER ... RENAME TO that
// loses its other specs, columns put at the end despite FIRST / AFTER,
// a RENAME COLUMN not applied, a BINARY width or a charset change missed
// (the task fails its table-map cross-check, which fails the test). A
// missed DECIMAL scale, DATETIME precision or VARCHAR length changes
// nothing: those are decoded with the binlog's own metadata.
//
// Every run has each of corpusFeatures at least once; DATAINGEST_DDL_SEED
// varies the sequence, and a failure writes its statements to a file named
// in the output.
func TestDDLCorpus(t *testing.T) {
	seed := uint64(1)
	if s := os.Getenv("DATAINGEST_DDL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DATAINGEST_DDL_SEED=%q: %v", s, err)
		}
		seed = v
	}
	eachFlavor(t, func(t *testing.T, e *env) {
		g := generateCorpus(seed, e.db.Flavor)
		t.Logf("seed %d: %d statements, %d ddl events, %d checkpoints", seed, g.main, len(g.ddl), len(g.cps))
		if m := g.missing(); len(m) > 0 {
			t.Errorf("seed %d: the corpus lacks %v", seed, m)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the statements are in %s", g.dump(e.db.Flavor, seed))
			}
		})
		n := e.startNode("n1")
		want := 0 // events of the live run, which every run must give
		for _, mode := range []string{"live", "replay", "resume"} {
			start := time.Now()
			got := runCorpus(t, e, &n, g, mode, seed, want)
			if want == 0 {
				want = got
			} else if got != want {
				t.Errorf("%s run: %d events, the live run %d", mode, got, want)
			}
			t.Logf("%s run: %v", mode, time.Since(start).Round(time.Millisecond))
		}
	})
}

const (
	corpusDB   = "dc"     // the database of the generated tables
	corpusCopy = "dcsnap" // the checkpoint copies, not selected by the task
)

// corpusIDNames are the names the row id column goes by; the model finds a
// row's id by them (no other column's name is one of them).
var corpusIDNames = []string{"id", "row id", "ид"}

// ccol is the generator's idea of one column: enough to write valid
// statements and values for it.
type ccol struct {
	name        string
	kind        string // id, seq, int, ubig, dec, str, bin, dt, enum, json
	big         bool   // id, int: BIGINT
	width       int    // str: VARCHAR length; bin: BINARY length
	cs          string // str: its character set, "" for the table's default
	prec, scale int    // dec
	fsp         int    // dt
	labels      []string
	notNull     bool
	def         string // a DEFAULT literal, "" for none
}

// ctable is a table of the corpus database.
type ctable struct {
	name string
	cs   string // the default character set
	cols []*ccol
	pk   []string
}

// corpusStep is one statement of a run.
type corpusStep struct {
	sql    string
	copies bool // an INSERT into a checkpoint copy: its rows come back as r events
}

// corpusCheckpoint says that copy holds table's rows and definition at the
// place in the event stream before ddl event number atDDL.
type corpusCheckpoint struct {
	copy, table string
	atDDL       int
}

// corpusGen generates a sequence and what it must give.
type corpusGen struct {
	rng    *rand.Rand
	flavor string
	tables []*ctable
	steps  []corpusStep
	ddl    []string // the ddl events the statements give: "db.table" or "db.table -" (gone)
	cps    []corpusCheckpoint
	main   int            // statements of the sequence, not counting the copies
	seen   map[string]int // how often each of corpusFeatures was generated
	nextID int
	nextNm int
}

// corpusTexts are VARCHAR values and the character sets that can hold them
// (MySQL's latin1 is cp1252, with €; latin2 is ISO 8859-2).
var corpusTexts = []struct {
	s  string
	cs []string
}{
	{"plain text", []string{"utf8mb4", "latin1", "latin2"}},
	{"café", []string{"utf8mb4", "latin1", "latin2"}},
	{"Größe Ä", []string{"utf8mb4", "latin1", "latin2"}},
	{"naïve €", []string{"utf8mb4", "latin1"}},
	{"Žluťoučký kůň", []string{"utf8mb4", "latin2"}},
	{"Łódź", []string{"utf8mb4", "latin2"}},
	{"😀 emoji", []string{"utf8mb4"}},
	{"中文 Привет", []string{"utf8mb4"}},
}

var corpusJSON = []string{`{"a": 1, "b": [true, null, "x"]}`, `[1, 2.5, 3]`, `{"ключ": "значение", "e": "😀"}`,
	`"just a string"`, `{"nested": {"k": [1, {"z": false}]}}`, `42`, `null`, `{}`}

// corpusFeatures are the kinds of statement every corpus has at least
// once: the generator goes on past its length until it has them all.
var corpusFeatures = []string{
	"insert", "insert-multi", "update", "update-key", "delete", "commit", "rollback",
	"add-end", "add-first", "add-after", "add-default", "drop-column", "move", "change", "rename-column", "rename-id",
	"widen-id", "widen-int", "widen-ubig", "widen-dec", "widen-str", "widen-bin", "widen-dt", "widen-enum",
	"charset-utf8mb4", "charset-latin1", "charset-latin2", "table-charset", "convert", "pk-add", "pk-drop", "pk-replace", "multi-spec",
	"rename-table", "swap", "alter-rename", "create-like", "recreate", "truncate", "drop-table", "create-table",
}

// missing lists the features not generated yet.
func (g *corpusGen) missing() []string {
	var out []string
	for _, f := range corpusFeatures {
		if g.seen[f] == 0 {
			out = append(out, f)
		}
	}
	return out
}

var (
	corpusLabels    = []string{"a", "b", "c", "ß", "x y", "zed", "ó", "q"} // distinct under accent-insensitive collations
	corpusTableNms  = []string{"alpha", "we`ird", "sp ace", "ünïcødé", "таблица", "t.dot", "beta"}
	corpusColBases  = []string{"c", "a b", "c`q", "ünï", "列", "Größe", "x.y", "ко л"}
	corpusKinds     = []string{"int", "ubig", "dec", "str", "bin", "dt", "enum", "json"}
	corpusCharsets  = []string{"utf8mb4", "latin1", "latin2"}
	corpusSwapTable = "swap`tmp"
)

func quoteID(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (t *ctable) ref() string { return quoteID(corpusDB) + "." + quoteID(t.name) }

func (t *ctable) col(kind string) *ccol {
	for _, c := range t.cols {
		if c.kind == kind {
			return c
		}
	}
	return nil
}

func (t *ctable) index(name string) int {
	return slices.IndexFunc(t.cols, func(c *ccol) bool { return c.name == name })
}

// charset is the character set a string column's values are stored in.
func (t *ctable) charset(c *ccol) string {
	if c.cs != "" {
		return c.cs
	}
	return t.cs
}

func (t *ctable) clone(name string) *ctable {
	n := &ctable{name: name, cs: t.cs, pk: slices.Clone(t.pk)}
	for _, c := range t.cols {
		cc := *c
		cc.labels = slices.Clone(c.labels)
		n.cols = append(n.cols, &cc)
	}
	return n
}

// sqlType is the column's definition after its name.
func (c *ccol) sqlType() string {
	var s string
	switch c.kind {
	case "id", "int":
		s = map[bool]string{false: "INT", true: "BIGINT"}[c.big]
	case "seq":
		s = "INT"
	case "ubig":
		s = "BIGINT UNSIGNED"
	case "dec":
		s = fmt.Sprintf("DECIMAL(%d,%d)", c.prec, c.scale)
	case "str":
		s = fmt.Sprintf("VARCHAR(%d)", c.width)
		if c.cs != "" {
			s += " CHARACTER SET " + c.cs
		}
	case "bin":
		s = fmt.Sprintf("BINARY(%d)", c.width)
	case "dt":
		s = fmt.Sprintf("DATETIME(%d)", c.fsp)
	case "enum":
		var ls []string
		for _, l := range c.labels {
			ls = append(ls, "'"+l+"'")
		}
		s = "ENUM(" + strings.Join(ls, ",") + ")"
	case "json":
		s = "JSON"
	}
	if c.notNull {
		s += " NOT NULL"
	}
	if c.def != "" {
		s += " DEFAULT " + c.def
	}
	return s
}

func (g *corpusGen) exec(sql string) {
	g.steps = append(g.steps, corpusStep{sql: sql})
	g.main++
}

func (g *corpusGen) event(table string, gone bool) {
	s := corpusDB + "." + table
	if gone {
		s += " -"
	}
	g.ddl = append(g.ddl, s)
}

// checkpoint freezes a copy of t as it is now.
func (g *corpusGen) checkpoint(t *ctable) {
	cp := fmt.Sprintf("cp%03d", len(g.cps))
	g.steps = append(g.steps,
		corpusStep{sql: fmt.Sprintf("CREATE TABLE %s.%s LIKE %s", corpusCopy, cp, t.ref())},
		corpusStep{sql: fmt.Sprintf("INSERT INTO %s.%s SELECT * FROM %s", corpusCopy, cp, t.ref()), copies: true})
	g.cps = append(g.cps, corpusCheckpoint{copy: cp, table: corpusDB + "." + t.name, atDDL: len(g.ddl)})
}

// touch writes every row of t again, under its current definition.
func (g *corpusGen) touch(t *ctable) { g.exec("UPDATE " + t.ref() + " SET `seq` = `seq` + 1") }

func (g *corpusGen) colName() string {
	g.nextNm++
	return fmt.Sprintf("%s%d", corpusColBases[g.rng.IntN(len(corpusColBases))], g.nextNm)
}

// freeTable is a table name not in use, "" when all are.
func (g *corpusGen) freeTable() string {
	var free []string
	for _, n := range corpusTableNms {
		if g.table(n) == nil {
			free = append(free, n)
		}
	}
	if len(free) == 0 {
		return ""
	}
	return free[g.rng.IntN(len(free))]
}

func (g *corpusGen) table(name string) *ctable {
	for _, t := range g.tables {
		if t.name == name {
			return t
		}
	}
	return nil
}

func (g *corpusGen) pick() *ctable { return g.tables[g.rng.IntN(len(g.tables))] }

// newCol is a new column of kind (any when ""), sometimes, or with
// withDefault always, with a default.
func (g *corpusGen) newCol(kind string, withDefault bool) *ccol {
	if kind == "" {
		kind = corpusKinds[g.rng.IntN(len(corpusKinds))]
	}
	if withDefault && !slices.Contains([]string{"int", "dec", "str", "enum", "dt"}, kind) {
		kind = "int"
	}
	c := &ccol{name: g.colName(), kind: kind}
	switch c.kind {
	case "dec":
		c.prec, c.scale = 8+g.rng.IntN(4), g.rng.IntN(3)
	case "str":
		c.width = []int{16, 60, 100}[g.rng.IntN(3)]
		if g.rng.IntN(2) == 0 {
			c.cs = corpusCharsets[g.rng.IntN(len(corpusCharsets))]
		}
	case "bin":
		c.width = 1 + g.rng.IntN(8)
	case "dt":
		c.fsp = 3
	case "enum":
		c.labels = slices.Clone(corpusLabels[:2+g.rng.IntN(2)])
	}
	if withDefault || g.rng.IntN(3) == 0 {
		c.def = map[string]string{"int": "7", "dec": "1.5", "str": "'café'", "enum": "'" + c.labels0() + "'",
			"dt": "'2000-01-01 00:00:00'"}[c.kind]
		c.notNull = c.def != "" && g.rng.IntN(2) == 0
	}
	return c
}

func (c *ccol) labels0() string {
	if len(c.labels) == 0 {
		return ""
	}
	return c.labels[0]
}

// value is an SQL literal valid for c in t.
func (g *corpusGen) value(t *ctable, c *ccol) string {
	if !c.notNull && c.kind != "id" && c.kind != "seq" && g.rng.IntN(8) == 0 {
		return "NULL"
	}
	r := g.rng
	switch c.kind {
	case "seq":
		return "0"
	case "int":
		if c.big && r.IntN(2) == 0 {
			return strconv.FormatInt(r.Int64()-r.Int64(), 10)
		}
		return strconv.FormatInt(int64(r.Int32())-int64(r.Int32()), 10)
	case "ubig":
		return []string{"0", "18446744073709551615", strconv.FormatUint(r.Uint64(), 10)}[r.IntN(3)]
	case "dec":
		return g.decimal(c)
	case "str":
		return "'" + g.text(t.charset(c)) + "'"
	case "bin":
		b := make([]byte, 1+r.IntN(c.width))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return fmt.Sprintf("0x%x", b)
	case "dt":
		s := fmt.Sprintf("'%04d-%02d-%02d %02d:%02d:%02d", 1990+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
		if c.fsp > 0 {
			s += fmt.Sprintf(".%0*d", c.fsp, r.IntN(int(pow10(c.fsp))))
		}
		return s + "'"
	case "enum":
		return "'" + c.labels[r.IntN(len(c.labels))] + "'"
	case "json":
		return "'" + corpusJSON[r.IntN(len(corpusJSON))] + "'"
	}
	panic("kind " + c.kind)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

func (g *corpusGen) decimal(c *ccol) string {
	s := strconv.FormatInt(g.rng.Int64N(pow10(min(c.prec-c.scale, 6))), 10)
	if c.scale > 0 {
		s += fmt.Sprintf(".%0*d", c.scale, g.rng.Int64N(pow10(c.scale)))
	}
	if g.rng.IntN(3) == 0 {
		s = "-" + s
	}
	return "'" + s + "'"
}

// text is a VARCHAR value that every one of charsets can hold.
func (g *corpusGen) text(charsets ...string) string {
	var ok []string
	for _, x := range corpusTexts {
		if !slices.ContainsFunc(charsets, func(cs string) bool { return !slices.Contains(x.cs, cs) }) {
			ok = append(ok, x.s)
		}
	}
	return ok[g.rng.IntN(len(ok))]
}

// insertRows inserts n new rows into t in one statement.
func (g *corpusGen) insertRows(t *ctable, n int) string {
	var names, rows []string
	for _, c := range t.cols {
		names = append(names, quoteID(c.name))
	}
	for range n {
		var vals []string
		for _, c := range t.cols {
			if c.kind == "id" {
				g.nextID++
				vals = append(vals, strconv.Itoa(g.nextID))
				continue
			}
			vals = append(vals, g.value(t, c))
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", t.ref(), strings.Join(names, ", "), strings.Join(rows, ", "))
}

// where selects some of t's rows by id.
func (g *corpusGen) where(t *ctable) string {
	k := 2 + g.rng.IntN(3)
	return fmt.Sprintf("MOD(ABS(%s), %d) = %d", quoteID(t.col("id").name), k, g.rng.IntN(k))
}

// corpusDML are the row changes transactions are made of.
var corpusDML = []string{"insert", "insert-multi", "update", "update", "update-key", "delete"}

// dml is a row change of a random table: an insert of one row or of
// several, an update of other columns or of the id, or a delete.
func (g *corpusGen) dml(f string) string {
	t := g.pick()
	g.seen[f]++
	id := quoteID(t.col("id").name)
	switch f {
	case "insert":
		return g.insertRows(t, 1)
	case "insert-multi":
		return g.insertRows(t, 2+g.rng.IntN(3))
	case "update":
		var sets []string
		for _, c := range t.cols {
			if c.kind != "id" && c.kind != "seq" && g.rng.IntN(2) == 0 {
				sets = append(sets, quoteID(c.name)+" = "+g.value(t, c))
			}
		}
		if len(sets) == 0 {
			sets = []string{"`seq` = `seq` + 100"}
		}
		return fmt.Sprintf("UPDATE %s SET %s WHERE %s", t.ref(), strings.Join(sets, ", "), g.where(t))
	case "update-key":
		return fmt.Sprintf("UPDATE %s SET %s = -%s WHERE %s", t.ref(), id, id, g.where(t))
	}
	return fmt.Sprintf("DELETE FROM %s WHERE %s AND MOD(ABS(%s), 2) = 0", t.ref(), g.where(t), id)
}

// createTable creates a table of random columns and fills it.
func (g *corpusGen) createTable(name string) {
	t := &ctable{name: name, cs: []string{"utf8mb4", "latin1"}[g.rng.IntN(2)]}
	t.cols = []*ccol{{name: "id", kind: "id", notNull: true}, {name: "seq", kind: "seq", notNull: true, def: "0"}}
	for range 2 + g.rng.IntN(4) {
		t.cols = append(t.cols, g.newCol("", false))
	}
	g.rng.Shuffle(len(t.cols)-1, func(i, j int) { t.cols[i+1], t.cols[j+1] = t.cols[j+1], t.cols[i+1] })
	if g.rng.IntN(3) == 0 {
		i := g.rng.IntN(len(t.cols))
		t.cols[0], t.cols[i] = t.cols[i], t.cols[0]
	}
	switch g.rng.IntN(6) {
	case 0:
	case 1:
		t.pk = []string{"id", "seq"}
	default:
		t.pk = []string{"id"}
	}
	var defs []string
	for _, c := range t.cols {
		defs = append(defs, quoteID(c.name)+" "+c.sqlType())
	}
	if t.pk != nil {
		defs = append(defs, "PRIMARY KEY ("+quoteCols(t.pk)+")")
	}
	g.exec(fmt.Sprintf("CREATE TABLE %s (%s) DEFAULT CHARSET=%s", t.ref(), strings.Join(defs, ", "), t.cs))
	g.tables = append(g.tables, t)
	g.event(name, false)
	g.exec(g.insertRows(t, 3+g.rng.IntN(5)))
}

func quoteCols(names []string) string {
	var q []string
	for _, n := range names {
		q = append(q, quoteID(n))
	}
	return strings.Join(q, ", ")
}

// corpusSpec is one ALTER TABLE spec: statements to run first, so that
// the data suits it, its text, and its effect on the generator's table.
type corpusSpec struct {
	prep  []string
	sql   string
	apply func(t *ctable)
}

// widened is c with a type that holds all of c's values, nil when there is
// none the generator knows.
func (g *corpusGen) widened(c *ccol) *ccol {
	n := *c
	n.labels = slices.Clone(c.labels)
	switch c.kind {
	case "id", "int":
		if c.big {
			return nil
		}
		n.big = true
	case "ubig":
		n.kind, n.prec, n.scale = "dec", 25, 0
	case "dec":
		if c.prec+2 > 40 || c.scale >= 8 {
			return nil
		}
		n.prec, n.scale = c.prec+2, c.scale+1
	case "str":
		if c.width >= 300 {
			return nil
		}
		n.width += 10 + g.rng.IntN(60)
	case "bin":
		if c.width >= 32 {
			return nil
		}
		n.width += 1 + g.rng.IntN(8)
	case "dt":
		if c.fsp >= 6 {
			return nil
		}
		n.fsp = 6
	case "enum":
		var free []string
		for _, l := range corpusLabels {
			if !slices.Contains(c.labels, l) {
				free = append(free, l)
			}
		}
		if len(free) == 0 {
			return nil
		}
		n.labels = slices.Insert(n.labels, g.rng.IntN(len(n.labels)+1), free[g.rng.IntN(len(free))])
	default:
		return nil
	}
	return &n
}

// candidates are t's columns not yet used by the statement that ok accepts.
func candidates(t *ctable, used map[string]bool, ok func(c *ccol) bool) []*ccol {
	var out []*ccol
	for _, c := range t.cols {
		if !used[c.name] && ok(c) {
			out = append(out, c)
		}
	}
	return out
}

// position is "", " FIRST" or " AFTER x" (f forces one: add-end,
// add-first, add-after) with x a column the statement does not otherwise
// change, the feature it is, and how it places a column in t.
func (g *corpusGen) position(t *ctable, used map[string]bool, f string) (sql, feature string, place func(t *ctable, c *ccol)) {
	others := candidates(t, used, func(*ccol) bool { return true })
	n := map[string]int{"add-end": 0, "add-first": 1, "add-after": 2}[f]
	if !slices.Contains([]string{"add-end", "add-first", "add-after"}, f) {
		n = g.rng.IntN(3)
	}
	switch {
	case n == 0 || len(others) == 0:
		return "", "add-end", func(t *ctable, c *ccol) { t.cols = append(t.cols, c) }
	case n == 1:
		return " FIRST", "add-first", func(t *ctable, c *ccol) { t.cols = slices.Insert(t.cols, 0, c) }
	}
	after := others[g.rng.IntN(len(others))].name
	used[after] = true // no later spec of the statement may rename or drop it
	return " AFTER " + quoteID(after), "add-after", func(t *ctable, c *ccol) { t.cols = slices.Insert(t.cols, t.index(after)+1, c) }
}

// specAdd adds column c, placed as f says (or anywhere).
func (g *corpusGen) specAdd(t *ctable, used map[string]bool, c *ccol, f string) *corpusSpec {
	used[c.name] = true
	pos, feature, place := g.position(t, used, f)
	g.seen[feature]++
	if c.def != "" {
		g.seen["add-default"]++
	}
	return &corpusSpec{sql: "ADD COLUMN " + quoteID(c.name) + " " + c.sqlType() + pos, apply: func(t *ctable) { place(t, c) }}
}

func (g *corpusGen) specDrop(t *ctable, used map[string]bool) *corpusSpec {
	cs := candidates(t, used, func(c *ccol) bool { return c.kind != "id" && c.kind != "seq" })
	if len(cs) == 0 {
		return nil
	}
	c := cs[g.rng.IntN(len(cs))]
	used[c.name] = true
	g.seen["drop-column"]++
	return &corpusSpec{sql: "DROP COLUMN " + quoteID(c.name), apply: func(t *ctable) { t.cols = slices.Delete(t.cols, t.index(c.name), t.index(c.name)+1) }}
}

// specModify gives a column that ok accepts a wider type (MODIFY); rename
// also renames it (CHANGE), moved also moves it. Only a rename or a move
// may keep the type.
func (g *corpusGen) specModify(t *ctable, used map[string]bool, rename, moved bool, ok func(c *ccol) bool) *corpusSpec {
	cs := candidates(t, used, func(c *ccol) bool { return c.kind != "seq" && ok(c) && (rename || moved || g.widened(c) != nil) })
	if len(cs) == 0 {
		return nil
	}
	c := cs[g.rng.IntN(len(cs))]
	used[c.name] = true
	n := g.widened(c)
	if n == nil {
		cp := *c
		n = &cp
	} else {
		g.seen["widen-"+c.kind]++
	}
	head := "MODIFY COLUMN " + quoteID(c.name)
	if rename {
		n.name = g.newName(c)
		used[n.name] = true
		head = "CHANGE COLUMN " + quoteID(c.name) + " " + quoteID(n.name)
		g.seen[map[bool]string{false: "change", true: "rename-id"}[c.kind == "id"]]++
	}
	pos, place := "", func(*ctable, *ccol) {}
	if moved {
		pos, _, place = g.position(t, used, "")
		g.seen["move"]++
	}
	return &corpusSpec{sql: head + " " + n.sqlType() + pos, apply: func(t *ctable) {
		i := t.index(c.name)
		t.cols[i] = n
		renameKey(t, c.name, n.name)
		if moved {
			t.cols = slices.Delete(t.cols, i, i+1)
			place(t, n)
		}
	}}
}

func renameKey(t *ctable, from, to string) {
	for j, k := range t.pk {
		if k == from {
			t.pk[j] = to
		}
	}
}

// newName is a new name for c: another of corpusIDNames for the id.
func (g *corpusGen) newName(c *ccol) string {
	if c.kind != "id" {
		return g.colName()
	}
	free := slices.DeleteFunc(slices.Clone(corpusIDNames), func(n string) bool { return n == c.name })
	return free[g.rng.IntN(len(free))]
}

func (g *corpusGen) specRename(t *ctable, used map[string]bool, ok func(c *ccol) bool) *corpusSpec {
	cs := candidates(t, used, func(c *ccol) bool { return c.kind != "seq" && ok(c) })
	if len(cs) == 0 {
		return nil
	}
	c := cs[g.rng.IntN(len(cs))]
	used[c.name] = true
	to := g.newName(c)
	used[to] = true
	g.seen[map[bool]string{false: "rename-column", true: "rename-id"}[c.kind == "id"]]++
	return &corpusSpec{sql: "RENAME COLUMN " + quoteID(c.name) + " TO " + quoteID(to), apply: func(t *ctable) {
		renameKey(t, c.name, to)
		t.cols[t.index(c.name)].name = to
	}}
}

// specCharset moves a VARCHAR to character set to, first giving its rows
// text that both character sets hold.
func (g *corpusGen) specCharset(t *ctable, used map[string]bool, to string) *corpusSpec {
	cs := candidates(t, used, func(c *ccol) bool { return c.kind == "str" && t.charset(c) != to })
	if len(cs) == 0 {
		return nil
	}
	c := cs[g.rng.IntN(len(cs))]
	used[c.name] = true
	n := *c
	n.cs = to
	g.seen["charset-"+to]++
	var prep []string
	if to != "utf8mb4" {
		prep = []string{fmt.Sprintf("UPDATE %s SET %s = '%s' WHERE %s IS NOT NULL", t.ref(), quoteID(c.name), g.text(t.charset(c), to), quoteID(c.name))}
	}
	return &corpusSpec{prep: prep, sql: "MODIFY " + quoteID(c.name) + " " + n.sqlType(), apply: func(t *ctable) { t.cols[t.index(c.name)] = &n }}
}

// specTableCharset changes t's default character set (f table-charset:
// the columns that had the old default keep it) or converts t and every
// character column to another one (f convert).
func (g *corpusGen) specTableCharset(t *ctable, used map[string]bool, f string) *corpusSpec {
	to := t.cs
	for to == t.cs {
		to = corpusCharsets[g.rng.IntN(len(corpusCharsets))]
	}
	if f == "table-charset" {
		g.seen[f]++
		return &corpusSpec{sql: "DEFAULT CHARACTER SET = " + to, apply: func(t *ctable) {
			for _, c := range t.cols {
				if c.kind == "str" && c.cs == "" {
					c.cs = t.cs
				}
			}
			t.cs = to
		}}
	}
	var prep []string
	for _, c := range t.cols {
		switch {
		case used[c.name]:
			return nil
		case c.kind == "enum" && !asciiLabels(c):
			return nil // the servers copy the labels' bytes: see setUp
		case c.kind == "json" && g.flavor == "mariadb":
			to = "utf8mb4" // MariaDB's JSON is LONGTEXT: its text converts too
		}
	}
	for _, c := range t.cols {
		used[c.name] = true
		if c.kind == "str" && to != "utf8mb4" && t.charset(c) != to {
			prep = append(prep, fmt.Sprintf("UPDATE %s SET %s = '%s' WHERE %s IS NOT NULL", t.ref(), quoteID(c.name), g.text(t.charset(c), to), quoteID(c.name)))
		}
	}
	g.seen[f]++
	return &corpusSpec{prep: prep, sql: "CONVERT TO CHARACTER SET " + to, apply: func(t *ctable) {
		for _, c := range t.cols {
			c.cs = ""
		}
		t.cs = to
	}}
}

func asciiLabels(c *ccol) bool {
	return !slices.ContainsFunc(c.labels, func(l string) bool { return strings.ContainsFunc(l, func(r rune) bool { return r > 127 }) })
}

// specKey adds a primary key (pk-add), drops it (pk-drop) or replaces it
// (pk-replace); f "" is whichever t allows. nil: t does not allow f.
func (g *corpusGen) specKey(t *ctable, used map[string]bool, f string) *corpusSpec {
	id := t.col("id")
	if used[id.name] || used["seq"] {
		return nil
	}
	if f == "" {
		f = "pk-add"
		if t.pk != nil {
			f = []string{"pk-drop", "pk-replace"}[g.rng.IntN(2)]
		}
	}
	if (f == "pk-add") != (t.pk == nil) {
		return nil
	}
	used[id.name], used["seq"] = true, true
	g.seen[f]++
	keys := [][]string{{id.name}, {id.name, "seq"}, {"seq", id.name}}
	k := keys[g.rng.IntN(len(keys))]
	switch f {
	case "pk-add":
		return &corpusSpec{sql: "ADD PRIMARY KEY (" + quoteCols(k) + ")", apply: func(t *ctable) { t.pk = k }}
	case "pk-drop":
		return &corpusSpec{sql: "DROP PRIMARY KEY", apply: func(t *ctable) { t.pk = nil }}
	}
	return &corpusSpec{sql: "DROP PRIMARY KEY, ADD PRIMARY KEY (" + quoteCols(k) + ")", apply: func(t *ctable) { t.pk = k }}
}

// corpusSpecFeatures are the features of one ALTER TABLE spec.
var corpusSpecFeatures = []string{"add-end", "add-first", "add-after", "add-default", "drop-column", "move", "change",
	"rename-column", "rename-id", "widen-id", "widen-int", "widen-ubig", "widen-dec", "widen-str", "widen-bin", "widen-dt",
	"widen-enum", "charset-utf8mb4", "charset-latin1", "charset-latin2", "pk-add", "pk-drop", "pk-replace"}

// specFor is a spec of feature f for t, nil when t does not allow it. With
// setUp it first changes t so that it does (another ALTER, or a new table
// in its place, which it returns).
func (g *corpusGen) specFor(t *ctable, used map[string]bool, f string, setUp bool) (*ctable, *corpusSpec) {
	isID := func(c *ccol) bool { return c.kind == "id" }
	notID := func(c *ccol) bool { return c.kind != "id" }
	for try := 0; ; try++ {
		var s *corpusSpec
		switch {
		case strings.HasPrefix(f, "add-"):
			s = g.specAdd(t, used, g.newCol("", f == "add-default"), f)
		case f == "drop-column":
			s = g.specDrop(t, used)
		case f == "move":
			s = g.specModify(t, used, g.rng.IntN(2) == 0, true, notID)
		case f == "change":
			s = g.specModify(t, used, true, false, notID)
		case f == "rename-column":
			s = g.specRename(t, used, notID)
		case f == "rename-id" && g.rng.IntN(2) == 0:
			s = g.specRename(t, used, isID)
		case f == "rename-id":
			s = g.specModify(t, used, true, false, isID)
		case strings.HasPrefix(f, "widen-"):
			kind := strings.TrimPrefix(f, "widen-")
			s = g.specModify(t, used, false, false, func(c *ccol) bool { return c.kind == kind })
		case strings.HasPrefix(f, "charset-"):
			s = g.specCharset(t, used, strings.TrimPrefix(f, "charset-"))
		case f == "table-charset", f == "convert":
			s = g.specTableCharset(t, used, f)
		case strings.HasPrefix(f, "pk-"):
			s = g.specKey(t, used, f)
		}
		if s != nil || !setUp || try > 0 {
			return t, s
		}
		t = g.setUp(t, f)
	}
}

// setUp changes t so that it allows f, and returns it (or the table that
// took its place).
func (g *corpusGen) setUp(t *ctable, f string) *ctable {
	var c *ccol
	switch {
	case f == "widen-id":
		g.recreate(t)
		return g.table(t.name)
	case f == "pk-add":
		g.alter(t, []*corpusSpec{g.specKey(t, map[string]bool{}, "pk-drop")}, "")
		return t
	case strings.HasPrefix(f, "pk-"):
		g.alter(t, []*corpusSpec{g.specKey(t, map[string]bool{}, "pk-add")}, "")
		return t
	case f == "convert": // CONVERT TO would make labels of the bytes of non-ASCII ones
		var drops []*corpusSpec
		for _, c := range t.cols {
			if c.kind == "enum" && !asciiLabels(c) {
				name := c.name
				drops = append(drops, &corpusSpec{sql: "DROP COLUMN " + quoteID(name), apply: func(t *ctable) { t.cols = slices.Delete(t.cols, t.index(name), t.index(name)+1) }})
			}
		}
		g.alter(t, drops, "")
		return t
	case strings.HasPrefix(f, "widen-"):
		c = g.newCol(strings.TrimPrefix(f, "widen-"), false)
	default: // a VARCHAR in a character set other than the one f wants
		c = g.newCol("str", false)
		c.cs = corpusCharsets[(slices.Index(corpusCharsets, strings.TrimPrefix(f, "charset-"))+1)%len(corpusCharsets)]
	}
	g.alter(t, []*corpusSpec{g.specAdd(t, map[string]bool{}, c, "")}, "")
	g.exec(g.insertRows(t, 1))
	return t
}

// randomSpec is a spec of a random feature that t allows.
func (g *corpusGen) randomSpec(t *ctable, used map[string]bool) *corpusSpec {
	for {
		if _, s := g.specFor(t, used, corpusSpecFeatures[g.rng.IntN(len(corpusSpecFeatures))], false); s != nil {
			return s
		}
	}
}

// alter runs one ALTER TABLE of specs on t; to, when not "", renames it
// in the same statement.
func (g *corpusGen) alter(t *ctable, specs []*corpusSpec, to string) {
	var sqls []string
	for _, s := range specs {
		for _, p := range s.prep {
			g.exec(p)
		}
		sqls = append(sqls, s.sql)
	}
	g.checkpoint(t)
	if len(specs) > 1 {
		g.seen["multi-spec"]++
	}
	if to != "" {
		g.seen["alter-rename"]++
		sqls = append(sqls, "RENAME TO "+quoteID(corpusDB)+"."+quoteID(to))
	}
	g.exec("ALTER TABLE " + t.ref() + " " + strings.Join(sqls, ", "))
	for _, s := range specs {
		s.apply(t)
	}
	if to != "" {
		g.event(t.name, true)
		t.name = to
	}
	g.event(t.name, false)
	g.touch(t)
}

// renameTo renames t with RENAME TABLE.
func (g *corpusGen) renameTo(t *ctable, to string) {
	g.seen["rename-table"]++
	g.checkpoint(t)
	g.exec(fmt.Sprintf("RENAME TABLE %s TO %s", t.ref(), (&ctable{name: to}).ref()))
	g.event(t.name, true)
	g.event(to, false)
	t.name = to
	g.touch(t)
}

// swap swaps the names of two tables through a temporary name.
func (g *corpusGen) swap(t, u *ctable) {
	g.seen["swap"]++
	g.checkpoint(t)
	g.checkpoint(u)
	tmp := &ctable{name: corpusSwapTable}
	g.exec(fmt.Sprintf("RENAME TABLE %s TO %s, %s TO %s, %s TO %s", t.ref(), tmp.ref(), u.ref(), t.ref(), tmp.ref(), u.ref()))
	for _, e := range []struct {
		name string
		gone bool
	}{{t.name, true}, {tmp.name, false}, {u.name, true}, {t.name, false}, {tmp.name, true}, {u.name, false}} {
		g.event(e.name, e.gone)
	}
	t.name, u.name = u.name, t.name
	g.touch(t)
	g.touch(u)
}

// alterRename renames a table with ALTER TABLE, together with another
// spec.
func (g *corpusGen) alterRename() {
	t := g.pick()
	if g.flavor == "mariadb" && !plainName(t.name) {
		i := slices.IndexFunc(g.tables, func(t *ctable) bool { return plainName(t.name) })
		if i < 0 {
			g.renameTo(t, corpusTableNms[slices.IndexFunc(corpusTableNms, func(n string) bool { return plainName(n) && g.table(n) == nil })])
		} else {
			t = g.tables[i]
		}
	}
	g.alter(t, []*corpusSpec{g.randomSpec(t, map[string]bool{})}, g.freeTable())
}

// plainName reports whether a table's file name is its name. MariaDB
// 10.11 leaves the old table in place, with its old definition, when an
// ALTER TABLE that copies the table also renames it from a name that its
// file name must encode (a dot, a space, a letter beyond ASCII), so the
// corpus renames such tables with RENAME TABLE there.
func plainName(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// dropTable drops t; the generator forgets it.
func (g *corpusGen) dropTable(t *ctable) {
	g.checkpoint(t)
	g.exec("DROP TABLE " + t.ref())
	g.event(t.name, true)
	g.tables = slices.DeleteFunc(g.tables, func(x *ctable) bool { return x == t })
}

// recreate drops t and creates a table of other columns in its place.
func (g *corpusGen) recreate(t *ctable) {
	g.seen["recreate"]++
	g.dropTable(t)
	g.createTable(t.name)
}

// tableDDL is a statement on a whole table, keeping 3 to 5 tables.
func (g *corpusGen) tableDDL(f string) {
	t := g.pick()
	switch f {
	case "recreate":
		g.recreate(t)
	case "truncate":
		g.seen["truncate"]++
		g.checkpoint(t)
		g.exec("TRUNCATE TABLE " + t.ref())
		g.event(t.name, false)
		g.exec(g.insertRows(t, 1+g.rng.IntN(3)))
	case "drop-table":
		if len(g.tables) <= 3 {
			g.tableDDL("create-table")
		}
		g.seen["drop-table"]++
		g.dropTable(g.pick())
	case "create-table", "create-like":
		if len(g.tables) >= 5 {
			g.tableDDL("drop-table")
		}
		g.seen[f]++
		name := g.freeTable()
		if f == "create-table" {
			g.createTable(name)
			return
		}
		t = g.pick() // t may have been dropped
		g.exec(fmt.Sprintf("CREATE TABLE %s.%s LIKE %s", quoteID(corpusDB), quoteID(name), t.ref()))
		nt := t.clone(name)
		g.tables = append(g.tables, nt)
		g.event(name, false)
		g.exec(g.insertRows(nt, 1+g.rng.IntN(3)))
	}
}

// transaction is a multi-statement transaction, committed or rolled back
// as f says.
func (g *corpusGen) transaction(f string) {
	g.seen[f]++
	g.exec("BEGIN")
	for range 2 + g.rng.IntN(3) {
		g.exec(g.dml(corpusDML[g.rng.IntN(len(corpusDML))]))
	}
	g.exec(map[string]string{"commit": "COMMIT", "rollback": "ROLLBACK"}[f])
}

// do generates statements with feature f.
func (g *corpusGen) do(f string) {
	switch f {
	case "insert", "insert-multi", "update", "update-key", "delete":
		g.exec(g.dml(f))
	case "commit", "rollback":
		g.transaction(f)
	case "multi-spec":
		t, used := g.pick(), map[string]bool{}
		specs := []*corpusSpec{g.randomSpec(t, used), g.randomSpec(t, used)}
		if g.rng.IntN(2) == 0 {
			specs = append(specs, g.randomSpec(t, used))
		}
		g.alter(t, specs, "")
	case "rename-table":
		g.renameTo(g.pick(), g.freeTable())
	case "swap":
		t, u := g.pick(), g.pick()
		for u == t {
			u = g.pick()
		}
		g.swap(t, u)
	case "alter-rename":
		g.alterRename()
	case "create-like", "recreate", "truncate", "drop-table", "create-table":
		g.tableDDL(f)
	default:
		t, s := g.specFor(g.pick(), map[string]bool{}, f, true)
		if s == nil {
			panic("the corpus generator cannot make " + f)
		}
		g.alter(t, []*corpusSpec{s}, "")
	}
}

// corpusWeights weigh the features the generator draws from (1 when not
// listed).
var corpusWeights = map[string]int{"insert": 5, "insert-multi": 5, "update": 8, "update-key": 2, "delete": 3,
	"commit": 4, "rollback": 1, "multi-spec": 5, "rename-table": 2, "swap": 2}

// generateCorpus generates the statements of a run, the same for every
// run of a seed and flavor: random features to a random length, then each
// feature the sequence still lacks.
func generateCorpus(seed uint64, flavor string) *corpusGen {
	g := &corpusGen{rng: rand.New(rand.NewPCG(seed, 0xddc0)), flavor: flavor, seen: map[string]int{}}
	g.exec("CREATE TABLE " + quoteID(corpusDB) + ".done (id INT PRIMARY KEY)")
	g.event("done", false)
	for range 3 {
		g.createTable(g.freeTable())
	}
	var pool []string
	for _, f := range corpusFeatures {
		for range max(corpusWeights[f], 1) {
			pool = append(pool, f)
		}
	}
	for target := 150 + g.rng.IntN(50); g.main < target; {
		g.do(pool[g.rng.IntN(len(pool))])
	}
	for m := g.missing(); len(m) > 0; m = g.missing() {
		g.do(m[0])
		if g.seen[m[0]] == 0 {
			panic("the corpus generator did not make " + m[0])
		}
	}
	for _, t := range g.tables {
		g.checkpoint(t)
	}
	g.exec("INSERT INTO " + quoteID(corpusDB) + ".done VALUES (1)")
	return g
}

// runCorpus runs the corpus with a task that follows it live (mode live),
// replays it from the binlog after it ran (replay) or does so with its
// node stopped and started again at a quarter, half and three quarters of
// the live run's events (resume: each start rebuilds the catalog from the
// schema history at a position inside the sequence), checks the task's
// events, and returns how many there were.
func runCorpus(t *testing.T, e *env, n **node, g *corpusGen, mode string, seed uint64, live int) int {
	task, extra := "corpus-"+mode, ""
	if mode == "replay" {
		extra = `,"format":"json"`
	}
	e.freshDatabases(corpusDB, corpusCopy)
	e.startMySQLTask(task, []string{corpusDB + ".*"}, extra)
	if mode != "live" {
		e.command("cmd", "stop", "task", task)
		e.waitState(task, StateStopped, 5*time.Second)
	}
	conn := e.db.Conn(t)
	copied := 0
	for i, s := range g.steps {
		r, err := conn.Execute(s.sql)
		if err != nil {
			t.Fatalf("seed %d, statement %d: %s: %v", seed, i, s.sql, err)
		}
		if s.copies {
			copied += int(r.AffectedRows)
		}
		r.Close()
	}
	if mode != "live" {
		e.command("cmd", "start", "task", task)
	}
	if mode == "resume" {
		e.interrupt(n, task, live)
	}
	evs := e.corpusEvents(task, func(_ int64, last redis.XMessage) bool {
		return last.Values["table"] == corpusDB+".done" && last.Values["op"] == "c"
	})
	e.command("cmd", "stop", "task", task)
	check := task + "-check"
	e.command("cmd", "start", "task", check, "config", e.cdcConfig("initial", []string{corpusCopy + ".*"}, ""))
	copies := e.corpusEvents(check, func(n int64, _ redis.XMessage) bool { return n >= int64(copied) })
	e.command("cmd", "stop", "task", check)
	e.waitState(task, StateStopped, 5*time.Second)
	e.waitState(check, StateStopped, 5*time.Second)

	if len(copies) != copied {
		t.Errorf("%s run: the snapshot of the copies gave %d events, the copies hold %d rows", mode, len(copies), copied)
	}
	want := corpusCopies(t, e, copies)
	t.Logf("%s run: %d events, %d checkpoint rows", mode, len(evs), copied)
	problems := corpusCheck(t, g, evs, want, false)
	if len(problems) > 0 {
		t.Errorf("%s run, seed %d: %d problems:\n%s", mode, seed, len(problems), strings.Join(problems[:min(len(problems), 25)], "\n"))
	}
	// The same events through a model that ignores what TRUNCATE, DROP and
	// RENAME do to rows must fail: the corpus has enough of them.
	if wrong := corpusCheck(t, g, evs, want, true); len(wrong) == 0 {
		t.Errorf("%s run: a model that ignores table-level DDL passes the checks: the corpus no longer tests it", mode)
	}
	return len(evs)
}

// interrupt stops the node running task each time the task has written
// another quarter of total events, and starts a new one, which resumes
// the task from its checkpoint.
func (e *env) interrupt(n **node, task string, total int) {
	e.t.Helper()
	key := e.st.Keys().TaskEvents(task)
	var at []int64
	for q := 1; q <= 3; q++ {
		for {
			l, _ := e.rdb.XLen(context.Background(), key).Result()
			if l >= int64(total*q/4) || e.status(task).Status == StateFailed {
				break
			}
			time.Sleep(time.Millisecond)
		}
		(*n).Stop()
		l, _ := e.rdb.XLen(context.Background(), key).Result()
		at = append(at, l)
		*n = e.startNode("n1")
	}
	e.t.Logf("resume run: the node stopped after %v of %d events", at, total)
}

// dump writes the statements of a run to a file and returns its name.
func (g *corpusGen) dump(flavor string, seed uint64) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("ddlcorpus-%s-%d.sql", flavor, seed))
	var b strings.Builder
	for _, s := range g.steps {
		b.WriteString(s.sql + ";\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err.Error()
	}
	return path
}

// corpusEvents waits until done holds for the number of a task's events
// and its last one, or fails the test when the task fails, and returns
// the events.
func (e *env) corpusEvents(task string, done func(n int64, last redis.XMessage) bool) []event {
	e.t.Helper()
	key := e.st.Keys().TaskEvents(task)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _ := e.rdb.XLen(context.Background(), key).Result()
		last, _ := e.rdb.XRevRangeN(context.Background(), key, "+", "-", 1).Result()
		if len(last) == 1 && done(n, last[0]) {
			return e.events(task)
		}
		if st := e.status(task); st.Status == StateFailed {
			e.t.Fatalf("task %s FAILED after %d events: %s", task, n, st.Error)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: timed out with %d events, status %+v", task, n, e.status(task))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpair is one column of a row image or key: its name and value as
// compact JSON.
type cpair struct{ k, v string }

// cevent is an event as the checks read it.
type cevent struct {
	i                  int
	op, table, ddl     string
	before, after, key []cpair
	cols               []cpair // ddl: name, type
	stmt               string  // source file:pos, which the events of one statement share
}

func parseCorpusEvent(t *testing.T, i int, ev event) cevent {
	t.Helper()
	js, err := events.ToJSON(nil, ev.Raw)
	if err != nil {
		t.Fatalf("event %d: %v", i, err)
	}
	var env struct {
		Before, After, Key json.RawMessage
		DDL                string
		Columns            []struct{ Name, Type string }
		Source             struct {
			File string
			Pos  int64
		}
	}
	if err := json.Unmarshal(js, &env); err != nil {
		t.Fatalf("event %d: %s: %v", i, js, err)
	}
	ce := cevent{i: i, op: ev.Op, table: ev.Table, ddl: env.DDL, stmt: fmt.Sprintf("%s:%d", env.Source.File, env.Source.Pos)}
	ce.before, ce.after, ce.key = orderedPairs(t, env.Before), orderedPairs(t, env.After), orderedPairs(t, env.Key)
	for _, c := range env.Columns {
		ce.cols = append(ce.cols, cpair{c.Name, c.Type})
	}
	return ce
}

// orderedPairs reads a JSON object keeping its key order; nil for null.
func orderedPairs(t *testing.T, raw json.RawMessage) []cpair {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := []cpair{}
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatal(err)
		}
		out = append(out, cpair{k.(string), b.String()})
	}
	return out
}

func renderPairs(ps []cpair) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, toJSON(p.k)+":"+p.v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func pairNames(ps []cpair) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.k)
	}
	return strings.Join(n, ",")
}

// rowID is the value of the image's id column.
func rowID(ps []cpair) (string, bool) {
	for _, p := range ps {
		if slices.Contains(corpusIDNames, p.k) {
			return p.v, true
		}
	}
	return "", false
}

// corpusTable is a checkpoint copy as the server has it: rows by id from a
// snapshot task, columns and key from information_schema.
type corpusTable struct {
	rows map[string]string
	cols []cpair
	pk   string
}

func corpusCopies(t *testing.T, e *env, evs []event) map[string]*corpusTable {
	t.Helper()
	out := map[string]*corpusTable{}
	get := func(name string) *corpusTable {
		if out[name] == nil {
			out[name] = &corpusTable{rows: map[string]string{}}
		}
		return out[name]
	}
	for i, ev := range evs {
		ce := parseCorpusEvent(t, i, ev)
		if ce.op != "r" {
			continue
		}
		id, _ := rowID(ce.after)
		get(strings.TrimPrefix(ce.table, corpusCopy+".")).rows[id] = renderPairs(ce.after)
	}
	conn := e.db.Conn(t)
	r, err := conn.Execute("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '" + corpusCopy + "' ORDER BY TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.RowNumber() {
		tn, _ := r.GetString(i, 0)
		cn, _ := r.GetString(i, 1)
		ty, _ := r.GetString(i, 2)
		get(tn).cols = append(get(tn).cols, cpair{cn, ty})
	}
	r, err = conn.Execute("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = '" + corpusCopy + "' AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION")
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.RowNumber() {
		tn, _ := r.GetString(i, 0)
		cn, _ := r.GetString(i, 1)
		if c := get(tn); c.pk == "" {
			c.pk = cn
		} else {
			c.pk += "," + cn
		}
	}
	return out
}

// corpusModel is the tables as the events tell them.
type corpusModel struct {
	ignoreDDL bool                         // the deliberate mistake: ddl events do nothing to rows
	rows      map[string]map[string]string // table -> id -> row
	fresh     map[string]map[string]bool   // rows written since the table's last ddl event
	cols      map[string][]cpair           // the columns of the table's ddl event in force
	keys      map[string]map[string]bool   // key columns of the row events since then
	moving    []map[string]string          // rows of tables the current statement renamed away
	stmt      string
	problems  []string
}

func (m *corpusModel) fail(ev cevent, format string, args ...any) {
	m.problems = append(m.problems, fmt.Sprintf("event %d (%s %s): ", ev.i, ev.op, ev.table)+fmt.Sprintf(format, args...))
}

func (m *corpusModel) table(name string) map[string]string {
	if m.rows[name] == nil {
		m.rows[name], m.fresh[name] = map[string]string{}, map[string]bool{}
	}
	return m.rows[name]
}

func (m *corpusModel) applyDDL(ev cevent) {
	if ev.stmt != m.stmt {
		if len(m.moving) > 0 {
			m.fail(ev, "a table renamed away by the previous statement was renamed to nothing")
		}
		m.stmt, m.moving = ev.stmt, nil
	}
	word := strings.ToUpper(strings.Fields(ev.ddl + " x")[0])
	rows := m.table(ev.table)
	switch {
	case m.ignoreDDL:
	case ev.cols == nil && (word == "RENAME" || word == "ALTER"):
		m.moving = append(m.moving, rows)
		m.rows[ev.table] = nil
	case ev.cols == nil || word == "TRUNCATE":
		m.rows[ev.table] = nil
	case len(m.moving) > 0:
		if len(rows) > 0 {
			m.fail(ev, "renamed onto a table that has rows")
		}
		m.rows[ev.table], m.moving = m.moving[0], m.moving[1:]
	case word == "CREATE" && len(rows) > 0:
		m.fail(ev, "created, but the model has %d rows of it", len(rows))
	}
	m.table(ev.table)
	m.fresh[ev.table], m.keys[ev.table] = map[string]bool{}, map[string]bool{}
	m.cols[ev.table] = ev.cols
}

// checkImage checks a row image's columns against the ddl in force.
func (m *corpusModel) checkImage(ev cevent, img []cpair) (string, bool) {
	cols, ok := m.cols[ev.table]
	if !ok || cols == nil {
		m.fail(ev, "a row of a table with no ddl event in force")
	} else if got, want := pairNames(img), pairNames(cols); got != want {
		m.fail(ev, "columns %s, the ddl event in force says %s", got, want)
	}
	id, ok := rowID(img)
	if !ok {
		m.fail(ev, "no id column in %s", renderPairs(img))
	}
	return id, ok
}

// checkKey checks the key against the image and notes its columns.
func (m *corpusModel) checkKey(ev cevent, img []cpair) {
	for _, k := range ev.key {
		i := slices.IndexFunc(img, func(p cpair) bool { return p.k == k.k })
		if i < 0 || img[i].v != k.v {
			m.fail(ev, "key %s does not match the image %s", renderPairs(ev.key), renderPairs(img))
		}
	}
	m.keys[ev.table][pairNames(ev.key)] = true
}

func (m *corpusModel) applyRow(ev cevent) {
	rows := m.table(ev.table)
	if m.keys[ev.table] == nil {
		m.keys[ev.table] = map[string]bool{}
	}
	if ev.before != nil {
		id, ok := m.checkImage(ev, ev.before)
		cur, there := rows[id]
		switch {
		case !ok:
		case !there:
			m.fail(ev, "row %s is not in the model", id)
		case m.fresh[ev.table][id] && cur != renderPairs(ev.before):
			m.fail(ev, "before %s, the model has %s", renderPairs(ev.before), cur)
		}
		delete(rows, id)
	}
	if ev.after != nil {
		id, ok := m.checkImage(ev, ev.after)
		if _, there := rows[id]; there && ok {
			m.fail(ev, "row %s is already in the model", id)
		}
		rows[id] = renderPairs(ev.after)
		m.fresh[ev.table][id] = true
		m.checkKey(ev, ev.after)
	} else {
		m.checkKey(ev, ev.before)
	}
}

// checkpoint compares the model's table with a copy of it.
func (m *corpusModel) checkpoint(cp corpusCheckpoint, c *corpusTable) {
	at := fmt.Sprintf("checkpoint %s (%s before ddl event %d): ", cp.copy, cp.table, cp.atDDL)
	if c == nil {
		m.problems = append(m.problems, at+"no copy")
		return
	}
	if got, want := renderPairs(m.cols[cp.table]), renderPairs(c.cols); got != want {
		m.problems = append(m.problems, at+"ddl columns "+got+", the table has "+want)
	}
	for k := range m.keys[cp.table] {
		if k != c.pk {
			m.problems = append(m.problems, fmt.Sprintf("%srow events keyed by (%s), the primary key is (%s)", at, k, c.pk))
		}
	}
	rows := m.rows[cp.table]
	for _, id := range slices.Sorted(mapKeys(c.rows, rows)) {
		if got, want := rows[id], c.rows[id]; got != want {
			m.problems = append(m.problems, fmt.Sprintf("%srow %s: model %s, server %s", at, id, orNone(got), orNone(want)))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func mapKeys(ms ...map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range ms {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}

// corpusCheck applies a run's events to a model and returns every way it
// differs from the statements' ddl events and the checkpoint copies.
func corpusCheck(t *testing.T, g *corpusGen, evs []event, copies map[string]*corpusTable, ignoreDDL bool) []string {
	t.Helper()
	m := &corpusModel{ignoreDDL: ignoreDDL, rows: map[string]map[string]string{}, fresh: map[string]map[string]bool{},
		cols: map[string][]cpair{}, keys: map[string]map[string]bool{}}
	var ddls []string
	cps := g.cps
	checkUpTo := func(n int) {
		for len(cps) > 0 && cps[0].atDDL <= n {
			m.checkpoint(cps[0], copies[cps[0].copy])
			cps = cps[1:]
		}
	}
	for i, raw := range evs {
		ev := parseCorpusEvent(t, i, raw)
		switch ev.op {
		case "ddl":
			checkUpTo(len(ddls))
			r := ev.table
			if ev.cols == nil {
				r += " -"
			}
			ddls = append(ddls, r)
			m.applyDDL(ev)
		case "c", "u", "d":
			m.applyRow(ev)
		default:
			m.fail(ev, "unexpected op")
		}
	}
	checkUpTo(len(ddls) + 1)
	if len(m.moving) > 0 {
		m.problems = append(m.problems, "the last statement renamed a table to nothing")
	}
	if got, want := strings.Join(ddls, "\n"), strings.Join(g.ddl, "\n"); got != want {
		m.problems = append(m.problems, "ddl events:\n"+got+"\nwant:\n"+want)
	}
	return m.problems
}
