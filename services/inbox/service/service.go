// Package service assembles the inbox: configuration, stores, queue, workers,
// the YouTube poller and the HTTP handler, for cmd/inbox and for tests.
package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/communityinbox/inbox/api"
	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/channel/channeldb"
	"github.com/communityinbox/inbox/conversation/conversationdb"
	"github.com/communityinbox/inbox/inbound"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/inbox/priority"
	"github.com/communityinbox/inbox/priority/prioritydb"
	"github.com/communityinbox/inbox/reporting"
	"github.com/communityinbox/inbox/reporting/reportingdb"
	"github.com/communityinbox/inbox/routing"
	"github.com/communityinbox/inbox/routing/routingdb"
	"github.com/communityinbox/inbox/triage"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/inbox/youtube"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Config is the inbox's configuration.
type Config struct {
	boot.Base
	HTTPAddr         string        `env:"INBOX_ADDR" default:":8081" help:"listen address"`
	PublicURL        string        `env:"PUBLIC_URL" default:"http://localhost:8080" help:"public base URL of the gateway, for the webhook URLs of channels"`
	WebhookBodyLimit int64         `env:"INBOX_WEBHOOK_BODY_LIMIT" default:"1048576" help:"largest webhook or API message body, in bytes"`
	IngestWorkers    int           `env:"INBOX_INGEST_WORKERS" default:"2" help:"workers storing queued webhooks"`
	IngestBatch      int           `env:"INBOX_INGEST_BATCH" default:"200" help:"webhooks a worker claims at a time"`
	IngestMaxBatch   int           `env:"INBOX_INGEST_MAX_BATCH" default:"4000" help:"webhooks a worker gathers into one batch while a backlog waits (one write per touched conversation per batch)"`
	IngestFoldMax    int           `env:"INBOX_INGEST_FOLD_MAX" default:"20000" help:"webhooks stored batch after batch while a backlog waits before their conversations are counted and their events published together (one write per touched conversation per fold)"`
	IngestFoldAfter  time.Duration `env:"INBOX_INGEST_FOLD_AFTER" default:"5s" help:"longest a stored webhook waits for its fold while a backlog waits (at most a quarter of the lease); a quiet queue folds each batch at once"`
	IngestLease      time.Duration `env:"INBOX_INGEST_LEASE" default:"30s" help:"time after which a webhook claimed by a dead worker is handed to another"`
	MongoUpdateBatch int           `env:"INBOX_MONGO_UPDATE_BATCH" default:"16" help:"updates per bulk write (FerretDB 1.x hangs on ~100; MongoDB takes thousands)"`
	SerializeWrites  string        `env:"INBOX_SERIALIZE_WRITES" default:"auto" help:"store one batch at a time: auto (when the server is FerretDB, whose updates are not atomic), true, false"`
	ChannelCacheTTL  time.Duration `env:"INBOX_CHANNEL_CACHE_TTL" default:"30s" help:"how long webhook routing trusts a cached channel"`
	YouTubeAPIURL    string        `env:"YOUTUBE_API_URL" default:"https://www.googleapis.com/youtube/v3" help:"YouTube Data API base URL"`
	YouTubeInterval  time.Duration `env:"YOUTUBE_POLL_INTERVAL" default:"5m" help:"shortest interval between comment polls (stretched to fit the quota)"`
	YouTubeQuota     int           `env:"YOUTUBE_DAILY_QUOTA" default:"10000" help:"YouTube API units per day"`
	YouTubeMaxPages  int           `env:"YOUTUBE_MAX_PAGES" default:"5" help:"comment pages per channel or video per poll"`
	WorkflowConfig
}

// Service is the running inbox.
type Service struct {
	cfg      Config
	in       *boot.Infra
	echo     *echo.Echo
	queue    ingest.Queue
	proc     *ingest.Processor
	poller   *youtube.Poller
	Channels *channel.Service
	Store    *conversationdb.Store
	// Reports measures response times from the bus (its worker runs in Run).
	Reports *reporting.Service
	// Workflow is the agents' workflow (its outbox and snooze workers run in Run).
	Workflow *workflow.Service
	// Routing auto-assigns conversations (its worker runs in Run).
	Routing *routing.Service
	// Priority raises conversations' priority by triage (its worker runs in Run).
	Priority *priority.Service
}

// New builds the inbox on in, creating indexes.
func New(ctx context.Context, cfg Config, in *boot.Infra) (*Service, error) {
	box, err := boot.SecretBox(cfg.Base, in.Log)
	if err != nil {
		return nil, err
	}
	chStore, err := channeldb.New(ctx, in.DB, box)
	if err != nil {
		return nil, err
	}
	serialize, err := serializeWrites(ctx, cfg.SerializeWrites, in.DB)
	if err != nil {
		return nil, err
	}
	store, err := conversationdb.New(ctx, in.DB, conversationdb.Options{MaxUpdatesPerCommand: cfg.MongoUpdateBatch, SingleWriter: serialize})
	if err != nil {
		return nil, err
	}
	var q ingest.Queue
	if in.Redis != nil {
		q = inbound.NewRedis(in.Redis, inbound.RedisOptions{Prefix: cfg.RedisPrefix, Lease: cfg.IngestLease})
	} else {
		if q, err = inbound.NewMongo(ctx, in.DB, inbound.MongoOptions{Lease: cfg.IngestLease}); err != nil {
			return nil, err
		}
	}
	if serialize {
		in.Log.Warn("storing one ingest batch at a time: the database's updates are not atomic under concurrency (FerretDB)")
	}
	channels := channel.NewService(chStore, cfg.ChannelCacheTTL)
	proc := ingest.NewProcessor(store, channels, in.Bus, in.Log, ingest.ProcessorOptions{Serialize: serialize})
	e, _ := web.New(in.Log, web.Options{Service: "inbox", BodyLimit: cfg.BodyLimit, Checks: in.Checks()})
	api.Register(e, api.Deps{Channels: channels, Receiver: ingest.NewReceiver(channels, q, in.Log), Tokens: in.Tokens,
		PublicURL: cfg.PublicURL, WebhookBodyLimit: cfg.WebhookBodyLimit})
	reportStore, err := reportingdb.New(ctx, in.DB)
	if err != nil {
		return nil, err
	}
	reports := reporting.NewService(reportStore, channels)
	api.RegisterReports(e, api.ReportDeps{Reports: reports, Tokens: in.Tokens})
	routeStore, err := routingdb.New(ctx, in.DB)
	if err != nil {
		return nil, err
	}
	router := routing.NewService(routeStore, store, channels, in.Bus, in.Log)
	api.RegisterRouting(e, api.RoutingDeps{Routing: router, Tokens: in.Tokens})
	prioStore, err := prioritydb.New(ctx, in.DB)
	if err != nil {
		return nil, err
	}
	prio := priority.NewService(prioStore, store, in.Bus, triage.Config{}, in.Log)
	wf, err := newWorkflow(ctx, cfg, in, e, channels)
	if err != nil {
		return nil, err
	}
	poller := youtube.NewPoller(channels, proc, youtube.Options{BaseURL: strings.TrimRight(cfg.YouTubeAPIURL, "/"),
		Interval: cfg.YouTubeInterval, DailyQuota: cfg.YouTubeQuota, MaxPages: cfg.YouTubeMaxPages}, in.Log)
	return &Service{cfg: cfg, in: in, echo: e, queue: q, proc: proc, poller: poller, Channels: channels, Store: store, Reports: reports, Workflow: wf, Routing: router, Priority: prio}, nil
}

// serializeWrites decides whether ingest batches must not overlap: FerretDB
// 1.x applies an update as a read-modify-write without concurrency control,
// so two batches touching one document could lose a write.
func serializeWrites(ctx context.Context, mode string, db *mongo.Database) (bool, error) {
	switch mode {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "auto", "":
	default:
		return false, fmt.Errorf("INBOX_SERIALIZE_WRITES: want auto, true or false, got %q", mode)
	}
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("buildInfo: %w", err)
	}
	// FerretDB 1.x answers with ferretdbVersion, 2.x with a ferretdb document.
	_, v1 := info["ferretdbVersion"]
	_, v2 := info["ferretdb"]
	return v1 || v2, nil
}

// Handler is the HTTP handler.
func (s *Service) Handler() http.Handler { return s.echo }

// Queue is the delivery queue, for tests and benchmarks.
func (s *Service) Queue() ingest.Queue { return s.queue }

// Processor is the ingest processor, for tests and benchmarks.
func (s *Service) Processor() *ingest.Processor { return s.proc }

// Poller is the YouTube poller, for tests.
func (s *Service) Poller() *youtube.Poller { return s.poller }

// NewWorker returns an ingest worker on the service's queue.
func (s *Service) NewWorker() *ingest.Worker {
	budget := s.cfg.IngestLease / 4
	return ingest.NewWorker(s.queue, s.proc, ingest.WorkerOptions{Batch: s.cfg.IngestBatch,
		MaxBatch: s.cfg.IngestMaxBatch, Budget: budget, FoldMax: s.cfg.IngestFoldMax,
		FoldAfter: min(s.cfg.IngestFoldAfter, budget), Grace: s.cfg.IngestLease / 2}, s.in.Log)
}

// Run runs the ingest workers, the YouTube poller and the workflow's bus
// consumers until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, max(s.cfg.IngestWorkers, 1)+8) // at least one per goroutine below, so none blocks
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
			}
		}()
	}
	for range max(s.cfg.IngestWorkers, 1) {
		run(s.NewWorker().Run)
	}
	run(s.poller.Run)
	run(func(ctx context.Context) error { return s.Reports.Run(ctx, s.in.Bus) })
	run(func(ctx context.Context) error { return s.Routing.Run(ctx, s.in.Bus) })
	run(func(ctx context.Context) error { return s.Priority.Run(ctx, s.in.Bus) })
	run(s.Workflow.RunOutbox)
	run(s.Workflow.RunSnooze)
	wg.Wait()
	close(errs)
	return <-errs
}
