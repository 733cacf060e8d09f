package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// rotPassword is the CDC user's password in the rotation test: distinctive,
// so that finding it anywhere (a Redis key, a log line) is a leak.
const rotPassword = "Rot8-pw-9f3e1c"

// rotation is the fleet of TestSecretKeyAndTokenRotation: two nodes whose
// environment changes step by step, each step a rolling update.
type rotation struct {
	t     *testing.T
	bin   string
	redis *testenv.Redis
	rdb   *redis.Client
	st    *store.Store
	nodes map[string]*testenv.Process
	addrs map[string]string // node id -> its HTTP address
	logs  []string          // the output of every node process that ended
}

// start starts node id with the rotation's extra environment.
func (r *rotation) start(id string, env ...string) {
	r.t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		r.t.Fatal(err)
	}
	r.addrs[id] = fmt.Sprintf("127.0.0.1:%d", port)
	r.nodes[id] = testenv.StartProcess(r.t, r.bin, append(nodeEnv(r.redis.Addr, id), append(env, "DATAINGEST_HTTP_ADDR="+r.addrs[id])...))
}

// roll replaces each node in turn with one started with env, as a rolling
// update does: SIGTERM (the node hands its tasks over and exits 0), then a
// new process under the same id, which must be alive before the next goes.
func (r *rotation) roll(env ...string) {
	r.t.Helper()
	for _, id := range []string{"n1", "n2"} {
		p := r.nodes[id]
		p.Signal(r.t, syscall.SIGTERM)
		if code, err := p.Wait(15 * time.Second); code != 0 || err != nil {
			r.t.Fatalf("%s after SIGTERM: exit %d, %v\n%s", id, code, err, p.Output())
		}
		r.logs = append(r.logs, p.Output())
		r.start(id, env...)
		waitFor(r.t, 10*time.Second, id+" alive again", func() bool {
			alive, _ := r.st.Alive(context.Background(), id)
			return alive
		})
	}
}

// get is an HTTP GET of path on node id with token; it returns the status.
func (r *rotation) get(id, path, token string) int {
	r.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+r.addrs[id]+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkTokens checks which tokens every node accepts.
func (r *rotation) checkTokens(accepted, refused []string) {
	r.t.Helper()
	for _, id := range []string{"n1", "n2"} {
		for _, tok := range accepted {
			if code := r.get(id, "/dataingest/cluster/tasks", tok); code != http.StatusOK {
				r.t.Errorf("%s: token %s got %d, want 200", id, tok, code)
			}
		}
		for _, tok := range refused {
			if code := r.get(id, "/dataingest/cluster/tasks", tok); code != http.StatusUnauthorized {
				r.t.Errorf("%s: token %s got %d, want 401", id, tok, code)
			}
		}
	}
}

// opensWith reports whether key alone opens task id's stored config, to
// the password the task was given.
func (r *rotation) opensWith(id string, key []byte) bool {
	r.t.Helper()
	sc, err := r.st.LoadConfig(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	var c task.Config
	if err := json.Unmarshal([]byte(sc.Config), &c); err != nil {
		r.t.Fatal(err)
	}
	s, _ := task.NewSealer(key)
	o, err := s.Open(id, &c)
	return err == nil && o.DataSourceConfigs[0].Password == rotPassword
}

// checkNoPlainPassword fails when any key in Redis (every field of every
// hash, every entry of every stream, every string) or any node's log holds
// the plain password.
func (r *rotation) checkNoPlainPassword(when string) {
	r.t.Helper()
	ctx := context.Background()
	keys, err := r.rdb.Keys(ctx, "*").Result()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, k := range keys {
		var text string
		switch typ, _ := r.rdb.Type(ctx, k).Result(); typ {
		case "hash":
			m, _ := r.rdb.HGetAll(ctx, k).Result()
			text = fmt.Sprint(m)
		case "stream":
			msgs, _ := r.rdb.XRange(ctx, k, "-", "+").Result()
			text = fmt.Sprint(msgs)
		case "string":
			text, _ = r.rdb.Get(ctx, k).Result()
		}
		if strings.Contains(text, rotPassword) {
			r.t.Errorf("%s: Redis key %s holds the plain password", when, k)
		}
	}
	logs := append([]string{}, r.logs...)
	for _, p := range r.nodes {
		logs = append(logs, p.Output())
	}
	for _, l := range logs {
		if strings.Contains(l, rotPassword) {
			r.t.Errorf("%s: a node's log shows the plain password", when)
		}
	}
}

// ctl runs the dataingestctl binary with env; it returns the exit code and
// the output.
func (r *rotation) ctl(env []string, args ...string) (int, string) {
	r.t.Helper()
	cmd := exec.Command(testenv.BuildBinary(r.t, "github.com/dataingest/dataingest/cmd/dataingestctl"), args...)
	cmd.Env = append([]string{"DATAINGEST_REDIS_ADDRS=" + r.redis.Addr}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return code, string(out)
}

// TestSecretKeyAndTokenRotation rotates DATAINGEST_SECRET_KEY from key A to
// key B and DATAINGEST_API_TOKEN from token A to token B under a running
// two-node fleet, in three rolling updates, while a MYSQL_CDC task streams
// inserts and two others are stopped:
//
//  1. A current, B previous (every node can open what B seals, none seals
//     with it yet); both tokens accepted.
//  2. B current, A previous: each task's config is sealed under B by the
//     node that starts its session; a start of an unchanged config stored
//     under A is no config change; `dataingestctl reseal` seals the
//     stopped task's; `reseal --check` passes.
//  3. B alone: token A is refused.
//
// The running task never fails and every inserted row arrives exactly once,
// in order; no Redis key and no log ever holds the plain password; and a
// config sealed under A alone fails its task with an error naming
// DATAINGEST_SECRET_KEY_PREVIOUS, while the node and the other task go on.
func TestSecretKeyAndTokenRotation(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE rot", "CREATE TABLE rot.t (id INT PRIMARY KEY, v VARCHAR(32))")
	m.CreateUser(t, "rotcdc", rotPassword, "REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*", "SELECT ON rot.*")
	rd := testenv.StartRedis(t)
	rdb := rd.Client(t)
	r := &rotation{t: t, bin: binary(t), redis: rd, rdb: rdb, st: store.New(rdb, "debezium"),
		nodes: map[string]*testenv.Process{}, addrs: map[string]string{}}
	ctx := context.Background()
	keyA, keyB := bytes.Repeat([]byte{0xa1}, 32), bytes.Repeat([]byte{0xb2}, 32)
	b64 := base64.StdEncoding.EncodeToString
	const tokA, tokB = "token-a-51", "token-b-62"
	cdc := fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"rotcdc","password":%q}],"cdcTables":["rot.t"]}`,
		m.Port, rotPassword)

	stepA := []string{"DATAINGEST_SECRET_KEY=" + b64(keyA), "DATAINGEST_API_TOKEN=" + tokA}
	r.start("n1", stepA...)
	r.start("n2", stepA...)
	for _, id := range []string{"live", "idle", "same"} {
		if _, err := r.st.Publish(ctx, map[string]string{"cmd": "start", "task": id, "config": cdc}); err != nil {
			t.Fatal(err)
		}
		waitForStart(t, r.st, id)
	}
	for _, id := range []string{"idle", "same"} {
		r.st.Publish(ctx, map[string]string{"cmd": "stop", "task": id})
		waitFor(t, 10*time.Second, id+" stopped", func() bool {
			ti, _ := r.st.Task(ctx, id)
			return ti.Status == "STOPPED"
		})
	}
	in := startInserter(t, m, "rot.t", 10, 2*time.Millisecond)
	if !r.opensWith("live", keyA) || !r.opensWith("idle", keyA) {
		t.Fatal("the configs are not sealed under key A at the start")
	}
	r.checkTokens([]string{tokA}, []string{tokB})

	// Step 1: B is known everywhere before anyone seals with it.
	r.roll("DATAINGEST_SECRET_KEY="+b64(keyA), "DATAINGEST_SECRET_KEY_PREVIOUS="+b64(keyB),
		"DATAINGEST_API_TOKEN="+tokB, "DATAINGEST_API_TOKEN_PREVIOUS="+tokA)
	r.checkTokens([]string{tokA, tokB}, []string{"token-c"})
	if !r.opensWith("live", keyA) {
		t.Error("step 1 sealed the live task's config under a key other than A")
	}
	r.checkNoPlainPassword("after step 1")

	// Step 2: B seals; A still opens.
	stepB := []string{"DATAINGEST_SECRET_KEY=" + b64(keyB), "DATAINGEST_SECRET_KEY_PREVIOUS=" + b64(keyA)}
	r.roll(append(stepB, "DATAINGEST_API_TOKEN="+tokB, "DATAINGEST_API_TOKEN_PREVIOUS="+tokA)...)
	waitFor(t, 10*time.Second, "the live task's config sealed under B", func() bool { return r.opensWith("live", keyB) })
	if r.opensWith("live", keyA) {
		t.Error("key A still opens the live task's config after step 2")
	}
	if !r.opensWith("idle", keyA) {
		t.Error("a node resealed the stopped task, which no node reads")
	}
	// A start of the same config, stored under A, is no config change:
	// its generation stays (a running task would not restart).
	gen := func(id string) string {
		g, _ := rdb.HGet(ctx, r.st.Keys().TaskConfig(id), "gen").Result()
		return g
	}
	genBefore := gen("same")
	r.st.Publish(ctx, map[string]string{"cmd": "start", "task": "same", "config": cdc})
	waitFor(t, 10*time.Second, "same running again under B", func() bool {
		ti, _ := r.st.Task(ctx, "same")
		return ti.Status == "RUNNING" && r.opensWith("same", keyB)
	})
	if g := gen("same"); g != genBefore {
		t.Errorf("a start of the unchanged config stored under A changed gen from %q to %q: it counted as a new config", genBefore, g)
	}
	if code, out := r.ctl(stepB, "reseal", "--check"); code != 1 || !strings.Contains(out, "1 not under the current key") {
		t.Errorf("reseal --check before reseal: exit %d\n%s", code, out)
	}
	if code, out := r.ctl(stepB, "reseal"); code != 0 || !strings.Contains(out, "1 sealed anew, 2 up to date") {
		t.Errorf("reseal: exit %d\n%s", code, out)
	}
	if code, out := r.ctl(stepB, "reseal", "--check"); code != 0 {
		t.Errorf("reseal --check after reseal: exit %d\n%s", code, out)
	}
	if !r.opensWith("idle", keyB) || r.opensWith("idle", keyA) {
		t.Error("reseal left the stopped task's config under A")
	}
	r.checkNoPlainPassword("after step 2")

	// Step 3: A is gone.
	r.roll("DATAINGEST_SECRET_KEY="+b64(keyB), "DATAINGEST_API_TOKEN="+tokB)
	r.checkTokens([]string{tokB}, []string{tokA})
	// The stopped task starts under B alone.
	r.st.Publish(ctx, map[string]string{"cmd": "start", "task": "idle"})
	waitFor(t, 10*time.Second, "idle running again", func() bool {
		ti, _ := r.st.Task(ctx, "idle")
		return ti.Status == "RUNNING"
	})

	// A config still sealed under A alone (one reseal missed): its task
	// fails naming the variable; the node and the live task go on.
	sa, _ := task.NewSealer(keyA)
	c, _ := task.Parse([]byte(cdc))
	old, _ := sa.Seal("forgotten", c)
	oldJSON, _ := json.Marshal(old)
	if _, _, err := r.st.PutConfig(ctx, "1-1", "forgotten", string(oldJSON), sa.Digest(c), "", "MYSQL_CDC", false); err != nil {
		t.Fatal(err)
	}
	r.st.Publish(ctx, map[string]string{"cmd": "start", "task": "forgotten"})
	var failed store.TaskInfo
	waitFor(t, 10*time.Second, "the task sealed under A alone FAILED", func() bool {
		failed, _ = r.st.Task(ctx, "forgotten")
		return failed.Status == "FAILED"
	})
	if !strings.Contains(failed.Error, "DATAINGEST_SECRET_KEY_PREVIOUS") || !strings.Contains(failed.Error, "dataSourceConfigs[0].password") {
		t.Errorf("error of the task no key opens: %q, want it to name DATAINGEST_SECRET_KEY_PREVIOUS and the field", failed.Error)
	}

	before := in.next.Load()
	waitFor(t, 10*time.Second, "the live task still writing", func() bool {
		n, _ := rdb.XLen(ctx, r.st.Keys().TaskEvents("live")).Result()
		return n > before
	})
	for id, p := range r.nodes {
		if _, err := p.Wait(0); err == nil {
			t.Errorf("node %s exited", id)
		}
	}
	total := in.Stop()
	checkRowsOnce(t, rdb, r.st, "live", total)
	if ti, _ := r.st.Task(ctx, "live"); ti.Status != "RUNNING" {
		t.Errorf("live task %s (%s) at the end", ti.Status, ti.Error)
	}
	r.checkNoPlainPassword("at the end")
	t.Logf("%d rows exactly once across three rolling updates (six node restarts)", total)
}
