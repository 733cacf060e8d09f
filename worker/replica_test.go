package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
)

// TestReplicaFallback streams from a primary, then, with the primary dead,
// from its replica, continuing by GTID: every row once, in order, including
// rows written on the promoted replica.
func TestReplicaFallback(t *testing.T) {
	primary := testenv.StartMariaDB(t, testenv.WithServerID(1))
	replica := testenv.StartMariaDB(t, testenv.WithServerID(2), testenv.WithConfig("log_slave_updates=ON"))
	gtid := queryString(t, primary, "SELECT @@gtid_binlog_pos")
	replica.Exec(t,
		fmt.Sprintf("SET GLOBAL gtid_slave_pos = '%s'", gtid),
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos",
			primary.Port, testenv.MariaDBUser, testenv.MariaDBPassword),
		"START SLAVE")
	primary.Exec(t, "CREATE DATABASE r", "CREATE TABLE r.t (id INT PRIMARY KEY, v VARCHAR(16))")
	insert := func(m *testenv.MariaDB, from, to int) {
		for i := from; i < to; i++ {
			m.Exec(t, fmt.Sprintf("INSERT INTO r.t VALUES (%d, 'v%d')", i, i))
		}
	}
	caughtUp := func() bool {
		return queryString(t, replica, "SELECT @@gtid_slave_pos") == queryString(t, primary, "SELECT @@gtid_binlog_pos")
	}

	e := newEnv(t)
	e.startNode("n1")
	cfg := fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[
		{"host":"127.0.0.1","port":%d,"username":%q,"password":%q},
		{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":["r.t"]}`,
		primary.Port, testenv.MariaDBUser, testenv.MariaDBPassword, replica.Port, testenv.MariaDBUser, testenv.MariaDBPassword)
	e.command("cmd", "start", "task", "r", "config", strings.Join(strings.Fields(cfg), ""))
	e.waitFor(10*time.Second, "the start position", func() bool {
		o, _ := e.st.LoadOffset(context.Background(), "r")
		return o["file"] != "" && o["gtid"] != ""
	})
	insert(primary, 0, 30)
	e.waitEvents("r", 30, 10*time.Second)

	// Stop the task, write more on the primary, let the replica catch up,
	// and lose the primary.
	e.command("cmd", "stop", "task", "r")
	e.waitState("r", StateStopped, 5*time.Second)
	insert(primary, 30, 60)
	e.waitFor(10*time.Second, "the replica to catch up", caughtUp)
	primary.Kill(t)
	replica.Exec(t, "STOP SLAVE")
	insert(replica, 60, 80) // the promoted replica takes writes

	e.command("cmd", "start", "task", "r")
	e.checkRows("r", 80, 20*time.Second)
	o, _ := e.st.LoadOffset(context.Background(), "r")
	if o["server_id"] != "2" {
		t.Errorf("checkpoint %v, want one on the replica (server_id 2)", o)
	}
}

func queryString(t *testing.T, m *testenv.MariaDB, q string) string {
	t.Helper()
	r, err := m.Conn(t).Execute(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	s, _ := r.GetString(0, 0)
	return s
}
