package worker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
)

// eachPrivateFlavor is eachFlavor with a server of the test's own per
// flavor, for tests that stop, restart or purge it: MariaDB, MySQL at its
// defaults, and MySQL started with binlog_row_metadata=FULL.
func eachPrivateFlavor(t *testing.T, f func(t *testing.T, e *env)) {
	for _, fl := range []struct {
		name  string
		start func(testing.TB, ...testenv.Option) *testenv.DB
		opts  []testenv.Option
	}{
		{"mariadb", testenv.StartMariaDB, nil},
		{"mysql", testenv.StartMySQL, nil},
		{"mysql-full", testenv.StartMySQL, []testenv.Option{testenv.WithConfig("binlog_row_metadata=FULL")}},
	} {
		t.Run(fl.name, func(t *testing.T) { f(t, newEnvOn(t, fl.start(t, fl.opts...))) })
	}
}

// TestSourceRestart restarts the task's database under it: the task is
// RETRYING with the error while the server is down, then resumes by itself
// with no row lost or repeated.
func TestSourceRestart(t *testing.T) {
	eachPrivateFlavor(t, testSourceRestart)
}

func testSourceRestart(t *testing.T, e *env) {
	m := e.db
	m.Exec(t, "CREATE DATABASE s", "CREATE TABLE s.t (id INT PRIMARY KEY)")
	e.startNode("n1")
	e.command("cmd", "start", "task", "s", "config", e.cdcConfig("never", []string{"s.t"}, ""))
	e.waitFor(10*time.Second, "the start position", func() bool {
		o, _ := e.st.LoadOffset(t0(), "s")
		return o["file"] != ""
	})
	insert := func(from, to int) {
		for i := from; i < to; i++ {
			m.Exec(t, fmt.Sprintf("INSERT INTO s.t VALUES (%d)", i))
		}
	}
	insert(0, 20)
	e.waitEvents("s", 20, 10*time.Second)

	m.Stop(t)
	st := e.waitState("s", StateRetrying, 15*time.Second)
	t.Logf("while the source is down: %s: %s", st.Status, st.Error)
	m.Start(t)
	insert(20, 40)
	e.waitState("s", StateRunning, 30*time.Second)
	e.checkRows("s", 40, 30*time.Second)
}

// TestIdleLag: a task that caught up after a backlog shows a lag_ms under
// 100 ms once its source is idle (a binlog heartbeat refreshes it).
func TestIdleLag(t *testing.T) {
	eachFlavor(t, testIdleLag)
}

func testIdleLag(t *testing.T, e *env) {
	e.freshDatabases("idlelag") // not "lag": a reserved word on MySQL
	e.db.Exec(t, "CREATE TABLE idlelag.t (id INT PRIMARY KEY)")
	n1 := e.startNode("n1")
	e.startMySQLTask("lag", []string{"idlelag.t"}, "")
	n1.Stop()
	e.db.Exec(t, "INSERT INTO idlelag.t VALUES (1)")
	time.Sleep(4 * time.Second)
	e.startNode("n1")
	e.waitEvents("lag", 1, 10*time.Second)
	e.waitFor(5*time.Second, "the backlog's lag in the status", func() bool { return e.status("lag").LagMs >= 3000 })
	e.waitFor(5*time.Second, "lag_ms back under 100 ms while idle", func() bool { return e.status("lag").LagMs < 100 })
}

// TestPurgedCheckpoint: a checkpoint whose binlog file was purged fails
// the task with an error that names the file; under when_needed the task
// snapshots again instead.
func TestPurgedCheckpoint(t *testing.T) {
	for _, mode := range []string{"never", "when_needed"} {
		t.Run(mode, func(t *testing.T) {
			eachPrivateFlavor(t, func(t *testing.T, e *env) { testPurgedCheckpoint(t, e, mode) })
		})
	}
}

func testPurgedCheckpoint(t *testing.T, e *env, mode string) {
	m := e.db
	m.Exec(t, "CREATE DATABASE p", "CREATE TABLE p.t (id INT PRIMARY KEY)")
	e.startNode("n1")
	e.command("cmd", "start", "task", "p", "config", e.cdcConfig(mode, []string{"p.t"}, ""))
	var file string
	e.waitFor(10*time.Second, "the start position", func() bool {
		o, _ := e.st.LoadOffset(t0(), "p")
		file = o["file"]
		return file != ""
	})
	e.command("cmd", "stop", "task", "p")
	e.waitState("p", StateStopped, 5*time.Second)
	m.Exec(t, "FLUSH BINARY LOGS", "INSERT INTO p.t VALUES (1)", "FLUSH BINARY LOGS")
	status := "SHOW MASTER STATUS"
	if m.Flavor == testenv.FlavorMySQL {
		status = "SHOW BINARY LOG STATUS" // MySQL 8.4 dropped SHOW MASTER STATUS
	}
	current := m.QueryString(t, status)
	// A server keeps a file that a binlog dump still reads (MariaDB warns
	// and purges nothing): the stopped session's dump thread may not have
	// ended yet, so purge until the checkpoint's file is gone.
	e.waitFor(10*time.Second, "the checkpoint's binlog file purged", func() bool {
		m.Exec(t, fmt.Sprintf("PURGE BINARY LOGS TO '%s'", current))
		return m.QueryString(t, "SHOW BINARY LOGS") != file
	})
	e.command("cmd", "start", "task", "p")
	if mode == "when_needed" {
		// A new snapshot: the row written while the binlog was lost
		// arrives as a snapshot read.
		evs := e.waitEvents("p", 1, 10*time.Second)
		if evs[0].Op != "r" || evs[0].Env["after"].(map[string]any)["id"] != int64(1) {
			t.Fatalf("first event after the purge: %s %v", evs[0].Op, evs[0].Env["after"])
		}
		e.waitState("p", StateRunning, 10*time.Second)
		m.Exec(t, "INSERT INTO p.t VALUES (2)")
		evs = e.waitEvents("p", 2, 10*time.Second)
		if evs[1].Op != "c" {
			t.Errorf("second event: %s", evs[1].Op)
		}
		return
	}
	st := e.waitState("p", StateFailed, 10*time.Second)
	if !strings.Contains(st.Error, file) || !strings.Contains(st.Error, "no longer on") {
		t.Errorf("error %q does not name the purged file %s", st.Error, file)
	}
}
