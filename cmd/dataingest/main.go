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
	"runtime/debug"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/api"
	"github.com/dataingest/dataingest/config"
	"github.com/dataingest/dataingest/scheduler"
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
	if os.Getenv("GOGC") == "" {
		// Binlog decoding makes much short-lived garbage; measured in
		// `make bench`, 400 keeps throughput at a small heap.
		debug.SetGCPercent(400)
	}
	sealer, err := task.NewSealer(cfg.SecretKey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dataingest: bad configuration: DATAINGEST_SECRET_KEY: %v\n", err)
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
	var tasks *worker.Tasks
	metrics := worker.NewMetrics(reg, func() float64 { return float64(tasks.Count()) })
	wc := worker.Config{
		NodeID: cfg.Cluster.NodeID, Address: cfg.HTTP.Addr, Version: version,
		HeartbeatInterval: cfg.Cluster.HeartbeatInterval, TaskMonitorInterval: cfg.Cluster.TaskMonitorInterval,
		FailoverTimeout: cfg.Cluster.FailoverTimeout, MaxTasks: cfg.Cluster.MaxTasks, Sealer: sealer,
	}
	component := func(name string) zerolog.Logger {
		return log.With().Str("component", name).Str("node", cfg.Cluster.NodeID).Logger()
	}
	fleet := scheduler.NewFleet(st, cfg.Cluster.NodeID, cfg.Cluster.MaxTasks)
	tasks = worker.NewTasks(wc, st, fleet, component("tasks"), metrics)
	consumer := worker.NewConsumer(wc, st, tasks, fleet, component("commands"), metrics)
	heartbeat := worker.NewHeartbeat(wc, st, tasks, component("heartbeat"))
	heartbeat.WaitFor(consumer.Done())
	monitor := scheduler.NewMonitor(scheduler.MonitorConfig{
		NodeID: cfg.Cluster.NodeID, Interval: cfg.Cluster.TaskMonitorInterval, FailoverTimeout: cfg.Cluster.FailoverTimeout,
	}, st, fleet, consumer.Adopt, tasks.Move, component("monitor"))
	heartbeat.WaitFor(monitor.Done())
	server := api.New(api.Config{
		Addr: cfg.HTTP.Addr, Token: string(cfg.HTTP.APIToken), Sealer: sealer, Ready: consumer.Healthy,
	}, st, reg, component("api"))
	if err := server.Listen(); err != nil {
		log.Error().Err(err).Str("addr", cfg.HTTP.Addr).Msg("cannot listen: DATAINGEST_HTTP_ADDR")
		return 1
	}

	var g run.Group
	// Signals: SIGTERM or SIGINT ends the group, which hands tasks over.
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
	// The task runners; interrupting them hands every task over.
	addActor(&g, tasks.Run)
	// The command consumer.
	addActor(&g, consumer.Run)
	// The heartbeat; on exit it removes the node once tasks are handed over.
	addActor(&g, heartbeat.Run)
	// The monitor: orphan reclaim, dead-node clean-up, balance.
	addActor(&g, monitor.Run)
	// HTTP API, probes and /metrics.
	addActor(&g, server.Run)

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

// addActor adds a component's Run as an actor with its own context.
func addActor(g *run.Group, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error { return fn(ctx) }, func(error) { cancel() })
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
