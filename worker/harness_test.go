package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/events"
	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// The package's shared servers: a MariaDB, and a MySQL at MySQL's
// defaults (binlog_row_metadata MINIMAL, caching_sha2_password). Each test
// uses its own databases.
var (
	mariadb *testenv.DB
	mysqldb *testenv.DB
)

func TestMain(m *testing.M) {
	var wg sync.WaitGroup
	var errMaria, errMySQL error
	wg.Add(2)
	go func() { defer wg.Done(); mariadb, errMaria = testenv.StartMariaDBE() }()
	go func() { defer wg.Done(); mysqldb, errMySQL = testenv.StartMySQLE() }()
	wg.Wait()
	if err := errors.Join(errMaria, errMySQL); err != nil {
		fmt.Fprintln(os.Stderr, "starting the test databases:", err)
		for _, db := range []*testenv.DB{mariadb, mysqldb} {
			if db != nil {
				db.Close()
			}
		}
		os.Exit(1)
	}
	code := m.Run()
	mariadb.Close()
	mysqldb.Close()
	os.Exit(code)
}

// flavor is one source set-up a guarantee test runs against.
type flavor struct {
	name string
	db   *testenv.DB
	full bool // binlog_row_metadata=FULL for the test's duration (MySQL)
}

// flavors are MariaDB (FULL metadata, as testenv starts it), MySQL at its
// defaults (MINIMAL metadata) and MySQL with FULL metadata.
func flavors() []flavor {
	return []flavor{{"mariadb", mariadb, false}, {"mysql", mysqldb, false}, {"mysql-full", mysqldb, true}}
}

// eachFlavor runs f as a subtest per flavor, each with its own Redis.
func eachFlavor(t *testing.T, f func(t *testing.T, e *env)) {
	for _, fl := range flavors() {
		t.Run(fl.name, func(t *testing.T) {
			if fl.full {
				fl.db.Exec(t, "SET GLOBAL binlog_row_metadata = FULL")
				t.Cleanup(func() { fl.db.Exec(t, "SET GLOBAL binlog_row_metadata = MINIMAL") })
			}
			f(t, newEnvOn(t, fl.db))
		})
	}
}

// env is one test's Redis and the helpers to drive nodes through it.
type env struct {
	t     *testing.T
	redis *testenv.Redis
	rdb   *redis.Client
	st    *store.Store
	db    *testenv.DB // the source database of the test's tasks
}

// newEnv is newEnvOn the shared MariaDB.
func newEnv(t *testing.T) *env { return newEnvOn(t, mariadb) }

// newEnvOn starts a Redis for a test whose tasks read db.
func newEnvOn(t *testing.T, db *testenv.DB) *env {
	t.Helper()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	return &env{t: t, redis: r, rdb: rdb, st: store.New(rdb, "debezium"), db: db}
}

// freshDatabases drops and creates the named databases on the test's
// server, which the flavors of a test share.
func (e *env) freshDatabases(names ...string) {
	e.t.Helper()
	for _, n := range names {
		e.db.Exec(e.t, "DROP DATABASE IF EXISTS "+n, "CREATE DATABASE "+n)
	}
}

// cdcConfig is a MYSQL_CDC task config reading tables from the test's
// database.
func (e *env) cdcConfig(snapshotMode string, tables []string, extra string) string {
	return cdcConfigOn(e.db, snapshotMode, tables, extra)
}

// node is an in-process node: the Node main runs, without HTTP.
type node struct {
	id     string
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *env) testConfig(id string) Config {
	return Config{
		NodeID: id, Address: "test", Version: "test",
		HeartbeatInterval: 200 * time.Millisecond, TaskMonitorInterval: time.Second,
		FailoverTimeout: 2 * time.Second,
	}
}

// startNode runs a node until the test ends or Stop.
func (e *env) startNode(id string) *node {
	log := zerolog.New(zerolog.NewTestWriter(e.t)).Level(zerolog.InfoLevel)
	nd := NewNode(e.testConfig(id), e.st, prometheus.NewRegistry(), log)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{id: id, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(n.done); _ = nd.Run(ctx, nil) }()
	e.t.Cleanup(n.Stop)
	return n
}

// Stop stops the node gracefully (hand-over) and waits for it.
func (n *node) Stop() {
	n.cancel()
	<-n.done
}

func (e *env) command(fields ...string) string {
	e.t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i]] = fields[i+1]
	}
	id, err := e.st.Publish(context.Background(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitFor polls cond until it returns true or d passes.
func (e *env) waitFor(d time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) status(task string) store.TaskInfo {
	ti, _ := e.st.Task(context.Background(), task)
	return ti
}

func (e *env) waitState(task, state string, d time.Duration) store.TaskInfo {
	e.t.Helper()
	var ti store.TaskInfo
	e.waitFor(d, fmt.Sprintf("task %s in state %s", task, state), func() bool {
		ti = e.status(task)
		return ti.Status == state
	})
	return ti
}

// event is one decoded output entry.
type event struct {
	ID    string
	Op    string
	Table string
	Env   map[string]any
	Raw   []byte
}

func (e *env) events(task string) []event {
	e.t.Helper()
	msgs, err := e.rdb.XRange(context.Background(), e.st.Keys().TaskEvents(task), "-", "+").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]event, 0, len(msgs))
	for _, m := range msgs {
		data := []byte(m.Values["data"].(string))
		env, err := events.Decode(data)
		if err != nil {
			e.t.Fatalf("entry %s: %v", m.ID, err)
		}
		out = append(out, event{ID: m.ID, Op: m.Values["op"].(string), Table: m.Values["table"].(string), Env: env, Raw: data})
	}
	return out
}

func (e *env) waitEvents(task string, n int, d time.Duration) []event {
	e.t.Helper()
	e.waitFor(d, fmt.Sprintf("%d events of task %s", n, task), func() bool {
		l, _ := e.rdb.XLen(context.Background(), e.st.Keys().TaskEvents(task)).Result()
		return l >= int64(n)
	})
	return e.events(task)
}

// mysqlConfig is a MYSQL_CDC task config on the shared MariaDB.
func mysqlConfig(tables []string, extra string) string {
	return cdcConfigOn(mariadb, "never", tables, extra)
}

// cdcConfigOn is a MYSQL_CDC task config reading tables from m; extra is
// appended to the JSON object (`,"format":"json"`).
func cdcConfigOn(m *testenv.MariaDB, snapshotMode string, tables []string, extra string) string {
	t, _ := json.Marshal(tables)
	return fmt.Sprintf(`{"taskName":"test","taskType":"MYSQL_CDC","snapshotMode":%q,"dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":%s%s}`,
		snapshotMode, m.Port, testenv.MariaDBUser, testenv.MariaDBPassword, t, extra)
}

// checkRows waits for n events of task and checks that they are exactly n,
// the rows with ids 0..n-1 in order: no gap, no duplicate.
func (e *env) checkRows(task string, n int, d time.Duration) []event {
	e.t.Helper()
	e.waitEvents(task, n, d)
	time.Sleep(300 * time.Millisecond) // nothing more may arrive
	evs := e.events(task)
	if len(evs) != n {
		e.t.Fatalf("got %d events, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if got := ev.Env["after"].(map[string]any)["id"]; fmt.Sprint(got) != fmt.Sprint(i) {
			e.t.Fatalf("event %d is row %v: gap or duplicate", i, got)
		}
	}
	return evs
}

// toJSON renders an envelope field for comparisons.
func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func t0() context.Context { return context.Background() }

type redisReadArgs = redis.XReadGroupArgs

func decodeMessage(t *testing.T, m redis.XMessage) map[string]any {
	t.Helper()
	env, err := events.Decode([]byte(m.Values["data"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	return env
}
