// Command devstack is `make run`: the whole system in one process with embedded
// stores. It starts FerretDB (SQLite, under DATA_DIR) unless MONGO_URI is set,
// uses an in-process event bus unless REDIS_URL is set, and runs the inbox, CRM
// and gateway services on their own ports, the gateway being the entry point.
// Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	crm "github.com/communityinbox/crm/service"
	"github.com/communityinbox/devstack/embedded"
	"github.com/communityinbox/devstack/stack"
	gateway "github.com/communityinbox/gateway/service"
	inbox "github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/logging"
)

// Config is the dev stack's own configuration; each service's variables apply too.
type Config struct {
	DataDir       string `env:"DATA_DIR" default:"./data" help:"where the embedded FerretDB keeps its SQLite files"`
	HTTPPort      int    `env:"HTTP_PORT" default:"8080" help:"gateway port (the URL to open)"`
	InboxPort     int    `env:"INBOX_PORT" default:"8081" help:"inbox service port"`
	CRMPort       int    `env:"CRM_PORT" default:"8082" help:"CRM service port"`
	MongoURI      string `env:"MONGO_URI" help:"use this MongoDB instead of the embedded FerretDB"`
	AdminEmail    string `env:"ADMIN_EMAIL" default:"admin@example.com" help:"dev admin created on first run"`
	AdminPassword string `env:"ADMIN_PASSWORD" default:"admin-password" secret:"true" help:"dev admin password"`
	LogLevel      string `env:"LOG_LEVEL" default:"info" help:"debug, info, warn or error"`
}

func main() {
	var cfg Config
	var gw gateway.Config
	var ib inbox.Config
	var cr crm.Config
	for _, c := range []any{&cfg, &gw, &ib, &cr} {
		if err := config.Load(c, os.Args[1:], os.Stdout); err != nil {
			if errors.Is(err, config.ErrHelp) {
				return
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	log := logging.New(os.Stdout, "devstack", cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, cfg, gw, ib, cr); err != nil {
		log.Error("stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, cfg Config, gw gateway.Config, ib inbox.Config, cr crm.Config) error {
	base := gw.Base
	if cfg.MongoURI == "" {
		fctx, cancel := context.WithCancel(context.Background())
		ferret, err := embedded.Start(fctx, embedded.Config{Listen: "127.0.0.1:0", SQLiteDir: filepath.Join(cfg.DataDir, "ferretdb")})
		if err != nil {
			cancel()
			return err
		}
		defer func() { cancel(); ferret.Wait() }()
		base.MongoURI = ferret.URI
		log.Info("embedded FerretDB started", "dir", filepath.Join(cfg.DataDir, "ferretdb"))
	} else {
		base.MongoURI = cfg.MongoURI
	}
	gw.AdminEmail, gw.AdminPassword = cfg.AdminEmail, cfg.AdminPassword
	st, err := stack.Start(ctx, log, stack.Config{
		Base: base, Gateway: gw, Inbox: ib, CRM: cr,
		GatewayAddr: fmt.Sprintf(":%d", cfg.HTTPPort),
		InboxAddr:   fmt.Sprintf("127.0.0.1:%d", cfg.InboxPort),
		CRMAddr:     fmt.Sprintf("127.0.0.1:%d", cfg.CRMPort),
		PublicURL:   fmt.Sprintf("http://localhost:%d", cfg.HTTPPort),
	})
	if err != nil {
		return err
	}
	fmt.Printf("\n  Community Inbox is running: http://localhost:%d\n  Sign in as %s / %s\n  Ctrl-C stops everything.\n\n",
		cfg.HTTPPort, cfg.AdminEmail, cfg.AdminPassword)
	return st.Wait()
}
