package schema

import "fmt"

// ParseError is returned by Catalog.Apply for a statement that may change
// a table but does not parse, uses syntax the catalog cannot model (such as
// MariaDB's system-versioned tables or compressed columns), or contradicts
// the catalog (a duplicate column, a key on a column that is not there).
// Nothing of the statement has been applied; the caller decides whether to
// stop or to reload the tables it may have changed.
type ParseError struct {
	Stmt string // the statement as given
	Err  error  // what the parser said
}

// Error names the statement (shortened) and the parser's complaint.
func (e *ParseError) Error() string {
	return fmt.Sprintf("parsing DDL %q: %v", shorten(e.Stmt, 200), e.Err)
}

// Unwrap returns the parser's error.
func (e *ParseError) Unwrap() error { return e.Err }

// UnknownTableError is returned by Catalog.Apply for CREATE TABLE ... LIKE
// of a source table the catalog does not hold (one in a database it does not
// track, say). Nothing of the statement has been applied: the caller may
// load Table from information_schema into Catalog.Tables and apply the
// statement again.
type UnknownTableError struct {
	Table TableRef // the table the statement needs
}

// Error names the table.
func (e *UnknownTableError) Error() string {
	return fmt.Sprintf("table %s is not in the catalog", e.Table)
}

// NeedsLookupError says that a statement left the definition of a tracked
// table unknowable from the statement's text: CREATE TABLE ... SELECT (the
// columns come from the query), RENAME of a table the catalog does not hold
// into a tracked database, ALTER or TRUNCATE of a table of a tracked
// database that the catalog does not hold, a CREATE TABLE in a database
// whose defaults are unknown, or (MariaDB) a change that may have dropped a
// table-level json_valid CHECK. Catalog.Apply has applied the rest of the
// statement and removed Table from the catalog; the caller must load it
// (from information_schema, while nothing else has changed it) and put it
// into Catalog.Tables before decoding its rows. Apply returns one such error
// per table, joined with errors.Join; errors.As finds the first.
type NeedsLookupError struct {
	Table  TableRef
	Reason string
}

// Error names the table and why it must be looked up.
func (e *NeedsLookupError) Error() string {
	return fmt.Sprintf("definition of %s must be read from the server: %s", e.Table, e.Reason)
}

// shorten returns s cut to at most n bytes, marked with "..." when cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
