package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the node's Prometheus collectors.
type Metrics struct {
	events        *prometheus.CounterVec
	lagSeconds    *prometheus.GaugeVec
	batches       prometheus.Counter
	writeSeconds  prometheus.Histogram
	leaseRenewals prometheus.Counter
	commands      *prometheus.CounterVec
	tasksRunning  prometheus.GaugeFunc
	bytes         *prometheus.CounterVec
	batchEntries  prometheus.Histogram
	commitToWrite *prometheus.HistogramVec
	leaseLosses   prometheus.Counter

	snapshotRows     *prometheus.GaugeVec
	snapshotEstimate *prometheus.GaugeVec
	backpressure     *prometheus.CounterVec
	sourceReconnects *prometheus.CounterVec
	sourceErrors     *prometheus.CounterVec
	reclaimed        prometheus.Counter
	failoverSeconds  prometheus.Histogram
	balanceMoves     prometheus.Counter
	deadLetters      *prometheus.CounterVec
	redisSeconds     *prometheus.HistogramVec
	redisErrors      *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg; running
// reports the number of tasks the node runs.
func NewMetrics(reg prometheus.Registerer, running func() float64) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "events_written_total",
			Help: "Change events written to output streams by this node.",
		}, []string{"task"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dataingest", Name: "task_lag_seconds",
			Help: "Age of the newest written change at the time it was written.",
		}, []string{"task"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "batches_written_total",
			Help: "Fenced batch writes (events and checkpoint in one script).",
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dataingest", Name: "batch_write_seconds",
			Help:    "Time from sending a fenced batch write to its reply, the write before it in flight included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		leaseRenewals: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "lease_renewals_total",
			Help: "Task lock renewals.",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "commands_total",
			Help: "Commands consumed, by command and result (ok, deadletter, error).",
		}, []string{"cmd", "result"}),
		tasksRunning: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "dataingest", Name: "tasks_running",
			Help: "Tasks this node runs.",
		}, running),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "bytes_written_total",
			Help: "Bytes of change envelopes written to output streams by this node.",
		}, []string{"task"}),
		batchEntries: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dataingest", Name: "batch_entries",
			Help:    "Output entries per fenced batch write.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		commitToWrite: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "dataingest", Name: "commit_to_write_seconds",
			Help:    "Time from a batch's newest change's commit at the source to the batch's write, per written batch.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"task"}),
		leaseLosses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "lease_losses_total",
			Help: "Task sessions that ended because this node lost the task's lock (another node took it, or it could not renew in time).",
		}),
		snapshotRows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dataingest", Name: "snapshot_rows_read",
			Help: "Rows the task's current snapshot has written so far (across sessions and failovers).",
		}, []string{"task"}),
		snapshotEstimate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dataingest", Name: "snapshot_rows_estimated",
			Help: "Rows the task's current snapshot is expected to read: the server's estimate (information_schema TABLE_ROWS) when its last session began.",
		}, []string{"task"}),
		backpressure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "backpressure_seconds_total",
			Help: "Time the task spent paused (state BACKPRESSURE) because its output stream held outputMaxLen unread entries.",
		}, []string{"task"}),
		sourceReconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "source_reconnects_total",
			Help: "Task sessions begun again after an interrupted one: each connects to the source anew.",
		}, []string{"task"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "source_errors_total",
			Help: "Task sessions ended by an error of the source (connection lost, server gone, a change it cannot decode), by whether it is retried.",
		}, []string{"task", "kind"}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "reclaimed_entries_total",
			Help: "Start entries this node claimed (XAUTOCLAIM) from dead or unresponsive nodes.",
		}),
		failoverSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dataingest", Name: "failover_seconds",
			Help:    "For each task this node took over from a dead node: time from that node's last heartbeat to the task's runner starting here.",
			Buckets: []float64{1, 2, 5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600},
		}),
		balanceMoves: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "balance_moves_total",
			Help: "Tasks this node handed to another node for balance.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "dead_letters_total",
			Help: "Commands this node rejected to the dead letter stream, by reason.",
		}, []string{"reason"}),
		redisSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "dataingest", Name: "redis_command_seconds",
			Help:    "Redis round trips of this node, by command (a pipeline as \"pipeline\"; XREADGROUP includes its BLOCK wait).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"cmd"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dataingest", Name: "redis_errors_total",
			Help: "Redis commands that failed (connection errors, timeouts, error replies; not nil replies), by command.",
		}, []string{"cmd"}),
	}
	reg.MustRegister(m.events, m.lagSeconds, m.batches, m.writeSeconds, m.leaseRenewals, m.commands, m.tasksRunning,
		m.bytes, m.batchEntries, m.commitToWrite, m.leaseLosses,
		m.snapshotRows, m.snapshotEstimate, m.backpressure, m.sourceReconnects, m.sourceErrors, m.reclaimed,
		m.failoverSeconds, m.balanceMoves, m.deadLetters, m.redisSeconds, m.redisErrors)
	for _, r := range deadLetterReasons {
		m.deadLetters.WithLabelValues(r) // present at 0, so that increase() sees the first one
	}
	return m
}

// begin makes a task's counters present at zero when a runner starts, so
// that increase() and rate() see their first step.
func (m *Metrics) begin(task string) {
	m.events.WithLabelValues(task)
	m.bytes.WithLabelValues(task)
	m.backpressure.WithLabelValues(task)
	m.sourceReconnects.WithLabelValues(task)
	m.sourceErrors.WithLabelValues(task, "retried")
	m.sourceErrors.WithLabelValues(task, "permanent")
}

// forget drops the series of a task this node no longer runs whose last
// value would mislead (its lag); its counters stay, for rate().
func (m *Metrics) forget(task string) {
	m.lagSeconds.DeleteLabelValues(task)
	m.commitToWrite.DeleteLabelValues(task)
	m.snapshotRows.DeleteLabelValues(task)
	m.snapshotEstimate.DeleteLabelValues(task)
}
