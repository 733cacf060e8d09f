package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The account StartMariaDB and StartMySQL create for tests and for the code
// under test, the same on both flavors. It may connect over TCP from
// 127.0.0.1 and has ALL PRIVILEGES ON *.*, which include REPLICATION SLAVE
// and REPLICATION CLIENT, but no GRANT OPTION. On MySQL it authenticates
// with MySQL's default plugin, caching_sha2_password.
const (
	DBUser     = "dataingest"
	DBPassword = "dataingest"
)

// MariaDBUser and MariaDBPassword are DBUser and DBPassword under the names
// older tests use.
const (
	MariaDBUser     = DBUser
	MariaDBPassword = DBPassword
)

// The values of DB.Flavor. They equal go-mysql's mysql.MariaDBFlavor and
// mysql.MySQLFlavor, so a test may pass DB.Flavor on to a BinlogSyncerConfig.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
)

const (
	// dbStopTimeout is how long a graceful stop may take before SIGKILL.
	dbStopTimeout = 60 * time.Second
	// maxSocketPath keeps the socket path under the kernel's 108-byte limit
	// for unix socket addresses.
	maxSocketPath = 100
)

// DB is a private database server, a mariadbd started by StartMariaDB or a
// mysqld started by StartMySQL, set up as a CDC source with a row-based
// binlog. Its datadir, socket, pid file, my.cnf and error log are all in
// Dir; it listens on Host:Port, and root may log in over Socket without a
// password. Tests that run the same code against both flavors branch on
// Flavor only where the servers differ.
type DB struct {
	Flavor   string // FlavorMariaDB or FlavorMySQL
	Host     string // "127.0.0.1"
	Port     int
	Addr     string // "127.0.0.1:PORT"
	Dir      string // on this host (inside the chroot for a chrooted mysqld); removed by Close
	Socket   string // on this host, like Dir
	ServerID int

	cnf       string // my.cnf path on this host; the server and its tools read it
	chroot    string // the directory mysqld runs chrooted in; "" when it runs on the host
	extra     []string
	d         *daemon
	closeOnce sync.Once
}

// MariaDB is the name older tests use for DB.
type MariaDB = DB

// Option changes how StartMariaDB or StartMySQL configures the server.
type Option func(*DB)

// MariaDBOption is the name older tests use for Option.
type MariaDBOption = Option

// WithServerID sets server_id (default 1); servers that replicate from each
// other need distinct ids.
func WithServerID(id int) Option {
	return func(m *DB) { m.ServerID = id }
}

// WithConfig appends lines to the server's group of my.cnf ([mariadbd] or
// [mysqld]), after (so overriding) the defaults: for example
// "binlog_format=STATEMENT" for a negative test, "log_slave_updates=ON" for
// a MariaDB replica, or "binlog_row_metadata=FULL" on MySQL.
func WithConfig(lines ...string) Option {
	return func(m *DB) { m.extra = append(m.extra, lines...) }
}

// newDB makes a DB of flavor in dir, with opts applied, and checks that its
// socket path fits a unix socket address.
func newDB(flavor, dir, chroot string, opts []Option) (*DB, error) {
	m := &DB{Flavor: flavor, Host: "127.0.0.1", Dir: dir, ServerID: 1, chroot: chroot}
	for _, o := range opts {
		o(m)
	}
	m.Socket = filepath.Join(dir, flavor+".sock")
	m.cnf = filepath.Join(dir, "my.cnf")
	if len(m.Socket) > maxSocketPath {
		return m, fmt.Errorf("socket path %s is too long for a unix socket: set TMPDIR to a shorter directory", m.Socket)
	}
	for _, sub := range []string{"data", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return m, fmt.Errorf("creating %s directory: %w", flavor, err)
		}
	}
	return m, nil
}

// serverPath is path as the server sees it: inside its chroot, if any.
func (m *DB) serverPath(path string) string {
	if m.chroot == "" {
		return path
	}
	return "/" + strings.TrimLeft(strings.TrimPrefix(path, m.chroot), "/")
}

// choosePort takes a free port and writes my.cnf for it.
func (m *DB) choosePort() error {
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

// config returns my.cnf for the server's flavor.
func (m *DB) config() string {
	if m.Flavor == FlavorMySQL {
		return m.mysqlConfig()
	}
	return m.mariadbConfig()
}

// firstStart starts the server with d, choosing another port when the first
// is taken.
func (m *DB) firstStart(d *daemon) error {
	m.d = d
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

// dialTCP checks that addr takes TCP connections.
func dialTCP(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Close kills the server and removes its directory. It is safe to call more
// than once.
func (m *DB) Close() {
	m.closeOnce.Do(func() {
		if m.d != nil {
			_ = m.d.kill()
		}
		_ = os.RemoveAll(m.Dir)
	})
}

// Kill sends SIGKILL and waits for the server to exit; the next Start runs
// crash recovery.
func (m *DB) Kill(t testing.TB) {
	t.Helper()
	if err := m.d.kill(); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit.
func (m *DB) Stop(t testing.TB) {
	t.Helper()
	if err := m.d.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again after Kill or Stop, on the same port and
// datadir, and waits until it answers.
func (m *DB) Start(t testing.TB) {
	t.Helper()
	if err := m.d.start(); err != nil {
		t.Fatalf("restarting %s: %v", m.d.name, err)
	}
}

// Restart is Stop then Start. The binlog rotates to a new file.
func (m *DB) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	m.Start(t)
}

// Pause stops the server with SIGSTOP and waits until it is stopped:
// connections stay open (new ones even connect) but nothing is
// answered until Resume.
func (m *DB) Pause(t testing.TB) {
	t.Helper()
	if err := m.d.pause(); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a paused server with SIGCONT.
func (m *DB) Resume(t testing.TB) {
	t.Helper()
	if err := m.d.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

// Log returns the tail of the server's error log.
func (m *DB) Log() string { return m.d.logTail() }
