package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

const (
	// mariadbDialTimeout bounds connecting and the handshake.
	mariadbDialTimeout = 10 * time.Second
	// execTimeout bounds each read and write of ExecE's statements, so a
	// paused or hung server fails the test instead of hanging it.
	execTimeout = time.Minute
)

// Exec runs each statement in order over TCP as MariaDBUser, on one
// connection, and fails the test naming the first statement that fails.
func (m *MariaDB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	if err := m.ExecE(stmts...); err != nil {
		t.Fatal(err)
	}
}

// ExecE is Exec returning the error.
func (m *MariaDB) ExecE(stmts ...string) error {
	conn, err := m.connect(func(c *client.Conn) error {
		c.ReadTimeout, c.WriteTimeout = execTimeout, execTimeout
		return nil
	})
	if err != nil {
		return err
	}
	defer closeConn(conn)
	for _, stmt := range stmts {
		res, err := conn.Execute(stmt)
		if err != nil {
			return fmt.Errorf("executing %q on %s: %w", stmt, m.Addr, err)
		}
		res.Close()
	}
	return nil
}

// Conn returns a new go-mysql connection over TCP as MariaDBUser, with no
// database selected, closed by t.Cleanup. It has no read timeout, so a query
// on a paused server blocks until Resume; for a timeout, connect with
// client.Connect and an option that sets ReadTimeout (setting the field
// after connecting has no effect).
func (m *MariaDB) Conn(t testing.TB) *client.Conn {
	t.Helper()
	conn, err := m.connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeConn(conn) })
	return conn
}

// connect opens a connection over TCP as MariaDBUser.
func (m *MariaDB) connect(opts ...client.Option) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mariadbDialTimeout)
	defer cancel()
	conn, err := client.ConnectWithContext(ctx, m.Addr, MariaDBUser, MariaDBPassword, "", mariadbDialTimeout, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to mariadb at %s as %s: %w", m.Addr, MariaDBUser, err)
	}
	return conn, nil
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
// over the socket, since MariaDBUser has no GRANT OPTION.
func (m *MariaDB) CreateUser(t testing.TB, name, password string, grants ...string) {
	t.Helper()
	if err := m.createUser(name, password, grants...); err != nil {
		t.Fatal(err)
	}
}

// createUser is CreateUser returning the error.
func (m *MariaDB) createUser(name, password string, grants ...string) error {
	account := sqlString(name) + "@'127.0.0.1'"
	stmts := []string{"CREATE USER " + account + " IDENTIFIED BY " + sqlString(password)}
	for _, g := range grants {
		stmts = append(stmts, "GRANT "+g+" TO "+account)
	}
	return m.rootSQL(stmts...)
}

// rootSQL runs statements with the mariadb client as root over the socket.
func (m *MariaDB) rootSQL(stmts ...string) error {
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
