package testenv

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/redis/go-redis/v9"
)

// Data written before Restart, and before Kill then Start, is read back: the
// append-only file survives both.
func TestRedisRestartKeepsData(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	assertRedisGet(t, c, "k", "v1")

	if err := c.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded on a killed server")
	}
	r.Start(t)
	assertRedisGet(t, c, "k", "v2")
}

// assertRedisGet fails the test unless GET key returns want.
func assertRedisGet(t *testing.T, c *redis.Client, key, want string) {
	t.Helper()
	got, err := c.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if got != want {
		t.Fatalf("GET %s = %q, want %q", key, got, want)
	}
}

// A paused server fails a PING within the context deadline; after Resume the
// same client works again.
func TestRedisPauseResume(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	c := r.Client(t)
	r.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded on a paused server")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("PING on a paused server took %v to fail, want about the 300ms deadline", took)
	}
	r.Resume(t)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

// Stop does not hang on a paused server, and a running server refuses a
// second start.
func TestRedisStopWhilePaused(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	r.Pause(t)
	r.Stop(t) // must not hang: Stop sends SIGCONT after SIGTERM
	r.Start(t)
	if err := r.d.start(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start: got %v, want an already-running error", err)
	}
}

// A server whose port is taken fails with errAddrInUse, which the first
// start retries on.
func TestRedisPortTakenIsDetected(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := newRedis(mustLookBinary(t, "redis-server"), t.TempDir(), l.Addr().(*net.TCPAddr).Port, redisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = r.d.start()
	t.Cleanup(func() { _ = r.d.kill() })
	if !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: got %v, want errAddrInUse", err)
	}
}

// A missing binary is reported with how to install it.
func TestMissingBinaryMessage(t *testing.T) {
	_, err := lookBinary("mariadbd-does-not-exist")
	if err == nil || !strings.Contains(err.Error(), "not found in PATH") || !strings.Contains(err.Error(), "make test") {
		t.Fatalf("got %v, want a not-found error that says how to install", err)
	}
}

// A MariaDB server is a usable CDC source: data, binlog settings, and the
// basics every flavor has (testDBBasics).
func TestMariaDB(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m := StartMariaDB(t)
	t.Logf("StartMariaDB took %v", time.Since(start))

	m.Exec(t,
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO app.items VALUES (1, 'one'), (2, 'two')",
	)
	t.Run("binlog variables", func(t *testing.T) {
		want := map[string]string{
			"binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL",
			"log_bin": "1", "server_id": "1", "character_set_server": "utf8mb4",
		}
		assertVars(t, m.Conn(t), want)
	})
	t.Run("show master status", func(t *testing.T) {
		res, err := m.Conn(t).Execute("SHOW MASTER STATUS")
		if err != nil {
			t.Fatal(err)
		}
		if res.RowNumber() != 1 {
			t.Fatalf("SHOW MASTER STATUS returned %d rows, want 1", res.RowNumber())
		}
		if file, _ := res.GetStringByName(0, "File"); !strings.HasPrefix(file, "binlog.") {
			t.Fatalf("binlog file %q, want binlog.NNNNNN", file)
		}
	})
	testDBBasics(t, m)
}

// assertVars fails the test unless each server variable has the wanted value.
func assertVars(t *testing.T, conn *client.Conn, want map[string]string) {
	t.Helper()
	for name, w := range want {
		res, err := conn.Execute("SELECT @@" + name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := res.GetString(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("@@%s = %q, want %q", name, got, w)
		}
	}
}

// assertItem fails the test unless app.items row id has name want.
func assertItem(t *testing.T, m *DB, id int, want string) {
	t.Helper()
	res, err := m.Conn(t).Execute("SELECT name FROM app.items WHERE id = ?", id)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowNumber() != 1 {
		t.Fatalf("item %d: %d rows, want 1", id, res.RowNumber())
	}
	if got, _ := res.GetString(0, 0); got != want {
		t.Fatalf("item %d = %q, want %q", id, got, want)
	}
}

// Options reach my.cnf, and Close removes the directory.
func TestMariaDBOptions(t *testing.T) {
	t.Parallel()
	m, err := StartMariaDBE(WithServerID(7), WithConfig("binlog_format=STATEMENT"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Flavor != FlavorMariaDB || m.ServerID != 7 {
		t.Fatalf("Flavor %q, ServerID %d; want mariadb, 7", m.Flavor, m.ServerID)
	}
	assertVars(t, m.Conn(t), map[string]string{"server_id": "7", "binlog_format": "STATEMENT"})
	m.Close()
	if _, err := os.Stat(m.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close, stat %s: %v, want not exist", m.Dir, err)
	}
	m.Close() // a second Close is harmless
}

// A signal reaches the process, and Wait returns its exit code and output.
func TestProcessSignalAndExitCode(t *testing.T) {
	t.Parallel()
	script := `trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done`
	p := StartProcess(t, "/bin/sh", nil, "-c", script)
	waitForOutput(t, p, "ready")
	p.Signal(t, syscall.SIGTERM)
	code, err := p.Wait(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Fatalf("exit code %d, want 3; output:\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "got TERM") {
		t.Fatalf("output %q lacks the trap's line", p.Output())
	}
}

// Wait times out on a running process; after Kill it returns -1.
func TestProcessKillAndWaitTimeout(t *testing.T) {
	t.Parallel()
	p := StartProcess(t, "sleep", nil, "100")
	if p.Pid() <= 0 {
		t.Fatalf("Pid() = %d", p.Pid())
	}
	if _, err := p.Wait(100 * time.Millisecond); !errors.Is(err, ErrWaitTimeout) {
		t.Fatalf("Wait on a running process: got %v, want ErrWaitTimeout", err)
	}
	p.Kill(t)
	code, err := p.Wait(time.Second)
	if err != nil || code != -1 {
		t.Fatalf("Wait after Kill = %d, %v; want -1, nil", code, err)
	}
}

// A paused process writes nothing until resumed.
func TestProcessPauseResume(t *testing.T) {
	t.Parallel()
	p := StartProcess(t, "/bin/sh", nil, "-c", "while :; do echo x; sleep 0.02; done")
	waitForOutput(t, p, "x")
	p.Pause(t)
	time.Sleep(50 * time.Millisecond) // let a write in flight land
	before := len(p.Output())
	time.Sleep(300 * time.Millisecond)
	if after := len(p.Output()); after != before {
		t.Fatalf("output grew from %d to %d bytes while paused", before, after)
	}
	p.Resume(t)
	waitFor(t, func() bool { return len(p.Output()) > before })
}

// The environment is PATH and HOME plus the given entries, nothing else.
func TestProcessEnvIsMinimal(t *testing.T) {
	t.Setenv("TESTENV_SHOULD_NOT_LEAK", "leaked")
	p := StartProcess(t, "/bin/sh", []string{"GREETING=hi"}, "-c", `echo "$GREETING/$TESTENV_SHOULD_NOT_LEAK/$HOME"; command -v sleep`)
	if code, err := p.Wait(5 * time.Second); err != nil || code != 0 {
		t.Fatalf("Wait = %d, %v; output:\n%s", code, err, p.Output())
	}
	lines := strings.Split(strings.TrimSpace(p.Output()), "\n")
	if !strings.HasPrefix(lines[0], "hi//") || len(lines) != 2 {
		t.Fatalf("output %q: want GREETING set, the leak unset and PATH working", p.Output())
	}
}

// BuildBinary builds a main package once and the binary runs.
func TestBuildBinary(t *testing.T) {
	t.Parallel()
	pkg := "github.com/dataingest/dataingest/internal/testenv/testdata/hello"
	path := BuildBinary(t, pkg)
	if again := BuildBinary(t, pkg); again != path {
		t.Fatalf("second build gave %s, want the cached %s", again, path)
	}
	p := StartProcess(t, path, []string{"HELLO_NAME=world"}, "a", "b")
	code, err := p.Wait(10 * time.Second)
	if err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7, nil", code, err)
	}
	if got, want := strings.TrimSpace(p.Output()), "hello world [a b]"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

// FreePort returns a port that can be listened on.
func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on the free port %d: %v", port, err)
	}
	l.Close()
}

// waitForOutput waits up to 5 s for the process to print s.
func waitForOutput(t *testing.T, p *Process, s string) {
	t.Helper()
	waitFor(t, func() bool { return strings.Contains(p.Output(), s) })
}

// waitFor waits up to 5 s for cond to hold.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
