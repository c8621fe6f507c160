// Package service assembles the gateway: accounts, the proxy to the inbox and CRM
// services, the realtime websocket hub, the OpenAPI document and the console.
package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/communityinbox/gateway/account"
	"github.com/communityinbox/gateway/accountstore"
	"github.com/communityinbox/gateway/api"
	"github.com/communityinbox/gateway/console"
	"github.com/communityinbox/gateway/proxy"
	"github.com/communityinbox/gateway/realtime"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// Config is the gateway's configuration.
type Config struct {
	boot.Base
	HTTPPort       int    `env:"HTTP_PORT" default:"8080" help:"port of the gateway, the single entry point for browsers"`
	InboxURL       string `env:"INBOX_URL" default:"http://127.0.0.1:8081" help:"base URL of the inbox service"`
	CRMURL         string `env:"CRM_URL" default:"http://127.0.0.1:8082" help:"base URL of the CRM service"`
	AdminEmail     string `env:"ADMIN_EMAIL" help:"email of the first admin, created on first run with an empty database"`
	AdminPassword  string `env:"ADMIN_PASSWORD" secret:"true" help:"password of the first admin"`
	WorkspaceName  string `env:"WORKSPACE_NAME" default:"My brand" help:"name of the workspace created on first run"`
	LoginPerMinute int    `env:"LOGIN_RATE_PER_MINUTE" default:"10" help:"login attempts allowed per email per minute (3x per client address)"`
}

// Addr is the listen address.
func (c Config) Addr() string { return fmt.Sprintf(":%d", c.HTTPPort) }

// InboxPrefixes are the paths the inbox service owns.
var InboxPrefixes = []string{"/api/v1/channels", "/api/v1/conversations", "/api/v1/messages", "/api/v1/labels",
	"/api/v1/canned-responses", "/api/v1/reports", "/api/v1/agents", "/api/v1/inbox", "/webhooks"}

// CRMPrefixes are the paths the CRM service owns. /webhooks/shopify is longer than /webhooks, so it wins.
var CRMPrefixes = []string{"/api/v1/contacts", "/api/v1/orders", "/api/v1/referrers", "/api/v1/segments", "/api/v1/crm", "/webhooks/shopify"}

// Service is the running gateway.
type Service struct {
	cfg     Config
	infra   *boot.Infra
	core    *account.Core
	hub     *realtime.Hub
	handler http.Handler
}

// New builds the gateway, creating indexes and the first admin when the installation is empty.
func New(ctx context.Context, cfg Config, in *boot.Infra) (*Service, error) {
	store := accountstore.New(in.DB)
	if err := store.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	core := account.NewCore(store, in.Tokens)
	created, err := core.Bootstrap(ctx, cfg.WorkspaceName, cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		return nil, err
	}
	if created {
		in.Log.Info("created first workspace and admin", "email", cfg.AdminEmail)
	}
	inboxURL, err := url.Parse(cfg.InboxURL)
	if err != nil {
		return nil, fmt.Errorf("INBOX_URL: %w", err)
	}
	crmURL, err := url.Parse(cfg.CRMURL)
	if err != nil {
		return nil, fmt.Errorf("CRM_URL: %w", err)
	}
	var routes []proxy.Route
	for _, p := range InboxPrefixes {
		routes = append(routes, proxy.Route{Prefix: p, Upstream: inboxURL})
	}
	for _, p := range CRMPrefixes {
		routes = append(routes, proxy.Route{Prefix: p, Upstream: crmURL})
	}
	px := proxy.New(routes, core, in.Tokens, in.Log)

	hub, err := realtime.NewHub(realtime.Config{Auth: tokenAuth{in.Tokens}, Source: in.Bus, Publisher: in.Bus, Seqs: in.Bus, Logger: in.Log})
	if err != nil {
		return nil, err
	}

	e, _ := web.New(in.Log, web.Options{Service: "gateway", BodyLimit: cfg.BodyLimit, Checks: in.Checks()})
	api.Register(e, core, in.Tokens, cfg.LoginPerMinute)
	e.GET("/ws", echo.WrapHandler(hub.Handler()))
	e.GET("/api/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })
	e.GET("/*", echo.WrapHandler(console.Handler()))

	s := &Service{cfg: cfg, infra: in, core: core, hub: hub}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if px.Match(r.URL.Path) {
			px.ServeHTTP(w, r)
			return
		}
		e.ServeHTTP(w, r)
	})
	return s, nil
}

// Handler is the gateway's HTTP handler.
func (s *Service) Handler() http.Handler { return s.handler }

// Run runs the websocket hub until ctx ends; it returns once every connection is closed.
func (s *Service) Run(ctx context.Context) error {
	return s.hub.Run(ctx)
}

// tokenAuth authenticates websocket connections with the users' JWTs.
type tokenAuth struct{ tokens *auth.Tokens }

func (a tokenAuth) Authenticate(_ context.Context, token string) (realtime.Principal, error) {
	p, err := a.tokens.Verify(token)
	if err != nil {
		return realtime.Principal{}, err
	}
	return realtime.Principal{UserID: p.UserID, WorkspaceID: p.WorkspaceID, Role: string(p.Role), Name: p.Name}, nil
}
