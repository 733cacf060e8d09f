// Package worker is the node: it consumes commands, runs tasks, and keeps
// each task's lease.
//
// # Ownership, leases and fencing
//
// A task runs on the node that holds its lock P:lock:task:{ID}. The lock's
// value is "NODE TOKEN", where TOKEN comes from a per-task counter
// (field fence of the status hash), so every acquisition has a value no
// earlier holder can have. The lock's TTL is FAILOVER_TIMEOUT; every
// HEARTBEAT_INTERVAL the node renews the locks of all its runners in one
// round trip (a pipeline of a script that succeeds only while the value is
// still the runner's own), and each runner's lease keeper acts on its
// result.
//
// Every write a runner makes (its output events, its checkpoint, its status)
// is a Lua script that first compares the lock's value with the runner's:
// events and checkpoint go in one script, so they are written together or
// not at all, and a runner whose lock expired or moved (its node was paused,
// cut off from Redis, or slow) cannot write a single event. A runner that
// cannot renew for longer than its lease lasts stops by itself; if it has
// not, its writes are refused anyway. Each batch also carries a sequence
// number checked against the checkpoint, so a write retried after a lost
// reply is applied once, and a checkpoint that moved under the runner (Redis
// lost writes) makes it resume from what Redis holds.
//
// # Commands and desired state
//
// Commands are read from P:commands in group `workers`. start and restart
// store the config and the desired state "running" in P:task:config:{ID};
// stop and delete set it to "stopped" or "deleted". The node running the
// task learns of them from its next lease renewal (or at once, if the
// command reached that same node) and stops, deletes or restarts the task;
// when nobody runs it, the node that read the command applies it under the
// lock. A start whose task nobody runs is run by the node that read it, and
// its entry stays pending on that node for as long as the task runs there:
// XINFO CONSUMERS shows each node's task count as its pending count. The
// node resets the idle time of those entries every heartbeat, so an entry
// idle longer than FAILOVER_TIMEOUT belongs to a dead node.
//
// # Failover, placement and moves
//
// Every TASK_MONITOR_INTERVAL each node XAUTOCLAIMs the entries idle longer
// than FAILOVER_TIMEOUT: the start entries of dead (or paused) nodes, whose
// locks have expired by then, since lock TTL and entry refresh share the
// heartbeat. It runs those tasks from their checkpoints, or gives them on.
// What a start entry means is one decision (decide) over the facts about
// it: how it came (read fresh, pending here, reclaimed or handed over),
// whether the task runs here and on this entry, the task's desired state,
// its lock and the holder's liveness, this node's room and state, and a
// placement. A start of a task nobody runs goes where the scheduler places
// it: this node, or another one, by moving the entry to that node's pending
// list (XCLAIM to its consumer) and waking it (PUBLISH on
// P:node:wake:NODE). A woken node, and every node every three seconds
// anyway, checks whether its pending list holds entries it does not run yet
// (given to it, or waiting for a lock) and applies them; an entry given to
// a node with room runs there, so a stale view of the fleet cannot bounce
// it. The start entry a task holds never keeps a config: once the config
// is stored the entry is replaced by one without it (Store.Rehold), and so
// is an entry lost with the group. A fresh start of a task locked by
// another node is a duplicate and is acknowledged; a pending or reclaimed
// one goes back to a live holder, and waits here while a dead holder's
// lock expires. A task moved for balance or by a failover command stops
// at a written checkpoint, its lock is released, and its entry moves to the
// new node.
//
// A restarted node first re-reads the entries pending on it and resumes
// those tasks from their checkpoints once their locks are free. A node that
// stops (SIGTERM) does so in one order under one deadline (Node.Run): out
// of the placement view, no more commands, no more monitor, then every
// task handed over (each runner stops at a written checkpoint, the lock is
// released, a new start entry is published for any node to read at once,
// and only then is the old entry acknowledged), then out of the fleet.
package worker
