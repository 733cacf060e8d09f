package schema

import (
	"errors"
	"maps"

	"github.com/pingcap/tidb/pkg/parser"
)

// The kinds of Change.
const (
	ChangeCreate   = "CREATE"
	ChangeAlter    = "ALTER"
	ChangeDrop     = "DROP"
	ChangeRename   = "RENAME"
	ChangeTruncate = "TRUNCATE"
)

// Catalog is the definition of every tracked table at one point of the
// binlog. Seed it from information_schema (TableFromInfo, and DBs from
// SCHEMATA), then move it forward with Apply, one query event at a time.
//
// Tables are never modified in place: Apply stores a new *Table for every
// table a statement changes, so a Change's Def stays valid as a version of
// the table's history. A Catalog is not safe for concurrent use.
type Catalog struct {
	// Flavor is FlavorMySQL or FlavorMariaDB: how Type strings are rendered
	// (MySQL 8+ omits integer display widths: "int", "bigint unsigned";
	// MariaDB shows "int(11)", "bigint(20) unsigned"), the default collation
	// of utf8mb4, and what JSON means (MariaDB's is LONGTEXT).
	Flavor string
	// ServerCharset and ServerCollation are @@character_set_server and
	// @@collation_server: the defaults of a CREATE DATABASE without any.
	ServerCharset, ServerCollation string
	// DBs holds each database's default character set and collation.
	DBs map[string]DBDefaults
	// Tables holds the tracked tables' definitions.
	Tables map[TableRef]*Table
	// Track says which databases' tables are kept; nil keeps all.
	Track func(db string) bool

	parser *parser.Parser // made on first use; not shared by clones
}

// DBDefaults are a database's default character set and collation, as
// information_schema.SCHEMATA shows them.
type DBDefaults struct{ Charset, Collation string }

// Change is what one statement did to one tracked table.
type Change struct {
	Kind  string   `json:"kind"`          // ChangeCreate, ChangeAlter, ChangeDrop, ChangeRename or ChangeTruncate
	Table TableRef `json:"table"`         // the table the change is about (for a rename: the new name)
	From  TableRef `json:"from,omitzero"` // ChangeRename only: the old name
	// Def is the table's definition right after the statement; nil when it
	// no longer exists or is no longer tracked (renamed into an untracked
	// database).
	Def *Table `json:"def"`
}

// NewCatalog returns an empty catalog for a server of flavor whose server
// defaults are serverCharset and serverCollation, keeping the tables of the
// databases track accepts (nil: all).
func NewCatalog(flavor, serverCharset, serverCollation string, track func(db string) bool) *Catalog {
	return &Catalog{
		Flavor:          flavor,
		ServerCharset:   canonicalCharset(serverCharset),
		ServerCollation: canonicalCollation(serverCollation),
		DBs:             map[string]DBDefaults{},
		Tables:          map[TableRef]*Table{},
		Track:           track,
	}
}

// Clone returns a deep copy of c, tables included.
func (c *Catalog) Clone() *Catalog {
	n := *c
	n.parser = nil
	n.DBs = maps.Clone(c.DBs)
	n.Tables = make(map[TableRef]*Table, len(c.Tables))
	for ref, t := range c.Tables {
		n.Tables[ref] = t.Clone()
	}
	return &n
}

// tracks reports whether the tables of db are kept.
func (c *Catalog) tracks(db string) bool { return c.Track == nil || c.Track(db) }

// Apply parses one binlog query statement, run with default database
// defaultDB (the query event's schema, which for CREATE, ALTER and DROP
// DATABASE is the database they change), and applies it. It returns what changed for tracked tables, in
// statement order.
//
// A statement that changes no tracked table (BEGIN, statement-based DML,
// GRANT, CREATE VIEW or TRIGGER, DDL of untracked databases, anything on
// temporary tables, ...) returns no changes and no error, even when the TiDB
// grammar does not know it. Errors:
//   - *ParseError: a statement that may change tables did not parse;
//     nothing was applied.
//   - *UnknownTableError: CREATE TABLE ... LIKE of a table the catalog does
//     not hold; nothing was applied.
//   - *NeedsLookupError (one or more, joined): the rest was applied and the
//     changes are returned, but the named tables must be loaded.
func (c *Catalog) Apply(defaultDB, stmt string) ([]Change, error) {
	p, err := c.parse(stmt)
	if err != nil || p == nil {
		return nil, err
	}
	a := newApplier(c, defaultDB, p.fix)
	for _, s := range p.stmts {
		if err := a.statement(s); err != nil {
			var unknown *UnknownTableError
			if errors.As(err, &unknown) {
				return nil, err
			}
			return nil, &ParseError{Stmt: stmt, Err: err}
		}
	}
	lookups := a.commit()
	return a.changes, errors.Join(lookups...)
}
