package worker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
)

// TestMySQLNewCDCUserOverPlainTCP runs a task on MySQL as a brand-new
// account that has only the privileges a CDC user needs (NOTES.md):
// REPLICATION SLAVE and REPLICATION CLIENT, SELECT on the one database, and
// RELOAD for the snapshot's FLUSH TABLES WITH READ LOCK. The account uses
// MySQL's default caching_sha2_password, and since nothing has logged in as
// it yet the server has no cached login: the task's first connection takes
// the plugin's full exchange, which over plain TCP (a task config has no TLS
// option) sends the password encrypted with the server's RSA key. The task
// must snapshot the existing rows and then stream new ones.
func TestMySQLNewCDCUserOverPlainTCP(t *testing.T) {
	e := newEnvOn(t, mysqldb)
	e.freshDatabases("auth")
	e.db.Exec(t, "CREATE TABLE auth.t (id INT PRIMARY KEY, v VARCHAR(16))",
		"INSERT INTO auth.t VALUES (0,'v0'),(1,'v1'),(2,'v2')")
	// The shared server outlives the test: drop the account, whichever
	// subtest or earlier run created it.
	e.db.Exec(t, "DROP USER IF EXISTS 'cdc'@'127.0.0.1'")
	t.Cleanup(func() { e.db.Exec(t, "DROP USER IF EXISTS 'cdc'@'127.0.0.1'") })
	e.db.CreateUser(t, "cdc", "pw", "REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*", "SELECT ON auth.*")

	// The account is what the test means it to be: caching_sha2_password,
	// exactly these privileges.
	if got := e.db.QueryString(t, "SELECT plugin FROM mysql.user WHERE user = 'cdc' AND host = '127.0.0.1'"); got != "caching_sha2_password" {
		t.Fatalf("account cdc authenticates with %q, want caching_sha2_password", got)
	}
	wantGrants := []string{
		"GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`127.0.0.1`",
		"GRANT SELECT ON `auth`.* TO `cdc`@`127.0.0.1`",
	}
	if got := grants(t, e.db, "'cdc'@'127.0.0.1'"); !slices.Equal(got, wantGrants) {
		t.Fatalf("grants of cdc:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantGrants, "\n"))
	}
	// No login of cdc is cached (FLUSH PRIVILEGES empties the cache).
	e.db.Exec(t, "FLUSH PRIVILEGES")

	e.startNode("n1")
	cfg := fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"initial","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"cdc","password":"pw"}],"cdcTables":["auth.t"]}`,
		e.db.Port)
	e.command("cmd", "start", "task", "auth", "config", cfg)
	evs := e.waitEvents("auth", 3, 20*time.Second)
	for i, ev := range evs[:3] {
		if ev.Op != "r" {
			t.Fatalf("event %d is %s, want a snapshot read (r)", i, ev.Op)
		}
	}
	e.waitFor(10*time.Second, "the snapshot to end", func() bool {
		st := e.status("auth")
		return st.Status == StateRunning && !strings.Contains(st.Position, "snapshot")
	})
	e.db.Exec(t, "INSERT INTO auth.t VALUES (3,'v3'),(4,'v4')")
	evs = e.checkRows("auth", 5, 10*time.Second)
	for i, ev := range evs[3:] {
		if ev.Op != "c" {
			t.Errorf("event %d is %s, want an insert (c)", i+3, ev.Op)
		}
	}
	if st := e.status("auth"); st.Status != StateRunning || st.Error != "" {
		t.Errorf("status %s, error %q; want RUNNING without error", st.Status, st.Error)
	}
}

// grants returns SHOW GRANTS FOR account, one statement a row.
func grants(t *testing.T, db *testenv.DB, account string) []string {
	t.Helper()
	r, err := db.Conn(t).Execute("SHOW GRANTS FOR " + account)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range r.RowNumber() {
		s, _ := r.GetString(i, 0)
		out = append(out, s)
	}
	return out
}
