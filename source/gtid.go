package source

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// gtidState tracks MariaDB's executed GTID position (one GTID per
// replication domain) as transactions commit.
type gtidState struct {
	domains map[uint32]mysql.MariadbGTID
	text    string // the position after the last commit, "d-s-n,..."
	next    mysql.MariadbGTID
	pending bool // next belongs to the open transaction
}

func (g *gtidState) parse(s string) {
	g.text = s
	g.domains = map[uint32]mysql.MariadbGTID{}
	for _, part := range strings.Split(s, ",") {
		var d, srv uint32
		var seq uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d-%d-%d", &d, &srv, &seq); err == nil {
			g.domains[d] = mysql.MariadbGTID{DomainID: d, ServerID: srv, SequenceNumber: seq}
		}
	}
}

func (g *gtidState) commit() {
	g.pending = false
	g.domains[g.next.DomainID] = g.next
	if len(g.domains) == 1 {
		g.text = fmt.Sprintf("%d-%d-%d", g.next.DomainID, g.next.ServerID, g.next.SequenceNumber)
		return
	}
	ids := make([]int, 0, len(g.domains))
	for d := range g.domains {
		ids = append(ids, int(d))
	}
	sort.Ints(ids)
	parts := make([]string, 0, len(ids))
	for _, d := range ids {
		x := g.domains[uint32(d)]
		parts = append(parts, fmt.Sprintf("%d-%d-%d", x.DomainID, x.ServerID, x.SequenceNumber))
	}
	g.text = strings.Join(parts, ",")
}
