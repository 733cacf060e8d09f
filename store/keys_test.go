package store

import "testing"

func TestKeys(t *testing.T) {
	k := NewKeys("debezium")
	tests := []struct {
		got, want string
	}{
		{k.Commands(), "debezium:commands"},
		{k.DeadLetter(), "debezium:deadletter"},
		{k.ClusterTasks(), "debezium:cluster:tasks"},
		{k.ClusterNodes(), "debezium:cluster:nodes"},
		{k.ClusterServerIDs(), "debezium:cluster:server_ids"},
		{k.NodeHeartbeat("10.0.0.1:8080"), "debezium:node:heartbeat:10.0.0.1:8080"},
		{k.NodeWake("10.0.0.1:8080"), "debezium:node:wake:10.0.0.1:8080"},
		{k.TaskConfig("t1"), "debezium:task:config:{t1}"},
		{k.TaskStatus("t1"), "debezium:task:status:{t1}"},
		{k.TaskAssignment("t1"), "debezium:task:assignment:{t1}"},
		{k.TaskOffset("t1"), "debezium:task:offset:{t1}"},
		{k.TaskSchema("t1"), "debezium:task:schema:{t1}"},
		{k.TaskEvents("t1"), "debezium:task:events:{t1}"},
		{k.TaskLock("t1"), "debezium:lock:task:{t1}"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got key %q, want %q", tt.got, tt.want)
		}
	}
}
