package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const mariadbReadyTimeout = 30 * time.Second

// StartMariaDB starts a private mariadbd (see StartMariaDBE) and registers
// Close with t.Cleanup.
func StartMariaDB(t testing.TB, opts ...Option) *DB {
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
// to 30 s for it to answer, and creates the DBUser account. It is for
// TestMain, where there is no testing.TB: the caller must call Close.
//
// The binlog has full row images and full metadata (column names). The
// account's CREATE USER is written to the binlog, so that a fresh server's
// @@gtid_binlog_pos is not empty; ReplicateFrom starts a replica at the
// primary's position, after it.
func StartMariaDBE(opts ...Option) (*DB, error) {
	bins, err := findMariaDBBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testenv-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("creating mariadb directory: %w", err)
	}
	m, err := newDB(FlavorMariaDB, dir, "", opts)
	if err == nil {
		err = m.setUpMariaDB(bins)
	}
	if err != nil {
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

// setUpMariaDB initialises the datadir, starts the server (on another port
// if the first is taken) and creates the test account.
func (m *DB) setUpMariaDB(bins mariadbBinaries) error {
	if err := m.choosePort(); err != nil {
		return err
	}
	if err := m.installDB(bins.installDB); err != nil {
		return err
	}
	err := m.firstStart(&daemon{
		name:         "mariadbd",
		path:         bins.mariadbd,
		args:         []string{"--defaults-file=" + m.cnf},
		logPath:      filepath.Join(m.Dir, "mariadb.err"),
		ready:        m.mariadbPing,
		readyTimeout: mariadbReadyTimeout,
		stopTimeout:  dbStopTimeout,
	})
	if err != nil {
		return err
	}
	return m.rootSQL(userStatements(DBUser, DBPassword, []string{"127.0.0.1"}, "ALL PRIVILEGES ON *.*")...)
}

// mariadbConfig returns my.cnf. [client] is read by the mariadb and
// mariadb-admin tools, which log in as the OS user (root) over the socket.
func (m *DB) mariadbConfig() string {
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
func (m *DB) installDB(installDB string) error {
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

// mariadbPing checks readiness: mariadb-admin ping over the socket, then a
// TCP connection to the port.
func (m *DB) mariadbPing() error {
	out, err := m.runTool("mariadb-admin", "--connect-timeout=2", "ping")
	if err != nil {
		return fmt.Errorf("mariadb-admin ping: %w: %s", err, strings.TrimSpace(out))
	}
	return dialTCP(m.Addr)
}

// runTool runs a MariaDB client tool with --defaults-file and args, and
// returns its combined output.
func (m *DB) runTool(name string, args ...string) (string, error) {
	args = append([]string{"--defaults-file=" + m.cnf}, args...)
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
