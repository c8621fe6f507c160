// Package boot wires what every service process needs before it can serve: the
// base configuration, the logger, MongoDB, Redis and the event bus, and the
// run loop with graceful shutdown. Service mains stay a few lines long.
package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongox"
	"github.com/communityinbox/shared/secretbox"
	"github.com/communityinbox/shared/web"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Base is the configuration every service shares.
type Base struct {
	MongoURI        string        `env:"MONGO_URI" default:"mongodb://127.0.0.1:27017/" help:"MongoDB (or FerretDB) connection string"`
	MongoDB         string        `env:"MONGO_DB" default:"communityinbox" help:"database name"`
	RedisURL        string        `env:"REDIS_URL" help:"Redis URL for the event bus, presence and replay; empty = in-process bus (single process only)"`
	RedisPrefix     string        `env:"REDIS_PREFIX" default:"ci:" help:"prefix of every Redis key"`
	JWTSecret       string        `env:"JWT_SECRET" default:"dev-only-secret-change-me-please" secret:"true" help:"HMAC key signing user tokens (shared by all services)"`
	TokenTTL        time.Duration `env:"TOKEN_TTL" default:"15m" help:"lifetime of login tokens"`
	LogLevel        string        `env:"LOG_LEVEL" default:"info" help:"debug, info, warn or error"`
	BodyLimit       string        `env:"BODY_LIMIT" default:"1M" help:"largest accepted request body"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"15s" help:"grace period for in-flight requests on shutdown"`
	EventHistory    int64         `env:"EVENT_HISTORY" default:"10000" help:"events kept per workspace stream for replay"`
	SecretsKey      string        `env:"SECRETS_KEY" secret:"true" help:"base64 of 32 random bytes encrypting platform secrets at rest (openssl rand -base64 32); empty = derived from JWT_SECRET, for development only"`
	SecretsKeyOld   []string      `env:"SECRETS_KEY_OLD" secret:"true" help:"comma-separated earlier SECRETS_KEY values, still accepted for reading after a rotation"`
}

// SecretBox returns the box encrypting platform secrets at rest: sealing with
// SECRETS_KEY, opening with it, SECRETS_KEY_OLD and the key derived from
// JWT_SECRET (so values sealed before SECRETS_KEY was set stay readable and
// are sealed again). Without SECRETS_KEY it seals with the derived key and warns:
// changing JWT_SECRET would then make every stored secret unreadable.
func SecretBox(b Base, log *slog.Logger) (*secretbox.Box, error) {
	var derived []secretbox.Key
	if b.JWTSecret != "" {
		k, err := secretbox.DeriveKey(b.JWTSecret)
		if err != nil {
			return nil, err
		}
		derived = append(derived, k)
	}
	var old []secretbox.Key
	for i, text := range b.SecretsKeyOld {
		k, err := secretbox.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("SECRETS_KEY_OLD #%d: %w", i+1, err)
		}
		old = append(old, k)
	}
	if b.SecretsKey == "" {
		if len(derived) == 0 {
			return nil, errors.New("SECRETS_KEY or JWT_SECRET must be set to encrypt platform secrets")
		}
		log.Warn("SECRETS_KEY is not set: platform secrets are encrypted with a key derived from JWT_SECRET; set SECRETS_KEY in production",
			"key_id", derived[0].ID())
		return secretbox.New(derived[0], old...)
	}
	current, err := secretbox.ParseKey(b.SecretsKey)
	if err != nil {
		return nil, fmt.Errorf("SECRETS_KEY: %w", err)
	}
	return secretbox.New(current, append(old, derived...)...)
}

// Infra is the connected infrastructure of a process.
type Infra struct {
	Log    *slog.Logger
	Mongo  *mongo.Client
	DB     *mongo.Database
	Redis  redis.UniversalClient // nil with the in-process bus
	Bus    event.Bus
	Tokens *auth.Tokens
}

// Checks returns the readiness checks of the infrastructure.
func (in *Infra) Checks() map[string]func(context.Context) error {
	c := map[string]func(context.Context) error{"mongo": mongox.Ping(in.DB)}
	if in.Redis != nil {
		r := in.Redis
		c["redis"] = func(ctx context.Context) error { return r.Ping(ctx).Err() }
	}
	return c
}

// Connect opens MongoDB and, when configured, Redis, and builds the bus.
func Connect(ctx context.Context, b Base, log *slog.Logger) (*Infra, error) {
	tokens, err := auth.NewTokens(b.JWTSecret, b.TokenTTL)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, err := mongox.Connect(cctx, b.MongoURI)
	if err != nil {
		return nil, err
	}
	in := &Infra{Log: log, Mongo: client, DB: client.Database(b.MongoDB), Tokens: tokens}
	if b.RedisURL == "" {
		in.Bus = event.NewMemoryBus(int(b.EventHistory))
		return in, nil
	}
	opt, err := redis.ParseURL(b.RedisURL)
	if err != nil {
		_ = client.Disconnect(ctx)
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	in.Redis = redis.NewClient(opt)
	if err := in.Redis.Ping(cctx).Err(); err != nil {
		_ = client.Disconnect(ctx)
		return nil, fmt.Errorf("redis ping: %w", err)
	}
	in.Bus = event.NewRedisBus(in.Redis, event.RedisOptions{Prefix: b.RedisPrefix, HistoryLen: b.EventHistory, Logger: log})
	return in, nil
}

// Close releases the bus, Redis and MongoDB, in that order.
func (in *Infra) Close() {
	_ = in.Bus.Close()
	if in.Redis != nil {
		_ = in.Redis.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = in.Mongo.Disconnect(ctx)
}

// Service is what a service package gives its main: an HTTP handler and the
// background workers, which run until the context ends.
type Service interface {
	Handler() http.Handler
	Run(ctx context.Context) error
}

// Main is the whole main function of a service process: it loads cfg (which must
// embed Base, reachable through base), connects the infrastructure, builds the
// service, serves addr() and shuts down gracefully on SIGINT/SIGTERM.
func Main(name string, cfg any, base *Base, addr func() string, build func(context.Context, *Infra) (Service, error)) {
	if err := config.Load(cfg, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, config.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := logging.New(os.Stdout, name, base.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, cfg, base, addr(), build); err != nil {
		log.Error("stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, cfg any, base *Base, addr string, build func(context.Context, *Infra) (Service, error)) error {
	log.Info("starting", "config", config.String(cfg))
	in, err := Connect(ctx, *base, log)
	if err != nil {
		return err
	}
	defer in.Close()
	svc, err := build(ctx, in)
	if err != nil {
		return err
	}
	return Serve(ctx, log, addr, svc, base.ShutdownTimeout)
}

// Serve runs svc's workers and HTTP server until ctx ends, then stops both within grace.
func Serve(ctx context.Context, log *slog.Logger, addr string, svc Service, grace time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := make(chan error, 1)
	go func() { workers <- svc.Run(ctx) }()
	srv := &http.Server{Addr: addr, Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	err := web.Serve(ctx, log, srv, grace)
	cancel()
	select {
	case werr := <-workers:
		if err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
			err = werr
		}
	case <-time.After(grace):
		log.Warn("workers did not stop within the grace period")
	}
	log.Info("stopped")
	return err
}
