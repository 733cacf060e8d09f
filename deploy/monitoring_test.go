package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

const (
	dashboardFile = "grafana/dataingest.json"
	alertsFile    = "prometheus/alerts.yml"
)

// dashboard is the part of a Grafana dashboard's JSON model that the test
// checks.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Definition string          `json:"definition"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// grafanaVars are the dashboard's variables and Grafana's own, as a query
// of the dashboard is sent to Prometheus.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$task", ".*")

var promql = parser.NewParser(parser.Options{})

// exprs returns every PromQL expression of the dashboard (its panels'
// queries and its variables' label_values) and of the alert rules, each
// with where it comes from.
func exprs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	d := loadDashboard(t)
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			out[fmt.Sprintf("%s panel %q query %s", dashboardFile, p.Title, q.RefID)] = grafanaVars.Replace(q.Expr)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((\w+), *\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("%s variable %s: query %q is not label_values(metric, label)", dashboardFile, v.Name, v.Definition)
			continue
		}
		out[fmt.Sprintf("%s variable %s", dashboardFile, v.Name)] = m[1]
	}
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	if groups != nil {
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				out[fmt.Sprintf("%s alert %s", alertsFile, r.Alert)] = r.Expr
			}
		}
	}
	return out
}

// metricNames parses expr and returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

// TestAlertRules checks the rules with Prometheus's own parser (their
// PromQL and their annotation templates) and what an operator relies on:
// a severity, a summary, a description and a runbook section that exists.
func TestAlertRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	if groups == nil {
		t.Fatal("no rule groups")
	}
	want := []string{"DataIngestTaskNotRunning", "DataIngestTaskLagHigh", "DataIngestTaskOrphaned", "DataIngestNoLiveNode",
		"DataIngestLeaseLost", "DataIngestRedisCanEvict", "DataIngestDeadLetters"}
	guide, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			got = append(got, r.Alert)
			if r.Alert == "" {
				t.Errorf("group %s: a recording rule %q; the file holds alerts only", g.Name, r.Record)
				continue
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if want := "docs/operations.md#" + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !regexp.MustCompile(`(?m)^#+ ` + r.Alert + `$`).Match(guide) {
				t.Errorf("%s: docs/operations.md has no heading %q for its runbook_url", r.Alert, r.Alert)
			}
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no alert %s", w)
		}
	}
}

// TestDashboard checks the dashboard's structure: every panel has an id of
// its own, a place on the 24-column grid that no other panel takes, the
// dashboard's data source variable, and queries that parse.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q, uid %q, schemaVersion %d", d.Title, d.UID, d.SchemaVersion)
	}
	ids := map[int]bool{}
	taken := map[[2]int]int{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Fatalf("panel %q overlaps panel %d at %d,%d", p.Title, other, x, y)
				}
				taken[[2]int{x, y}] = p.ID
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			if _, err := promql.ParseExpr(grafanaVars.Replace(q.Expr)); err != nil {
				t.Errorf("panel %q query %s: %v", p.Title, q.RefID, err)
			}
		}
	}
	if queries < 20 {
		t.Errorf("%d queries: the dashboard lost its panels", queries)
	}
}

// TestMonitoringUsesExportedMetrics scrapes a real node that runs a
// snapshotting CDC task, a task paused on a full output and a rejected
// command, whose Redis connections were cut once, and checks that every
// metric the dashboard and the alert rules select is one the node exports.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE mon", "CREATE TABLE mon.t (id INT PRIMARY KEY)", "INSERT INTO mon.t VALUES (1), (2), (3)")
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.StartProcess(t, testenv.BuildBinary(t, "github.com/dataingest/dataingest/cmd/dataingest"), []string{
		"DATAINGEST_REDIS_ADDRS=" + r.Addr, "DATAINGEST_NODE_ID=n1", "DATAINGEST_HTTP_ADDR=" + addr,
		"DATAINGEST_HEARTBEAT_INTERVAL=200ms", "DATAINGEST_FAILOVER_TIMEOUT=2s", "DATAINGEST_TASK_MONITOR_INTERVAL=1s",
	})
	ctx := context.Background()
	// A consumer group that reads nothing keeps the full output of task
	// full from being trimmed: it pauses (BACKPRESSURE).
	if err := rdb.XGroupCreateMkStream(ctx, st.Keys().TaskEvents("full"), "slow", "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []map[string]string{
		{"cmd": "start", "task": "cdc", "config": fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"initial",`+
			`"dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":%q,"password":%q}],"cdcTables":["mon.t"]}`,
			m.Port, testenv.MariaDBUser, testenv.MariaDBPassword)},
		{"cmd": "start", "task": "full", "config": `{"taskType":"DATAGEN","datagen":{"rate":1000},"outputMaxLen":10}`},
		{"cmd": "start", "task": "bad id!"},
	} {
		if _, err := st.Publish(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := st.Task(ctx, "full")
		if err == nil && ti.Status == "BACKPRESSURE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task full not in BACKPRESSURE: %+v, %v", ti, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Cut the node's connections: its blocked read of the command stream
	// fails, which the Redis error metric counts.
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}

	names := map[string][]string{}
	for where, e := range exprs(t) {
		ns, err := metricNames(e)
		if err != nil {
			t.Errorf("%s: %v", where, err)
		}
		for _, n := range ns {
			names[n] = append(names[n], where)
		}
	}
	var missing []string
	deadline = time.Now().Add(15 * time.Second)
	for {
		fams := testenv.ScrapeMetrics(t, addr, "")
		missing = missing[:0]
		for n := range names {
			if n != "up" && !exported(fams, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sort.Strings(missing)
	for _, n := range missing {
		t.Errorf("metric %s is not exported by the node; used by %s", n, strings.Join(names[n], ", "))
	}
	if len(names) < 20 {
		t.Errorf("the dashboard and the rules select %d metrics: were they read?", len(names))
	}
}

// exported reports whether fams has a series of name: a family of that
// name, or a histogram's _bucket, _sum or _count.
func exported(fams map[string]*dto.MetricFamily, name string) bool {
	if f := fams[name]; f != nil && len(f.Metric) > 0 {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := fams[base]; f != nil && f.GetType() == dto.MetricType_HISTOGRAM && len(f.Metric) > 0 {
				return true
			}
		}
	}
	return false
}
