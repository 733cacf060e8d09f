// Package bench measures one MYSQL_CDC task end to end and sets each figure
// beside baselines measured in the same run, on the same input (a binlog,
// or for the snapshot a table), on the same machine, and measures the
// node's memory per busy task and the fleet's coordination: `make bench` runs
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
//     binlog reader configures it but with go-mysql's own row decoder,
//     counting row changes from the recorded position: what reading the
//     binlog costs with the library alone.
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
// phase is printed with them, and the node's own /metrics say how many
// writes it kept in flight on average, so a reader can tell which process
// was the bottleneck and whether other load spoiled a round. Before every
// measured phase Redis's AOF is compacted (BGREWRITEAOF of the little the
// phases leave), so that no phase pays for the files of the ones before.
// Nothing here is a pass/fail test: missing an aim is printed in the
// summary, not reported as a failure.
//
// BenchmarkTasksMemory measures what a node's memory costs per task: on
// one fresh node each, 1, 4 and 8 busy MYSQL_CDC tasks, each on its own
// table, read a backlog of 100,000 bulk inserts per table (transactions of
// 1,000 rows, the tables interleaved in the binlog), written before the
// tasks start, with every checkpoint seeded at the position before it. It
// samples the node's VmRSS, reads its VmHWM once every task has counted its
// backlog, and prints the peak per count, the increment per added task
// ((peak(N) - peak(1)) / (N - 1)) against the aims (48 MiB for one task,
// 16 MiB for each further one), and 8 tasks' peak with half and double the
// backlog (within 1.25x for memory to count as flat), beside each run's
// events/s, node CPU-seconds per million events, garbage collections and
// the node's soft memory limit. One run per figure: a peak is a size, less
// spoiled by other load than a rate.
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
//
// BenchmarkLatency runs one node with one task on a private MariaDB and
// Redis. For each of 100, 1,000 and 10,000 rows/s it writes single-row
// transactions for three seconds over two connections and times each row
// from its INSERT's reply to the XREAD reply that brings its entry, all on
// this process's clock; the same rows are timed through the minimal
// pipeline (go-mysql's BinlogSyncer handing each commit to a goroutine that
// XADDs what accumulated in one pipeline) just before, so the node's own
// part shows. Three rounds; the median round by node p99 is printed with
// every round's p99 below. It then writes 1,000,000 rows at full speed
// (INSERT ... SELECT transactions of 1,000 rows over two connections) and
// every 100 ms reads the output's newest entry, its length and the status's
// lag_ms in one round trip, and the node's dataingest_task_lag_seconds,
// against the true lag: the age of the oldest committed row not yet in the
// output, 0 when there is none, from the commit times the writer recorded.
// It prints the largest error up to the catch-up (the last row's entry) and
// how long after it both reported lags fall under 100 ms.
// DATAINGEST_BENCH_LAT_SECONDS and DATAINGEST_BENCH_LAT_BURST shrink the
// phases while developing.
package bench
