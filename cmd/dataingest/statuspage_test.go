package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
)

// The status page (GET /) against real fleets: its HTTP answers, and what
// it shows once its script ran in a headless chromium.

// startWeb starts node id of f on a free HTTP port and returns the node's
// base URL once it answers /healthz.
func (f *fleet) startWeb(id string, extra ...string) string {
	f.t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		f.t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := append(nodeEnv(f.redis.Addr, id, f.env...), append([]string{"DATAINGEST_HTTP_ADDR=" + addr}, extra...)...)
	f.nodes[id] = testenv.StartProcess(f.t, f.bin, env)
	f.runs = append(f.runs, nodeRun{id, f.nodes[id]})
	base := "http://" + addr
	waitFor(f.t, 10*time.Second, id+" answering HTTP", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// get fetches url with the token as the Authorization header ("": none).
func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// pageHeaders are the headers every file of the status page carries.
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

func checkPageHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for k, want := range pageHeaders {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %s %q, want %q", what, k, got, want)
		}
	}
}

// assetRef finds the page's references to its own files.
var assetRef = regexp.MustCompile(`<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"`)

// TestStatusPageServedWithoutData: with an API token set, every node
// serves the page and the files it references to anyone, with the
// security headers and the right types, and none of them carries a node
// id, a task id or the token; the JSON the page reads answers 401 without
// the token and the fleet's nodes and tasks with it.
func TestStatusPageServedWithoutData(t *testing.T) {
	const token = "page-test-token-7f3a"
	f := newFleet(t)
	bases := []string{
		f.startWeb("node-alpha", "DATAINGEST_API_TOKEN="+token),
		f.startWeb("node-beta", "DATAINGEST_API_TOKEN="+token),
	}
	f.waitNodes(2)
	f.publish("cmd", "start", "task", "secret-task-42", "config", `{"taskType":"DATAGEN","taskName":"hidden name","datagen":{"rate":50}}`)
	f.waitAllRunning([]string{"secret-task-42"}, 10*time.Second)
	private := []string{"node-alpha", "node-beta", "secret-task-42", "hidden name", token}

	wantType := map[string]string{
		"ui/status.js":   "text/javascript; charset=utf-8",
		"ui/status.css":  "text/css; charset=utf-8",
		"ui/favicon.svg": "image/svg+xml",
	}
	for _, base := range bases {
		resp, page := get(t, base+"/", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s/: %d %q, want 200 text/html; charset=utf-8", base, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		checkPageHeaders(t, "GET /", resp)
		// The policy allows no inline script or style: the page has none.
		if strings.Contains(page, "<script>") || strings.Contains(page, "<style") || strings.Contains(page, " style=") {
			t.Errorf("the page has inline script or style, which its policy blocks")
		}
		var refs []string
		for _, m := range assetRef.FindAllStringSubmatch(page, -1) {
			refs = append(refs, m[1])
		}
		if fmt.Sprint(refs) != "[ui/favicon.svg ui/status.css ui/status.js]" {
			t.Errorf("the page references %v, want its icon, style sheet and script under ui/", refs)
		}
		bodies := []string{page}
		for _, ref := range refs {
			resp, body := get(t, base+"/"+ref, "")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != wantType[ref] || len(body) == 0 {
				t.Errorf("GET %s: %d %q (%d bytes), want 200 %s", ref, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), wantType[ref])
			}
			checkPageHeaders(t, "GET "+ref, resp)
			bodies = append(bodies, body)
		}
		for _, b := range bodies {
			for _, p := range private {
				if strings.Contains(b, p) {
					t.Errorf("the page or one of its files, served without a token, contains %q", p)
				}
			}
		}

		for _, path := range []string{"/dataingest/cluster/nodes", "/dataingest/cluster/tasks"} {
			for _, tok := range []string{"", "wrong-token"} {
				if resp, body := get(t, base+path, tok); resp.StatusCode != 401 || strings.Contains(body, "secret-task-42") {
					t.Errorf("GET %s with token %q: %d %s, want 401 and no data", path, tok, resp.StatusCode, body)
				}
			}
		}
		if resp, body := get(t, base+"/dataingest/cluster/nodes", token); resp.StatusCode != 200 ||
			!strings.Contains(body, `"nodeId":"node-alpha"`) || !strings.Contains(body, `"nodeId":"node-beta"`) {
			t.Errorf("GET nodes with the token: %d %s", resp.StatusCode, body)
		}
		if resp, body := get(t, base+"/dataingest/cluster/tasks", token); resp.StatusCode != 200 || !strings.Contains(body, `"taskId":"secret-task-42"`) {
			t.Errorf("GET tasks with the token: %d %s", resp.StatusCode, body)
		}
	}
}

// TestStatusPageInChromium runs the page's script in a headless chromium
// against a fleet of three nodes with DATAGEN tasks writing, one stopped,
// a MYSQL_CDC task retrying against a port where no database listens
// (amber, with its error) and a task whose name is markup, and checks that
// the page shows every node and task as the JSON API reports them, the
// state colours, a chart per task with a line for the writing ones, the
// name as text (no element made of it) and the fleet summary; with a
// filter in the URL's fragment, only the matching tasks. Then, seen
// through a proxy that passes the first refresh and cuts every later
// one, the page keeps that data and shows the stale banner.
//
// With DATAINGEST_TEST_SCREENSHOTS=DIR it also saves screenshots there.
func TestStatusPageInChromium(t *testing.T) {
	f := newFleet(t)
	base := f.startWeb("n1")
	f.startWeb("n2")
	f.startWeb("n3")
	f.waitNodes(3)
	writing := datagenTasks(f, 3, 200)
	const markup = `<img src=x onerror="document.title='owned'"><b>bold</b>`
	name, _ := json.Marshal(markup)
	f.publish("cmd", "start", "task", "named", "config", `{"taskType":"DATAGEN","taskName":`+string(name)+`,"datagen":{"rate":20}}`)
	f.publish("cmd", "start", "task", "halted", "config", `{"taskType":"DATAGEN","datagen":{"rate":20}}`)
	noDB, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	f.publish("cmd", "start", "task", "cdc", "config", fmt.Sprintf(`{"taskType":"MYSQL_CDC","snapshotMode":"never",
		"dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"cdc","password":"pw-never-shown"}],"cdcTables":["shop.orders"]}`, noDB))
	writing = append(writing, "named")
	f.waitAllRunning(append(writing, "halted"), 10*time.Second)
	f.publish("cmd", "stop", "task", "halted")
	waitFor(t, 10*time.Second, "halted STOPPED and cdc RETRYING", func() bool {
		ts := apiTasks(t, base)
		return ts["halted"].Status == "STOPPED" && ts["cdc"].Status == "RETRYING" && ts["cdc"].Error != ""
	})

	var dom *domNode
	var tasks map[string]store.TaskInfo
	var nodes map[string]store.NodeInfo
	for attempt := 0; ; attempt++ {
		// The fleet may still move a task while it balances: the DOM is
		// compared with what the API said before and after the page loaded,
		// when the two agree.
		tb, nb := apiTasks(t, base), apiNodes(t, base)
		html, console := testenv.DumpDOM(t, base+"/", 8*time.Second)
		tasks, nodes = apiTasks(t, base), apiNodes(t, base)
		if placement(tb, nb) == placement(tasks, nodes) {
			dom = parseDOM(t, html)
			// Nothing logged: no exception, nothing the page's policy refused.
			if len(console) > 0 {
				t.Errorf("the page's console: %q", console)
			}
			break
		}
		if attempt == 3 {
			t.Fatalf("the fleet kept moving tasks:\n%s\n%s", placement(tb, nb), placement(tasks, nodes))
		}
	}

	if len(nodes) != 3 || len(tasks) != 6 {
		t.Fatalf("the API shows %d nodes and %d tasks, want 3 and 6", len(nodes), len(tasks))
	}
	for id, n := range nodes {
		row := dom.find(attrIs("data-node", id))
		if row == nil || !row.visible() {
			t.Errorf("node %s: no row shown", id)
			continue
		}
		alive := map[bool]string{true: "alive", false: "dead"}[n.Alive]
		want := map[string]string{"c-id": id, "c-alive": alive, "c-tasks": fmt.Sprint(len(n.Tasks)), "c-version": n.Version}
		checkCells(t, "node "+id, row, want)
		if age := row.cell("c-age"); !regexp.MustCompile(`^\d+ s ago$`).MatchString(age) {
			t.Errorf("node %s: last heartbeat %q, want an age like \"2 s ago\"", id, age)
		}
	}
	stateClass := map[string]string{"RUNNING": "st-ok", "RETRYING": "st-warn", "STOPPED": "st-off"}
	for id, ti := range tasks {
		row := dom.find(attrIs("data-task", id))
		if row == nil || !row.visible() {
			t.Errorf("task %s: no row shown", id)
			continue
		}
		node := ti.Node
		if node == "" {
			node = "—"
		}
		checkCells(t, "task "+id, row, map[string]string{"c-id": id, "c-name": ti.TaskName, "c-state": ti.Status, "c-node": node, "c-error": ti.Error})
		badge := row.find(hasClass("state"))
		if badge == nil || !badge.hasClass(stateClass[ti.Status]) {
			t.Errorf("task %s: state %s without its colour class %s", id, ti.Status, stateClass[ti.Status])
		}
		chart := row.find(func(n *domNode) bool { return n.tag == "svg" && n.hasClass("spark") })
		if chart == nil || chart.find(func(n *domNode) bool { return n.tag == "polyline" }) == nil {
			t.Errorf("task %s: no chart", id)
			continue
		}
		if ti.Status == "RUNNING" {
			points := strings.Fields(chart.find(func(n *domNode) bool { return n.tag == "polyline" }).attr["points"])
			rate := row.find(hasClass("rate")).text()
			if len(points) < 2 || !regexp.MustCompile(`^[0-9.,]+/s$`).MatchString(rate) {
				t.Errorf("task %s writes, but its chart has points %v and rate %q", id, points, rate)
			}
		}
	}
	if n := len(dom.findAll(attrSet("data-task"))); n != len(tasks) {
		t.Errorf("%d task rows for %d tasks", n, len(tasks))
	}
	if img := dom.find(func(n *domNode) bool { return n.tag == "img" || n.tag == "b" }); img != nil {
		t.Errorf("a task name became a <%s> element: the page renders data as markup", img.tag)
	}
	if got := dom.find(attrIs("data-task", "named")).cell("c-name"); got != markup {
		t.Errorf("the name %q shows as %q", markup, got)
	}
	sum := dom.find(attrIs("id", "summary")).text()
	for _, want := range []string{"3 of 3 nodes alive", "6 tasks", "4 RUNNING", "1 RETRYING", "1 STOPPED", "events/s"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
	if dom.find(attrIs("id", "stale")).visible() || dom.find(attrIs("id", "login")).visible() {
		t.Errorf("stale banner or login form shown on a healthy fleet")
	}
	if strings.Contains(dom.text(), "pw-never-shown") {
		t.Errorf("the page shows a password")
	}
	screenshot(t, base+"/", "statuspage.png")

	// A filter in the URL's fragment shows only the matching tasks.
	html, console := testenv.DumpDOM(t, base+"/#STOPPED", 8*time.Second)
	checkConsole(t, console)
	filtered := parseDOM(t, html)
	for id := range tasks {
		if shown := filtered.find(attrIs("data-task", id)).visible(); shown != (id == "halted") {
			t.Errorf("filter STOPPED: task %s shown %v", id, shown)
		}
	}
	if got := filtered.find(attrIs("id", "shown")).text(); got != "1 of 6 shown" {
		t.Errorf("filter STOPPED: %q, want \"1 of 6 shown\"", got)
	}

	// Through a proxy that cuts every JSON request after the first
	// refresh's two: the data stays, marked stale.
	proxy := cuttingProxy(t, base, 2)
	html, console = testenv.DumpDOM(t, proxy+"/", 8*time.Second)
	checkConsole(t, console)
	dom = parseDOM(t, html)
	banner := dom.find(attrIs("id", "stale"))
	if !banner.visible() || !strings.HasPrefix(banner.text(), "Stale since ") {
		t.Errorf("refreshes failing: banner %q (shown %v), want \"Stale since …\"", banner.text(), banner.visible())
	}
	for id := range tasks {
		if row := dom.find(attrIs("data-task", id)); row == nil || !row.visible() || row.cell("c-id") != id {
			t.Errorf("refreshes failing: task %s no longer shown", id)
		}
	}
	if main := dom.find(attrIs("id", "data")); !main.hasClass("stale") {
		t.Errorf("refreshes failing: the data is not marked stale")
	}
	if sum := dom.find(attrIs("id", "summary")).text(); !strings.Contains(sum, "3 of 3 nodes alive") || !strings.Contains(sum, "unknown (stale)") {
		t.Errorf("refreshes failing: summary %q, want the last nodes and no throughput claimed", sum)
	}
	if os.Getenv("DATAINGEST_TEST_SCREENSHOTS") != "" {
		screenshot(t, cuttingProxy(t, base, 2)+"/", "statuspage-stale.png") // a fresh count
	}
}

// screenshot saves a screenshot of the page at url as name in the directory
// DATAINGEST_TEST_SCREENSHOTS names, if it does: for a person to look at.
func screenshot(t *testing.T, url, name string) {
	dir := os.Getenv("DATAINGEST_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name)
	testenv.Screenshot(t, url, 20*time.Second, path, 1400, 900)
	t.Logf("screenshot of %s in %s", url, path)
}

// TestStatusPageAsksForTheToken: with a token set, the page in chromium
// shows the login form and nothing of the fleet.
func TestStatusPageAsksForTheToken(t *testing.T) {
	const token = "page-test-token-9c1e"
	f := newFleet(t)
	base := f.startWeb("node-gamma", "DATAINGEST_API_TOKEN="+token)
	f.waitNodes(1)
	f.publish("cmd", "start", "task", "private-task-7", "config", `{"taskType":"DATAGEN","datagen":{"rate":50}}`)
	f.waitAllRunning([]string{"private-task-7"}, 10*time.Second)

	html, console := testenv.DumpDOM(t, base+"/", 8*time.Second)
	checkConsole(t, console)
	dom := parseDOM(t, html)
	form := dom.find(attrIs("id", "login"))
	if form == nil || !form.visible() || form.find(attrIs("id", "token")) == nil {
		t.Fatalf("no login form shown:\n%s", html)
	}
	if input := form.find(attrIs("id", "token")); input.attr["type"] != "password" || input.attr["name"] != "" {
		t.Errorf("token field %v: want a password field without a name (never submitted as a form field)", input.attr)
	}
	if dom.find(attrIs("id", "data")).visible() || dom.find(attrSet("data-task")) != nil || dom.find(attrSet("data-node")) != nil {
		t.Errorf("data shown without the token")
	}
	for _, s := range []string{"node-gamma", "private-task-7", token} {
		if strings.Contains(html, s) {
			t.Errorf("the page shows %q without the token", s)
		}
	}
	screenshot(t, base+"/", "statuspage-login.png")
}

// checkConsole fails on what the page's console shows beyond the failed
// requests a test causes on purpose: an exception, or something the page's
// Content-Security-Policy refused.
func checkConsole(t *testing.T, console []string) {
	t.Helper()
	for _, line := range console {
		if !strings.HasPrefix(line, `"Failed to load resource`) {
			t.Errorf("the page's console: %s", line)
		}
	}
}

// apiTasks and apiNodes read the fleet as the JSON API (no token) shows it.
func apiTasks(t *testing.T, base string) map[string]store.TaskInfo {
	var ts []store.TaskInfo
	apiJSON(t, base+"/dataingest/cluster/tasks", &ts)
	out := map[string]store.TaskInfo{}
	for _, x := range ts {
		out[x.TaskID] = x
	}
	return out
}

func apiNodes(t *testing.T, base string) map[string]store.NodeInfo {
	var ns []store.NodeInfo
	apiJSON(t, base+"/dataingest/cluster/nodes", &ns)
	out := map[string]store.NodeInfo{}
	for _, x := range ns {
		out[x.NodeID] = x
	}
	return out
}

func apiJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, body := get(t, url, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// placement is what the page shows of the tasks and nodes that may change
// while the fleet settles: each task's state, node and error, each node's
// liveness and task count.
func placement(ts map[string]store.TaskInfo, ns map[string]store.NodeInfo) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		fmt.Fprintf(&b, "%s %s %s %q; ", id, ts[id].Status, ts[id].Node, ts[id].Error)
	}
	for _, id := range slices.Sorted(maps.Keys(ns)) {
		fmt.Fprintf(&b, "%s %v %d; ", id, ns[id].Alive, len(ns[id].Tasks))
	}
	return b.String()
}

// cuttingProxy is a reverse proxy to base that passes the page, its files
// and the first n requests for JSON, then closes the connection of every
// later JSON request without an answer, as a node gone away would.
func cuttingProxy(t *testing.T, base string, n int64) string {
	u, _ := url.Parse(base)
	rp := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dataingest/") && seen.Add(1) > n {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// checkCells compares the text of row's cells (by class) with want.
func checkCells(t *testing.T, what string, row *domNode, want map[string]string) {
	t.Helper()
	for cls, w := range want {
		if got := row.cell(cls); got != w {
			t.Errorf("%s: cell %s shows %q, the API says %q", what, cls, got, w)
		}
	}
}

// domNode is an element (or, with tag "", a text) of the DOM chromium
// dumped, parsed with encoding/xml in its lenient HTML mode: enough for
// the page's own markup, which the tests know.
type domNode struct {
	tag    string
	attr   map[string]string
	kids   []*domNode
	parent *domNode
	data   string // a text node's text
}

func parseDOM(t *testing.T, html string) *domNode {
	t.Helper()
	d := xml.NewDecoder(bufio.NewReader(strings.NewReader(html)))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &domNode{tag: "#document", attr: map[string]string{}}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root
		}
		if err != nil {
			t.Fatalf("parsing the DOM: %v\n%s", err, html)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &domNode{tag: strings.ToLower(tok.Name.Local), attr: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				n.attr[strings.ToLower(a.Name.Local)] = a.Value
			}
			cur.kids = append(cur.kids, n)
			cur = n
		case xml.EndElement:
			name := strings.ToLower(tok.Name.Local)
			for n := cur; n != root; n = n.parent {
				if n.tag == name {
					cur = n.parent
					break
				}
			}
		case xml.CharData:
			cur.kids = append(cur.kids, &domNode{data: string(tok), parent: cur})
		}
	}
}

func (n *domNode) findAll(match func(*domNode) bool) []*domNode {
	var out []*domNode
	for _, k := range n.kids {
		if k.tag != "" && match(k) {
			out = append(out, k)
		}
		out = append(out, k.findAll(match)...)
	}
	return out
}

// find returns the first element under n that matches, nil when none does.
func (n *domNode) find(match func(*domNode) bool) *domNode {
	if n == nil {
		return nil
	}
	if all := n.findAll(match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func (n *domNode) text() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*domNode)
	walk = func(x *domNode) {
		b.WriteString(x.data)
		for _, k := range x.kids {
			if k.tag != "title" { // an SVG title is a tooltip, not shown text
				walk(k)
			}
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// cell is the shown text of n's cell of class cls.
func (n *domNode) cell(cls string) string {
	if c := n.find(hasClass(cls)); c != nil {
		var parts []string
		for _, k := range c.kids {
			if !hasAttr(k, "hidden") {
				if s := k.text(); s != "" {
					parts = append(parts, s)
				}
			}
		}
		return strings.Join(parts, " ")
	}
	return "(no cell " + cls + ")"
}

// visible reports whether neither n nor an ancestor has the hidden attribute.
func (n *domNode) visible() bool {
	if n == nil {
		return false
	}
	for x := n; x != nil; x = x.parent {
		if hasAttr(x, "hidden") {
			return false
		}
	}
	return true
}

func (n *domNode) hasClass(cls string) bool {
	return n != nil && cls != "" && strings.Contains(" "+n.attr["class"]+" ", " "+cls+" ")
}

func hasAttr(n *domNode, name string) bool { _, ok := n.attr[name]; return ok }

func hasClass(cls string) func(*domNode) bool {
	return func(n *domNode) bool { return n.hasClass(cls) }
}

func attrIs(name, value string) func(*domNode) bool {
	return func(n *domNode) bool { return n.attr[name] == value }
}

func attrSet(name string) func(*domNode) bool {
	return func(n *domNode) bool { return hasAttr(n, name) }
}
