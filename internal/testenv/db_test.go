package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// testDBBasics checks what every flavor offers, on a server with app.items
// holding (1, 'one') and (2, 'two'): restarts keep data, the process
// started is the server itself, users, queries, errors that name the
// statement, and pausing.
func testDBBasics(t *testing.T, m *DB) {
	t.Run("restart keeps data", func(t *testing.T) {
		m.Restart(t)
		assertItem(t, m, 1, "one")
		m.Kill(t)
		if err := m.ExecE("SELECT 1"); err == nil {
			t.Fatal("a query succeeded on a killed server")
		}
		m.Start(t)
		assertItem(t, m, 2, "two")
	})
	// Signals reach the server itself: the process started (chroot(8) for
	// a chrooted mysqld) is the one that wrote the pid file.
	t.Run("the process is the server", func(t *testing.T) {
		c, err := m.d.current()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(m.Dir, m.Flavor+".pid"))
		if err != nil {
			t.Fatal(err)
		}
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(raw))); pid != c.pid() {
			t.Fatalf("the pid file says %d, the started process is %d", pid, c.pid())
		}
	})
	t.Run("query string", func(t *testing.T) {
		if got := m.QueryString(t, "SELECT name FROM app.items ORDER BY id"); got != "one" {
			t.Fatalf("QueryString = %q, want %q", got, "one")
		}
	})
	t.Run("create user", func(t *testing.T) {
		m.CreateUser(t, "cdc", "it's secret", "REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.*")
		conn, err := client.Connect(m.Addr, "cdc", "it's secret", "app")
		if err != nil {
			t.Fatalf("connecting as cdc: %v", err)
		}
		defer conn.Close()
		if _, err := conn.Execute("SELECT name FROM items"); err != nil {
			t.Fatalf("SELECT as cdc: %v", err)
		}
		if _, err := conn.Execute("INSERT INTO items VALUES (3, 'three')"); err == nil {
			t.Fatal("INSERT as cdc succeeded without the privilege")
		}
	})
	t.Run("exec error names the statement", func(t *testing.T) {
		err := m.ExecE("SELECT 1", "SELEKT 2")
		if err == nil || !strings.Contains(err.Error(), "SELEKT 2") {
			t.Fatalf("got %v, want an error naming SELEKT 2", err)
		}
	})
	t.Run("pause and resume", func(t *testing.T) {
		// The read timeout must be set while connecting: go-mysql applies it
		// to the packet connection then.
		conn, err := client.Connect(m.Addr, DBUser, DBPassword, "", func(c *client.Conn) error {
			c.ReadTimeout = 300 * time.Millisecond
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		m.Pause(t)
		_, err = conn.Execute("SELECT 1")
		m.Resume(t)
		if err == nil {
			t.Fatal("query succeeded on a paused server")
		}
		m.Exec(t, "SELECT 1")
	})
}

// A replica of each flavor receives the primary's rows, CaughtUp says when,
// and after StopReplica it receives no more.
func TestReplicateFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flavor      string
		start       func(testing.TB, ...Option) *DB
		replicaOpts []Option
	}{
		{FlavorMariaDB, StartMariaDB, []Option{WithConfig("log_slave_updates=ON")}},
		{FlavorMySQL, StartMySQL, nil},
	}
	for _, tt := range tests {
		t.Run(tt.flavor, func(t *testing.T) {
			t.Parallel()
			primary := tt.start(t, WithServerID(1))
			replica := tt.start(t, append(tt.replicaOpts, WithServerID(2))...)
			replica.ReplicateFrom(t, primary)
			primary.Exec(t,
				"CREATE DATABASE r",
				"CREATE TABLE r.t (id INT PRIMARY KEY, v VARCHAR(16))",
				"INSERT INTO r.t VALUES (1, 'one')")
			waitForWithin(t, 20*time.Second, "the replica to catch up", func() bool { return replica.CaughtUp(t, primary) })
			if got := replica.QueryString(t, "SELECT v FROM r.t WHERE id = 1"); got != "one" {
				t.Fatalf("replicated row = %q, want %q", got, "one")
			}

			replica.StopReplica(t)
			assertReplicaStopped(t, replica)
			primary.Exec(t, "INSERT INTO r.t VALUES (2, 'two')")
			if replica.CaughtUp(t, primary) {
				t.Fatal("a stopped replica is caught up with a row written after StopReplica")
			}
			replica.Exec(t, "INSERT INTO r.t VALUES (3, 'three')") // a promoted replica takes writes
		})
	}
}

// assertReplicaStopped fails the test unless both replication threads of m
// are stopped.
func assertReplicaStopped(t *testing.T, m *DB) {
	t.Helper()
	conn := m.Conn(t)
	r, err := m.replicaStatus(conn)
	if err != nil {
		t.Fatal(err)
	}
	if r.io != "No" || r.sql != "No" {
		t.Fatalf("after StopReplica: IO thread %q, SQL thread %q; want both No", r.io, r.sql)
	}
}

// waitForWithin waits up to timeout for cond to hold.
func waitForWithin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
