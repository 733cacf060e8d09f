package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestStatusPageRoutes: the page and its files are served without the
// token, revalidated by ETag, and everything else around them stays a JSON
// error (a wrong method, an unknown file, the directory itself).
func TestStatusPageRoutes(t *testing.T) {
	s, base, _, _ := startServer(t, Config{Token: "tok"}, zerolog.Nop())
	tests := []struct {
		method, path string
		code         int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/ui/status.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/ui/status.css", 200, "text/css; charset=utf-8"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml"},
		{"POST", "/", 405, "application/json"},
		{"GET", "/ui/", 404, "application/json"},
		{"GET", "/ui/nope.js", 404, "application/json"},
		{"GET", "/index.html", 404, "application/json"},
		{"GET", "/ui/../ui/status.js", 404, "application/json"},
	}
	for _, tt := range tests {
		what := tt.method + " " + tt.path
		// Connection: close, so that raw need not wait out a keep-alive.
		got := raw(t, s.Addr(), what+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if got.code != tt.code || got.header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s: %d %q, want %d %q", what, got.code, got.header.Get("Content-Type"), tt.code, tt.ctype)
		}
		if tt.code == 200 && (got.header.Get("Content-Security-Policy") != pageCSP || got.header.Get("X-Content-Type-Options") != "nosniff") {
			t.Errorf("%s: headers %v, want the page's policy and nosniff", what, got.header)
		}
	}

	req, _ := http.NewRequest("GET", base+"/ui/status.js", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req.Header.Set("If-None-Match", etag)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidating with ETag %q: %d, want 304", etag, resp.StatusCode)
	}
}

// TestStatusPageScriptRendersText guards the script against the ways data
// could become markup: every datum must go in as text.
func TestStatusPageScriptRendersText(t *testing.T) {
	js := string(uiJS)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "createContextualFragment"} {
		if strings.Contains(js, bad) {
			t.Errorf("status.js uses %s: data must go into the page as text", bad)
		}
	}
	// The token leaves the browser only as the Authorization header: never
	// in a URL or a cookie.
	if regexp.MustCompile(`(?i)document\.cookie|[?&](access_)?token=`).MatchString(js) {
		t.Errorf("status.js puts the token in a cookie or a URL")
	}
}
