package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
)

// TestReplicaFallback streams from a primary, then, with the primary dead,
// from its replica, continuing by GTID: every row once, in order, including
// rows written on the promoted replica. It runs on a MariaDB pair (domain
// GTIDs, MASTER_USE_GTID=slave_pos) and on a MySQL pair (UUID GTIDs,
// SOURCE_AUTO_POSITION), both private to the test.
func TestReplicaFallback(t *testing.T) {
	for _, tt := range []struct {
		flavor      string
		start       func(...testenv.Option) (*testenv.DB, error)
		replicaOpts []testenv.Option
	}{
		// A MariaDB replica writes what it replicates to its own binlog only
		// with log_slave_updates; MySQL's log_replica_updates is on by default.
		{testenv.FlavorMariaDB, testenv.StartMariaDBE, []testenv.Option{testenv.WithConfig("log_slave_updates=ON")}},
		{testenv.FlavorMySQL, testenv.StartMySQLE, nil},
	} {
		t.Run(tt.flavor, func(t *testing.T) {
			primary, replica := startPair(t, tt.start, []testenv.Option{testenv.WithServerID(1)},
				append(tt.replicaOpts, testenv.WithServerID(2)))
			testReplicaFallback(t, primary, replica)
		})
	}
}

// startPair starts two servers at once (a MySQL takes ~3 s to initialise
// and start) and closes them when the test ends.
func startPair(t *testing.T, start func(...testenv.Option) (*testenv.DB, error), opts1, opts2 []testenv.Option) (*testenv.DB, *testenv.DB) {
	t.Helper()
	var dbs [2]*testenv.DB
	var errs [2]error
	var wg sync.WaitGroup
	for i, opts := range [][]testenv.Option{opts1, opts2} {
		wg.Add(1)
		go func() { defer wg.Done(); dbs[i], errs[i] = start(opts...) }()
	}
	wg.Wait()
	for _, db := range dbs {
		if db != nil {
			t.Cleanup(db.Close)
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	return dbs[0], dbs[1]
}

func testReplicaFallback(t *testing.T, primary, replica *testenv.DB) {
	replica.ReplicateFrom(t, primary)
	primary.Exec(t, "CREATE DATABASE r", "CREATE TABLE r.t (id INT PRIMARY KEY, v VARCHAR(16))")
	insert := func(m *testenv.DB, from, to int) {
		for i := from; i < to; i++ {
			m.Exec(t, fmt.Sprintf("INSERT INTO r.t VALUES (%d, 'v%d')", i, i))
		}
	}

	e := newEnvOn(t, primary)
	e.startNode("n1")
	cfg := fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[
		{"host":"127.0.0.1","port":%d,"username":%q,"password":%q},
		{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":["r.t"]}`,
		primary.Port, testenv.DBUser, testenv.DBPassword, replica.Port, testenv.DBUser, testenv.DBPassword)
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
	e.waitFor(10*time.Second, "the replica to catch up", func() bool { return replica.CaughtUp(t, primary) })
	primary.Kill(t)
	replica.StopReplica(t)
	insert(replica, 60, 80) // the promoted replica takes writes

	e.command("cmd", "start", "task", "r")
	e.checkRows("r", 80, 20*time.Second)
	o, _ := e.st.LoadOffset(context.Background(), "r")
	if o["server_id"] != "2" {
		t.Errorf("checkpoint %v, want one on the replica (server_id 2)", o)
	}
}
