package worker

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMySQLOverTLS: a CDC user that MySQL lets in only over TLS, with
// caching_sha2_password (MySQL's default), streams and snapshots with
// sslMode REQUIRED and VERIFY_CA (against the server's own CA), and a task
// without TLS fails, saying why.
func TestMySQLOverTLS(t *testing.T) {
	e := newEnvOn(t, mysqldb)
	e.freshDatabases("tl")
	e.db.Exec(t, "CREATE TABLE tl.t (id INT PRIMARY KEY, v VARCHAR(8))", "INSERT INTO tl.t VALUES (0, 'r')")
	e.db.Exec(t, "DROP USER IF EXISTS 'tlsuser'@'127.0.0.1'")
	e.db.CreateUser(t, "tlsuser", "tls-pw", "REPLICATION SLAVE, REPLICATION CLIENT, RELOAD, BACKUP_ADMIN ON *.*", "SELECT ON tl.*")
	e.db.Exec(t, "ALTER USER 'tlsuser'@'127.0.0.1' REQUIRE SSL")
	ca := filepath.Join(e.db.Dir, "data", "ca.pem")
	cfg := func(mode, snapshot string) string {
		tls := ""
		if mode != "" {
			tls = fmt.Sprintf(`,"sslMode":%q`, mode)
		}
		if mode == "VERIFY_CA" {
			tls += fmt.Sprintf(`,"sslCa":%q`, ca)
		}
		return fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":%q,"dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"tlsuser","password":"tls-pw"%s}],"cdcTables":["tl.t"],"format":"json"}`,
			snapshot, e.db.Port, tls)
	}
	e.startNode("n1")
	e.command("cmd", "start", "task", "plain", "config", cfg("", "never"))
	e.command("cmd", "start", "task", "req", "config", cfg("REQUIRED", "initial"))
	e.command("cmd", "start", "task", "ca", "config", cfg("VERIFY_CA", "initial"))
	st := e.waitState("plain", StateFailed, 15*time.Second)
	if !strings.Contains(st.Error, "tlsuser") {
		t.Errorf("plain task error %q does not name the user", st.Error)
	}
	for _, task := range []string{"req", "ca"} {
		e.waitState(task, StateRunning, 15*time.Second)
	}
	for i := 1; i < 5; i++ {
		e.db.Exec(t, fmt.Sprintf("INSERT INTO tl.t VALUES (%d, 'v')", i))
	}
	for _, task := range []string{"req", "ca"} {
		e.checkRows(task, 5, 10*time.Second)
	}
}
