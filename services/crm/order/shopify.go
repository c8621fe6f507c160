package order

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/shopify"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
)

// Integration is a Shopify store connected to a workspace. Secret signs the
// store's webhooks; it is never returned by the API.
type Integration struct {
	ID          string
	WorkspaceID string
	ShopDomain  string
	Secret      string
	CreatedAt   time.Time
}

// IntegrationStore keeps integrations and the webhook deliveries already handled.
type IntegrationStore interface {
	CreateIntegration(ctx context.Context, in Integration) error
	// Integration finds an integration by id alone: a webhook names no workspace.
	Integration(ctx context.Context, id string) (Integration, error)
	Integrations(ctx context.Context, ws string) ([]Integration, error)
	DeleteIntegration(ctx context.Context, ws, id string) error
	DeliverySeen(ctx context.Context, integrationID, webhookID string) (bool, error)
	RecordDelivery(ctx context.Context, integrationID, webhookID, topic string) error
}

var shopDomain = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}(\.[a-z0-9][a-z0-9-]{0,62})+$`)

// Connect registers a Shopify store and returns the integration and its webhook URL.
func (s *Service) Connect(ctx context.Context, ws, domain, secret string) (Integration, string, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if !shopDomain.MatchString(domain) {
		return Integration{}, "", apperr.Invalid("shop_domain must be a host name like example.myshopify.com")
	}
	if len(secret) < 16 || len(secret) > 256 {
		return Integration{}, "", apperr.Invalid("secret must be 16 to 256 characters (the app's client secret)")
	}
	in := Integration{ID: auth.RandomID(), WorkspaceID: ws, ShopDomain: domain, Secret: secret, CreatedAt: s.ledger.Now()}
	if err := s.integrations.CreateIntegration(ctx, in); err != nil {
		return Integration{}, "", err
	}
	return in, s.WebhookURL(in.ID), nil
}

// WebhookURL returns the absolute URL Shopify must post to for an integration.
func (s *Service) WebhookURL(id string) string { return s.publicURL + "/webhooks/shopify/" + id }

// Integrations lists a workspace's Shopify integrations.
func (s *Service) Integrations(ctx context.Context, ws string) ([]Integration, error) {
	return s.integrations.Integrations(ctx, ws)
}

// Disconnect removes an integration; its webhooks then answer 404.
func (s *Service) Disconnect(ctx context.Context, ws, id string) error {
	return s.integrations.DeleteIntegration(ctx, ws, id)
}

// Delivery is one webhook request as received.
type Delivery struct {
	IntegrationID string
	HMAC          string // X-Shopify-Hmac-Sha256
	Topic         string // X-Shopify-Topic
	WebhookID     string // X-Shopify-Webhook-Id
	ShopDomain    string // X-Shopify-Shop-Domain
	Body          []byte
}

// DeliveryResult reports what a delivery did.
type DeliveryResult struct {
	WorkspaceID string
	Duplicate   bool
	Ignored     bool // a topic the CRM does not use
	Order       *Result
	Refund      *ledger.RefundResult
}

// Topics the CRM handles.
const (
	TopicOrderCreate  = "orders/create"
	TopicRefundCreate = "refunds/create"
)

// HandleWebhook verifies and applies one Shopify delivery. A forged
// signature is refused with 401 before anything is read or stored; a
// delivery id seen before is acknowledged without doing anything.
func (s *Service) HandleWebhook(ctx context.Context, d Delivery) (DeliveryResult, error) {
	in, err := s.integrations.Integration(ctx, d.IntegrationID)
	if err != nil {
		return DeliveryResult{}, err
	}
	if err := shopify.VerifyHMAC(in.Secret, d.Body, d.HMAC); err != nil {
		return DeliveryResult{}, apperr.Unauthorized("invalid webhook signature")
	}
	if d.ShopDomain != "" && !strings.EqualFold(d.ShopDomain, in.ShopDomain) {
		return DeliveryResult{}, apperr.Unauthorized("webhook from another shop")
	}
	res := DeliveryResult{WorkspaceID: in.WorkspaceID}
	if d.WebhookID != "" {
		seen, err := s.integrations.DeliverySeen(ctx, in.ID, d.WebhookID)
		if err != nil {
			return res, err
		}
		if seen {
			res.Duplicate = true
			return res, nil
		}
	}
	source := "shopify:" + in.ShopDomain
	switch d.Topic {
	case TopicOrderCreate:
		o, err := shopify.ParseOrder(d.Body)
		if err != nil {
			return res, apperr.Invalid("orders/create body: %v", err)
		}
		r, err := s.Ingest(ctx, in.WorkspaceID, shopifyInput(source, in.ShopDomain, o))
		if err != nil {
			return res, err
		}
		res.Order, res.Duplicate = &r, r.Duplicate
	case TopicRefundCreate:
		r, err := s.shopifyRefund(ctx, in, source, d.Body)
		if err != nil {
			return res, err
		}
		res.Refund, res.Duplicate = &r, r.Duplicate
	default:
		res.Ignored = true
	}
	if d.WebhookID != "" {
		if err := s.integrations.RecordDelivery(ctx, in.ID, d.WebhookID, d.Topic); err != nil {
			return res, err
		}
	}
	return res, nil
}

// shopifyInput maps a parsed order. The order id comes from the GraphQL id
// when there is one: the numeric id may have lost precision on the way.
func shopifyInput(source, domain string, o shopify.Order) Input {
	id := o.ID
	if gid, ok := strings.CutPrefix(o.GID, "gid://shopify/Order/"); ok && gid != "" {
		id = gid
	}
	in := Input{Source: source, ExternalID: id, Currency: o.Currency, TotalMinor: o.TotalMinor, CreatedAt: o.CreatedAt,
		Customer: Customer{Email: firstNonEmpty(o.Customer.Email, o.Email), Phone: firstNonEmpty(o.Customer.Phone, o.Phone),
			Name: strings.TrimSpace(o.Customer.FirstName + " " + o.Customer.LastName)}}
	if cid := customerID(o.Customer); cid != "" {
		in.Customer.ShopCustomerID = domain + ":" + cid
	}
	for _, c := range o.ReferralCandidates {
		in.ReferralCodes = append(in.ReferralCodes, c.Code)
	}
	return in
}

func customerID(c shopify.Customer) string {
	if gid, ok := strings.CutPrefix(c.GID, "gid://shopify/Customer/"); ok && gid != "" {
		return gid
	}
	return c.ID
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// shopifyRefund books a refunds/create delivery. A refund whose order has not
// arrived yet is parked and applied when the order comes.
func (s *Service) shopifyRefund(ctx context.Context, in Integration, source string, body []byte) (ledger.RefundResult, error) {
	var head struct {
		OrderID json.Number `json:"order_id"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.OrderID == "" {
		return ledger.RefundResult{}, apperr.Invalid("refunds/create body needs an order_id")
	}
	key := ledger.OrderKey(in.WorkspaceID, source, head.OrderID.String())
	// The order's currency is the last resort for refunds that name none.
	orderCurrency := ""
	if o, err := s.ledger.Order(ctx, in.WorkspaceID, key); err == nil {
		orderCurrency = o.Currency
	}
	r, err := shopify.ParseRefundFor(body, orderCurrency)
	if err != nil {
		return ledger.RefundResult{}, apperr.Invalid("refunds/create body: %v", err)
	}
	if orderCurrency != "" && r.Currency != orderCurrency {
		return ledger.RefundResult{}, apperr.Invalid("refund in %s for an order in %s is not supported", r.Currency, orderCurrency)
	}
	if r.AmountMinor == 0 {
		return ledger.RefundResult{}, nil // no money went back (only failed or pending transactions)
	}
	return s.ledger.BookRefund(ctx, ledger.RefundRequest{WorkspaceID: in.WorkspaceID, OrderKey: key, RefundID: r.ID,
		AmountMinor: r.AmountMinor, At: firstTime(r.CreatedAt, s.ledger.Now()), ParkIfUnknown: true})
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t.UTC().Truncate(time.Millisecond)
		}
	}
	return time.Time{}
}
