// Package proxy routes /api and /webhooks requests from the gateway to the service
// that owns them, by path prefix, swapping an integration's API key for a
// short-lived token so the services only ever verify JWTs.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/communityinbox/shared/auth"
)

// Route sends requests whose path starts with Prefix to Upstream, path unchanged.
type Route struct {
	Prefix   string
	Upstream *url.URL
}

// KeyResolver turns an API key into the principal it acts for.
type KeyResolver interface {
	ResolveAPIKey(ctx context.Context, key string) (auth.Principal, error)
}

// Proxy is the http.Handler forwarding to the services.
type Proxy struct {
	routes  []Route
	proxies []*httputil.ReverseProxy
	keys    KeyResolver
	tokens  *auth.Tokens
	log     *slog.Logger
}

// integrationTokenTTL bounds the token minted for one proxied API-key request.
const integrationTokenTTL = time.Minute

// New returns a proxy over routes; longer prefixes win.
func New(routes []Route, keys KeyResolver, tokens *auth.Tokens, log *slog.Logger) *Proxy {
	p := &Proxy{keys: keys, tokens: tokens, log: log}
	for _, r := range routes {
		up := r.Upstream
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(up)
				pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
				pr.SetXForwarded()
			},
			FlushInterval: -1,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if !errors.Is(err, context.Canceled) {
					log.Warn("upstream unavailable", "upstream", up.Host, "err", err)
				}
				writeError(w, http.StatusBadGateway, "unavailable", "the service behind this route is unavailable")
			},
		}
		p.routes = append(p.routes, r)
		p.proxies = append(p.proxies, rp)
	}
	return p
}

// Match reports whether path is served by one of the routes.
func (p *Proxy) Match(path string) bool { return p.route(path) >= 0 }

func (p *Proxy) route(path string) int {
	best, bestLen := -1, -1
	for i, r := range p.routes {
		if (path == r.Prefix || strings.HasPrefix(path, r.Prefix+"/") || strings.HasPrefix(path, r.Prefix+"?")) && len(r.Prefix) > bestLen {
			best, bestLen = i, len(r.Prefix)
		}
	}
	return best
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := p.route(r.URL.Path)
	if i < 0 {
		writeError(w, http.StatusNotFound, "not_found", "route not found")
		return
	}
	key := r.Header.Get("X-API-Key")
	if tok, ok := bearer(r); ok && auth.IsAPIKey(tok) {
		key = tok
	}
	if key != "" {
		pr, err := p.keys.ResolveAPIKey(r.Context(), key)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid API key")
			return
		}
		tok, _, err := p.tokens.IssueFor(pr, integrationTokenTTL)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("X-API-Key")
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	p.proxies[i].ServeHTTP(w, r)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	_ = json.NewEncoder(w).Encode(body)
}
