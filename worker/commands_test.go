package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
)

func TestMalformedCommandsAreDeadLettered(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	secretCfg := `{"taskType":"MYSQL_CDC","dataSourceConfigs":[{"host":"h","port":99999,"username":"u","password":"s3cret-pw"}],"cdcTables":["a.b"]}`
	tests := []struct {
		fields []string
		want   string // in the dead letter's error
	}{
		{[]string{"cmd", "explode", "task", "t1"}, `unknown cmd "explode"`},
		{[]string{"task", "t1"}, "missing field cmd"},
		{[]string{"cmd", "start", "task", "a b"}, `"a b"`},
		{[]string{"cmd", "start", "task", strings.Repeat("x", 129)}, "task id"},
		{[]string{"cmd", "start", "task", "t1", "config", "{"}, "config of task t1"},
		{[]string{"cmd", "start", "task", "t1", "config", `{"cdcTables":["a.b"]}`}, "taskType"},
		{[]string{"cmd", "start", "task", "t1", "config", `{"taskType":"DATAGEN","cdcTable":["a.b"]}`}, `unknown field "cdcTable"`},
		{[]string{"cmd", "start", "task", "t1", "config", secretCfg}, "port"},
		{[]string{"cmd", "start", "task", "never-configured"}, "no config stored"},
		{[]string{"cmd", "stop", "task", "unknown-task"}, "unknown task"},
		{[]string{"cmd", "delete", "task", "unknown-task"}, "unknown task"},
	}
	for _, tt := range tests {
		e.command(tt.fields...)
	}
	// The node keeps working after all of them.
	e.command("cmd", "start", "task", "dg", "config", `{"taskType":"DATAGEN","datagen":{"rate":0,"total":100}}`)
	e.waitEvents("dg", 100, 10*time.Second)

	ctx := context.Background()
	dls, err := e.st.DeadLetters(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != len(tests) {
		t.Fatalf("got %d dead letters, want %d: %v", len(dls), len(tests), dls)
	}
	for i, tt := range tests {
		dl := dls[len(dls)-1-i] // newest first
		if !strings.Contains(dl.Fields["error"], tt.want) {
			t.Errorf("dead letter %d (%v): error %q does not contain %q", i, tt.fields, dl.Fields["error"], tt.want)
		}
		if dl.Fields["command_id"] == "" {
			t.Errorf("dead letter %d has no command_id", i)
		}
		for k, v := range dl.Fields {
			if strings.Contains(v, "s3cret-pw") {
				t.Errorf("dead letter %d field %s leaks the password: %s", i, k, v)
			}
		}
	}
	pending, err := e.rdb.XPending(ctx, e.st.Keys().Commands(), "workers").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pending.Count != 1 { // only the DATAGEN task's start entry
		t.Errorf("pending entries = %d, want 1 (the running task's start)", pending.Count)
	}
}

func TestMisconfiguredSources(t *testing.T) {
	e := newEnv(t)
	e.startNode("n1")
	mariadb.Exec(t, "CREATE DATABASE mc", "CREATE TABLE mc.t (id INT PRIMARY KEY)")
	mariadb.CreateUser(t, "nopriv", "nopriv", "SELECT ON *.*")
	closed, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(port int, user, tables, extra string) string {
		return fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":[%q]%s}`,
			port, user, user, tables, extra)
	}
	tests := []struct {
		name, config, state, want string
	}{
		{"unknown-table", cfg(mariadb.Port, testenv.MariaDBUser, "mc.nosuch", ""), StateFailed, "table mc.nosuch does not exist"},
		{"no-privileges", cfg(mariadb.Port, "nopriv", "mc.t", ""), StateFailed, "REPLICATION"},
		{"unreachable", cfg(closed, testenv.MariaDBUser, "mc.t", ""), StateRetrying, "connecting to 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.command("cmd", "start", "task", tt.name, "config", tt.config)
			st := e.waitState(tt.name, tt.state, 15*time.Second)
			if !strings.Contains(st.Error, tt.want) {
				t.Errorf("error %q does not contain %q", st.Error, tt.want)
			}
			if strings.Contains(st.Error, testenv.MariaDBPassword+"@") {
				t.Errorf("error leaks a password: %q", st.Error)
			}
		})
	}

	t.Run("binlog-format", func(t *testing.T) {
		mariadb.Exec(t, "SET GLOBAL binlog_format = 'STATEMENT'")
		defer mariadb.Exec(t, "SET GLOBAL binlog_format = 'ROW'")
		e.command("cmd", "start", "task", "stmt", "config", cfg(mariadb.Port, testenv.MariaDBUser, "mc.t", ""))
		st := e.waitState("stmt", StateFailed, 15*time.Second)
		if !strings.Contains(st.Error, "binlog_format") || !strings.Contains(st.Error, "ROW") {
			t.Errorf("error %q does not say binlog_format must be ROW", st.Error)
		}
	})

	// A FAILED task runs again after restart once the cause is fixed.
	t.Run("restart-clears-failed", func(t *testing.T) {
		mariadb.Exec(t, "CREATE TABLE mc.nosuch (id INT PRIMARY KEY)")
		e.command("cmd", "restart", "task", "unknown-table")
		e.waitState("unknown-table", StateRunning, 15*time.Second)
		e.waitFor(10*time.Second, "the start position", func() bool {
			m, _ := e.st.LoadOffset(context.Background(), "unknown-table")
			return m["file"] != ""
		})
		mariadb.Exec(t, "INSERT INTO mc.nosuch VALUES (1)")
		e.waitEvents("unknown-table", 1, 10*time.Second)
	})
}
