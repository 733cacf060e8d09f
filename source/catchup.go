package source

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// catchup filters the binlog read after a snapshot: a change of a row that
// a snapshot session read is skipped when the change happened before that
// session's position (see snapshot.go).
type catchup struct {
	text     string // the state as the checkpoints carry it
	tables   map[string]int
	sessions []cursor
	last     snapshotSession
}

type cursor struct {
	snapshotSession
	key [][]byte // the text of the key the session started after
}

func newCatchup(st *snapshotState) (*catchup, error) {
	c := &catchup{text: st.encode(), tables: map[string]int{}, last: st.Sessions[len(st.Sessions)-1]}
	for i, t := range st.Tables {
		c.tables[t] = i
	}
	for _, s := range st.Sessions {
		cur := cursor{snapshotSession: s}
		for _, h := range s.Key {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("checkpoint snapshot cursor: %w", err)
			}
			cur.key = append(cur.key, b)
		}
		c.sessions = append(c.sessions, cur)
	}
	return c, nil
}

// skip reports whether a change of the row with key values key (by the
// table's key columns) in table t, in the transaction at (file, pos) with
// GTID gtid on server, is already in the snapshot.
func (c *catchup) skip(t *tableInfo, key []any, server uint32, file string, pos uint32, gtid string) bool {
	ti, ok := c.tables[t.db+"."+t.name]
	if !ok {
		return false // a table the snapshot did not read
	}
	var s *cursor
	for i := range c.sessions {
		cur := &c.sessions[i]
		if cur.Table < ti || (cur.Table == ti && (cur.key == nil || compareKey(t, key, cur.key) > 0)) {
			s = cur
		}
	}
	if s == nil {
		return false
	}
	return before(server, file, pos, gtid, s.snapshotSession)
}

// done reports whether the boundary is at or past the last session's
// position: from there on every change is new.
func (c *catchup) done(server uint32, file string, pos uint32, gtid string) bool {
	return !before(server, file, pos, gtid, c.last)
}

// before reports whether a transaction (at file:pos on server, or with
// GTID gtid) comes before a session's position. On the session's server
// positions compare; elsewhere MariaDB GTIDs of the same domain do, and a
// MySQL GTID comes before when the session's executed set holds it. When
// neither can tell, it answers false: the change is emitted, never lost.
func before(server uint32, file string, pos uint32, gtid string, s snapshotSession) bool {
	if server == s.Server {
		if file != s.File {
			return file < s.File
		}
		return pos < s.Pos
	}
	if strings.Contains(gtid, ":") { // MySQL: uuid:n, in the session's executed set or not
		set, err1 := mysql.ParseMysqlGTIDSet(s.GTID)
		tx, err2 := mysql.ParseMysqlGTIDSet(gtid)
		return err1 == nil && err2 == nil && set.Contain(tx)
	}
	var d, srv uint32
	var seq uint64
	if _, err := fmt.Sscanf(gtid, "%d-%d-%d", &d, &srv, &seq); err != nil {
		return false
	}
	for _, part := range strings.Split(s.GTID, ",") {
		var sd, ss uint32
		var sseq uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d-%d-%d", &sd, &ss, &sseq); err == nil && sd == d {
			return seq <= sseq
		}
	}
	return false
}

// compareKey compares a binlog row's key values with a cursor's key text
// in the key columns' order: numbers numerically, other values bytewise.
func compareKey(t *tableInfo, key []any, cur [][]byte) int {
	for i := range key {
		if i >= len(cur) {
			return 1
		}
		if c := compareValue(t.kinds[t.key[i]], key[i], cur[i]); c != 0 {
			return c
		}
	}
	return 0
}

func compareValue(k kind, v any, text []byte) int {
	switch x := v.(type) {
	case nil:
		return -1
	case int64:
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			return bytes.Compare([]byte(strconv.FormatInt(x, 10)), text)
		}
		return cmpOrdered(x, n)
	case uint64:
		n, err := strconv.ParseUint(string(text), 10, 64)
		if err != nil {
			return bytes.Compare([]byte(strconv.FormatUint(x, 10)), text)
		}
		return cmpOrdered(x, n)
	case float32:
		f, _ := strconv.ParseFloat(string(text), 64)
		return cmpOrdered(float64(x), f)
	case float64:
		f, _ := strconv.ParseFloat(string(text), 64)
		return cmpOrdered(x, f)
	case []byte:
		return bytes.Compare(x, text)
	case string:
		if k == kindPass { // DECIMAL, DATE and TIME text
			a, okA := new(big.Rat).SetString(x)
			b, okB := new(big.Rat).SetString(string(text))
			if okA && okB {
				return a.Cmp(b)
			}
		}
		if k == kindDatetime || k == kindTimestamp {
			x = strings.TrimSuffix(strings.Replace(x, "T", " ", 1), "Z")
		}
		return strings.Compare(x, string(text))
	}
	return strings.Compare(fmt.Sprint(v), string(text))
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
