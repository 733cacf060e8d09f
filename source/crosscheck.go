package source

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/schema"
)

// crossCheck compares a table's definition from the schema history with
// the binlog's table map of a change: the column count, each column's type
// family, signedness (which the server sends even with MINIMAL metadata)
// and, with binlog_row_metadata=FULL, the names. A mismatch fails the task
// naming the table, the position and both column lists: decoding a row
// with the wrong definition would corrupt it silently.
func crossCheck(e *replication.TableMapEvent, def *schema.Table, at string) error {
	n := int(e.ColumnCount)
	ok := n == len(def.Columns)
	names := e.ColumnNameString()
	unsigned := e.UnsignedMap()
	collations := e.CollationMap() // sent with MINIMAL metadata too
	for i := 0; ok && i < n; i++ {
		c := &def.Columns[i]
		switch {
		case !typeFits(e, i, c):
			ok = false
		case len(names) == n && !strings.EqualFold(names[i], c.Name):
			ok = false
		case isInteger(c.DataType) && len(unsigned) > 0 && unsigned[i] != c.Unsigned:
			ok = false
		case !charsetFits(collations, i, c):
			ok = false
		}
	}
	if ok {
		return nil
	}
	return Permanentf("the schema history of %s.%s does not match the binlog at %s: the history has %d columns (%s), the binlog's table map %d (%s); "+
		"the task stops rather than decode rows with the wrong columns (restart it with snapshotMode initial, or delete and recreate it, to read the schema again)",
		e.Schema, e.Table, at, len(def.Columns), historyColumns(def), n, binlogColumns(e, names))
}

// charsetFits reports whether a character column's charset in the
// history is the one of the collation the table map gives it.
func charsetFits(collations map[int]uint64, i int, c *schema.Column) bool {
	id, ok := collations[i]
	if !ok || c.Charset == "" || c.JSON {
		return true
	}
	cs, known := charsetOfCollation(id)
	if !known {
		return true
	}
	return strings.EqualFold(normalCharset(cs), normalCharset(c.Charset))
}

func normalCharset(cs string) string {
	if strings.EqualFold(cs, "utf8") {
		return "utf8mb3"
	}
	return cs
}

func historyColumns(def *schema.Table) string {
	parts := make([]string, len(def.Columns))
	for i, c := range def.Columns {
		parts[i] = c.Name + " " + c.Type
		if c.Charset != "" {
			parts[i] += " " + c.Charset
		}
	}
	return strings.Join(parts, ", ")
}

func binlogColumns(e *replication.TableMapEvent, names []string) string {
	collations := e.CollationMap()
	parts := make([]string, e.ColumnCount)
	for i := range parts {
		name := "?"
		if i < len(names) {
			name = names[i]
		}
		parts[i] = name + " " + binlogTypeName(e, i)
		if id, ok := collations[i]; ok {
			if cs, known := charsetOfCollation(id); known {
				parts[i] += " " + cs
			}
		}
	}
	return strings.Join(parts, ", ")
}

func isInteger(dataType string) bool {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return true
	}
	return false
}

// binlogType is the column's type in the table map, ENUM and SET told
// apart from CHAR.
func binlogType(e *replication.TableMapEvent, i int) byte {
	switch {
	case e.IsEnumColumn(i):
		return mysql.MYSQL_TYPE_ENUM
	case e.IsSetColumn(i):
		return mysql.MYSQL_TYPE_SET
	}
	return e.ColumnType[i]
}

// typeFits reports whether a column of the definition is stored as the
// table map's type i.
func typeFits(e *replication.TableMapEvent, i int, c *schema.Column) bool {
	tp := binlogType(e, i)
	dt := strings.ToLower(c.DataType)
	if isSpatial(dt) {
		return tp == mysql.MYSQL_TYPE_GEOMETRY
	}
	want, known := binlogTypesOf[dt]
	if !known {
		return true // a type without a binlog rule (decoding names it if unknown)
	}
	if c.JSON && tp == mysql.MYSQL_TYPE_BLOB { // MariaDB's JSON is LONGTEXT
		return true
	}
	if dt == "binary" && tp == mysql.MYSQL_TYPE_STRING && c.Length > 0 && stringLength(e.ColumnMeta[i]) != c.Length {
		return false // BINARY(n): the map says its n
	}
	for _, w := range want {
		if w == tp {
			return true
		}
	}
	return false
}

// binlogTypesOf lists the table-map types each data type is stored as.
var binlogTypesOf = map[string][]byte{
	"tinyint":    {mysql.MYSQL_TYPE_TINY},
	"smallint":   {mysql.MYSQL_TYPE_SHORT},
	"mediumint":  {mysql.MYSQL_TYPE_INT24},
	"int":        {mysql.MYSQL_TYPE_LONG},
	"integer":    {mysql.MYSQL_TYPE_LONG},
	"bigint":     {mysql.MYSQL_TYPE_LONGLONG},
	"float":      {mysql.MYSQL_TYPE_FLOAT},
	"double":     {mysql.MYSQL_TYPE_DOUBLE},
	"real":       {mysql.MYSQL_TYPE_DOUBLE},
	"decimal":    {mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DECIMAL},
	"numeric":    {mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DECIMAL},
	"bit":        {mysql.MYSQL_TYPE_BIT},
	"year":       {mysql.MYSQL_TYPE_YEAR},
	"date":       {mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE},
	"time":       {mysql.MYSQL_TYPE_TIME2, mysql.MYSQL_TYPE_TIME},
	"datetime":   {mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_DATETIME},
	"timestamp":  {mysql.MYSQL_TYPE_TIMESTAMP2, mysql.MYSQL_TYPE_TIMESTAMP},
	"char":       {mysql.MYSQL_TYPE_STRING},
	"binary":     {mysql.MYSQL_TYPE_STRING},
	"varchar":    {mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING},
	"varbinary":  {mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING},
	"enum":       {mysql.MYSQL_TYPE_ENUM},
	"set":        {mysql.MYSQL_TYPE_SET},
	"tinytext":   {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_TINY_BLOB},
	"text":       {mysql.MYSQL_TYPE_BLOB},
	"mediumtext": {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB},
	"longtext":   {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_LONG_BLOB},
	"tinyblob":   {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_TINY_BLOB},
	"blob":       {mysql.MYSQL_TYPE_BLOB},
	"mediumblob": {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB},
	"longblob":   {mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_LONG_BLOB},
	"json":       {mysql.MYSQL_TYPE_JSON, mysql.MYSQL_TYPE_BLOB},
	"vector":     {mysql.MYSQL_TYPE_VECTOR},
	"uuid":       {mysql.MYSQL_TYPE_STRING},
	"inet6":      {mysql.MYSQL_TYPE_STRING},
}

// binlogTypeName names a table-map column type for error messages.
func binlogTypeName(e *replication.TableMapEvent, i int) string {
	tp := binlogType(e, i)
	if name, ok := binlogTypeNames[tp]; ok {
		return name
	}
	return fmt.Sprintf("type %d", tp)
}

var binlogTypeNames = map[byte]string{
	mysql.MYSQL_TYPE_TINY: "TINY", mysql.MYSQL_TYPE_SHORT: "SHORT", mysql.MYSQL_TYPE_INT24: "INT24",
	mysql.MYSQL_TYPE_LONG: "LONG", mysql.MYSQL_TYPE_LONGLONG: "LONGLONG", mysql.MYSQL_TYPE_FLOAT: "FLOAT",
	mysql.MYSQL_TYPE_DOUBLE: "DOUBLE", mysql.MYSQL_TYPE_NEWDECIMAL: "NEWDECIMAL", mysql.MYSQL_TYPE_DECIMAL: "DECIMAL",
	mysql.MYSQL_TYPE_BIT: "BIT", mysql.MYSQL_TYPE_YEAR: "YEAR", mysql.MYSQL_TYPE_DATE: "DATE",
	mysql.MYSQL_TYPE_NEWDATE: "NEWDATE", mysql.MYSQL_TYPE_TIME: "TIME", mysql.MYSQL_TYPE_TIME2: "TIME2",
	mysql.MYSQL_TYPE_DATETIME: "DATETIME", mysql.MYSQL_TYPE_DATETIME2: "DATETIME2",
	mysql.MYSQL_TYPE_TIMESTAMP: "TIMESTAMP", mysql.MYSQL_TYPE_TIMESTAMP2: "TIMESTAMP2",
	mysql.MYSQL_TYPE_STRING: "STRING", mysql.MYSQL_TYPE_VARCHAR: "VARCHAR", mysql.MYSQL_TYPE_VAR_STRING: "VAR_STRING",
	mysql.MYSQL_TYPE_ENUM: "ENUM", mysql.MYSQL_TYPE_SET: "SET", mysql.MYSQL_TYPE_BLOB: "BLOB",
	mysql.MYSQL_TYPE_TINY_BLOB: "TINY_BLOB", mysql.MYSQL_TYPE_MEDIUM_BLOB: "MEDIUM_BLOB",
	mysql.MYSQL_TYPE_LONG_BLOB: "LONG_BLOB", mysql.MYSQL_TYPE_JSON: "JSON", mysql.MYSQL_TYPE_GEOMETRY: "GEOMETRY",
	mysql.MYSQL_TYPE_VECTOR: "VECTOR",
}

// stringLength is the byte length of a CHAR or BINARY column from its
// table-map metadata, whose high bits hide in the real-type byte.
func stringLength(meta uint16) int {
	return int((((meta >> 4) & 0x300) ^ 0x300) + (meta & 0xff))
}
