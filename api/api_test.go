package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

func newServer(t *testing.T, token string) (*httptest.Server, *store.Store, *testenv.Redis) {
	r := testenv.StartRedis(t)
	st := store.New(r.Client(t), "debezium")
	s := New(Config{Token: token}, st, prometheus.NewRegistry(), zerolog.Nop())
	ts := httptest.NewServer(s.srv.Handler)
	t.Cleanup(ts.Close)
	return ts, st, r
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const secretConfig = `{"taskName":"orders","taskType":"MYSQL_CDC","snapshotMode":"never",
	"dataSourceConfigs":[{"host":"127.0.0.1","port":3306,"username":"cdc","password":"s3cret-pw"}],"cdcTables":["shop.orders"]}`

func TestAPI(t *testing.T) {
	ts, st, _ := newServer(t, "tok")
	base := ts.URL + "/dataingest/cluster"
	tests := []struct {
		method, path, token, body string
		code                      int
		want                      string
	}{
		{"GET", "/healthz", "", "", 200, `"ok"`},
		{"GET", "/readyz", "", "", 200, `"ready"`},
		{"GET", "/metrics", "", "", 401, `"error"`},
		{"GET", "/metrics", "tok", "", 200, ""},
		{"GET", "/dataingest/cluster/tasks", "", "", 401, "bearer token"},
		{"GET", "/dataingest/cluster/tasks", "wrong", "", 401, "bearer token"},
		{"GET", "/dataingest/cluster/tasks", "tok", "", 200, "[]"},
		{"GET", "/dataingest/cluster/task/nope/status", "tok", "", 404, `not found`},
		{"GET", "/dataingest/cluster/task/bad%20id/status", "tok", "", 400, `task id`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", `{"taskType":"NOPE"}`, 400, `taskType`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", `{`, 400, `"error"`},
		{"POST", "/dataingest/cluster/task/t1/start", "tok", secretConfig, 202, `"commandId"`},
		{"POST", "/dataingest/cluster/task/t1/stop", "tok", "", 202, `"stop"`},
		{"POST", "/dataingest/cluster/task/t1/restart", "tok", "", 202, `"restart"`},
		{"POST", "/dataingest/cluster/task/t1/failover", "tok", "", 202, `"failover"`},
		{"DELETE", "/dataingest/cluster/task/t1", "tok", "", 202, `"delete"`},
		{"GET", "/dataingest/cluster/nodes", "tok", "", 200, "[]"},
	}
	for _, tt := range tests {
		code, body := do(t, tt.method, ts.URL+tt.path, tt.token, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s: %d %s, want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.want)
		}
		if strings.Contains(body, "s3cret-pw") {
			t.Errorf("%s %s: response contains the password", tt.method, tt.path)
		}
	}
	msgs, _ := st.Client().XRange(context.Background(), st.Keys().Commands(), "-", "+").Result()
	var cmds []string
	for _, m := range msgs {
		cmds = append(cmds, m.Values["cmd"].(string))
	}
	if got := strings.Join(cmds, ","); got != "start,stop,restart,failover,delete" {
		t.Errorf("commands queued: %s", got)
	}

	// A task's status, as a node writes it, and the node list.
	ctx := context.Background()
	st.PutConfig(ctx, "0-1", "t2", `{"taskName":"n2","taskType":"DATAGEN"}`, "d", "n2", "DATAGEN", false)
	l, _, _, _ := st.AcquireLease(ctx, "t2", "node-1", time.Minute)
	st.SetStatus(ctx, l, "state", "RUNNING", "events", "7", "lag_ms", "12", "position", "seq 7")
	st.Heartbeat(ctx, store.NodeInfo{NodeID: "node-1", Address: ":8080", Tasks: []string{"t2"}}, time.Minute)

	_, body := do(t, "GET", base+"/task/t2/status", "tok", "")
	var ti store.TaskInfo
	if err := json.Unmarshal([]byte(body), &ti); err != nil {
		t.Fatal(err)
	}
	if ti.TaskID != "t2" || ti.Status != "RUNNING" || ti.Node != "node-1" || ti.Events != 7 || ti.LagMs != 12 || ti.TaskType != "DATAGEN" {
		t.Errorf("status = %+v", ti)
	}
	_, body = do(t, "GET", base+"/nodes", "tok", "")
	var ns []store.NodeInfo
	json.Unmarshal([]byte(body), &ns)
	if len(ns) != 1 || !ns[0].Alive || ns[0].Tasks[0] != "t2" {
		t.Errorf("nodes = %s", body)
	}
}

func TestReadyzWithoutRedis(t *testing.T) {
	ts, _, r := newServer(t, "")
	r.Kill(t)
	code, body := do(t, "GET", ts.URL+"/readyz", "", "")
	if code != 503 || !strings.Contains(body, "redis unreachable") {
		t.Errorf("readyz = %d %s, want 503", code, body)
	}
	if code, _ := do(t, "GET", ts.URL+"/healthz", "", ""); code != 200 {
		t.Errorf("healthz = %d, want 200 while redis is down", code)
	}
	if code, _ := do(t, "POST", ts.URL+"/dataingest/cluster/task/t1/stop", "", ""); code != 503 {
		t.Errorf("stop without redis = %d, want 503", code)
	}
}
