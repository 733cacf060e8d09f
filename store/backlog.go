package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Backlog is how far the readers of a task's output stream are behind.
type Backlog struct {
	Entries int64 // XLEN of the output stream
	Groups  int   // consumer groups reading it
	// Unread is the most entries any group has not been delivered yet
	// (XINFO GROUPS lag), -1 when Redis cannot tell (after XDEL or a
	// trim past entries a group never read); 0 without groups.
	Unread int64
	// Pending is the most entries any group was delivered and has not
	// acknowledged.
	Pending int64
	// Problem says why the stream could not be read (a key of another
	// type), "" when it was.
	Problem string
}

// Backlogs reads the Backlog of each task's output stream in one
// pipeline. A task without an output stream has a zero Backlog.
func (s *Store) Backlogs(ctx context.Context, tasks []string) (map[string]Backlog, error) {
	lens := make([]*redis.IntCmd, len(tasks))
	groups := make([]*redis.XInfoGroupsCmd, len(tasks))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range tasks {
			lens[i] = p.XLen(ctx, s.keys.TaskEvents(t))
			groups[i] = p.XInfoGroups(ctx, s.keys.TaskEvents(t))
		}
		return nil
	})
	if err != nil && !noStream(err) && !IsWrongType(err) {
		return nil, fmt.Errorf("reading output streams: %w", err)
	}
	out := make(map[string]Backlog, len(tasks))
	for i, t := range tasks {
		var b Backlog
		b.Entries = lens[i].Val()
		gs, err := groups[i].Result()
		if err != nil && !noStream(err) {
			// One damaged key shows in its own row, never failing the rest.
			b.Unread, b.Problem = -1, fmt.Sprintf("reading %s: %v", s.keys.TaskEvents(t), err)
		}
		b.Groups = len(gs)
		for _, g := range gs {
			switch {
			case g.Lag < 0:
				b.Unread = -1
			case b.Unread >= 0 && g.Lag > b.Unread:
				b.Unread = g.Lag
			}
			b.Pending = max(b.Pending, g.Pending)
		}
		out[t] = b
	}
	return out, nil
}

// noStream reports whether err is XINFO's reply for a missing stream.
func noStream(err error) bool {
	return err != nil && (errors.Is(err, redis.Nil) || strings.Contains(err.Error(), "no such key"))
}
