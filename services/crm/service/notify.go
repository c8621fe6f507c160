package service

import (
	"context"
	"log/slog"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/shared/event"
)

// notifier publishes value and tier changes computed by the ledger.
type notifier struct {
	bus      event.Bus
	contacts *contact.Service
	log      *slog.Logger
}

// ValueChanged is the data of a contact.value_changed event (StreamCRM:
// managers and admins only, so it may carry money).
type ValueChanged struct {
	ContactID       string  `json:"contact_id"`
	Currency        string  `json:"currency"`
	Direct          int64   `json:"direct"`
	Referral        int64   `json:"referral"`
	ReferralByLevel []int64 `json:"referral_by_level"`
	Total           int64   `json:"total"`
	Orders          int     `json:"orders"`
	Tier            string  `json:"tier"`
}

// TierChanged is the data of a contact.tier_changed event. It carries no
// money: it also goes to StreamSystem, where the inbox reads it for triage.
type TierChanged struct {
	ContactID    string             `json:"contact_id"`
	Tier         string             `json:"tier"`
	PreviousTier string             `json:"previous_tier"`
	Identities   []contact.Identity `json:"identities"`
}

// ValuesChanged implements ledger.Notifier. Identities for tier changes are
// looked up for all changed contacts at once: a recompute may change thousands.
func (n *notifier) ValuesChanged(ctx context.Context, ws string, changes []ledger.Changed) {
	var tierChanged []string
	for _, c := range changes {
		a := c.After
		if a.Alias != "" {
			continue // merged away: contact.merged tells the story
		}
		n.publish(ctx, ws, event.StreamCRM, event.ContactValueChanged, ValueChanged{ContactID: a.ID, Currency: c.Currency,
			Direct: a.Direct, Referral: a.Referral, ReferralByLevel: a.Sum, Total: a.Total, Orders: a.Orders, Tier: a.Tier})
		if a.Tier != previousTier(c.Before) {
			tierChanged = append(tierChanged, a.ID)
		}
	}
	if len(tierChanged) == 0 {
		return
	}
	idents, err := n.contacts.IdentitiesOf(ctx, ws, tierChanged)
	if err != nil {
		n.log.WarnContext(ctx, "tier change: identities", "err", err)
	}
	for _, c := range changes {
		a := c.After
		if a.Alias != "" || a.Tier == previousTier(c.Before) {
			continue
		}
		tc := TierChanged{ContactID: a.ID, Tier: a.Tier, PreviousTier: previousTier(c.Before), Identities: idents[a.ID]}
		if tc.Identities == nil {
			tc.Identities = []contact.Identity{}
		}
		n.publish(ctx, ws, event.StreamCRM, event.ContactTierChanged, tc)
		n.publish(ctx, ws, event.StreamSystem, event.ContactTierChanged, tc)
	}
}

func previousTier(n ledger.Node) string {
	if n.Tier == "" {
		return ledger.TierNew
	}
	return n.Tier
}

func (n *notifier) publish(ctx context.Context, ws, stream, typ string, data any) {
	e, err := event.New(ws, stream, typ, data)
	if err == nil {
		_, err = n.bus.Publish(ctx, e)
	}
	if err != nil {
		n.log.WarnContext(ctx, "publish", "type", typ, "err", err)
	}
}
