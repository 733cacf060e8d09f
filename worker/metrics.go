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
	}
	reg.MustRegister(m.events, m.lagSeconds, m.batches, m.writeSeconds, m.leaseRenewals, m.commands, m.tasksRunning,
		m.bytes, m.batchEntries, m.commitToWrite, m.leaseLosses)
	return m
}

// forget drops the series of a task this node no longer runs whose last
// value would mislead (its lag); its counters stay, for rate().
func (m *Metrics) forget(task string) {
	m.lagSeconds.DeleteLabelValues(task)
	m.commitToWrite.DeleteLabelValues(task)
}
