package store

// Keys builds every Redis key DataIngest uses. P is the configured prefix
// (DATAINGEST_KEY_PREFIX). Per-task keys carry the task id as a hash tag
// {ID}, so one task's keys share a Redis Cluster slot and one Lua script can
// touch them all. Renaming a key is a wire break: keys_test.go pins them.
type Keys struct {
	prefix string
}

// NewKeys returns the key builder for prefix P.
func NewKeys(prefix string) Keys { return Keys{prefix: prefix} }

// Prefix returns P.
func (k Keys) Prefix() string { return k.prefix }

// Group is the consumer group of the command stream.
const Group = "workers"

// Commands is P:commands, the command stream.
func (k Keys) Commands() string { return k.prefix + ":commands" }

// DeadLetter is P:deadletter, the stream of rejected commands.
func (k Keys) DeadLetter() string { return k.prefix + ":deadletter" }

// ClusterTasks is P:cluster:tasks, the set of every known task id.
func (k Keys) ClusterTasks() string { return k.prefix + ":cluster:tasks" }

// ClusterNodes is P:cluster:nodes, node ids scored by last heartbeat (ms).
func (k Keys) ClusterNodes() string { return k.prefix + ":cluster:nodes" }

// ClusterServerIDs is P:cluster:server_ids, the counter from which tasks
// get their replication client ids.
func (k Keys) ClusterServerIDs() string { return k.prefix + ":cluster:server_ids" }

// NodeWake is P:node:wake:NODE, the pub/sub channel on which a node hears
// that another gave it a start entry.
func (k Keys) NodeWake(node string) string { return k.prefix + ":node:wake:" + node }

// NodeHeartbeat is P:node:heartbeat:NODE.
func (k Keys) NodeHeartbeat(node string) string { return k.prefix + ":node:heartbeat:" + node }

// TaskConfig is P:task:config:{ID}, the task's config and desired state.
func (k Keys) TaskConfig(id string) string { return k.prefix + ":task:config:{" + id + "}" }

// TaskStatus is P:task:status:{ID}.
func (k Keys) TaskStatus(id string) string { return k.prefix + ":task:status:{" + id + "}" }

// TaskAssignment is P:task:assignment:{ID}, the id of the node running it.
func (k Keys) TaskAssignment(id string) string { return k.prefix + ":task:assignment:{" + id + "}" }

// TaskOffset is P:task:offset:{ID}, the checkpoint.
func (k Keys) TaskOffset(id string) string { return k.prefix + ":task:offset:{" + id + "}" }

// TaskSchema is P:task:schema:{ID}, the task's schema history.
func (k Keys) TaskSchema(id string) string { return k.prefix + ":task:schema:{" + id + "}" }

// TaskEvents is P:task:events:{ID}, the task's output stream.
func (k Keys) TaskEvents(id string) string { return k.prefix + ":task:events:{" + id + "}" }

// TaskLock is P:lock:task:{ID}, the task's lock: "NODE TOKEN" with a TTL.
func (k Keys) TaskLock(id string) string { return k.prefix + ":lock:task:{" + id + "}" }
