package api

import (
	"crypto/sha256"
	_ "embed" // the status page's files
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// The status page (GET /) is static: an HTML shell, a style sheet and a
// script, embedded in the binary and served by every node. The script
// fetches the node's own JSON endpoints (/dataingest/cluster/nodes and
// /tasks) every few seconds and draws the page in the browser, so the
// server never renders data into HTML. That is also why the page and its
// files need no token: they carry no data, and the JSON behind them stays
// behind the API token, which the script sends as the Authorization header
// only (it keeps it in the browser's session or local storage, never in a
// URL or a cookie).
var (
	//go:embed ui/index.html
	uiIndex []byte
	//go:embed ui/status.css
	uiCSS []byte
	//go:embed ui/status.js
	uiJS []byte
	//go:embed ui/favicon.svg
	uiIcon []byte
)

// pageCSP allows the page nothing but its own files and its own origin's
// JSON: no inline script or style, no other origin, no framing, no form
// submission (the login form is handled by the script; should the script
// not run, the browser must not send the token field anywhere).
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiFile is one embedded file of the status page.
type uiFile struct {
	ctype string
	body  []byte
	etag  string // strong: the content's hash, so a new build is fetched anew
}

func newUIFile(ctype string, body []byte) uiFile {
	sum := sha256.Sum256(body)
	return uiFile{ctype: ctype, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// routeUI registers the status page and its files, without the token.
func (s *Server) routeUI() {
	s.handle("GET /{$}", newUIFile("text/html; charset=utf-8", uiIndex))
	s.handle("GET /ui/status.css", newUIFile("text/css; charset=utf-8", uiCSS))
	s.handle("GET /ui/status.js", newUIFile("text/javascript; charset=utf-8", uiJS))
	s.handle("GET /ui/favicon.svg", newUIFile("image/svg+xml", uiIcon))
}

// ServeHTTP answers with the file and the page's security headers.
// Cache-Control no-cache: a browser revalidates (by ETag) on every load,
// so a node upgraded in place never serves an old script to a new page.
func (f uiFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	_, _ = w.Write(f.body) // net/http drops the body of a HEAD
}

// etagMatches reports whether an If-None-Match header names etag. Written
// out rather than http.ServeContent, whose Range support would answer a
// bad range in plain text, where every error of this server is JSON.
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
