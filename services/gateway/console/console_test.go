package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIndexForClientRoutes(t *testing.T) {
	h := Handler()
	v := Version()
	if len(v) != 16 {
		t.Fatalf("version %q", v)
	}
	for _, p := range []string{"/", "/inbox", "/inbox/abc123", "/contacts/c-1", "/reports", "/login", "/segments?x=1"} {
		rec := get(t, h, http.MethodGet, p, nil)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: content type %q", p, ct)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: cache control %q", p, cc)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `src="/assets/`+v+`/js/main.js"`) || strings.Contains(body, versionPlaceholder) {
			t.Errorf("%s: index does not reference the versioned module: %s", p, body)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers %v", p, rec.Header())
		}
	}
	if rec := get(t, h, http.MethodHead, "/inbox", nil); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "default-src 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-") {
		t.Errorf("CSP allows unsafe code: %s", ContentSecurityPolicy)
	}
}

func TestAssets(t *testing.T) {
	h := Handler()
	v := Version()
	cases := map[string]string{
		"/assets/" + v + "/js/main.js":   "text/javascript; charset=utf-8",
		"/assets/" + v + "/css/app.css":  "text/css; charset=utf-8",
		"/assets/" + v + "/icon.svg":     "image/svg+xml",
		"/assets/" + v + "/js/money.js":  "text/javascript; charset=utf-8",
		"/assets/" + v + "/js/charts.js": "text/javascript; charset=utf-8",
	}
	for p, ct := range cases {
		rec := get(t, h, http.MethodGet, p, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != ct {
			t.Fatalf("%s: %d %q", p, rec.Code, rec.Header().Get("Content-Type"))
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: cache control %q", p, cc)
		}
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", p)
		}
		if again := get(t, h, http.MethodGet, p, map[string]string{"If-None-Match": etag}); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s revalidation: %d, %d bytes", p, again.Code, again.Body.Len())
		}
	}
	// A page of an older deploy still gets today's file, but not for keeps.
	old := get(t, h, http.MethodGet, "/assets/0000000000000000/js/main.js", nil)
	if old.Code != 200 || old.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: %d %q", old.Code, old.Header().Get("Cache-Control"))
	}
	if rec := get(t, h, http.MethodGet, "/assets/"+v+"/js/missing.js", nil); rec.Code != 404 {
		t.Errorf("missing asset: %d", rec.Code)
	}
	if rec := get(t, h, http.MethodGet, "/assets/"+v+"/index.html", nil); rec.Code != 404 {
		t.Errorf("index under assets: %d", rec.Code)
	}
	if rec := get(t, h, http.MethodGet, "/robots.txt", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Disallow") {
		t.Errorf("robots: %d", rec.Code)
	}
}

func TestReservedPathsAreNotThePage(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/api/v1/nothing", "/api", "/ws", "/webhooks/facebook/x", "/healthz", "/readyz", "/metrics", "/logo.png", "/favicon.ico"} {
		rec := get(t, h, http.MethodGet, p, nil)
		if rec.Code != 404 {
			t.Errorf("%s: status %d", p, rec.Code)
			continue
		}
		if strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("%s: answered with the page", p)
		}
		if p != "/logo.png" && p != "/favicon.ico" && !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("%s: body %s", p, rec.Body.String())
		}
	}
	if rec := get(t, h, http.MethodPost, "/inbox", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %v", rec.Code, rec.Header())
	}
}

var (
	inlineScript = regexp.MustCompile(`<script\b[^>]*>`)
	handlerAttr  = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr    = regexp.MustCompile(`(?i)\sstyle\s*=`)
	staticImport = regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"](\.[^'"]+)['"]`)
	viewImport   = regexp.MustCompile("import\\(`\\./views/\\$\\{[^}]+\\}\\.js`\\)")
	routeView    = regexp.MustCompile(`view: '([a-z]+)'`)
)

// TestNoInlineCode holds the page to the CSP: a script without src, an
// event-handler attribute or a style attribute would be blocked in the browser.
func TestNoInlineCode(t *testing.T) {
	idx, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range inlineScript.FindAllString(string(idx), -1) {
		if !strings.Contains(tag, " src=") || !strings.Contains(tag, `type="module"`) {
			t.Errorf("inline or classic script: %s", tag)
		}
	}
	if handlerAttr.Match(idx) || styleAttr.Match(idx) {
		t.Error("index.html has inline handlers or styles")
	}
	walkJS(t, func(name, src string) {
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".setAttribute('style'"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	})
}

// TestModuleGraph checks every relative import resolves to an embedded file,
// and every routed view exists, so a typo cannot ship a blank console.
func TestModuleGraph(t *testing.T) {
	s, err := loaded()
	if err != nil {
		t.Fatal(err)
	}
	walkJS(t, func(name, src string) {
		for _, m := range staticImport.FindAllStringSubmatch(src, -1) {
			target := path.Clean(path.Join(path.Dir(name), m[1]))
			if _, ok := s.assets[target]; !ok {
				t.Errorf("%s imports %s: no such file (%s)", name, m[1], target)
			}
		}
	})
	main, _ := fs.ReadFile(static, "static/js/main.js")
	if !viewImport.Match(main) {
		t.Fatal("main.js no longer loads views by name; update this test")
	}
	views := routeView.FindAllStringSubmatch(string(main), -1)
	if len(views) < 5 {
		t.Fatalf("found %d routes", len(views))
	}
	for _, m := range views {
		if _, ok := s.assets["js/views/"+m[1]+".js"]; !ok {
			t.Errorf("route view %s has no module", m[1])
		}
	}
}

func walkJS(t *testing.T, fn func(name, src string)) {
	t.Helper()
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		n++
		fn(strings.TrimPrefix(p, "static/"), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d modules embedded", n)
	}
}
