package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// mysqlReadyTimeout bounds a start; the first one sets InnoDB up.
	mysqlReadyTimeout = 60 * time.Second
	// mysqlInitTimeout bounds mysqld --initialize-insecure (about 3 s).
	mysqlInitTimeout = 2 * time.Minute
	// defaultMySQLChroot is where scripts/mysql-chroot.sh builds Debian's MySQL.
	defaultMySQLChroot = "/var/cache/dataingest/mysql-sid"
	// chrootMysqld is mysqld's path inside the chroot.
	chrootMysqld = "/usr/sbin/mysqld"
	// mysqldHint says how to get a mysqld; %s is the chroot directory.
	mysqldHint = "run 'make deps' (as root it builds Debian's MySQL into %s with scripts/mysql-chroot.sh) or set DATAINGEST_TEST_MYSQLD to your own mysqld"
)

// StartMySQL starts a private mysqld (see StartMySQLE) and registers Close
// with t.Cleanup.
func StartMySQL(t testing.TB, opts ...Option) *DB {
	t.Helper()
	m, err := StartMySQLE(opts...)
	if err != nil {
		t.Fatalf("starting mysqld: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// StartMySQLE initialises a datadir with mysqld --initialize-insecure (root
// may log in over the socket without a password), starts mysqld on a free
// port of 127.0.0.1, waits up to 60 s for it to answer, and creates the
// DBUser account at 127.0.0.1 and localhost. It is for TestMain, where there
// is no testing.TB: the caller must call Close.
//
// The mysqld is $DATAINGEST_TEST_MYSQLD, run on this host, when that is set;
// otherwise Debian's, run as root in the chroot at $DATAINGEST_MYSQL_CHROOT
// (default /var/cache/dataingest/mysql-sid, built by scripts/mysql-chroot.sh),
// with its directory in the chroot's /tmp.
//
// GTIDs are on (gtid_mode=ON, enforce_gtid_consistency=ON); every other
// CDC-relevant setting is MySQL's default: binlog on, binlog_format ROW,
// binlog_row_image FULL, binlog_row_metadata MINIMAL (pass
// WithConfig("binlog_row_metadata=FULL") for column names),
// log_replica_updates ON, caching_sha2_password. The server accepts TLS with
// the certificates it generated in its datadir. The account is created with
// sql_log_bin=0, so a replica does not replay it.
func StartMySQLE(opts ...Option) (*DB, error) {
	c, err := findMySQLD(os.Getenv("DATAINGEST_TEST_MYSQLD"), os.Getenv("DATAINGEST_MYSQL_CHROOT"), os.Geteuid())
	if err != nil {
		return nil, err
	}
	tmp := "" // os.MkdirTemp's default
	if c.chroot != "" {
		if err := mountProc(c.chroot); err != nil {
			return nil, err
		}
		tmp = filepath.Join(c.chroot, "tmp")
	}
	dir, err := os.MkdirTemp(tmp, "testenv-mysql-")
	if err != nil {
		return nil, fmt.Errorf("creating mysql directory: %w", err)
	}
	m, err := newDB(FlavorMySQL, dir, c.chroot, opts)
	if err == nil {
		err = m.setUpMySQL(c)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// mysqldCommand says how to run mysqld: chrooted, or on this host.
type mysqldCommand struct {
	chroot    string // the chroot's directory; "" to run mysqld on this host
	chrootBin string // chroot(8), when chroot is set
	mysqld    string // inside the chroot, when chroot is set
}

// command returns the program and arguments that run mysqld with args.
// chroot(8) execs mysqld, so the process started is mysqld itself.
func (c mysqldCommand) command(args ...string) (string, []string) {
	if c.chroot == "" {
		return c.mysqld, args
	}
	return c.chrootBin, append([]string{c.chroot, c.mysqld}, args...)
}

// findMySQLD decides how to run mysqld from DATAINGEST_TEST_MYSQLD (own),
// DATAINGEST_MYSQL_CHROOT (chroot) and the effective user id. An error says
// how to get a mysqld.
func findMySQLD(own, chroot string, euid int) (mysqldCommand, error) {
	if own != "" {
		path, err := exec.LookPath(own)
		if err != nil {
			return mysqldCommand{}, fmt.Errorf("DATAINGEST_TEST_MYSQLD=%s: %w", own, err)
		}
		return mysqldCommand{mysqld: path}, nil
	}
	if chroot == "" {
		chroot = defaultMySQLChroot
	}
	chroot, err := filepath.Abs(chroot)
	if err != nil {
		return mysqldCommand{}, fmt.Errorf("DATAINGEST_MYSQL_CHROOT=%s: %w", chroot, err)
	}
	hint := fmt.Sprintf(mysqldHint, chroot)
	if fi, err := os.Stat(filepath.Join(chroot, chrootMysqld)); err != nil || fi.Mode()&0o111 == 0 {
		return mysqldCommand{}, fmt.Errorf("no MySQL: %s is not an executable mysqld: %s", filepath.Join(chroot, chrootMysqld), hint)
	}
	if euid != 0 {
		return mysqldCommand{}, fmt.Errorf("no MySQL: running mysqld in the chroot %s needs root: %s", chroot, hint)
	}
	chrootBin, err := exec.LookPath("chroot")
	if err != nil {
		if chrootBin, err = exec.LookPath("/usr/sbin/chroot"); err != nil {
			return mysqldCommand{}, fmt.Errorf("no MySQL: chroot(8) not found in PATH or /usr/sbin: %s", hint)
		}
	}
	return mysqldCommand{chroot: chroot, chrootBin: chrootBin, mysqld: chrootMysqld}, nil
}

// mountProc mounts proc on the chroot's /proc, which mysqld needs, unless it
// is mounted already. A lock file makes parallel test processes mount it
// once. It stays mounted: other test processes may be using it.
func mountProc(chroot string) error {
	root, err := filepath.EvalSymlinks(chroot)
	if err != nil {
		return fmt.Errorf("resolving the MySQL chroot: %w", err)
	}
	target := filepath.Join(root, "proc")
	lock, err := os.OpenFile(filepath.Join(root, "tmp", ".testenv-proc.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("locking the chroot's /proc: %w", err)
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking the chroot's /proc: %w", err)
	}
	mounted, err := isMountPoint(target)
	if err != nil || mounted {
		return err
	}
	if err := syscall.Mount("proc", target, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting proc on %s: %w", target, err)
	}
	return nil
}

// isMountPoint reports whether something is mounted on path (which must have
// no symlinks), per /proc/self/mountinfo.
func isMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 35 98:0 /root /mnt/point rw,noatime master:1 - ext3 ...": the
		// mount point is the fifth field, with spaces and such octal-escaped.
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == path {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("reading mounts: %w", err)
	}
	return false, nil
}

// unescapeMountinfo undoes mountinfo's \NNN octal escapes.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// setUpMySQL initialises the datadir, starts the server (on another port if
// the first is taken) and creates the test account.
func (m *DB) setUpMySQL(c mysqldCommand) error {
	if err := m.choosePort(); err != nil {
		return err
	}
	if err := m.mysqlInitialize(c); err != nil {
		return err
	}
	path, args := c.command("--defaults-file=" + m.serverPath(m.cnf))
	err := m.firstStart(&daemon{
		name:         "mysqld",
		path:         path,
		args:         args,
		logPath:      filepath.Join(m.Dir, "mysql.err"),
		ready:        m.mysqlPing,
		readyTimeout: mysqlReadyTimeout,
		stopTimeout:  dbStopTimeout,
	})
	if err != nil {
		return err
	}
	stmts := append([]string{"SET sql_log_bin=0"},
		userStatements(DBUser, DBPassword, []string{"127.0.0.1", "localhost"}, "ALL PRIVILEGES ON *.*")...)
	return m.rootSQL(stmts...)
}

// mysqlConfig returns my.cnf, with every path as mysqld sees it. [client] is
// for a look by hand: chroot CHROOT mysql --defaults-file=/tmp/.../my.cnf.
func (m *DB) mysqlConfig() string {
	p := func(name string) string { return m.serverPath(filepath.Join(m.Dir, name)) }
	lines := []string{
		"[client]",
		"socket=" + m.serverPath(m.Socket),
		"user=root",
		"",
		"[mysqld]",
	}
	if os.Geteuid() == 0 {
		lines = append(lines, "user=root") // mysqld refuses to run as root without it
	}
	lines = append(lines,
		"datadir="+p("data"),
		"tmpdir="+p("tmp"),
		"socket="+m.serverPath(m.Socket),
		"pid-file="+p("mysql.pid"),
		"log-error="+p("mysql.err"),
		"port="+strconv.Itoa(m.Port),
		"bind-address="+m.Host,
		"mysqlx=OFF",
		"server-id="+strconv.Itoa(m.ServerID),
		"log-bin=binlog",
		"gtid-mode=ON",
		"enforce-gtid-consistency=ON",
		// Without it mysqld aborts: the default, /var/lib/mysql-files, is missing.
		"secure-file-priv=''",
		"innodb-buffer-pool-size=64M",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"performance_schema=OFF",
		"skip-name-resolve",
	)
	lines = append(lines, m.extra...)
	return strings.Join(lines, "\n") + "\n"
}

// mysqlInitialize creates the system tables, root@localhost with an empty
// password, and the TLS and RSA key files in the datadir.
func (m *DB) mysqlInitialize(c mysqldCommand) error {
	args := []string{"--defaults-file=" + m.serverPath(m.cnf), "--initialize-insecure"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), mysqlInitTimeout)
	defer cancel()
	path, argv := c.command(args...)
	out, err := exec.CommandContext(ctx, path, argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mysqld --initialize-insecure: %w\n%s\n--- tail of mysql.err ---\n%s",
			err, tailLines(string(out), logTailLines), tailLines(readFrom(filepath.Join(m.Dir, "mysql.err"), 0), logTailLines))
	}
	return nil
}

// mysqlPing checks readiness: a ping as root over the socket, then a TCP
// connection to the port.
func (m *DB) mysqlPing() error {
	conn, err := m.rootConn(2 * time.Second)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	if err := conn.Ping(); err != nil {
		return fmt.Errorf("ping over %s: %w", m.Socket, err)
	}
	return dialTCP(m.Addr)
}
