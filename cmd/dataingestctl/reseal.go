package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/dataingest/dataingest/store"
)

// reseal is the last step of a secret key rotation: nodes seal the config
// of each task they start under their current key, but a stopped task's
// config is read by no node, so this seals every stored config whose
// passwords are not under DATAINGEST_SECRET_KEY (opening them with it or a
// key of DATAINGEST_SECRET_KEY_PREVIOUS). With --check it only reports.
// It prints one line per task and fails (exit 1) when a config cannot be
// opened, or, with --check, while one is not under the current key, so
// that `reseal --check` can gate removing the old key. A config that a
// start replaced meanwhile is sealed by that start's node; it is reported
// so, and a second run sees it.
func (c *cli) reseal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reseal", flag.ContinueOnError)
	check := fs.Bool("check", false, "only report the configs not sealed under the current key")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("reseal takes no arguments (it goes through every task)")
	}
	if !c.sealer.Enabled() {
		return usagef("reseal needs DATAINGEST_SECRET_KEY, the key to seal under (and the old keys in DATAINGEST_SECRET_KEY_PREVIOUS)")
	}
	ids, err := c.store.ScanTaskIDs(ctx)
	if err != nil {
		return fmt.Errorf("listing the tasks on %s: %w", c.target, err)
	}
	slices.Sort(ids)
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tCONFIG")
	var resealed, current, stale, bad int
	for _, id := range ids {
		sc, err := c.store.LoadConfig(ctx, id)
		if errors.Is(err, store.ErrUnknownTask) {
			continue // a status without a config: nothing to seal
		}
		if err != nil {
			return err
		}
		sealed, digest, changed, err := c.sealer.Reseal(id, sc.Config)
		var result string
		switch {
		case err != nil:
			result, bad = "cannot be opened: "+err.Error(), bad+1
		case !changed:
			result, current = "up to date (sealed under the current key, or no password)", current+1
		case *check:
			result, stale = "not sealed under the current key", stale+1
		default:
			ok, err := c.store.ResealConfig(ctx, id, sc.Config, sealed, digest)
			if err != nil {
				return err
			}
			if ok {
				result, resealed = "sealed anew under the current key", resealed+1
			} else {
				result, stale = "replaced meanwhile by a start: run reseal again", stale+1
			}
		}
		fmt.Fprintf(w, "%s\t%s\n", id, result)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d sealed anew, %d up to date, %d not under the current key, %d cannot be opened, on %s\n",
		resealed, current, stale, bad, c.target)
	switch {
	case bad > 0:
		return fmt.Errorf("task configs that neither DATAINGEST_SECRET_KEY nor DATAINGEST_SECRET_KEY_PREVIOUS opens: %d; "+
			"keep the key they were sealed with in DATAINGEST_SECRET_KEY_PREVIOUS, or start those tasks with their config (-f)", bad)
	case stale > 0 && *check:
		return fmt.Errorf("task configs not sealed under the current DATAINGEST_SECRET_KEY: %d; run dataingestctl reseal", stale)
	case stale > 0:
		return fmt.Errorf("task configs changed while reseal ran: %d; run it again", stale)
	}
	return nil
}
