// Package stack runs the inbox, CRM and gateway services in one process over
// one connected infrastructure, each on a listener of its own: `make run`
// starts it on fixed ports, the browser tests on free ones. The gateway is the
// entry point; the services' public URL is the gateway's unless set.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	crm "github.com/communityinbox/crm/service"
	gateway "github.com/communityinbox/gateway/service"
	inbox "github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/boot"
)

// Config is what Start needs. The services' own configs carry their
// settings; Start fills in Base, the addresses they call each other on and
// the public URL.
type Config struct {
	Base    boot.Base
	Gateway gateway.Config
	Inbox   inbox.Config
	CRM     crm.Config
	// Listen addresses; a port of 0 picks a free one.
	GatewayAddr, InboxAddr, CRMAddr string
	// PublicURL is the URL people and platforms reach the gateway at; empty
	// means the gateway's own listener URL.
	PublicURL string
}

// Stack is the running system.
type Stack struct {
	// GatewayURL, InboxURL and CRMURL are where each service listens.
	GatewayURL, InboxURL, CRMURL string
	// Infra is the shared infrastructure, for tests that look behind the API.
	Infra *boot.Infra
	done  chan error
}

// Start connects the infrastructure, builds the three services and serves
// them until ctx ends. It returns once every listener accepts connections.
func Start(ctx context.Context, log *slog.Logger, cfg Config) (*Stack, error) {
	lns := map[string]net.Listener{}
	closeAll := func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}
	for name, addr := range map[string]string{"gateway": cfg.GatewayAddr, "inbox": cfg.InboxAddr, "crm": cfg.CRMAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s: listen %s: %w", name, addr, err)
		}
		lns[name] = l
	}
	s := &Stack{GatewayURL: urlOf(lns["gateway"]), InboxURL: urlOf(lns["inbox"]), CRMURL: urlOf(lns["crm"]), done: make(chan error, 1)}
	public := cfg.PublicURL
	if public == "" {
		public = s.GatewayURL
	}

	in, err := boot.Connect(ctx, cfg.Base, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	s.Infra = in
	gw, ib, cr := cfg.Gateway, cfg.Inbox, cfg.CRM
	gw.Base, ib.Base, cr.Base = cfg.Base, cfg.Base, cfg.Base
	gw.InboxURL, gw.CRMURL = s.InboxURL, s.CRMURL
	ib.PublicURL, cr.PublicURL = public, public

	// The gateway last: it creates the first admin, and its proxy needs the others up.
	type built struct {
		name string
		svc  boot.Service
	}
	var services []built
	for _, b := range []struct {
		name  string
		build func(*boot.Infra) (boot.Service, error)
	}{
		{"inbox", func(in *boot.Infra) (boot.Service, error) { return inbox.New(ctx, ib, in) }},
		{"crm", func(in *boot.Infra) (boot.Service, error) { return crm.New(ctx, cr, in) }},
		{"gateway", func(in *boot.Infra) (boot.Service, error) { return gateway.New(ctx, gw, in) }},
	} {
		svc, err := b.build(withLog(in, log, b.name))
		if err != nil {
			closeAll()
			in.Close()
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		services = append(services, built{b.name, svc})
	}

	// One failing service stops the others: a half-running stack only confuses.
	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, len(services))
	for _, b := range services {
		go func() {
			err := serve(runCtx, log.With("component", b.name), lns[b.name], b.svc, cfg.Base.ShutdownTimeout)
			if err != nil {
				err = fmt.Errorf("%s: %w", b.name, err)
			}
			errc <- err
		}()
	}
	go func() {
		var first error
		for range services {
			if err := <-errc; err != nil && first == nil {
				first = err
				stop()
			}
		}
		stop()
		in.Close()
		s.done <- first
	}()
	return s, nil
}

// Wait blocks until every service has stopped (after the context of Start
// ended) and the infrastructure is closed, and returns the first failure.
func (s *Stack) Wait() error { return <-s.done }

// serve runs svc's workers and its HTTP server on l until ctx ends, then
// gives in-flight requests grace to finish.
func serve(ctx context.Context, log *slog.Logger, l net.Listener, svc boot.Service, grace time.Duration) error {
	if grace <= 0 {
		grace = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := make(chan error, 1)
	go func() { workers <- svc.Run(ctx) }()
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info("listening", "addr", l.Addr().String())
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, scancel := context.WithTimeout(context.Background(), grace)
		if serr := srv.Shutdown(sctx); serr != nil {
			_ = srv.Close()
			err = fmt.Errorf("shutdown: %w", serr)
		}
		scancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	cancel()
	select {
	case werr := <-workers:
		if err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
			err = werr
		}
	case <-time.After(grace):
		log.Warn("workers did not stop within the grace period")
	}
	return err
}

// withLog gives each service its own logger over the shared infrastructure.
func withLog(in *boot.Infra, log *slog.Logger, name string) *boot.Infra {
	c := *in
	c.Log = log.With("component", name)
	return &c
}

func urlOf(l net.Listener) string {
	a := l.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(a.Port)))
}
