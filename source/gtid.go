package source

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// gtidState tracks the server's executed GTID position as transactions
// commit: MariaDB's one GTID per replication domain ("d-s-n,..."), or
// MySQL's UUID:interval set. text is what checkpoints carry.
type gtidState struct {
	flavor  string
	text    string // the position after the last commit
	pending string // GTID of the open transaction, "" without

	domains map[uint32]mysql.MariadbGTID // MariaDB
	set     *mysql.MysqlGTIDSet          // MySQL
}

func (g *gtidState) parse(flavor, s string) {
	g.flavor, g.text = flavor, s
	if flavor == mysql.MySQLFlavor {
		if set, err := mysql.ParseMysqlGTIDSet(s); err == nil {
			g.set = set.(*mysql.MysqlGTIDSet)
		}
		return
	}
	g.domains = map[uint32]mysql.MariadbGTID{}
	for _, part := range strings.Split(s, ",") {
		var d, srv uint32
		var seq uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d-%d-%d", &d, &srv, &seq); err == nil {
			g.domains[d] = mysql.MariadbGTID{DomainID: d, ServerID: srv, SequenceNumber: seq}
		}
	}
}

// begin records the GTID of the transaction that starts.
func (g *gtidState) begin(gtid string) { g.pending = gtid }

// commit adds the open transaction's GTID to the position.
func (g *gtidState) commit() {
	gtid := g.pending
	g.pending = ""
	if gtid == "" {
		return
	}
	if g.flavor == mysql.MySQLFlavor {
		if g.set == nil {
			return
		}
		if err := g.set.Update(gtid); err == nil {
			g.text = g.set.String()
		}
		return
	}
	var d, srv uint32
	var seq uint64
	if _, err := fmt.Sscanf(gtid, "%d-%d-%d", &d, &srv, &seq); err != nil {
		return
	}
	g.domains[d] = mysql.MariadbGTID{DomainID: d, ServerID: srv, SequenceNumber: seq}
	if len(g.domains) == 1 {
		g.text = gtid
		return
	}
	ids := make([]int, 0, len(g.domains))
	for id := range g.domains {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		x := g.domains[uint32(id)]
		parts = append(parts, fmt.Sprintf("%d-%d-%d", x.DomainID, x.ServerID, x.SequenceNumber))
	}
	g.text = strings.Join(parts, ",")
}
