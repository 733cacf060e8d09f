// Command dataingest is a DataIngest node: it consumes the command stream,
// runs CDC tasks, heartbeats, and serves the HTTP API and /metrics. It is
// configured by environment only (see README.md). SIGTERM or SIGINT hands
// every task over to other nodes and exits 0; a bad configuration exits 2.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/api"
	"github.com/dataingest/dataingest/config"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
	"github.com/dataingest/dataingest/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(runMain())
}

func runMain() int {
	cfg, err := config.Load(os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "dataingest: bad configuration:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg.Log)
	routeLibraryLogs(log)
	for _, w := range cfg.Warnings() {
		log.Warn().Msg(w)
	}
	if cfg.HTTP.Pprof {
		// What the block and mutex profiles sample: a blocking event every
		// 10 µs of blocking on average, one contention in 100.
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
		runtime.SetMutexProfileFraction(100)
	}
	if os.Getenv("GOGC") == "" {
		// Binlog decoding makes much short-lived garbage; measured in
		// `make bench`, 400 keeps throughput at a small heap.
		debug.SetGCPercent(400)
	}
	sealer, err := task.NewSealer(cfg.SecretKey, cfg.SecretKeyPrevious.Keys()...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dataingest: bad configuration: DATAINGEST_SECRET_KEY or DATAINGEST_SECRET_KEY_PREVIOUS: %v\n", err)
		return 2
	}
	rdb, err := store.NewClient(cfg.Redis)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dataingest: bad configuration: %v\n", err)
		return 2
	}
	defer rdb.Close()
	st := store.New(rdb, cfg.Redis.KeyPrefix)
	repairLog := log.With().Str("component", "repair").Str("node", cfg.Cluster.NodeID).Logger()
	st.OnRepair(func(task, what string) {
		repairLog.Warn().Str("task", task).Str("repaired", what).Msg("repaired a damaged or missing key")
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	node := worker.NewNode(worker.Config{
		NodeID: cfg.Cluster.NodeID, Address: cfg.HTTP.Addr, Version: version,
		HeartbeatInterval: cfg.Cluster.HeartbeatInterval, TaskMonitorInterval: cfg.Cluster.TaskMonitorInterval,
		FailoverTimeout: cfg.Cluster.FailoverTimeout, MaxTasks: cfg.Cluster.MaxTasks,
		ShutdownTimeout: cfg.Cluster.ShutdownTimeout, Sealer: sealer, Memory: memoryBudget(),
	}, st, reg, log)
	server := api.New(api.Config{
		Addr: cfg.HTTP.Addr, Token: string(cfg.HTTP.APIToken), PreviousToken: string(cfg.HTTP.APITokenPrevious),
		Sealer: sealer, Ready: node.Healthy,
		Pprof: cfg.HTTP.Pprof,
	}, st, reg, log.With().Str("component", "api").Str("node", cfg.Cluster.NodeID).Logger())
	if err := server.Listen(); err != nil {
		log.Error().Err(err).Str("addr", cfg.HTTP.Addr).Msg("cannot listen: DATAINGEST_HTTP_ADDR")
		return 1
	}

	var g run.Group
	// Signals: SIGTERM or SIGINT ends the group, which stops the node.
	// Later signals are ignored, so a second Ctrl-C cannot cut the
	// hand-over short (SIGKILL still can).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	sigCtx, sigCancel := context.WithCancel(context.Background())
	g.Add(func() error {
		select {
		case s := <-sigs:
			log.Info().Str("signal", s.String()).Msg("stopping: handing tasks over")
			go func() {
				for s := range sigs {
					log.Warn().Str("signal", s.String()).Msg("already stopping; send SIGKILL to stop at once")
				}
			}()
			return run.SignalError{Signal: s}
		case <-sigCtx.Done():
			return nil
		}
	}, func(error) { sigCancel() })
	// The node and its HTTP API: interrupted, it stops in order (reading
	// commands, hand-over, leaving the fleet, HTTP) within
	// DATAINGEST_SHUTDOWN_TIMEOUT.
	nodeCtx, stopNode := context.WithCancel(context.Background())
	g.Add(func() error { return node.Run(nodeCtx, server) }, func(error) { stopNode() })

	log.Info().Str("version", version).Str("http", server.Addr()).Strs("redis", cfg.Redis.Addrs).
		Interface("config", cfg.Redacted()).Msg("node started")
	checkEviction(st, log)
	err = g.Run()
	var sig run.SignalError
	if err == nil || errors.As(err, &sig) {
		log.Info().Msg("node stopped")
		return 0
	}
	log.Error().Err(err).Msg("node failed")
	return 1
}

func newLogger(c config.Log) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	var l zerolog.Logger
	if c.Format == "console" {
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"})
	} else {
		l = zerolog.New(os.Stderr)
	}
	return l.Level(level).With().Timestamp().Logger()
}

// memoryBudget is the node's soft memory limit per task, unless the
// operator set GOMEMLIMIT.
func memoryBudget() worker.MemoryBudget {
	if os.Getenv("GOMEMLIMIT") != "" {
		return worker.MemoryBudget{}
	}
	worker.DefaultMemoryBudget.Apply(0)
	return worker.DefaultMemoryBudget
}

// checkEviction says at start whether Redis may evict keys (the monitor
// says it again every interval, /readyz all along).
func checkEviction(st *store.Store, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e, err := st.EvictionPolicy(ctx)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("cannot read Redis's eviction policy (INFO memory)")
	case e.Evicts():
		log.Error().Str("maxmemory_policy", e.Policy).Int64("maxmemory", e.MaxBytes).Msg(e.Problem())
	}
}
