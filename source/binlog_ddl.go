package source

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/schema"
)

// query handles a statement: transaction control, or a statement of its
// own (DDL, or another statement written as text), which is a transaction
// of its own and may change the schema catalog.
func (r *reader) query(ctx context.Context, h *replication.EventHeader, e *replication.QueryEvent) error {
	q := string(e.Query)
	word := firstWords(q)
	if r.explicit {
		switch {
		case word == "COMMIT", word == "ROLLBACK" && !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "ROLLBACK TO"):
			// ROLLBACK: a transaction that also changed non-transactional
			// tables, whose rows stand.
			r.em.Advance(r.commit(h), r.commitMs(h))
		}
		return nil // SAVEPOINT, XA END and the like: the transaction goes on
	}
	switch word {
	case "BEGIN", "XA START":
		if !r.inTx {
			r.begin(h, "")
		}
		r.explicit = true
		return nil
	case "COMMIT", "XA COMMIT", "XA ROLLBACK":
		r.em.Advance(r.commit(h), r.commitMs(h))
		return nil
	}
	return r.statement(ctx, h, string(e.Schema), q)
}

// firstWords is a statement's first keyword, upper case, or its first two
// for XA statements.
func firstWords(q string) string {
	f := strings.Fields(q)
	if len(f) == 0 {
		return ""
	}
	w := strings.ToUpper(strings.TrimRight(f[0], ";"))
	if w == "XA" && len(f) > 1 {
		w += " " + strings.ToUpper(f[1])
	}
	return w
}

// statement applies a statement of its own to the schema catalog. When it
// changed tracked tables or databases, their new definitions go into the
// schema history together with a ddl event for each selected table it
// changed and the checkpoint after it, in one write.
func (r *reader) statement(ctx context.Context, h *replication.EventHeader, defaultDB, q string) error {
	if !r.inTx {
		r.begin(h, "")
	}
	cat := r.tables.catalog
	dbsBefore := maps.Clone(cat.DBs)
	changes, err := r.apply(defaultDB, q, r.at(h))
	if err != nil {
		return err
	}
	if len(changes) == 0 && maps.Equal(dbsBefore, cat.DBs) {
		r.em.Advance(r.commit(h), r.commitMs(h))
		return nil
	}
	r.tables.changed()
	chs := r.ddlEvents(h, q, changes)
	after := r.commit(h)
	recs := historyRecords(changes, dbsBefore, cat.DBs, q, after.String())
	return r.em.EmitGroup(ctx, chs, recs, after)
}

// apply applies a statement to the catalog. Where the statement leaves a
// tracked table's columns unknowable (CREATE TABLE ... SELECT, a table
// renamed in from an untracked database) or the grammar does not parse
// it, the tables concerned are read from information_schema, with a
// warning; the table maps of their rows are still checked against them.
func (r *reader) apply(defaultDB, q, at string) ([]schema.Change, error) {
	cat := r.tables.catalog
	changes, err := cat.Apply(defaultDB, q)
	var unknown *schema.UnknownTableError
	if errors.As(err, &unknown) {
		// CREATE TABLE ... LIKE of a table the catalog does not hold: load
		// the source table, then apply the statement again.
		if _, lerr := r.lookUpChanged(nil, []schema.TableRef{unknown.Table}, at, "the source of CREATE TABLE ... LIKE"); lerr != nil {
			return nil, lerr
		}
		changes, err = cat.Apply(defaultDB, q)
	}
	var perr *schema.ParseError
	switch {
	case err == nil:
		return changes, nil
	case errors.As(err, &perr):
		refs := r.mentioned(q)
		if len(refs) == 0 {
			r.cfg.Log.Debug().Err(err).Str("position", at).Msg("a statement the grammar does not parse names no tracked table")
			return nil, nil
		}
		return r.lookUpChanged(nil, refs, at, "the statement does not parse: "+perr.Error())
	}
	var refs []schema.TableRef
	var reason string
	for _, e := range flatten(err) {
		var need *schema.NeedsLookupError
		if !errors.As(e, &need) {
			return nil, Permanentf("applying the statement at %s to the schema history: %v (statement: %s)", at, err, q)
		}
		refs, reason = append(refs, need.Table), need.Reason
	}
	return r.lookUpChanged(changes, refs, at, reason)
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// lookUpChanged reads tables a statement changed from information_schema
// and adds them to the changes.
func (r *reader) lookUpChanged(changes []schema.Change, refs []schema.TableRef, at, why string) ([]schema.Change, error) {
	cat := r.tables.catalog
	for _, ref := range refs {
		def, err := loadTable(r.tables.conn, r.tables.ep, r.flavor, ref.DB, ref.Name)
		if err != nil {
			return nil, err
		}
		r.cfg.Log.Warn().Str("table", ref.String()).Str("position", at).Str("reason", why).
			Msg("schema history: reading the table's columns from information_schema now; rows are checked against the binlog's table maps")
		kind := "ALTER"
		if def == nil {
			kind = "DROP"
			delete(cat.Tables, ref)
		} else {
			cat.Tables[ref] = def
		}
		changes = append(changes, schema.Change{Kind: kind, Table: ref, Def: def})
	}
	return changes, nil
}

// mentioned lists the tracked tables whose names a statement contains.
func (r *reader) mentioned(q string) []schema.TableRef {
	lower := strings.ToLower(q)
	var out []schema.TableRef
	for ref := range r.tables.catalog.Tables {
		if strings.Contains(lower, strings.ToLower(ref.Name)) {
			out = append(out, ref)
		}
	}
	return out
}

// ddlEvents builds the ddl events of a statement's changes to selected
// tables: each carries the table's columns right after the statement (none
// for a table dropped or renamed away).
func (r *reader) ddlEvents(h *replication.EventHeader, stmt string, changes []schema.Change) []*events.Change {
	var out []*events.Change
	// One statement may change a table twice (RENAME TABLE a TO b, c TO
	// a): each change has its event, in order.
	add := func(ref schema.TableRef, def *schema.Table) {
		if !r.cfg.Match(ref.DB, ref.Name) {
			return
		}
		r.txRows++
		if r.skip > 0 { // written before a resume (checkpoints of older versions)
			r.skip--
			return
		}
		var cols []events.ColumnDef
		if def != nil {
			cols = make([]events.ColumnDef, len(def.Columns))
			for i, c := range def.Columns {
				cols[i] = events.ColumnDef{Name: c.Name, Type: c.Type}
			}
		}
		out = append(out, &events.Change{
			Op: events.OpDDL, TsMs: time.Now().UnixMilli(), DB: ref.DB, Table: ref.Name, DDL: stmt, DDLColumns: cols,
			Source: events.Source{
				Flavor: r.flavor, ServerID: h.ServerID, File: r.file, Pos: h.LogPos - h.EventSize,
				GTID: r.txGTID, TsMs: int64(h.Timestamp) * 1000,
			},
			Tx:       events.Tx{ID: r.txID(), Seq: r.txRows - 1},
			CommitMs: r.commitMs(h),
		})
	}
	for _, ch := range changes {
		if ch.Kind == "RENAME" && ch.From != ch.Table {
			add(ch.From, nil)
		}
		add(ch.Table, ch.Def)
	}
	return out
}
