package source

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/schema"
)

// tableCache maps the binlog's table ids to what converting their rows
// needs. Table-map events repeat before every rows event, so a known id is
// a map lookup; a new id (a new table, or the same table after DDL) is
// described once from the event's metadata and information_schema.
type tableCache struct {
	conn    *client.Conn
	ep      Endpoint
	flavor  string
	match   func(db, table string) bool
	log     zerolog.Logger
	byID    map[uint64]*tableInfo // nil value: a table the task skips
	schemas map[string]*schema.Table
}

func newTableCache(conn *client.Conn, ep Endpoint, flavor string, match func(db, table string) bool, log zerolog.Logger) *tableCache {
	return &tableCache{conn: conn, ep: ep, flavor: flavor, match: match, log: log,
		byID: map[uint64]*tableInfo{}, schemas: map[string]*schema.Table{}}
}

func (c *tableCache) get(id uint64) *tableInfo { return c.byID[id] }

// learn records the table of a table-map event.
func (c *tableCache) learn(e *replication.TableMapEvent) error {
	if t, ok := c.byID[e.TableID]; ok && (t == nil || len(t.kinds) == int(e.ColumnCount)) {
		return nil
	}
	db, name := string(e.Schema), string(e.Table)
	if !c.match(db, name) {
		c.byID[e.TableID] = nil
		return nil
	}
	s, err := c.schema(db, name)
	if err != nil {
		return err
	}
	t, err := describe(e, s)
	if err != nil {
		return Permanent(err)
	}
	c.byID[e.TableID] = t
	return nil
}

// invalidate forgets the cached information_schema view of tables a DDL
// statement may have changed.
func (c *tableCache) invalidate(query string) {
	q := strings.ToLower(query)
	for key, s := range c.schemas {
		if strings.Contains(q, strings.ToLower(s.Name)) {
			delete(c.schemas, key)
		}
	}
}

var jsonCheck = regexp.MustCompile("json_valid\\(`((?:[^`]|``)+)`\\)")

// schema reads a table's columns from information_schema.
func (c *tableCache) schema(db, name string) (*schema.Table, error) {
	key := db + "." + name
	if s, ok := c.schemas[key]; ok {
		return s, nil
	}
	r, err := c.conn.Execute(`SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY,
		IFNULL(CHARACTER_SET_NAME, ''), IFNULL(CHARACTER_OCTET_LENGTH, 0)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, name)
	if err != nil {
		return nil, classify(fmt.Errorf("reading columns of %s from %s: %w", key, c.ep.Addr(), err))
	}
	s := &schema.Table{DB: db, Name: name}
	for i := 0; i < r.RowNumber(); i++ {
		col := schema.Column{}
		col.Name, _ = r.GetString(i, 0)
		col.DataType, _ = r.GetString(i, 1)
		col.Type, _ = r.GetString(i, 2)
		k, _ := r.GetString(i, 3)
		cs, _ := r.GetString(i, 4)
		n, _ := r.GetInt(i, 5)
		col.Key = k == "PRI"
		col.Unsigned = strings.Contains(strings.ToLower(col.Type), "unsigned")
		col.Binary = cs == "binary" || (cs == "" && isBinaryType(col.DataType))
		col.Latin1 = cs == "latin1"
		col.JSON = strings.EqualFold(col.DataType, "json")
		col.Labels = schema.ParseLabels(col.Type)
		col.Length = int(n)
		s.Columns = append(s.Columns, col)
	}
	if c.flavor == "mariadb" {
		// MariaDB's JSON is LONGTEXT with a json_valid CHECK.
		r, err := c.conn.Execute(`SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
			WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, db, name)
		if err != nil {
			return nil, classify(fmt.Errorf("reading checks of %s from %s: %w", key, c.ep.Addr(), err))
		}
		for i := 0; i < r.RowNumber(); i++ {
			clause, _ := r.GetString(i, 0)
			for _, m := range jsonCheck.FindAllStringSubmatch(clause, -1) {
				if col := s.Column(strings.ReplaceAll(m[1], "``", "`")); col != nil {
					col.JSON = true
				}
			}
		}
	}
	c.schemas[key] = s
	return s, nil
}

func isBinaryType(dataType string) bool {
	switch strings.ToLower(dataType) {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}
