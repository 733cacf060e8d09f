package worker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/store"
)

// fleetEvery is the longest a reading of the fleet serves scrapes: several
// Prometheus servers scraping every node must not each make a node read
// every task's status. A fleet changes at most once a heartbeat interval,
// so a shorter interval caches for that long only.
const fleetEvery = 10 * time.Second

// fleetTimeout bounds one reading of the fleet, inside a scrape.
const fleetTimeout = 3 * time.Second

// fleetCollector exports what the fleet looks like in Redis, read when
// scraped (at most once per fleetEvery): the tasks' states, which tasks
// should run but do not, the live nodes, this node's pending start entries
// and Redis's memory and eviction. Every node exports the same fleet
// series, so that alerts need no particular node to be up; dashboards and
// alerts aggregate them with max. While Redis cannot be read the series
// are left out (the node's Redis error metrics say why).
type fleetCollector struct {
	st    *store.Store
	self  string
	every time.Duration // how long a reading serves
	log   zerolog.Logger

	mu   sync.Mutex // guards at and last, and serializes readings
	at   time.Time
	last []prometheus.Metric
}

var (
	fleetNodesAlive = prometheus.NewDesc("dataingest_fleet_nodes_alive",
		"Nodes whose heartbeat is live, as this node reads the fleet.", nil, nil)
	fleetTasks = prometheus.NewDesc("dataingest_fleet_tasks",
		"Tasks of the fleet by state.", []string{"state"}, nil)
	fleetTaskState = prometheus.NewDesc("dataingest_fleet_task_state",
		"1 for each task, labelled with its state and the node its status names.", []string{"task", "state", "node"}, nil)
	fleetTaskRunning = prometheus.NewDesc("dataingest_fleet_task_running",
		"For each task that should run (desired running): 1 while it writes (RUNNING, or SNAPSHOTTING), else 0.", []string{"task"}, nil)
	fleetTaskOrphaned = prometheus.NewDesc("dataingest_fleet_task_orphaned",
		"For each task that should run and is not FAILED: 1 while no live node holds it (its node's heartbeat is gone, or it has none), else 0.", []string{"task"}, nil)
	pendingStarts = prometheus.NewDesc("dataingest_pending_starts",
		"Command entries pending on this node's consumer: the start entries of the tasks it runs or is about to start.", nil, nil)
	redisEvictionPossible = prometheus.NewDesc("dataingest_redis_eviction_possible",
		"1 when Redis's maxmemory-policy lets it evict keys (anything but noeviction), which breaks DataIngest's guarantees.", nil, nil)
	redisUsedMemory = prometheus.NewDesc("dataingest_redis_used_memory_bytes",
		"Redis's used_memory.", nil, nil)
	redisMaxMemory = prometheus.NewDesc("dataingest_redis_maxmemory_bytes",
		"Redis's maxmemory, 0 when it has no limit.", nil, nil)
	redisEvictedKeys = prometheus.NewDesc("dataingest_redis_evicted_keys_total",
		"Keys Redis has evicted since it started (INFO stats evicted_keys).", nil, nil)
)

// newFleetCollector returns the fleet collector of node self, whose
// heartbeat interval is heartbeat.
func newFleetCollector(st *store.Store, self string, heartbeat time.Duration, log zerolog.Logger) *fleetCollector {
	every := fleetEvery
	if heartbeat > 0 && heartbeat < every {
		every = heartbeat
	}
	return &fleetCollector{st: st, self: self, every: every, log: log}
}

// Describe implements prometheus.Collector.
func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{fleetNodesAlive, fleetTasks, fleetTaskState, fleetTaskRunning, fleetTaskOrphaned,
		pendingStarts, redisEvictionPossible, redisUsedMemory, redisMaxMemory, redisEvictedKeys} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= c.every {
		ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
		ms, err := c.read(ctx)
		cancel()
		if err != nil {
			c.log.Debug().Err(err).Msg("reading the fleet for its metrics")
			ms = nil
		}
		c.at, c.last = time.Now(), ms
	}
	for _, m := range c.last {
		ch <- m
	}
}

// read reads the fleet once: four round trips whatever its size (the
// tasks' statuses in one pipeline).
func (c *fleetCollector) read(ctx context.Context) ([]prometheus.Metric, error) {
	nodes, err := c.st.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	tasks, err := c.st.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := c.st.PendingCounts(ctx)
	if err != nil {
		return nil, err
	}
	mem, err := c.st.RedisMemory(ctx)
	if err != nil {
		return nil, err
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
		return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	alive := map[string]bool{}
	for _, n := range nodes {
		if n.Alive {
			alive[n.NodeID] = true
		}
	}
	out := make([]prometheus.Metric, 0, 3*len(tasks)+16)
	out = append(out,
		gauge(fleetNodesAlive, float64(len(alive))),
		gauge(pendingStarts, float64(pending[c.self])),
		gauge(redisEvictionPossible, bit(mem.Evicts())),
		gauge(redisUsedMemory, float64(mem.UsedBytes)),
		gauge(redisMaxMemory, float64(mem.MaxBytes)),
		prometheus.MustNewConstMetric(redisEvictedKeys, prometheus.CounterValue, float64(mem.EvictedKeys)),
	)
	byState := map[string]int{}
	for _, t := range tasks {
		byState[t.Status]++
		out = append(out, gauge(fleetTaskState, 1, t.TaskID, t.Status, t.Node))
		if t.Desired != store.DesiredRunning {
			continue
		}
		// A FAILED task waits for a restart, held by nobody: not orphaned.
		held := !slices.Contains(activeStates, t.Status) || alive[t.Node]
		out = append(out,
			gauge(fleetTaskRunning, bit(t.Status == StateRunning || t.Status == StateSnapshotting), t.TaskID),
			gauge(fleetTaskOrphaned, bit(!held), t.TaskID))
	}
	for _, s := range []string{StatePending, StateSnapshotting, StateRunning, StateBackpressure, StateRetrying, StateStopped, StateFailed} {
		byState[s] += 0 // every state present, at 0 when no task is in it
	}
	for s, n := range byState {
		out = append(out, gauge(fleetTasks, float64(n), s))
	}
	return out, nil
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
