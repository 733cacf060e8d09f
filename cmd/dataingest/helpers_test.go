package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// dbFlavor is one kind of source database a test runs against, each on a
// server private to the (sub)test.
type dbFlavor struct {
	name string
	// start starts the server with opts (appended to its my.cnf group,
	// which for MariaDB is [mariadbd] and for MySQL [mysqld]).
	start func(t testing.TB, opts ...testenv.Option) *testenv.DB
}

// The flavors: MariaDB as testenv sets it up (binlog_row_metadata FULL),
// MySQL at its defaults (binlog_row_metadata MINIMAL: the task decodes rows
// by its schema history), and MySQL with binlog_row_metadata FULL.
var (
	flavorMariaDB   = dbFlavor{"mariadb", testenv.StartMariaDB}
	flavorMySQL     = dbFlavor{"mysql", testenv.StartMySQL}
	flavorMySQLFull = dbFlavor{"mysql-full", func(t testing.TB, opts ...testenv.Option) *testenv.DB {
		return testenv.StartMySQL(t, append(opts, testenv.WithConfig("binlog_row_metadata=FULL"))...)
	}}
)

// eachFlavor runs f as a subtest per flavor: MariaDB and MySQL, and
// MySQL with binlog_row_metadata FULL when withFull is set (for tests
// cheap enough to run three times).
func eachFlavor(t *testing.T, withFull bool, f func(t *testing.T, fl dbFlavor)) {
	fls := []dbFlavor{flavorMariaDB, flavorMySQL}
	if withFull {
		fls = append(fls, flavorMySQLFull)
	}
	for _, fl := range fls {
		t.Run(fl.name, func(t *testing.T) { f(t, fl) })
	}
}

// insertSeq fills table (db.name), whose two columns are INT, with rows
// (1, v), (2, v), ..., (n, v) in one statement: from MariaDB's sequence
// engine, or a recursive CTE on MySQL.
func insertSeq(t *testing.T, m *testenv.DB, table string, n int, v int) {
	t.Helper()
	if m.Flavor == testenv.FlavorMariaDB {
		db, _, _ := strings.Cut(table, ".")
		m.Exec(t, fmt.Sprintf("INSERT INTO %s SELECT seq, %d FROM %s.seq_1_to_%d", table, v, db, n))
		return
	}
	m.Exec(t, fmt.Sprintf("SET SESSION cte_max_recursion_depth = %d", n),
		fmt.Sprintf("INSERT INTO %s WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n, %d FROM s", table, n, v))
}

// cdcConfig is a MYSQL_CDC task config reading table from m.
func cdcConfig(m *testenv.MariaDB, snapshotMode, table string) string {
	return fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":%q,"dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":[%q]}`,
		snapshotMode, m.Port, testenv.MariaDBUser, testenv.MariaDBPassword, table)
}

// waitForStart waits until a new task has stored its start position.
func waitForStart(t *testing.T, st *store.Store, task string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the start position of "+task, func() bool {
		o, _ := st.LoadOffset(context.Background(), task)
		return o["file"] != ""
	})
}

// inserter writes rows (id, 'v<id>') with ids 1, 2, 3, ... into table, in
// transactions of 1 to maxTx rows, until stopped.
type inserter struct {
	next atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startInserter(t *testing.T, m *testenv.MariaDB, table string, maxTx int, pause time.Duration) *inserter {
	in := &inserter{stop: make(chan struct{})}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		conn := m.Conn(t)
		for i := 1; ; i++ {
			select {
			case <-in.stop:
				return
			default:
			}
			var vals []string
			for j := 0; j < i%maxTx+1; j++ {
				id := in.next.Add(1)
				vals = append(vals, fmt.Sprintf("(%d,'v%d')", id, id))
			}
			if _, err := conn.Execute("INSERT INTO " + table + " VALUES " + strings.Join(vals, ",")); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
			time.Sleep(pause)
		}
	}()
	return in
}

// Stop stops the inserts and returns how many rows were written.
func (in *inserter) Stop() int64 {
	close(in.stop)
	in.wg.Wait()
	return in.next.Load()
}

// checkRowsOnce waits for total events on task's stream and checks that
// they are the inserts of rows 1..total, each once, in order.
func checkRowsOnce(t *testing.T, rdb *redis.Client, st *store.Store, task string, total int64) {
	t.Helper()
	ctx := context.Background()
	stream := st.Keys().TaskEvents(task)
	waitFor(t, 30*time.Second, fmt.Sprintf("%d events", total), func() bool {
		n, _ := rdb.XLen(ctx, stream).Result()
		return n >= total
	})
	msgs, err := rdb.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(msgs)) != total {
		t.Fatalf("got %d events for %d rows", len(msgs), total)
	}
	for i, msg := range msgs {
		env, err := events.Decode([]byte(msg.Values["data"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		if id := env["after"].(map[string]any)["id"].(int64); id != int64(i+1) {
			t.Fatalf("event %d is row %d: gap or duplicate", i, id)
		}
	}
}
