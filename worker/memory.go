package worker

import "runtime/debug"

// MemoryBudget is the soft memory limit a node keeps for the Go runtime
// (runtime/debug.SetMemoryLimit): Base, plus PerTask for every task it
// runs, so that a node's memory follows its tasks instead of the
// collector's headroom over the heap (GOGC). The zero budget leaves the
// limit alone.
type MemoryBudget struct {
	Base    int64 // bytes
	PerTask int64 // bytes
}

// DefaultMemoryBudget keeps a node with one busy task under 48 MiB of RSS
// and each further busy task under 16 MiB more (measured by BenchmarkCDC:
// the binary's own pages are about 10 MiB of the RSS on top of the limit).
var DefaultMemoryBudget = MemoryBudget{Base: 22 << 20, PerTask: 12 << 20}

// Apply sets the limit for a node running tasks tasks.
func (b MemoryBudget) Apply(tasks int) {
	if b.Base > 0 {
		debug.SetMemoryLimit(b.Base + int64(tasks)*b.PerTask)
	}
}
