package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// parseArgs parses flags that may come before or after the task id.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func taskArg(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("%s takes one task id", cmd)
	}
	if err := task.ValidID(pos[0]); err != nil {
		return "", usagef("%v", err)
	}
	return pos[0], nil
}

func (c *cli) start(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	file := fs.String("f", "", "task config JSON file")
	reason := fs.String("reason", "", "reason, echoed in logs")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := taskArg(cmd, pos)
	if err != nil {
		return err
	}
	fields := map[string]string{"cmd": cmd, "task": id}
	if *reason != "" {
		fields["reason"] = *reason
	}
	switch {
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		cfg, err := task.PrepareCommandConfig(c.sealer, id, b)
		if err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
		if !c.sealer.Enabled() && strings.Contains(string(b), `"password"`) {
			fmt.Fprintln(c.errOut, "dataingestctl: warning: DATAINGEST_SECRET_KEY unset: the password is queued in clear "+
				"(the node that runs the task replaces the command entry within a heartbeat)")
		}
		fields["config"] = cfg
	case cmd == "start":
		if _, err := c.store.LoadConfig(ctx, id); err != nil {
			if errors.Is(err, store.ErrUnknownTask) {
				return usagef("start %s needs -f CONFIG.json: no config of %s is stored on %s", id, id, c.target)
			}
			return err
		}
	case cmd == "restart":
		c.warnIfUnknown(ctx, cmd, id)
	}
	return c.publish(ctx, fields)
}

func (c *cli) simple(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	reason := fs.String("reason", "", "reason, echoed in logs")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := taskArg(cmd, pos)
	if err != nil {
		return err
	}
	fields := map[string]string{"cmd": cmd, "task": id}
	if *reason != "" {
		fields["reason"] = *reason
	}
	c.warnIfUnknown(ctx, cmd, id)
	return c.publish(ctx, fields)
}

// warnIfUnknown warns when no config of task id is stored: the nodes will
// dead-letter the command, and the likelier mistake is the wrong Redis. The
// command is queued all the same (a producer may know better); a failed
// check only skips the warning, since publish reports Redis errors.
func (c *cli) warnIfUnknown(ctx context.Context, cmd, id string) {
	n, err := c.store.Client().Exists(ctx, c.store.Keys().TaskConfig(id)).Result()
	if err == nil && n == 0 {
		fmt.Fprintf(c.errOut, "dataingestctl: warning: task %s has no config on %s: the nodes will reject the %s\n",
			id, c.target, cmd)
	}
}

// taskKnown reports whether Redis holds anything of task id: a config, its
// id in P:cluster:tasks, or an output stream (which outlives a delete).
func (c *cli) taskKnown(ctx context.Context, id string) (bool, error) {
	k := c.store.Keys()
	var hasConfig, hasStream *redis.IntCmd
	var member *redis.BoolCmd
	_, err := c.store.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
		hasConfig = p.Exists(ctx, k.TaskConfig(id))
		member = p.SIsMember(ctx, k.ClusterTasks(), id)
		hasStream = p.Exists(ctx, k.TaskEvents(id))
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("looking up task %s on %s: %w", id, c.target, err)
	}
	return hasConfig.Val() > 0 || member.Val() || hasStream.Val() > 0, nil
}

// reading tells, on stderr, which Redis a view reads: stdout stays the
// view alone (JSON lines for tail and status), and an empty view from the
// wrong Redis does not pass for an empty fleet.
func (c *cli) reading() {
	fmt.Fprintf(c.errOut, "dataingestctl: reading %s\n", c.target)
}

func (c *cli) publish(ctx context.Context, fields map[string]string) error {
	entry, err := c.store.Publish(ctx, fields)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s %s queued as %s on %s\n", fields["cmd"], fields["task"], entry, c.target)
	return nil
}

func (c *cli) tasks(ctx context.Context) error {
	ts, err := c.store.Tasks(ctx)
	if err != nil {
		return err
	}
	c.reading()
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tTYPE\tSTATUS\tNODE\tEVENTS\tLAG\tPOSITION\tERROR")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.TaskID, t.TaskType, t.Status, dash(t.Node),
			t.Events, time.Duration(t.LagMs)*time.Millisecond, dash(t.Position), dash(t.Error))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) status(ctx context.Context, args []string) error {
	id, err := taskArg("status", args)
	if err != nil {
		return err
	}
	t, err := c.store.Task(ctx, id)
	if errors.Is(err, store.ErrUnknownTask) {
		return fmt.Errorf("unknown task %s on %s: it has neither config nor status (is DATAINGEST_REDIS_ADDRS right?)",
			id, c.target)
	}
	if err != nil {
		return err
	}
	c.reading()
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

func (c *cli) nodes(ctx context.Context) error {
	ns, err := c.store.Nodes(ctx)
	if err != nil {
		return err
	}
	c.reading()
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tALIVE\tADDRESS\tVERSION\tLAST HEARTBEAT\tTASKS")
	for _, n := range ns {
		fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\t%d %s\n", n.NodeID, n.Alive, dash(n.Address), dash(n.Version),
			time.UnixMilli(n.LastHeartbeat).Format(time.RFC3339), len(n.Tasks), strings.Join(n.Tasks, ","))
	}
	return w.Flush()
}

func (c *cli) tail(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	from := fs.String("from", "0", "start after this entry id (0: the beginning, $: only new entries)")
	count := fs.Int64("count", 0, "stop after this many entries (0: no limit)")
	follow := fs.Bool("follow", false, "wait for new entries")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := taskArg("tail", pos)
	if err != nil {
		return err
	}
	known, err := c.taskKnown(ctx, id)
	if err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("unknown task %s on %s: no config, not in %s, no output stream (is DATAINGEST_REDIS_ADDRS right?)",
			id, c.target, c.store.Keys().ClusterTasks())
	}
	c.reading()
	rdb := c.store.Client()
	stream := c.store.Keys().TaskEvents(id)
	last := *from
	if last == "$" {
		if last, err = lastID(ctx, rdb, stream); err != nil {
			return err
		}
	}
	var n int64
	var line []byte
	for {
		block := time.Duration(-1)
		if *follow {
			block = 2 * time.Second
		}
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{stream, last}, Count: 500, Block: block}).Result()
		if errors.Is(err, redis.Nil) {
			if !*follow {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		msgs := res[0].Messages
		if len(msgs) == 0 && !*follow {
			return nil
		}
		for _, m := range msgs {
			if line, err = entryJSON(line[:0], m); err != nil {
				return fmt.Errorf("entry %s: %w", m.ID, err)
			}
			line = append(line, '\n')
			if _, err := c.out.Write(line); err != nil {
				return err
			}
			last = m.ID
			if n++; *count > 0 && n >= *count {
				return nil
			}
		}
	}
}

func lastID(ctx context.Context, rdb redis.UniversalClient, stream string) (string, error) {
	r, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(r) == 0 {
		return "0", nil
	}
	return r[0].ID, nil
}

// entryJSON renders an output entry as one JSON object: its id and table,
// then the decoded envelope's fields.
func entryJSON(dst []byte, m redis.XMessage) ([]byte, error) {
	data, _ := m.Values["data"].(string)
	env, err := events.ToJSON(nil, []byte(data))
	if err != nil {
		return dst, err
	}
	id, _ := json.Marshal(m.ID)
	table, _ := json.Marshal(fmt.Sprint(m.Values["table"]))
	dst = append(dst, `{"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"table":`...)
	dst = append(dst, table...)
	if len(env) > 2 {
		dst = append(dst, ',')
		dst = append(dst, env[1:]...)
	} else {
		dst = append(dst, '}')
	}
	return dst, nil
}

func (c *cli) deadletters(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("deadletters", flag.ContinueOnError)
	count := fs.Int64("count", 20, "entries to show")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	ds, err := c.store.DeadLetters(ctx, *count)
	if err != nil {
		return err
	}
	c.reading()
	enc := json.NewEncoder(c.out)
	for _, d := range ds {
		f := d.Fields
		if cfg, ok := f["config"]; ok {
			f["config"] = task.RedactJSON(cfg)
		}
		f["id"] = d.ID
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}
