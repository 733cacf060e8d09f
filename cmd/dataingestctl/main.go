// Command dataingestctl is the DataIngest operator CLI. It talks to Redis
// directly with the nodes' environment (DATAINGEST_REDIS_ADDRS,
// DATAINGEST_KEY_PREFIX, ...): commands are XADDed to the command stream,
// views are read from the task, node and output keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/config"
	"github.com/dataingest/dataingest/store"
)

const usage = `usage: dataingestctl COMMAND [ARGS]

Task commands (queued on the command stream; a node applies them):
  start TASK -f CONFIG.json   store the config and run the task
  restart TASK [-f CONFIG]    stop then start (clears FAILED)
  stop TASK                   stop; the checkpoint stays
  failover TASK               hand the task to another node
  delete TASK                 stop and remove the task's state (not its output)

Views:
  tasks                       every task with state, node, events, lag
  status TASK                 one task, as JSON
  nodes                       the fleet's nodes
  tail TASK [--from ID] [--count N] [--follow]
                              the task's output events, one JSON object a line
  deadletters [--count N]     rejected commands, newest first

Environment: the node's DATAINGEST_* variables (see README.md).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cfg, err := config.Load(os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "dataingestctl: bad configuration:\n%v\n", err)
		return 2
	}
	redis.SetLogger(quietLogger{}) // errors reach the user as messages, not pool logs
	rdb, err := store.NewClient(cfg.Redis)
	if err != nil {
		fmt.Fprintf(stderr, "dataingestctl: %v\n", err)
		return 2
	}
	defer rdb.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c := &cli{store: store.New(rdb, cfg.Redis.KeyPrefix), out: stdout}
	err = c.dispatch(ctx, args[0], args[1:])
	var ue usageError
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dataingestctl: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "dataingestctl: %v\n", err)
		return 1
	}
}

// quietLogger drops go-redis's internal log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type cli struct {
	store *store.Store
	out   io.Writer
}

func (c *cli) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "start", "restart":
		return c.start(ctx, cmd, args)
	case "stop", "failover", "delete":
		return c.simple(ctx, cmd, args)
	case "tasks":
		return c.tasks(ctx)
	case "status":
		return c.status(ctx, args)
	case "nodes":
		return c.nodes(ctx)
	case "tail":
		return c.tail(ctx, args)
	case "deadletters":
		return c.deadletters(ctx, args)
	}
	return usagef("unknown command %q", cmd)
}
