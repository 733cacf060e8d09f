// Package bench measures one MYSQL_CDC task end to end and sets each figure
// beside baselines measured in the same run, on the same input (a binlog,
// or for the snapshot a table), on the same machine: `make bench` runs
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench/
//
// BenchmarkCDC starts a private MariaDB and a private Redis (testenv),
// writes a bulk workload (multi-row inserts in transactions of 1,000 rows,
// then updates and deletes) and records the binlog positions around it.
// It then measures, one after the other so that they do not share the
// machine's two cores:
//
//   - decode: go-mysql's BinlogSyncer alone, configured as the product's
//     binlog reader configures it, counting row changes from the recorded
//     position: the most the node could read.
//   - limit (and limit json): the cheapest write of the same output, a Lua
//     script XADDing envelopes encoded before the clock starts in batches of
//     500, each with its checkpoint and the status's event counter: what
//     Redis can take, for msgpack and JSON envelopes.
//   - redis: store.OutputWriter alone, the same batches through the
//     product's fenced Lua script: what the node's checks cost.
//   - end to end: the real dataingest binary, started as a process, with the
//     task's checkpoint seeded at the recorded position, from the start
//     command until the status hash counts every change; its peak RSS
//     (VmHWM) and RSS during the run come from /proc. A second run over a
//     workload a fifth the size shows whether memory grows with the
//     workload, and a third with JSON output is set against limit json.
//
// The figures are ratios against the Redis limit because absolute
// rates depend on the machine and its load. Every phase is measured in
// three rounds, each round's phases back to back, and the summary gives the
// median round with every round's figures below it. The CPU time of the
// node, Redis, MariaDB and of everything else on the machine during each
// phase is printed with them, and the node's own /metrics say how much of
// the run its writer spent waiting on Redis, so a reader can tell which
// process was the bottleneck and whether other load spoiled a round.
// Nothing here is a pass/fail test: missing an aim is printed in the
// summary, not reported as a failure.
//
// BenchmarkSnapshot measures a new task's initial snapshot (snapshotMode
// initial) of a 2,000,000-row table of the CDC workload's rows, loaded
// without binlogging them, against the slower of two baselines measured in
// the same round:
//
//   - selects: the same chunks read with plain SELECTs alone: go-mysql's
//     client connected as the node connects, the snapshot's session
//     setting and consistent-snapshot transaction, then keyset-paginated
//     queries of 1,000 rows in primary-key order, the text the node sends:
//     the most the node could read.
//   - snapshot limit: the Redis limit above for the `r` envelopes of the
//     same rows, encoded before the clock starts, each batch with a
//     checkpoint of the snapshot's shape (position and cursor state).
//   - redis: the node's fenced OutputWriter alone on the same batches, to
//     show what its checks cost; with Redis's own time inside one script
//     call (INFO commandstats) during the limit, this phase and the node's
//     run, which tells Redis's work from the time it waits for the writer.
//   - the node: the real dataingest binary with a new task on the table,
//     from the start command until the status counts every row, with its
//     CPU-seconds per million rows and peak RSS, and a run on a table a
//     fifth the size to show whether memory grows with the table.
//
// DATAINGEST_BENCH_SNAPSHOT_ROWS sets the large table's rows for quick
// runs; the aim (0.8 of the slower baseline, peak RSS within 1.25x of the
// small table's) is printed in the summary as for BenchmarkCDC.
//
// BenchmarkFailover runs three node processes with short intervals,
// SIGKILLs the owner of a task ten times and prints the median and maximum
// time from the kill to the task's next event, as fractions of the
// contract's bound FAILOVER_TIMEOUT + TASK_MONITOR_INTERVAL + 2 s.
//
// BenchmarkCoordination runs three node processes with the default
// intervals and 1, 100 and 1,000 idle DATAGEN tasks, and prints the Redis
// commands per second the fleet spends per task (INFO's
// total_commands_processed, which counts commands run inside scripts too).
//
// BenchmarkThousandTasks runs three node processes with the default
// intervals and 1,000 DATAGEN tasks: the placement time of a burst of
// 1,000 starts against one node placing them alone, the loads as placed
// and after balance, the commands per second per idle task against the aim
// of 0.5, and, after the node with the most tasks is SIGKILLed, the time
// until each of its tasks writes again (first, median, last) against the
// contract's failover bound.
package bench
