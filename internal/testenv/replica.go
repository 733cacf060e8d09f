package testenv

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// replicaStartTimeout bounds how long ReplicateFrom waits for both
// replication threads to run.
const replicaStartTimeout = 30 * time.Second

// ReplicateFrom makes m a GTID replica of primary, which must be of the same
// flavor, connecting as DBUser, and waits until both replication threads
// run. On MariaDB the replica starts at primary's current @@gtid_binlog_pos,
// so it skips what primary wrote before (the test account); for a replica
// that writes what it replicates to its own binlog, as CDC from a replica
// needs, start it with WithConfig("log_slave_updates=ON"). On MySQL it uses
// SOURCE_AUTO_POSITION and fetches primary's RSA key for
// caching_sha2_password; log_replica_updates is on by default.
func (m *DB) ReplicateFrom(t testing.TB, primary *DB) {
	t.Helper()
	if m.Flavor != primary.Flavor {
		t.Fatalf("a %s cannot replicate from a %s", m.Flavor, primary.Flavor)
	}
	if m.Flavor == FlavorMySQL {
		m.Exec(t,
			fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%d, SOURCE_USER=%s, SOURCE_PASSWORD=%s, "+
				"SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1",
				sqlString(primary.Host), primary.Port, sqlString(DBUser), sqlString(DBPassword)),
			"START REPLICA")
	} else {
		gtid := primary.QueryString(t, "SELECT @@gtid_binlog_pos")
		m.Exec(t,
			"SET GLOBAL gtid_slave_pos = "+sqlString(gtid),
			fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos",
				sqlString(primary.Host), primary.Port, sqlString(DBUser), sqlString(DBPassword)),
			"START SLAVE")
	}
	if err := m.waitReplicaRunning(); err != nil {
		t.Fatal(err)
	}
}

// StopReplica stops both replication threads (STOP SLAVE, STOP REPLICA),
// for example to promote the replica after its primary died.
func (m *DB) StopReplica(t testing.TB) {
	t.Helper()
	if m.Flavor == FlavorMySQL {
		m.Exec(t, "STOP REPLICA")
	} else {
		m.Exec(t, "STOP SLAVE")
	}
}

// CaughtUp reports whether replica m has executed every transaction that
// primary has. On MariaDB, m's @@gtid_slave_pos equals primary's
// @@gtid_binlog_pos; on MySQL, primary's @@gtid_executed is a subset of m's.
// Tests poll it with a deadline.
func (m *DB) CaughtUp(t testing.TB, primary *DB) bool {
	t.Helper()
	if m.Flavor == FlavorMySQL {
		executed := primary.QueryString(t, "SELECT @@gtid_executed")
		return m.QueryString(t, "SELECT GTID_SUBSET("+sqlString(executed)+", @@gtid_executed)") == "1"
	}
	return m.QueryString(t, "SELECT @@gtid_slave_pos") == primary.QueryString(t, "SELECT @@gtid_binlog_pos")
}

// replicaThreads is what SHOW REPLICA STATUS says of the replication
// threads: "Yes", "No" or "Connecting", and each one's last error.
type replicaThreads struct {
	io, sql       string
	ioErr, sqlErr string
}

// running reports whether both threads run.
func (r replicaThreads) running() bool { return r.io == "Yes" && r.sql == "Yes" }

// waitReplicaRunning polls the replica's status until both threads run.
func (m *DB) waitReplicaRunning() error {
	conn, err := m.connect(withTimeouts(execTimeout))
	if err != nil {
		return err
	}
	defer closeConn(conn)
	deadline := time.Now().Add(replicaStartTimeout)
	for {
		r, err := m.replicaStatus(conn)
		if err != nil {
			return err
		}
		if r.running() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s replica %s: replication threads not running after %v: IO %s (%q), SQL %s (%q)",
				m.Flavor, m.Addr, replicaStartTimeout, r.io, r.ioErr, r.sql, r.sqlErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicaStatus reads the state of the replication threads from SHOW SLAVE
// STATUS (MariaDB) or SHOW REPLICA STATUS (MySQL). A server that is no
// replica has threads "No".
func (m *DB) replicaStatus(conn *client.Conn) (replicaThreads, error) {
	query, prefix := "SHOW SLAVE STATUS", "Slave"
	if m.Flavor == FlavorMySQL {
		query, prefix = "SHOW REPLICA STATUS", "Replica"
	}
	res, err := conn.Execute(query)
	if err != nil {
		return replicaThreads{}, fmt.Errorf("%s on %s %s: %w", query, m.Flavor, m.Addr, err)
	}
	defer res.Close()
	if res.RowNumber() == 0 {
		return replicaThreads{io: "No", sql: "No"}, nil
	}
	var r replicaThreads
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{prefix + "_IO_Running", &r.io}, {prefix + "_SQL_Running", &r.sql},
		{"Last_IO_Error", &r.ioErr}, {"Last_SQL_Error", &r.sqlErr},
	} {
		if *f.dst, err = res.GetStringByName(0, f.name); err != nil {
			return r, fmt.Errorf("%s on %s %s: column %s: %w", query, m.Flavor, m.Addr, f.name, err)
		}
	}
	return r, nil
}
