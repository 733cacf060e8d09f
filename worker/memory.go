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
// and each further busy task under 16 MiB more (bench's BenchmarkCDC and
// BenchmarkTasksMemory: a busy task's live heap is about 4 MiB, so under a
// backlog the heap grows to the limit between collections and the peak RSS
// is the limit plus about 12 MiB of the binary's own pages and runtime
// memory; each further task adds about its PerTask).
var DefaultMemoryBudget = MemoryBudget{Base: 22 << 20, PerTask: 12 << 20}

// Apply sets the limit for a node running tasks tasks.
func (b MemoryBudget) Apply(tasks int) {
	if b.Base > 0 {
		debug.SetMemoryLimit(b.Base + int64(tasks)*b.PerTask)
	}
}
