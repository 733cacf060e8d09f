package source

import "time"

// A task's lag is measured from its source's commit times, but a binlog
// event's header times its statement's start in whole seconds, so a lag
// measured from the header alone is up to a second too large. The binlog
// reader estimates each transaction's commit time to the millisecond
// instead:
//
//   - MySQL 8's GTID events carry the commit time in microseconds
//     (immediate_commit_timestamp): it is taken as it is.
//   - Otherwise (MariaDB) from when the transaction's first event reached
//     the reader. The server sends a transaction's events once it has
//     committed, so the commit lies between the start of the header's
//     second and the arrival. An event the reader had to wait for came as
//     soon as the server sent it: it committed just before it arrived. An
//     event that was already waiting in go-mysql's buffer (the reader is
//     behind) committed at some moment of its header's second: the middle
//     of that second, or the arrival when that is earlier, is off by at
//     most half a second.

// waitedMin is how long GetEvent must have blocked for its event to count
// as one the reader waited for: a buffered event comes back in well under a
// microsecond, a goroutine woken by a new one takes a few.
const waitedMin = 20 * time.Microsecond

// arrival is when the reader got a binlog event from go-mysql, and whether
// it had to wait for it.
type arrival struct {
	at     time.Time
	waited bool
}

// arrived is the arrival of an event asked for at asked and got at got.
func arrived(asked, got time.Time) arrival {
	return arrival{at: got, waited: got.Sub(asked) >= waitedMin}
}

// commitEstimate is the commit time, ms since the epoch, of a transaction
// whose first event has header timestamp sec (seconds) and arrived as a
// says (see above).
func commitEstimate(sec uint32, a arrival) int64 {
	lo := int64(sec) * 1000
	if a.at.IsZero() {
		return lo
	}
	at := a.at.UnixMilli()
	if a.waited {
		return max(lo, min(at, lo+999))
	}
	return max(lo, min(at, lo+500))
}
