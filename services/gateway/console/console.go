// Package console serves the browser console: plain HTML, CSS and JavaScript
// modules embedded in the gateway binary, with the single-page fallback for
// client-side routes, long-lived caching of versioned assets and a strict
// Content-Security-Policy.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// AssetPrefix is where versioned assets live: /assets/<version>/<file>. The
// version is a hash of every embedded file, so a deploy changes every URL and
// the files themselves can be cached forever.
const AssetPrefix = "/assets/"

// versionPlaceholder is replaced in index.html by the asset version.
const versionPlaceholder = "__ASSET_VERSION__"

// ContentSecurityPolicy allows only same-origin scripts, styles and
// connections (fetch and the websocket), no inline code, no framing. Images
// may come from platform CDNs (attachments and avatars) over https.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// reserved are the path prefixes that belong to the API and operations; the
// console never answers them with its page, so a mistyped API path is a 404,
// not HTML.
var reserved = []string{"/api/", "/ws", "/webhooks/", "/healthz", "/readyz", "/metrics"}

// asset is one embedded file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// site is the embedded console, indexed once at start.
type site struct {
	version string
	index   asset
	assets  map[string]asset // by path relative to static/
}

// Handler serves the console: index.html for / and every client-side route,
// the assets under /assets/<version>/, and 404 for reserved paths.
func Handler() http.Handler {
	s, err := loaded()
	if err != nil {
		// The files are compiled in; failing here means the binary is broken.
		panic("console: " + err.Error())
	}
	return s
}

// Version is the current asset version, a hash of the embedded files.
func Version() string {
	s, err := loaded()
	if err != nil {
		return ""
	}
	return s.version
}

// loaded indexes the embedded files once per process.
var loaded = sync.OnceValues(func() (*site, error) { return load(static) })

func load(fsys fs.FS) (*site, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	s := &site{assets: map[string]asset{}}
	var names []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	all := sha256.New()
	for _, p := range names {
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return nil, err
		}
		all.Write([]byte(p))
		all.Write(b)
		if p == "index.html" {
			s.index.body = b
			continue
		}
		s.assets[p] = newAsset(p, b)
	}
	s.version = hex.EncodeToString(all.Sum(nil))[:16]
	s.index = newAsset("index.html", bytes.ReplaceAll(s.index.body, []byte(versionPlaceholder), []byte(s.version)))
	return s, nil
}

func newAsset(name string, b []byte) asset {
	sum := sha256.Sum256(b)
	return asset{body: b, contentType: contentType(name), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// contentType names the type of an embedded file; the table is explicit so
// the answer does not depend on the host's mime database.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".webmanifest":
		return "application/manifest+json"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if isReserved(p) {
		notFound(w)
		return
	}
	if rest, ok := strings.CutPrefix(p, AssetPrefix); ok {
		version, name, _ := strings.Cut(rest, "/")
		a, ok := s.assets[name]
		if !ok {
			notFound(w)
			return
		}
		if version == s.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// A page from the previous deploy asks for its version: answer
			// with today's file but do not let it stick under the old URL.
			h.Set("Cache-Control", "no-cache")
		}
		serve(w, r, a)
		return
	}
	if p == "/favicon.ico" || p == "/robots.txt" {
		if a, ok := s.assets[strings.TrimPrefix(p, "/")]; ok {
			h.Set("Cache-Control", "public, max-age=86400")
			serve(w, r, a)
			return
		}
		notFound(w)
		return
	}
	if path.Ext(p) != "" {
		// A file name that is not an asset: no page behind it either.
		notFound(w)
		return
	}
	// Every other path is a client-side route: the page decides.
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	serve(w, r, s.index)
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func isReserved(p string) bool {
	for _, r := range reserved {
		if p == strings.TrimSuffix(r, "/") || strings.HasPrefix(p, r) {
			return true
		}
	}
	return false
}

// notFound answers in the API's error shape, since reserved paths are API paths.
func notFound(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"route not found"}}` + "\n"))
}
