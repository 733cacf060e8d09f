// Command dataingestctl is the DataIngest operator CLI. It talks to Redis
// directly with the nodes' environment (DATAINGEST_REDIS_ADDRS,
// DATAINGEST_KEY_PREFIX, ...): commands are XADDed to the command stream,
// views are read from the task, node and output keys. Since a shell with
// another environment reaches another Redis, the CLI names the Redis it
// talks to wherever that could mislead: in each queued command's line, in
// the error about an unknown task, on stderr for each view, and in a
// warning when the address is the default.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/config"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
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
  lag [--over DURATION]       every task's lag behind its source and its
                              consumer groups' backlog, worst first; exits 1
                              when a task lags more than DURATION or should
                              run and does not
  status TASK                 one task, as JSON
  nodes                       the fleet's nodes
  tail TASK [--from ID] [--count N] [--follow]
                              the task's output events, one JSON object a line
  deadletters [--count N]     rejected commands, newest first

Secret key rotation:
  reseal [--check]            seal every stored task config anew under
                              DATAINGEST_SECRET_KEY (opening with it or
                              DATAINGEST_SECRET_KEY_PREVIOUS); --check only
                              reports, and exits 1 while one is not

Environment: the node's DATAINGEST_* variables (see README.md). Without
DATAINGEST_REDIS_ADDRS (or SPRING_REDIS_HOST) it uses 127.0.0.1:6379 and
warns. Queued commands name the Redis on stdout; views name it on stderr.
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is the CLI with its environment ("KEY=value" entries) and output
// given; it returns the exit code: 0 done, 1 failed, 2 bad usage or
// configuration.
func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cfg, err := config.Load(environ)
	if err != nil {
		fmt.Fprintf(stderr, "dataingestctl: bad configuration:\n%v\n", err)
		return 2
	}
	target := redisTarget(cfg.Redis)
	if defaultRedis(environ) {
		fmt.Fprintf(stderr, "dataingestctl: warning: DATAINGEST_REDIS_ADDRS (and SPRING_REDIS_HOST) unset: "+
			"using the default %s\n", target)
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
	sealer, err := task.NewSealer(cfg.SecretKey, cfg.SecretKeyPrevious.Keys()...)
	if err != nil {
		fmt.Fprintf(stderr, "dataingestctl: bad configuration: DATAINGEST_SECRET_KEY or DATAINGEST_SECRET_KEY_PREVIOUS: %v\n", err)
		return 2
	}
	c := &cli{store: store.New(rdb, cfg.Redis.KeyPrefix), sealer: sealer, target: target, out: stdout, errOut: stderr}
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

// defaultRedis reports whether environ leaves the Redis address at its
// default: neither DATAINGEST_REDIS_ADDRS nor its Java fallbacks
// (SPRING_REDIS_HOST, SPRING_REDIS_PORT) set. A shell without them talks to
// whatever Redis listens on 127.0.0.1:6379, so the CLI says so.
func defaultRedis(environ []string) bool {
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "DATAINGEST_REDIS_ADDRS", "SPRING_REDIS_HOST", "SPRING_REDIS_PORT":
			if v != "" {
				return false
			}
		}
	}
	return true
}

// redisTarget names the Redis the CLI talks to, as its messages show it:
// "redis 127.0.0.1:6379 (key prefix debezium)", with every address of a
// cluster, the master name and sentinels of a Sentinel setup, and a DB
// other than 0.
func redisTarget(r config.Redis) string {
	addrs := strings.Join(r.Addrs, ",")
	var s string
	switch r.Mode() {
	case config.ModeSentinel:
		s = fmt.Sprintf("redis master %s via sentinels %s", r.MasterName, addrs)
	case config.ModeCluster:
		s = "redis cluster " + addrs
	default:
		s = "redis " + addrs
	}
	if r.DB != 0 {
		s += fmt.Sprintf(" db %d", r.DB)
	}
	return s + fmt.Sprintf(" (key prefix %s)", r.KeyPrefix)
}

// quietLogger drops go-redis's internal log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cli runs one command against one Redis.
type cli struct {
	store *store.Store
	// sealer seals passwords before they are queued (DATAINGEST_SECRET_KEY)
	// and opens stored ones for reseal (and DATAINGEST_SECRET_KEY_PREVIOUS).
	sealer *task.Sealer
	// target names the Redis (redisTarget), for every message where the
	// wrong Redis could mislead: queued commands, unknown tasks, reads.
	target string
	out    io.Writer // results: tables, JSON
	errOut io.Writer // warnings and the Redis that reads come from
}

func (c *cli) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "start", "restart":
		return c.start(ctx, cmd, args)
	case "stop", "failover", "delete":
		return c.simple(ctx, cmd, args)
	case "tasks":
		return c.tasks(ctx)
	case "lag":
		return c.lag(ctx, args)
	case "status":
		return c.status(ctx, args)
	case "nodes":
		return c.nodes(ctx)
	case "tail":
		return c.tail(ctx, args)
	case "deadletters":
		return c.deadletters(ctx, args)
	case "reseal":
		return c.reseal(ctx, args)
	}
	return usagef("unknown command %q", cmd)
}
