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
	}
	reg.MustRegister(m.events, m.lagSeconds, m.batches, m.writeSeconds, m.leaseRenewals, m.commands, m.tasksRunning)
	return m
}
