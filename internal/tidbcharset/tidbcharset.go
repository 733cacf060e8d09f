// Package tidbcharset guards the TiDB parser's global character set and
// collation tables (github.com/pingcap/tidb/pkg/parser/charset). The schema
// package adds to them, so that the parser accepts the character sets and
// collations MySQL and MariaDB have and TiDB lacks; go-mysql's client reads
// them in every connection handshake. Whoever adds takes Lock; whoever
// connects with go-mysql (or parses) holds Read around it.
package tidbcharset

import "sync"

// Mu is the tables' lock.
var Mu sync.RWMutex

// Read takes the read lock and returns its release:
//
//	defer tidbcharset.Read()()
func Read() func() {
	Mu.RLock()
	return Mu.RUnlock
}
