package schema

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// buildColumn makes a column of table t (whose defaults it takes) from its
// definition, and reports whether the definition declares it PRIMARY KEY.
func (c *Catalog) buildColumn(d *ast.ColumnDef, t *Table, fix *fixups) (Column, bool, error) {
	col := Column{Name: d.Name.Name.O, Nullable: true}
	var pk, jsonCheck bool
	var collate string
	for _, o := range d.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionAutoIncrement:
			col.Nullable = false
		case ast.ColumnOptionNull:
			col.Nullable = true
		case ast.ColumnOptionPrimaryKey:
			pk = true
		case ast.ColumnOptionCollate:
			collate = o.StrValue
		case ast.ColumnOptionCheck:
			for _, name := range jsonValidColumns(o.Expr) {
				jsonCheck = jsonCheck || strings.EqualFold(name, col.Name)
			}
		}
	}
	if err := c.setType(&col, d.Tp, collate, t, fix.special(d), fix.isNational(col.Name)); err != nil {
		return Column{}, false, fmt.Errorf("column %q: %w", col.Name, err)
	}
	if pk {
		col.Nullable = false
	}
	if jsonCheck && c.Flavor == FlavorMariaDB && col.DataType == "longtext" {
		col.JSON = true
	}
	return col, pk, nil
}

// setType sets col's type fields from the parsed type tp. special is the
// type the parser was shown a placeholder for (UUID, POINT, ...), national
// whether the type was NCHAR or NATIONAL (utf8mb3).
func (c *Catalog) setType(col *Column, tp *types.FieldType, collate string, t *Table, special string, national bool) error {
	if special != "" {
		c.setSpecial(col, special)
		return nil
	}
	switch tp.GetType() {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong:
		c.setInt(col, tp)
	case mysql.TypeNewDecimal, mysql.TypeFloat, mysql.TypeDouble:
		setNumeric(col, tp)
	case mysql.TypeBit:
		col.DataType, col.Type = "bit", fmt.Sprintf("bit(%d)", max(tp.GetFlen(), 1))
	case mysql.TypeDate, mysql.TypeDuration, mysql.TypeDatetime, mysql.TypeTimestamp, mysql.TypeYear:
		c.setTime(col, tp)
	case mysql.TypeString, mysql.TypeVarchar, mysql.TypeEnum, mysql.TypeSet,
		mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		return c.setString(col, tp, collate, t, national)
	case mysql.TypeJSON:
		col.JSON = true
		col.DataType, col.Type = "json", "json"
		if c.Flavor == FlavorMariaDB { // MariaDB's JSON is an alias
			col.DataType, col.Type = "longtext", "longtext"
			col.Charset, col.Collation = "utf8mb4", "utf8mb4_bin"
		}
	case mysql.TypeTiDBVectorFloat32:
		n := tp.GetFlen()
		if n < 0 {
			n = 2048 // MySQL's default dimension
		}
		col.DataType, col.Type, col.Length = "vector", fmt.Sprintf("vector(%d)", n), n
	default:
		return fmt.Errorf("unsupported type %s", tp)
	}
	return nil
}

// intTypes are the integer types and their default display widths, signed
// and unsigned (MariaDB always shows one, MySQL only with ZEROFILL).
var intTypes = map[byte]struct {
	name             string
	signed, unsigned int
}{
	mysql.TypeTiny:     {"tinyint", 4, 3},
	mysql.TypeShort:    {"smallint", 6, 5},
	mysql.TypeInt24:    {"mediumint", 9, 8},
	mysql.TypeLong:     {"int", 11, 10},
	mysql.TypeLonglong: {"bigint", 20, 20},
}

// setInt sets an integer type: MySQL 8+ shows a display width only with
// ZEROFILL and for TINYINT(1) (BOOL); MariaDB always does.
func (c *Catalog) setInt(col *Column, tp *types.FieldType) {
	it := intTypes[tp.GetType()]
	unsigned, zerofill := mysql.HasUnsignedFlag(tp.GetFlag()), mysql.HasZerofillFlag(tp.GetFlag())
	width := tp.GetFlen()
	if width <= 0 {
		width = it.signed
		if unsigned {
			width = it.unsigned
		}
	}
	col.DataType, col.Type, col.Unsigned = it.name, it.name, unsigned
	if c.Flavor == FlavorMariaDB || zerofill || it.name == "tinyint" && tp.GetFlen() == 1 && !unsigned {
		col.Type += fmt.Sprintf("(%d)", width)
	}
	col.Type += numericSuffix(unsigned, zerofill)
}

// setNumeric sets DECIMAL, FLOAT or DOUBLE.
func setNumeric(col *Column, tp *types.FieldType) {
	unsigned, zerofill := mysql.HasUnsignedFlag(tp.GetFlag()), mysql.HasZerofillFlag(tp.GetFlag())
	m, d := tp.GetFlen(), tp.GetDecimal()
	col.Unsigned = unsigned
	switch tp.GetType() {
	case mysql.TypeNewDecimal:
		if m < 0 {
			m = 10
		}
		d = max(d, 0)
		col.DataType, col.Type = "decimal", fmt.Sprintf("decimal(%d,%d)", m, d)
		col.Precision, col.Scale = m, d
	default:
		col.DataType = "float"
		if tp.GetType() == mysql.TypeDouble {
			col.DataType = "double"
		}
		col.Type = col.DataType
		if m >= 0 && d >= 0 {
			col.Type += fmt.Sprintf("(%d,%d)", m, d)
		}
	}
	col.Type += numericSuffix(unsigned, zerofill)
}

// numericSuffix is the attributes part of a numeric COLUMN_TYPE.
func numericSuffix(unsigned, zerofill bool) string {
	s := ""
	if unsigned {
		s += " unsigned"
	}
	if zerofill {
		s += " zerofill"
	}
	return s
}

// setTime sets DATE, TIME, DATETIME, TIMESTAMP (with their fractional
// digits in Scale) or YEAR.
func (c *Catalog) setTime(col *Column, tp *types.FieldType) {
	switch tp.GetType() {
	case mysql.TypeDate:
		col.DataType = "date"
	case mysql.TypeYear:
		col.DataType, col.Type = "year", "year"
		if c.Flavor == FlavorMariaDB {
			col.Type = "year(4)"
		}
		return
	case mysql.TypeDuration:
		col.DataType = "time"
	case mysql.TypeDatetime:
		col.DataType = "datetime"
	case mysql.TypeTimestamp:
		col.DataType = "timestamp"
	}
	col.Type = col.DataType
	if fsp := tp.GetDecimal(); fsp > 0 && col.DataType != "date" {
		col.Scale = fsp
		col.Type += fmt.Sprintf("(%d)", fsp)
	}
}

// setSpecial sets a type the TiDB grammar lacks: a spatial type, or
// MariaDB's UUID, INET4, INET6.
func (c *Catalog) setSpecial(col *Column, name string) {
	if name == "geometrycollection" || name == "geomcollection" {
		name = "geometrycollection"
		if c.Flavor == FlavorMySQL {
			name = "geomcollection"
		}
	}
	col.DataType, col.Type = name, name
}
