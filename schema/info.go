package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// The information_schema queries that seed a Catalog. They are plain text
// for the caller to run (this package does no I/O); each comment lists the
// parameters in order and what to do with the rows. Names compare exactly:
// MariaDB's information_schema compares them without case, but table names
// are case sensitive (lower_case_table_names=0).
const (
	// InfoServerQuery returns @@character_set_server and
	// @@collation_server, for NewCatalog. No parameters.
	InfoServerQuery = `SELECT @@character_set_server, @@collation_server`

	// InfoSchemataQuery returns each database's name, default character set
	// and default collation, for Catalog.DBs. No parameters.
	InfoSchemataQuery = `SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
		FROM information_schema.SCHEMATA`

	// InfoColumnsQuery returns a table's columns, one row per column in
	// ordinal order, with the fields of InfoColumn in its field order.
	// Parameters: db, table, db, table.
	InfoColumnsQuery = `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE,
		IFNULL(CHARACTER_SET_NAME, ''), IFNULL(COLLATION_NAME, ''), IS_NULLABLE, COLUMN_KEY,
		ORDINAL_POSITION, IFNULL(CHARACTER_MAXIMUM_LENGTH, 0), IFNULL(NUMERIC_PRECISION, 0),
		IFNULL(NUMERIC_SCALE, 0), IFNULL(DATETIME_PRECISION, 0)
		FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		AND CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY) AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)
		ORDER BY ORDINAL_POSITION`

	// InfoPrimaryKeyQuery returns the names of a table's primary key
	// columns in key order, TableFromInfo's primaryKey. Parameters: db,
	// table, db, table.
	InfoPrimaryKeyQuery = `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		AND CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY) AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)
		AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`

	// InfoTableCollationQuery returns a table's default collation,
	// TableFromInfo's tableCollation. Parameters: db, table, db, table.
	InfoTableCollationQuery = `SELECT TABLE_COLLATION FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		AND CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY) AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)`

	// InfoChecksQuery (MariaDB only) returns the CHECK clauses of a table;
	// JSONValidColumns turns each into TableFromInfo's jsonColumns.
	// Parameters: db, table, db, table.
	InfoChecksQuery = `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?
		AND CAST(CONSTRAINT_SCHEMA AS BINARY) = CAST(? AS BINARY) AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)`
)

// InfoColumn is one row of information_schema.COLUMNS, as InfoColumnsQuery
// returns it (NULLs as "" and 0).
type InfoColumn struct {
	Name, DataType, ColumnType, CharsetName, CollationName, IsNullable string
	// ColumnKey is not used: it marks unique keys too ("PRI" on a unique NOT
	// NULL key of a table without a primary key) and has no key order.
	ColumnKey                                                        string
	OrdinalPosition                                                  int
	CharMaxLength, NumericPrecision, NumericScale, DatetimePrecision int64
}

// TableFromInfo makes a table from information_schema rows: its columns,
// its primary key's column names in key order (InfoPrimaryKeyQuery), its
// default collation (InfoTableCollationQuery), and on MariaDB the columns
// that a CHECK (json_valid(col)) makes JSON (JSONValidColumns). The result
// equals what Catalog.Apply builds from the DDL that made the table.
func TableFromInfo(db, name string, cols []InfoColumn, primaryKey []string, tableCollation string, jsonColumns []string) *Table {
	t := &Table{DB: db, Name: name}
	if tableCollation != "" {
		t.Collation = canonicalCollation(tableCollation)
		t.Charset, _, _ = strings.Cut(t.Collation, "_")
		if cs, err := collationCharset(t.Collation); err == nil {
			t.Charset = cs
		}
	}
	sorted := slices.Clone(cols)
	slices.SortStableFunc(sorted, func(a, b InfoColumn) int { return a.OrdinalPosition - b.OrdinalPosition })
	for _, ic := range sorted {
		t.Columns = append(t.Columns, columnFromInfo(ic, jsonColumns))
	}
	for _, k := range primaryKey {
		if col := t.Column(k); col != nil {
			k = col.Name
		}
		t.PrimaryKey = append(t.PrimaryKey, k)
	}
	return t
}

// columnFromInfo makes a column from its information_schema row.
func columnFromInfo(ic InfoColumn, jsonColumns []string) Column {
	col := Column{Name: ic.Name, DataType: strings.ToLower(ic.DataType), Nullable: ic.IsNullable == "YES"}
	col.Type = strings.ToLower(ic.ColumnType)
	col.Unsigned = strings.Contains(col.Type, " unsigned")
	switch col.DataType {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		col.Charset, col.Collation = "binary", "binary"
	default:
		if ic.CharsetName != "" {
			col.Charset, col.Collation = canonicalCharset(ic.CharsetName), canonicalCollation(ic.CollationName)
		}
	}
	switch col.DataType {
	case "char", "varchar", "binary", "varbinary":
		col.Length = int(ic.CharMaxLength)
	case "vector":
		col.Length = typeArg(col.Type)
	case "decimal":
		col.Precision, col.Scale = int(ic.NumericPrecision), int(ic.NumericScale)
	case "time", "datetime", "timestamp":
		col.Scale = int(ic.DatetimePrecision)
	case "enum", "set":
		col.Type = col.DataType + ic.ColumnType[len(col.DataType):] // labels keep their case
		col.Labels = ParseLabels(ic.ColumnType)
	case "json":
		col.JSON = true
	case "longtext":
		col.JSON = slices.ContainsFunc(jsonColumns, func(n string) bool { return strings.EqualFold(n, ic.Name) })
	}
	return col
}

// typeArg returns n of a type "name(n)", or 0.
func typeArg(columnType string) int {
	_, rest, ok := strings.Cut(columnType, "(")
	if !ok {
		return 0
	}
	arg, _, _ := strings.Cut(rest, ")")
	n, _ := strconv.Atoi(arg)
	return n
}

// JSONValidColumns returns the columns that a CHECK clause, as
// information_schema.CHECK_CONSTRAINTS shows it ("json_valid(`j`)"),
// requires to hold valid JSON: json_valid(col) alone or as a term of an AND.
func JSONValidColumns(checkClause string) ([]string, error) {
	registry.once.Do(registerCharsets)
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	stmt, err := parser.New().ParseOneStmt("SELECT "+checkClause, "", "")
	if err != nil {
		return nil, fmt.Errorf("parsing CHECK clause %q: %w", checkClause, err)
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || len(sel.Fields.Fields) != 1 {
		return nil, fmt.Errorf("CHECK clause %q is not one expression", checkClause)
	}
	return jsonValidColumns(sel.Fields.Fields[0].Expr), nil
}
