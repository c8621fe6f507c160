// Package order ingests orders and refunds into the ledger: from the generic
// orders API and from Shopify webhooks (per-workspace integrations with
// HMAC-verified, de-duplicated deliveries). It finds or creates the buyer's
// contact, converts the amount into the workspace base currency once, at
// ingestion, and attributes the buyer to a referrer by referral code.
package order

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/money"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/shared/apperr"
)

// SourceAPI is the source of orders posted to the generic orders API.
const SourceAPI = "api"

// Customer identifies the buyer.
type Customer struct {
	Email          string `json:"email,omitempty"`
	Phone          string `json:"phone,omitempty"`
	Name           string `json:"name,omitempty"`
	ShopCustomerID string `json:"-"` // "<shop domain>:<id>", Shopify only
}

// Input is one order to ingest.
type Input struct {
	Source        string
	ExternalID    string
	Customer      Customer
	Currency      string
	TotalMinor    int64
	CreatedAt     time.Time
	ReferralCodes []string // candidates, highest priority first
}

// Result reports an ingestion.
type Result struct {
	Order        ledger.Order
	Duplicate    bool
	ContactID    string // canonical contact of the buyer
	Referral     ledger.ReferralOutcome
	ReferrerID   string
	ReferralCode string
	Refunds      []ledger.Refund // parked refunds applied with the order
}

// Contacts is what ingestion needs from the contact service.
type Contacts interface {
	Resolve(ctx context.Context, ws string, p contact.Profile) (contact.Resolved, error)
	CodeOwner(ctx context.Context, ws, code string) (string, error)
}

// Ledger is what ingestion needs from the ledger service.
type Ledger interface {
	BookOrder(ctx context.Context, o ledger.Order, referrerID string) (ledger.BookResult, error)
	BookRefund(ctx context.Context, rq ledger.RefundRequest) (ledger.RefundResult, error)
	Order(ctx context.Context, ws, key string) (ledger.Order, error)
	Now() time.Time
}

// Settings returns a workspace's settings.
type Settings interface {
	Get(ctx context.Context, ws string) (settings.Settings, error)
}

// Service ingests orders and refunds.
type Service struct {
	contacts     Contacts
	ledger       Ledger
	settings     Settings
	integrations IntegrationStore
	publicURL    string
}

// New returns an order service; publicURL prefixes the webhook URLs it hands out.
func New(c Contacts, l Ledger, s Settings, integrations IntegrationStore, publicURL string) *Service {
	return &Service{contacts: c, ledger: l, settings: s, integrations: integrations, publicURL: strings.TrimRight(publicURL, "/")}
}

// Ingest books one order: validation, currency conversion, buyer resolution,
// referral attribution (first registered code among the candidates; first
// touch wins) and the ledger entry. A repeated (source, external id) is
// reported as a duplicate and changes nothing.
func (s *Service) Ingest(ctx context.Context, ws string, in Input) (Result, error) {
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	switch {
	case in.ExternalID == "" || len(in.ExternalID) > 200:
		return Result{}, apperr.Invalid("external_id is required (at most 200 bytes)")
	case in.TotalMinor < 0 || in.TotalMinor > money.MaxAmount:
		return Result{}, apperr.Invalid("total_minor must be within 0..%d", money.MaxAmount)
	case in.Currency == "":
		return Result{}, apperr.Invalid("currency is required (ISO 4217)")
	}
	st, err := s.settings.Get(ctx, ws)
	if err != nil {
		return Result{}, err
	}
	rate, err := st.Rate(in.Currency)
	if err != nil {
		return Result{}, err
	}
	base, err := money.Convert(in.TotalMinor, in.Currency, st.BaseCurrency, rate)
	if err != nil {
		return Result{}, apperr.Invalid("cannot convert %s to %s: %v", in.Currency, st.BaseCurrency, err)
	}
	buyer, err := s.contacts.Resolve(ctx, ws, contact.Profile{Name: in.Customer.Name, Email: in.Customer.Email,
		Phone: in.Customer.Phone, ShopCustomerID: in.Customer.ShopCustomerID})
	if err != nil {
		if errors.Is(err, apperr.ErrInvalid) {
			return Result{}, apperr.Invalid("customer needs an email, a phone or a shop customer id")
		}
		return Result{}, err
	}
	res := Result{ContactID: buyer.ID}
	for _, code := range in.ReferralCodes {
		id, err := s.contacts.CodeOwner(ctx, ws, code)
		if errors.Is(err, apperr.ErrNotFound) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		res.ReferrerID, res.ReferralCode = id, strings.ToUpper(strings.TrimSpace(code))
		break
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.ledger.Now()
	}
	o := ledger.Order{Key: ledger.OrderKey(ws, in.Source, in.ExternalID), WorkspaceID: ws, Source: in.Source, ExternalID: in.ExternalID,
		ContactID: buyer.Owner, Currency: in.Currency, TotalMinor: in.TotalMinor, BaseCurrency: st.BaseCurrency, BaseMinor: base,
		Rate: rate.String(), CreatedAt: in.CreatedAt.UTC().Truncate(time.Millisecond), ReferralCode: res.ReferralCode,
		Email: contact.NormalizeEmail(in.Customer.Email), Phone: contact.NormalizePhone(in.Customer.Phone), Name: in.Customer.Name}
	br, err := s.ledger.BookOrder(ctx, o, res.ReferrerID)
	if err != nil {
		return Result{}, err
	}
	res.Order, res.Duplicate, res.Referral, res.Refunds = br.Order, br.Duplicate, br.Referral, br.Refunds
	if res.Duplicate {
		res.ReferrerID, res.ReferralCode, res.Referral = "", br.Order.ReferralCode, ledger.ReferralNone
	}
	return res, nil
}

// RefundInput is a refund posted to the generic orders API.
type RefundInput struct {
	ExternalID  string // the order's external id
	RefundID    string // optional idempotency key
	AmountMinor int64
}

// Refund books a refund of an API order. Without a refund id every call is a
// new refund.
func (s *Service) Refund(ctx context.Context, ws string, in RefundInput, newID func() string) (ledger.RefundResult, error) {
	if in.AmountMinor <= 0 || in.AmountMinor > money.MaxAmount {
		return ledger.RefundResult{}, apperr.Invalid("amount_minor must be positive")
	}
	if len(in.RefundID) > 200 {
		return ledger.RefundResult{}, apperr.Invalid("refund_id is longer than 200 bytes")
	}
	if in.RefundID == "" {
		in.RefundID = "auto-" + newID()
	}
	return s.ledger.BookRefund(ctx, ledger.RefundRequest{WorkspaceID: ws, OrderKey: ledger.OrderKey(ws, SourceAPI, in.ExternalID),
		RefundID: in.RefundID, AmountMinor: in.AmountMinor, At: s.ledger.Now()})
}
