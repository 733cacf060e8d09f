package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/dataingest/dataingest/internal/tidbcharset"
)

const (
	// dbDialTimeout bounds connecting and the handshake.
	dbDialTimeout = 10 * time.Second
	// execTimeout bounds each read and write of ExecE's statements, so a
	// paused or hung server fails the test instead of hanging it.
	execTimeout = time.Minute
)

// Exec runs each statement in order over TCP as DBUser, on one connection,
// and fails the test naming the first statement that fails.
func (m *DB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	if err := m.ExecE(stmts...); err != nil {
		t.Fatal(err)
	}
}

// ExecE is Exec returning the error.
func (m *DB) ExecE(stmts ...string) error {
	conn, err := m.connect(withTimeouts(execTimeout))
	if err != nil {
		return err
	}
	defer closeConn(conn)
	return m.execOn(conn, stmts)
}

// execOn runs stmts in order on conn; an error names the failing statement.
func (m *DB) execOn(conn *client.Conn, stmts []string) error {
	for _, stmt := range stmts {
		res, err := conn.Execute(stmt)
		if err != nil {
			return fmt.Errorf("executing %q on %s %s: %w", stmt, m.Flavor, m.Addr, err)
		}
		res.Close()
	}
	return nil
}

// QueryString runs query over TCP as DBUser and returns the first column of
// the first row as a string ("" for NULL). It fails the test when the query
// fails or returns no rows.
func (m *DB) QueryString(t testing.TB, query string) string {
	t.Helper()
	conn, err := m.connect(withTimeouts(execTimeout))
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn(conn)
	s, err := queryString(conn, query)
	if err != nil {
		t.Fatalf("%s %s: %v", m.Flavor, m.Addr, err)
	}
	return s
}

// queryString returns the first column of the first row of query on conn.
func queryString(conn *client.Conn, query string) (string, error) {
	res, err := conn.Execute(query)
	if err != nil {
		return "", fmt.Errorf("%s: %w", query, err)
	}
	defer res.Close()
	if res.RowNumber() == 0 {
		return "", fmt.Errorf("%s: no rows", query)
	}
	return res.GetString(0, 0)
}

// Conn returns a new go-mysql connection over TCP as DBUser, with no
// database selected, closed by t.Cleanup. On MySQL it authenticates with
// caching_sha2_password without TLS: go-mysql asks for the server's RSA key
// when the server has no cached login for the account. It has no read
// timeout, so a query on a paused server blocks until Resume; for a
// timeout, connect with client.Connect and an option that sets ReadTimeout
// (setting the field after connecting has no effect).
func (m *DB) Conn(t testing.TB) *client.Conn {
	t.Helper()
	conn, err := m.connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeConn(conn) })
	return conn
}

// ConnTLS is Conn over TLS, without verifying the server's certificate.
// MySQL takes TLS with the certificates it generated at initialisation; the
// private MariaDB has none unless given ssl-cert and ssl-key by WithConfig.
func (m *DB) ConnTLS(t testing.TB) *client.Conn {
	t.Helper()
	conn, err := m.connect(func(c *client.Conn) error {
		c.SetTLSConfig(&tls.Config{InsecureSkipVerify: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeConn(conn) })
	return conn
}

// connect opens a connection over TCP as DBUser.
func (m *DB) connect(opts ...client.Option) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dbDialTimeout)
	defer cancel()
	unlock := tidbcharset.Read() // the handshake reads TiDB's collation table, which schema adds to
	conn, err := client.ConnectWithContext(ctx, m.Addr, DBUser, DBPassword, "", dbDialTimeout, opts...)
	unlock()
	if err != nil {
		return nil, fmt.Errorf("connecting to %s at %s as %s: %w", m.Flavor, m.Addr, DBUser, err)
	}
	return conn, nil
}

// rootConn opens a connection as root over the socket, without a password.
// Its reads and writes time out after timeout.
func (m *DB) rootConn(timeout time.Duration) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	unlock := tidbcharset.Read()
	conn, err := client.ConnectWithContext(ctx, m.Socket, "root", "", "", timeout, withTimeouts(timeout))
	unlock()
	if err != nil {
		return nil, fmt.Errorf("connecting to %s over %s as root: %w", m.Flavor, m.Socket, err)
	}
	return conn, nil
}

// withTimeouts is a connect option that bounds every read and write.
func withTimeouts(d time.Duration) client.Option {
	return func(c *client.Conn) error {
		c.ReadTimeout, c.WriteTimeout = d, d
		return nil
	}
}

// closeConn says goodbye (COM_QUIT, so the server does not log an aborted
// connection) and closes conn. The server may be dead or paused: errors are
// of no interest.
func closeConn(conn *client.Conn) {
	_ = conn.Quit()
	_ = conn.Close()
}

// CreateUser creates name@127.0.0.1 with password, usable over TCP, and
// grants it each of grants, for example
// "REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.*". It runs as root
// over the socket, since DBUser has no GRANT OPTION, with sql_log_bin=0: the
// account is made on this server only, and a replica does not replay it
// (and stop on "user already exists"), so call CreateUser on each server
// that needs the account.
func (m *DB) CreateUser(t testing.TB, name, password string, grants ...string) {
	t.Helper()
	stmts := append([]string{"SET sql_log_bin=0"}, userStatements(name, password, []string{"127.0.0.1"}, grants...)...)
	if err := m.rootSQL(stmts...); err != nil {
		t.Fatal(err)
	}
}

// userStatements returns the statements that create name@host with
// password for each of hosts and grant it each of grants. The default
// authentication plugin is used: caching_sha2_password on MySQL.
func userStatements(name, password string, hosts []string, grants ...string) []string {
	var stmts []string
	for _, host := range hosts {
		account := sqlString(name) + "@" + sqlString(host)
		stmts = append(stmts, "CREATE USER "+account+" IDENTIFIED BY "+sqlString(password))
		for _, g := range grants {
			stmts = append(stmts, "GRANT "+g+" TO "+account)
		}
	}
	return stmts
}

// rootSQL runs statements in order, in one session, as root over the
// socket: with the mariadb client on MariaDB (root authenticates by socket
// credentials, which go-mysql does not speak), with go-mysql on MySQL.
func (m *DB) rootSQL(stmts ...string) error {
	if m.Flavor == FlavorMySQL {
		conn, err := m.rootConn(execTimeout)
		if err != nil {
			return err
		}
		defer closeConn(conn)
		if err := m.execOn(conn, stmts); err != nil {
			return fmt.Errorf("as root over %s: %w", m.Socket, err)
		}
		return nil
	}
	script := strings.Join(stmts, ";\n") + ";"
	out, err := m.runTool("mariadb", "--batch", "--connect-timeout=10", "-e", script)
	if err != nil {
		return fmt.Errorf("running as root over %s:\n%s\n%w: %s", m.Socket, script, err, strings.TrimSpace(out))
	}
	return nil
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}
