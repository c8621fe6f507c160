// Package ledger keeps a workspace's append-only ledger (orders, refunds,
// referral links and merges) and the value of every contact derived from it.
//
// Values are updated incrementally: every change loads only the contacts it
// touches (the contact, its canonical contact and at most D ancestors for an
// order; the chains to the roots for a link or a merge), computes their new
// counters with the rules of package value and writes the differences back as
// $inc on the per-level sums, guarded by a version field. A full Recompute
// rebuilds every value from the ledger with value.Recompute.
//
// All value changes of one workspace run under a lease (one writer at a time,
// across processes); a holder that dies or fails half way leaves the lease
// dirty and the next holder recomputes before doing anything else. Profile
// fields of the same documents are written by other packages without the lease.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communityinbox/crm/money"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
)

// Tiers a contact can be in.
const (
	TierNew     = "new"     // no order yet
	TierRegular = "regular" // at least one order
	TierVIP     = "vip"     // total or referral value over the workspace threshold
)

// Node is the ledger's view of one contact document. Group fields (Direct
// through Tier) are meaningful only on a canonical contact (Alias == "").
type Node struct {
	ID        string
	Version   int64
	OwnDirect int64       // Σ this id's own orders − refunds, base currency
	OwnOrders int         // this id's own order count
	Link      *value.Link // this id's own referral link (first touch), if any
	Alias     string      // the contact this id was merged into, "" if none
	Canonical string      // the contact merges resolve this id to ("" = itself)

	Direct   int64
	Orders   int
	Sum      []int64 // Σ direct of referred contacts per level (index d-1 = depth d)
	Count    []int
	Buyers   []int
	Eff      *value.Link // the link this group hangs from; nil for a root
	Referral int64
	Total    int64
	Tier     string
}

// Value returns the node's group value in the form of package value.
func (n *Node) Value() value.Value {
	return value.Value{Direct: n.Direct, Orders: n.Orders, Referral: n.Referral, Total: n.Total,
		ReferralByLevel: slices.Clone(n.Sum), ReferredCount: slices.Clone(n.Count), ReferredBuyers: slices.Clone(n.Buyers)}
}

func (n *Node) canonical() string {
	if n.Canonical == "" {
		return n.ID
	}
	return n.Canonical
}

func (n Node) clone() Node {
	c := n
	c.Sum, c.Count, c.Buyers = slices.Clone(n.Sum), slices.Clone(n.Count), slices.Clone(n.Buyers)
	if n.Link != nil {
		l := *n.Link
		c.Link = &l
	}
	if n.Eff != nil {
		l := *n.Eff
		c.Eff = &l
	}
	return c
}

// NodeChange is a node before and after an operation; the store turns the
// difference into $inc and $set, refusing the write if Old.Version is stale.
type NodeChange struct {
	Old, New Node
}

// Params are the workspace settings the ledger works with.
type Params struct {
	Currency    string       // base currency of every stored amount
	Value       value.Config // depth and weights
	VIPTotal    int64        // total at or above which a contact is vip (0 = off)
	VIPReferral int64        // referral value at or above which a contact is vip (0 = off)
}

// Tier returns the tier of a canonical node under p.
func (p Params) Tier(n *Node) string {
	switch {
	case p.VIPTotal > 0 && n.Total >= p.VIPTotal, p.VIPReferral > 0 && n.Referral >= p.VIPReferral:
		return TierVIP
	case n.Orders > 0:
		return TierRegular
	}
	return TierNew
}

// Order is one order on the ledger. Amounts are minor units; BaseMinor is the
// amount in the workspace base currency, fixed when the order was booked.
type Order struct {
	Key               string // natural key: workspace, source and external id
	WorkspaceID       string
	Source            string // "api" or "shopify:<shop domain>"
	ExternalID        string
	ContactID         string // the contact the order was booked on (never changes)
	Currency          string
	TotalMinor        int64
	BaseCurrency      string
	BaseMinor         int64
	Rate              string // the exact rate used, as text
	RefundedMinor     int64
	BaseRefundedMinor int64
	CreatedAt         time.Time // when the customer ordered
	BookedAt          time.Time
	ReferralCode      string // the code that attributed the order, if any
	Email, Phone      string
	Name              string
}

// OrderKey returns the natural key of an order.
func OrderKey(ws, source, externalID string) string { return ws + "|" + source + "|" + externalID }

// Refund states.
const (
	RefundApplied = "applied"
	RefundPending = "pending" // arrived before its order (webhooks out of order)
)

// Refund is one refund on the ledger, in the order's currency.
type Refund struct {
	Key         string // order key + "|" + refund id
	WorkspaceID string
	OrderKey    string
	RefundID    string
	ContactID   string
	Currency    string
	AmountMinor int64
	BaseMinor   int64
	State       string
	At          time.Time
}

// RefundKey returns the natural key of a refund.
func RefundKey(orderKey, refundID string) string { return orderKey + "|" + refundID }

// Storer is what the ledger needs from storage.
type Storer interface {
	// Nodes loads the named contacts of ws; missing ids are simply absent.
	Nodes(ctx context.Context, ws string, ids []string) ([]Node, error)
	// Members returns the contacts whose canonical contact is id (id included).
	Members(ctx context.Context, ws, id string) ([]Node, error)
	// AliasesOf returns the contacts merged directly into one of ids.
	AliasesOf(ctx context.Context, ws string, ids []string) ([]Node, error)
	// LinkedTo returns the contacts whose own referral link names one of parents.
	LinkedTo(ctx context.Context, ws string, parents []string) ([]Node, error)
	// SaveNodes writes the changes, failing with a conflict if a version moved.
	SaveNodes(ctx context.Context, ws string, changes []NodeChange) error

	// InsertOrder stores o; dup is true (and the stored order returned) if its key exists.
	InsertOrder(ctx context.Context, o Order) (stored Order, dup bool, err error)
	// Order loads an order by key.
	Order(ctx context.Context, ws, key string) (Order, error)
	// AddRefunded raises an order's refunded amounts if its refunded amount is
	// still refundedBefore and the result stays within the total.
	AddRefunded(ctx context.Context, ws, key string, refundedBefore, amount, base int64) error
	// Refund loads a refund by key.
	Refund(ctx context.Context, ws, key string) (Refund, error)
	// InsertRefund stores r; dup is true (and the stored refund returned) if its key exists.
	InsertRefund(ctx context.Context, r Refund) (stored Refund, dup bool, err error)
	// PendingRefunds returns the parked refunds of an order, oldest first.
	PendingRefunds(ctx context.Context, ws, orderKey string) ([]Refund, error)
	// ApplyPendingRefund marks a parked refund applied to contact with its base amount.
	ApplyPendingRefund(ctx context.Context, r Refund) error

	// OrdersOf returns the orders booked on any of contacts, newest first.
	OrdersOf(ctx context.Context, ws string, contacts []string, limit int) ([]Order, error)
	// RefundsOf returns the applied refunds booked on any of contacts.
	RefundsOf(ctx context.Context, ws string, contacts []string) ([]Refund, error)
	// HasOrders reports whether ws has any order.
	HasOrders(ctx context.Context, ws string) (bool, error)

	// Ledger reads the whole ledger of ws and every contact node, for Recompute.
	Ledger(ctx context.Context, ws string) (value.Ledger, []Node, error)
	// ReplaceNodes overwrites the value fields of nodes (bulk, unconditional).
	ReplaceNodes(ctx context.Context, ws string, nodes []Node) error
}

// Lease gives one writer at a time the right to change a workspace's values.
type Lease interface {
	// Acquire waits for the lease of ws. dirty reports that the previous
	// holder did not finish cleanly. release must be called exactly once;
	// release(true) marks the values as needing a recompute.
	Acquire(ctx context.Context, ws string) (release func(dirty bool), dirty bool, err error)
}

// ParamsSource returns a workspace's current settings.
type ParamsSource interface {
	Params(ctx context.Context, ws string) (Params, error)
}

// Changed is a canonical contact whose value or tier an operation changed.
type Changed struct {
	Before, After Node
	Currency      string
}

// Notifier is told about changed values after the lease is released.
type Notifier interface {
	ValuesChanged(ctx context.Context, ws string, changes []Changed)
}

// Service applies ledger changes and keeps values up to date.
type Service struct {
	store  Storer
	lease  Lease
	params ParamsSource
	notify Notifier
	now    func() time.Time
}

// New returns a ledger service. notify may be nil.
func New(store Storer, lease Lease, params ParamsSource, notify Notifier, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, lease: lease, params: params, notify: notify, now: now}
}

// Now returns the service clock truncated to what the store keeps (ms), so a
// time handed out equals the time read back.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// run executes fn under the workspace lease with a fresh working set, saves
// what fn changed and reports the changed values.
func (s *Service) run(ctx context.Context, ws string, fn func(g *graph) error) error {
	release, dirty, err := s.lease.Acquire(ctx, ws)
	if err != nil {
		return err
	}
	var changes []Changed
	var p Params
	failed := true
	defer func() {
		release(failed)
		if !failed && s.notify != nil && len(changes) > 0 {
			s.notify.ValuesChanged(context.WithoutCancel(ctx), ws, changes)
		}
	}()
	if dirty {
		if _, err := s.recompute(ctx, ws); err != nil {
			return fmt.Errorf("recompute after unclean lease: %w", err)
		}
	}
	if p, err = s.params.Params(ctx, ws); err != nil {
		return err
	}
	g := newGraph(ctx, s.store, ws, p)
	if err := g.do(func() error { return fn(g) }); err != nil {
		// Nothing was written by the graph yet; side writes fn did before
		// failing (order insert) are covered by the ledger itself.
		failed = g.sideWrites
		return err
	}
	if changes, err = g.save(); err != nil {
		return err
	}
	failed = false
	return nil
}

// ReferralOutcome says what happened to an attempted referral attribution.
type ReferralOutcome string

// Attribution outcomes.
const (
	ReferralNone    ReferralOutcome = ""                 // no referrer given
	ReferralLinked  ReferralOutcome = "linked"           // the link was recorded
	ReferralExists  ReferralOutcome = "already_referred" // first touch won earlier
	ReferralSelf    ReferralOutcome = "self_referral"
	ReferralCycle   ReferralOutcome = "cycle"
	ReferralUnknown ReferralOutcome = "unknown_referrer"
)

// BookResult reports what BookOrder did.
type BookResult struct {
	Order     Order
	Duplicate bool
	Referral  ReferralOutcome
	Link      *value.Link // the link recorded, when Referral is linked
	Refunds   []Refund    // parked refunds applied with the order
}

// BookOrder stores o on the ledger and updates values. When referrerID is set
// the buyer is first linked to it (first touch wins; a refused link does not
// refuse the order). A repeated order key changes nothing.
func (s *Service) BookOrder(ctx context.Context, o Order, referrerID string) (BookResult, error) {
	var res BookResult
	err := s.run(ctx, o.WorkspaceID, func(g *graph) error {
		o.BookedAt = s.Now()
		// The buyer's node and the order's parked refunds are read while the
		// order is inserted: three round trips in the time of one. Both are
		// stable under the lease (only lease holders write ledger fields and
		// park refunds), so reading them before the insert is the same as after.
		var (
			wg                sync.WaitGroup
			buyer             []Node
			pending           []Refund
			buyerErr, parkErr error
		)
		wg.Add(2)
		go func() { defer wg.Done(); buyer, buyerErr = s.store.Nodes(ctx, o.WorkspaceID, []string{o.ContactID}) }()
		go func() { defer wg.Done(); pending, parkErr = s.store.PendingRefunds(ctx, o.WorkspaceID, o.Key) }()
		stored, dup, err := s.store.InsertOrder(ctx, o)
		wg.Wait()
		if err != nil {
			return err
		}
		res.Order = stored
		if dup {
			res.Duplicate = true
			return nil
		}
		g.sideWrites = true
		if err := errors.Join(buyerErr, parkErr); err != nil {
			return err
		}
		for _, n := range buyer {
			g.adopt(n)
		}
		if referrerID != "" {
			l := value.Link{Child: o.ContactID, Parent: referrerID, At: o.BookedAt}
			switch err := g.link(l); {
			case err == nil && g.node(l.Child).Link != nil && linkEqual(g.node(l.Child).Link, &l):
				res.Referral, res.Link = ReferralLinked, &l
			case err == nil: // already referred by this very referrer
				res.Referral = ReferralExists
			case errors.Is(err, value.ErrAlreadyReferred):
				res.Referral = ReferralExists
			case errors.Is(err, value.ErrSelfReferral):
				res.Referral = ReferralSelf
			case errors.Is(err, value.ErrCycle):
				res.Referral = ReferralCycle
			case errors.Is(err, apperr.ErrNotFound):
				res.Referral = ReferralUnknown
			default:
				return err
			}
		}
		g.addEntry(o.ContactID, o.BaseMinor, true)
		for _, r := range pending {
			if r.AmountMinor > stored.TotalMinor-stored.RefundedMinor {
				continue // stays parked: more than the order's remaining amount
			}
			base, err := refundBase(stored, r.AmountMinor)
			if err != nil {
				return err
			}
			if err := s.store.AddRefunded(ctx, o.WorkspaceID, o.Key, stored.RefundedMinor, r.AmountMinor, base); err != nil {
				return err
			}
			stored.RefundedMinor += r.AmountMinor
			stored.BaseRefundedMinor += base
			r.ContactID, r.BaseMinor, r.State, r.Currency = stored.ContactID, base, RefundApplied, stored.Currency
			if err := s.store.ApplyPendingRefund(ctx, r); err != nil {
				return err
			}
			g.addEntry(r.ContactID, base, false)
			res.Refunds = append(res.Refunds, r)
		}
		res.Order = stored
		return nil
	})
	return res, err
}

// RefundRequest is a refund to book against an order.
type RefundRequest struct {
	WorkspaceID string
	OrderKey    string
	RefundID    string // idempotency key; a repeated one changes nothing
	AmountMinor int64  // in the order's currency
	At          time.Time
	// ParkIfUnknown parks a refund whose order has not arrived yet instead
	// of failing with not found (webhooks may arrive out of order).
	ParkIfUnknown bool
}

// RefundResult reports what BookRefund did.
type RefundResult struct {
	Refund    Refund
	Order     Order // after the refund; zero when parked
	Duplicate bool
}

// BookRefund books a refund against an order. It refuses a refund larger
// than what remains of the order with a conflict naming both amounts.
func (s *Service) BookRefund(ctx context.Context, rq RefundRequest) (RefundResult, error) {
	var res RefundResult
	if rq.AmountMinor <= 0 {
		return res, apperr.Invalid("amount_minor must be positive")
	}
	err := s.run(ctx, rq.WorkspaceID, func(g *graph) error {
		key := RefundKey(rq.OrderKey, rq.RefundID)
		o, err := s.store.Order(ctx, rq.WorkspaceID, rq.OrderKey)
		if errors.Is(err, apperr.ErrNotFound) && rq.ParkIfUnknown {
			r := Refund{Key: key, WorkspaceID: rq.WorkspaceID, OrderKey: rq.OrderKey, RefundID: rq.RefundID,
				AmountMinor: rq.AmountMinor, State: RefundPending, At: rq.At}
			stored, dup, err := s.store.InsertRefund(ctx, r)
			res.Refund, res.Duplicate = stored, dup
			return err
		}
		if err != nil {
			return err
		}
		res.Order = o
		remaining := o.TotalMinor - o.RefundedMinor
		if rq.AmountMinor > remaining {
			// A retried refund that was already booked is not an error.
			if _, dup, err := s.existingRefund(ctx, rq.WorkspaceID, key); err != nil || dup {
				res.Duplicate = dup
				return err
			}
			return apperr.Conflict("refund of %d exceeds the order's remaining amount of %d (%s minor units)", rq.AmountMinor, remaining, o.Currency)
		}
		base, err := refundBase(o, rq.AmountMinor)
		if err != nil {
			return err
		}
		r := Refund{Key: key, WorkspaceID: rq.WorkspaceID, OrderKey: rq.OrderKey, RefundID: rq.RefundID, ContactID: o.ContactID,
			Currency: o.Currency, AmountMinor: rq.AmountMinor, BaseMinor: base, State: RefundApplied, At: rq.At}
		stored, dup, err := s.store.InsertRefund(ctx, r)
		if err != nil {
			return err
		}
		res.Refund = stored
		if dup {
			res.Duplicate = true
			return nil
		}
		g.sideWrites = true
		if err := s.store.AddRefunded(ctx, rq.WorkspaceID, rq.OrderKey, o.RefundedMinor, rq.AmountMinor, base); err != nil {
			return err
		}
		o.RefundedMinor += rq.AmountMinor
		o.BaseRefundedMinor += base
		res.Order = o
		g.addEntry(o.ContactID, base, false)
		return nil
	})
	return res, err
}

func (s *Service) existingRefund(ctx context.Context, ws, key string) (Refund, bool, error) {
	r, err := s.store.Refund(ctx, ws, key)
	if errors.Is(err, apperr.ErrNotFound) {
		return Refund{}, false, nil
	}
	return r, err == nil, err
}

// refundBase converts a refund with the order's fixed rate (see money.RefundBase).
func refundBase(o Order, amount int64) (int64, error) {
	return money.RefundBase(o.TotalMinor, o.BaseMinor, o.RefundedMinor, amount)
}

// Link records that child was referred by parent (a manual link). It fails
// with value.ErrSelfReferral, value.ErrCycle or value.ErrAlreadyReferred.
func (s *Service) Link(ctx context.Context, ws, child, parent string) (value.Link, error) {
	l := value.Link{Child: child, Parent: parent, At: s.Now()}
	err := s.run(ctx, ws, func(g *graph) error { return g.link(l) })
	return l, err
}

// Merge makes from an alias of into: its orders, referrals and value count
// for into until an Unmerge. It fails with value.ErrAlreadyMerged or
// value.ErrSameContact.
func (s *Service) Merge(ctx context.Context, ws, from, into string) error {
	return s.run(ctx, ws, func(g *graph) error { return g.merge(from, into) })
}

// Unmerge makes alias its own contact again, with everything merged into it.
func (s *Service) Unmerge(ctx context.Context, ws, alias string) error {
	return s.run(ctx, ws, func(g *graph) error { return g.unmerge(alias) })
}

// Canonical returns the contact id merges resolve id to.
func (s *Service) Canonical(ctx context.Context, ws, id string) (string, error) {
	ns, err := s.store.Nodes(ctx, ws, []string{id})
	if err != nil {
		return "", err
	}
	if len(ns) == 0 {
		return "", apperr.NotFound("contact")
	}
	return ns[0].canonical(), nil
}

// Order returns an order by key.
func (s *Service) Order(ctx context.Context, ws, key string) (Order, error) {
	return s.store.Order(ctx, ws, key)
}

// OrdersOf returns the orders booked on any of contacts, newest first.
func (s *Service) OrdersOf(ctx context.Context, ws string, contacts []string, limit int) ([]Order, error) {
	return s.store.OrdersOf(ctx, ws, contacts, limit)
}

// RefundsOf returns the applied refunds booked on any of contacts.
func (s *Service) RefundsOf(ctx context.Context, ws string, contacts []string) ([]Refund, error) {
	return s.store.RefundsOf(ctx, ws, contacts)
}

// HasOrders reports whether ws has any order.
func (s *Service) HasOrders(ctx context.Context, ws string) (bool, error) {
	return s.store.HasOrders(ctx, ws)
}

// TrendPoint is one month of a contact's value history.
type TrendPoint struct {
	Month   string `json:"month"` // YYYY-MM (UTC)
	Orders  int64  `json:"orders_minor"`
	Refunds int64  `json:"refunds_minor"`
	Net     int64  `json:"net_minor"`
	Running int64  `json:"cumulative_minor"`
}

// Trend groups orders (by order date) and refunds (by refund date) per
// month, in the base currency, oldest first, with a running total.
func Trend(orders []Order, refunds []Refund) []TrendPoint {
	by := map[string]*TrendPoint{}
	get := func(t time.Time) *TrendPoint {
		m := t.UTC().Format("2006-01")
		p, ok := by[m]
		if !ok {
			p = &TrendPoint{Month: m}
			by[m] = p
		}
		return p
	}
	for _, o := range orders {
		get(o.CreatedAt).Orders += o.BaseMinor
	}
	for _, r := range refunds {
		get(r.At).Refunds += r.BaseMinor
	}
	out := make([]TrendPoint, 0, len(by))
	for _, p := range by {
		p.Net = p.Orders - p.Refunds
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b TrendPoint) int { return strings.Compare(a.Month, b.Month) })
	var run int64
	for i := range out {
		run += out[i].Net
		out[i].Running = run
	}
	return out
}
