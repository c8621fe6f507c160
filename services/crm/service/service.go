// Package service wires the CRM: configuration, stores, business services,
// the HTTP API and the event consumer that follows the inbox.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/communityinbox/crm/api"
	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/segment"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/crm/store"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/web"
)

// Config is the CRM's configuration.
type Config struct {
	boot.Base
	HTTPAddr         string        `env:"CRM_ADDR" default:":8082" help:"listen address of the CRM API"`
	PublicURL        string        `env:"PUBLIC_URL" default:"http://localhost:8080" help:"external base URL used in webhook URLs"`
	LeaseTTL         time.Duration `env:"CRM_LEASE_TTL" default:"60s" help:"how long a crashed writer blocks a workspace's value updates"`
	LeaseLinger      time.Duration `env:"CRM_LEASE_LINGER" default:"50ms" help:"how long a process keeps a workspace's value lease after an update, for the next one (0 = release at once)"`
	WebhookBodyLimit int64         `env:"CRM_WEBHOOK_BODY_LIMIT" default:"1048576" help:"largest accepted Shopify webhook body, bytes"`
}

// ConsumerGroup is the CRM's durable consumer group on the bus.
const ConsumerGroup = "crm"

// Options are test hooks; the zero value is production.
type Options struct {
	Now func() time.Time
}

// Service is the CRM process.
type Service struct {
	log      *slog.Logger
	bus      event.Bus
	handler  http.Handler
	lease    *store.Lease
	Contacts *contact.Service
	Ledger   *ledger.Service
	Orders   *order.Service
	Settings *settings.Service
	Segments *segment.Service
}

// New builds the CRM on the connected infrastructure and creates its indexes.
func New(ctx context.Context, cfg Config, in *boot.Infra) (*Service, error) {
	return NewWith(ctx, cfg, in, Options{})
}

// NewWith is New with test hooks.
func NewWith(ctx context.Context, cfg Config, in *boot.Infra, o Options) (*Service, error) {
	if err := store.EnsureIndexes(ctx, in.DB); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{log: in.Log, bus: in.Bus}
	ledgerStore := store.NewLedger(in.DB)
	n := &notifier{bus: in.Bus, log: in.Log}
	var params paramsProxy
	s.lease = store.NewLease(in.DB, cfg.LeaseTTL, cfg.LeaseLinger)
	s.Ledger = ledger.New(ledgerStore, s.lease, &params, n, now)
	s.Settings = settings.New(store.NewSettings(in.DB), s.Ledger, now)
	params.src = s.Settings
	s.Contacts = contact.New(store.NewContacts(in.DB), s.Ledger, in.Bus, in.Log, now)
	n.contacts = s.Contacts
	box, err := boot.SecretBox(cfg.Base, in.Log)
	if err != nil {
		return nil, err
	}
	integrations := store.NewIntegrations(in.DB, box)
	sealed, err := integrations.Reseal(ctx)
	if err != nil {
		return nil, err
	}
	if sealed.Resealed > 0 {
		in.Log.InfoContext(ctx, "crm: integration secrets resealed", "count", sealed.Resealed)
	}
	if sealed.Unreadable > 0 {
		in.Log.WarnContext(ctx, "crm: integration secrets unreadable with the configured keys", "count", sealed.Unreadable)
	}
	s.Orders = order.New(s.Contacts, s.Ledger, s.Settings, integrations, cfg.PublicURL)
	s.Segments = segment.New(store.NewSegments(in.DB), s.Contacts, now)

	e, _ := web.New(in.Log, web.Options{Service: "crm", BodyLimit: cfg.BodyLimit, Checks: in.Checks()})
	api.Register(e, api.Deps{Tokens: in.Tokens, Log: in.Log, Contacts: s.Contacts, Ledger: s.Ledger, Orders: s.Orders,
		Settings: s.Settings, Segments: s.Segments, WebhookBodyLimit: cfg.WebhookBodyLimit})
	s.handler = e
	return s, nil
}

// paramsProxy breaks the construction cycle ledger → settings → ledger.
type paramsProxy struct{ src ledger.ParamsSource }

func (p *paramsProxy) Params(ctx context.Context, ws string) (ledger.Params, error) {
	return p.src.Params(ctx, ws)
}

// Handler implements boot.Service.
func (s *Service) Handler() http.Handler { return s.handler }

// Run consumes the bus as group "crm" until ctx ends: identities the inbox
// announces, and messages and conversations for the projection and influence.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close(context.Background())
	err := s.bus.Consume(ctx, ConsumerGroup, s.HandleEvent)
	if errors.Is(err, event.ErrClosed) || ctx.Err() != nil {
		return nil
	}
	return err
}

// Close releases the value leases the process keeps between updates, so
// that another process can take them at once; later updates release theirs
// immediately.
func (s *Service) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.lease.Close(ctx)
}

// HandleEvent applies one bus event. Malformed events are logged and
// dropped; storage errors are returned so the bus redelivers.
func (s *Service) HandleEvent(ctx context.Context, e event.Event) error {
	var err error
	switch e.Type {
	case event.IdentitySeen:
		var d contact.IdentitySeen
		if jerr := json.Unmarshal(e.Data, &d); jerr != nil {
			s.log.WarnContext(ctx, "identity.seen: bad data", "event", e.ID, "err", jerr)
			return nil
		}
		_, err = s.Contacts.ObserveIdentity(ctx, e.WorkspaceID, d)
	case event.MessageCreated, event.ConversationUpdated:
		err = s.Contacts.ObserveInbox(ctx, e)
	default:
		return nil
	}
	if errors.Is(err, apperr.ErrInvalid) {
		s.log.WarnContext(ctx, "event dropped", "type", e.Type, "event", e.ID, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.Type, err)
	}
	return nil
}

// Recompute rebuilds every value of a workspace from its ledger.
func (s *Service) Recompute(ctx context.Context, ws string) (ledger.RecomputeStats, error) {
	return s.Ledger.Recompute(ctx, ws)
}
