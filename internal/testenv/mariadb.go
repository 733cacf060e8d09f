package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The account StartMariaDB creates for tests and for the code under test.
// It may connect over TCP from 127.0.0.1 and has ALL PRIVILEGES ON *.*,
// which include REPLICATION SLAVE and REPLICATION CLIENT.
const (
	MariaDBUser     = "dataingest"
	MariaDBPassword = "dataingest"
)

const (
	mariadbReadyTimeout = 30 * time.Second
	mariadbStopTimeout  = 60 * time.Second
	// maxSocketPath keeps the socket path under the kernel's 108-byte limit
	// for unix socket addresses.
	maxSocketPath = 100
)

// MariaDB is a private mariadbd started by StartMariaDB or StartMariaDBE,
// set up as a CDC source: a row-based binlog with full row images and full
// metadata. Its datadir, socket, pid file, my.cnf and logs are all in Dir;
// it listens on Host:Port, and root may log in over Socket (socket auth).
type MariaDB struct {
	Host     string // "127.0.0.1"
	Port     int
	Addr     string // "127.0.0.1:PORT"
	Dir      string // removed by Close
	Socket   string
	ServerID int

	cnf       string // my.cnf path; every client and server tool reads it
	extra     []string
	d         *daemon
	closeOnce sync.Once
}

// MariaDBOption changes how StartMariaDB configures the server.
type MariaDBOption func(*MariaDB)

// WithServerID sets server_id (default 1); servers that replicate from each
// other need distinct ids.
func WithServerID(id int) MariaDBOption {
	return func(m *MariaDB) { m.ServerID = id }
}

// WithConfig appends lines to the [mariadbd] group of my.cnf, after (so
// overriding) the defaults: for example "binlog_format=STATEMENT" for a
// negative test, or "log_slave_updates=ON" for a replica.
func WithConfig(lines ...string) MariaDBOption {
	return func(m *MariaDB) { m.extra = append(m.extra, lines...) }
}

// StartMariaDB starts a private mariadbd (see StartMariaDBE) and registers
// Close with t.Cleanup.
func StartMariaDB(t testing.TB, opts ...MariaDBOption) *MariaDB {
	t.Helper()
	m, err := StartMariaDBE(opts...)
	if err != nil {
		t.Fatalf("starting mariadbd: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// StartMariaDBE initialises a datadir in a new temporary directory with
// mariadb-install-db, starts mariadbd on a free port of 127.0.0.1, waits up
// to 30 s for it to answer, and creates the MariaDBUser account. It is for
// TestMain, where there is no testing.TB: the caller must call Close.
func StartMariaDBE(opts ...MariaDBOption) (*MariaDB, error) {
	bins, err := findMariaDBBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testenv-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("creating mariadb directory: %w", err)
	}
	m := &MariaDB{Host: "127.0.0.1", Dir: dir, ServerID: 1}
	for _, o := range opts {
		o(m)
	}
	if err := m.setUp(bins); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// mariadbBinaries are the paths of the server binaries StartMariaDBE runs.
type mariadbBinaries struct {
	mariadbd, installDB string
}

// findMariaDBBinaries finds mariadbd and mariadb-install-db, and checks that
// the client tools run later (mariadb, mariadb-admin) are there too.
func findMariaDBBinaries() (mariadbBinaries, error) {
	var bins mariadbBinaries
	var err error
	if bins.mariadbd, err = lookBinary("mariadbd"); err != nil {
		return bins, err
	}
	if bins.installDB, err = lookBinary("mariadb-install-db"); err != nil {
		return bins, err
	}
	for _, tool := range []string{"mariadb", "mariadb-admin"} {
		if _, err := lookBinary(tool); err != nil {
			return bins, err
		}
	}
	return bins, nil
}

// setUp lays out the directory, initialises the datadir, starts the server
// (on another port if the first is taken) and creates the test account.
func (m *MariaDB) setUp(bins mariadbBinaries) error {
	m.Socket = filepath.Join(m.Dir, "mariadb.sock")
	m.cnf = filepath.Join(m.Dir, "my.cnf")
	if len(m.Socket) > maxSocketPath {
		return fmt.Errorf("socket path %s is too long for a unix socket: set TMPDIR to a shorter directory", m.Socket)
	}
	for _, sub := range []string{"data", "tmp"} {
		if err := os.Mkdir(filepath.Join(m.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("creating mariadb directory: %w", err)
		}
	}
	if err := m.choosePort(); err != nil {
		return err
	}
	if err := m.installDB(bins.installDB); err != nil {
		return err
	}
	if err := m.firstStart(bins.mariadbd); err != nil {
		return err
	}
	return m.createUser(MariaDBUser, MariaDBPassword, "ALL PRIVILEGES ON *.*")
}

// choosePort takes a free port and writes my.cnf for it.
func (m *MariaDB) choosePort() error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	m.Port = port
	m.Addr = net.JoinHostPort(m.Host, strconv.Itoa(port))
	if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
		return fmt.Errorf("writing my.cnf: %w", err)
	}
	return nil
}

// firstStart starts mariadbd, choosing another port when the first is taken.
func (m *MariaDB) firstStart(mariadbd string) error {
	m.d = &daemon{
		name:         "mariadbd",
		path:         mariadbd,
		args:         []string{"--defaults-file=" + m.cnf},
		logPath:      filepath.Join(m.Dir, "mariadb.err"),
		ready:        m.ping,
		readyTimeout: mariadbReadyTimeout,
		stopTimeout:  mariadbStopTimeout,
	}
	var err error
	for i := range startAttempts {
		if i > 0 {
			if err := m.choosePort(); err != nil {
				return err
			}
		}
		if err = m.d.start(); !errors.Is(err, errAddrInUse) {
			return err
		}
	}
	return err
}

// config returns my.cnf. [client] is read by the mariadb and mariadb-admin
// tools, which log in as the OS user (root) over the socket.
func (m *MariaDB) config() string {
	osUser := currentUser()
	lines := []string{
		"[client]",
		"socket=" + m.Socket,
		"user=" + osUser,
		"",
		"[mariadbd]",
	}
	if os.Geteuid() == 0 {
		lines = append(lines, "user=root") // mariadbd refuses to run as root without it
	}
	lines = append(lines,
		"datadir="+filepath.Join(m.Dir, "data"),
		"tmpdir="+filepath.Join(m.Dir, "tmp"),
		"socket="+m.Socket,
		"pid-file="+filepath.Join(m.Dir, "mariadb.pid"),
		"log-error="+filepath.Join(m.Dir, "mariadb.err"),
		"port="+strconv.Itoa(m.Port),
		"bind-address="+m.Host,
		"server_id="+strconv.Itoa(m.ServerID),
		"log-bin=binlog",
		"binlog_format=ROW",
		"binlog_row_image=FULL",
		"binlog_row_metadata=FULL",
		"innodb_buffer_pool_size=64M",
		// The default 96 MiB redo log is written out in full for every server.
		"innodb_log_file_size=32M",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"performance_schema=OFF",
		"character-set-server=utf8mb4",
		"collation-server=utf8mb4_general_ci",
		"skip-name-resolve",
	)
	lines = append(lines, m.extra...)
	return strings.Join(lines, "\n") + "\n"
}

// currentUser is the OS user name, which socket authentication maps to the
// MariaDB account of the same name.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// installDB creates the system tables. root@localhost authenticates by
// socket, so no password is needed and none is stored.
func (m *MariaDB) installDB(installDB string) error {
	args := []string{"--defaults-file=" + m.cnf}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root") // only root may pass --user
	}
	// The socket account is named after the OS user running the tests, so
	// that a non-root user can log in over the socket too.
	args = append(args, "--auth-root-authentication-method=socket", "--auth-root-socket-user="+currentUser(), "--skip-test-db")
	out, err := exec.Command(installDB, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s\n--- tail of mariadb.err ---\n%s",
			err, tailLines(string(out), logTailLines), tailLines(readFrom(filepath.Join(m.Dir, "mariadb.err"), 0), logTailLines))
	}
	return nil
}

// ping checks readiness: mariadb-admin ping over the socket, then a TCP
// connection to the port.
func (m *MariaDB) ping() error {
	out, err := m.runTool("mariadb-admin", "--connect-timeout=2", "ping")
	if err != nil {
		return fmt.Errorf("mariadb-admin ping: %w: %s", err, strings.TrimSpace(out))
	}
	conn, err := net.DialTimeout("tcp", m.Addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// runTool runs a MariaDB client tool with --defaults-file and args, and
// returns its combined output.
func (m *MariaDB) runTool(name string, args ...string) (string, error) {
	args = append([]string{"--defaults-file=" + m.cnf}, args...)
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// Close kills the server and removes its directory. It is safe to call more
// than once.
func (m *MariaDB) Close() {
	m.closeOnce.Do(func() {
		if m.d != nil {
			_ = m.d.kill()
		}
		_ = os.RemoveAll(m.Dir)
	})
}

// Kill sends SIGKILL and waits for the server to exit; the next Start runs
// crash recovery.
func (m *MariaDB) Kill(t testing.TB) {
	t.Helper()
	if err := m.d.kill(); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	if err := m.d.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again after Kill or Stop, on the same port and
// datadir, and waits until it answers.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	if err := m.d.start(); err != nil {
		t.Fatalf("restarting mariadbd: %v", err)
	}
}

// Restart is Stop then Start. The binlog rotates to a new file.
func (m *MariaDB) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	m.Start(t)
}

// Pause stops the server with SIGSTOP and waits until it is stopped:
// connections stay open (new ones even connect) but nothing is
// answered until Resume.
func (m *MariaDB) Pause(t testing.TB) {
	t.Helper()
	if err := m.d.pause(); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a paused server with SIGCONT.
func (m *MariaDB) Resume(t testing.TB) {
	t.Helper()
	if err := m.d.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// Log returns the tail of the server's error log.
func (m *MariaDB) Log() string { return m.d.logTail() }
