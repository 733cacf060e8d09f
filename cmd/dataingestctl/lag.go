package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"
)

// errLagging makes lag exit 1 when a task is behind its threshold.
type errLagging struct{ n int }

func (e errLagging) Error() string {
	return fmt.Sprintf("%d tasks behind the threshold", e.n)
}

// lag shows, for every task, the two delays an operator asks about: how
// far the output is behind the source (the status's lag, with the state
// that explains it) and how far the output's consumer groups are behind
// the output (entries not yet delivered, and delivered but not
// acknowledged). Worst first. With --over it exits 1 when a task's source
// lag exceeds the duration, or a task that should run does not, for use in
// scripts and cron checks.
func (c *cli) lag(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("lag", flag.ContinueOnError)
	over := fs.Duration("over", 0, "exit 1 when a task's lag is above this (or it should run and does not)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("lag takes no arguments, only --over DURATION")
	}
	ts, err := c.store.Tasks(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.TaskID
	}
	backlogs, err := c.store.Backlogs(ctx, ids)
	if err != nil {
		return err
	}
	c.reading()
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].LagMs > ts[j].LagMs })
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tSTATUS\tNODE\tLAG\tOUTPUT\tGROUPS\tUNREAD\tUNACKED\tNOTE")
	behind := 0
	for _, t := range ts {
		b := backlogs[t.TaskID]
		note := ""
		writing := t.Status == "RUNNING" || t.Status == "SNAPSHOTTING"
		switch {
		case b.Problem != "":
			note = b.Problem
		case t.Desired == "running" && !writing:
			note = "should run: " + dash(t.Error)
		}
		if *over > 0 && (time.Duration(t.LagMs)*time.Millisecond > *over || t.Desired == "running" && !writing) {
			behind++
			if note == "" {
				note = "lag over " + over.String()
			}
		}
		unread := strconv.FormatInt(b.Unread, 10)
		if b.Unread < 0 {
			unread = "?"
		}
		if b.Groups == 0 {
			unread = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", t.TaskID, t.Status, dash(t.Node),
			time.Duration(t.LagMs)*time.Millisecond, b.Entries, b.Groups, unread, b.Pending, dash(note))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if behind > 0 {
		return errLagging{behind}
	}
	return nil
}
