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

// ValuesChanged implements ledger.Notifier.
func (n *notifier) ValuesChanged(ctx context.Context, ws string, changes []ledger.Changed) {
	for _, c := range changes {
		a := c.After
		if a.Alias != "" {
			continue // merged away: contact.merged tells the story
		}
		n.publish(ctx, ws, event.StreamCRM, event.ContactValueChanged, ValueChanged{ContactID: a.ID, Currency: c.Currency,
			Direct: a.Direct, Referral: a.Referral, ReferralByLevel: a.Sum, Total: a.Total, Orders: a.Orders, Tier: a.Tier})
		before := c.Before.Tier
		if before == "" {
			before = ledger.TierNew
		}
		if a.Tier == before {
			continue
		}
		ids, err := n.contacts.Members(ctx, ws, a.ID)
		var idents []contact.Identity
		if err == nil {
			idents, err = n.contacts.Identities(ctx, ws, ids)
		}
		if err != nil {
			n.log.WarnContext(ctx, "tier change: identities", "contact", a.ID, "err", err)
		}
		tc := TierChanged{ContactID: a.ID, Tier: a.Tier, PreviousTier: before, Identities: idents}
		n.publish(ctx, ws, event.StreamCRM, event.ContactTierChanged, tc)
		n.publish(ctx, ws, event.StreamSystem, event.ContactTierChanged, tc)
	}
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
