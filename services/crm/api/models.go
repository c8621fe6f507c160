package api

import (
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/crm/value"
)

// valueJSON is a contact's money, for money viewers only.
type valueJSON struct {
	Currency        string  `json:"currency"`
	Direct          int64   `json:"direct"`
	Referral        int64   `json:"referral"`
	ReferralByLevel []int64 `json:"referral_by_level"`
	Total           int64   `json:"total"`
}

type referralsJSON struct {
	ReferredCount  []int `json:"referred_count"`  // customers referred per level
	ReferredBuyers []int `json:"referred_buyers"` // of those, customers with an order
}

type attributesJSON struct {
	BirthYear  *int     `json:"birth_year,omitempty"`
	Age        *int     `json:"age,omitempty"` // derived: this year − birth year
	Country    string   `json:"country,omitempty"`
	City       string   `json:"city,omitempty"`
	IncomeBand string   `json:"income_band,omitempty"`
	JobTitle   string   `json:"job_title,omitempty"`
	Industry   string   `json:"industry,omitempty"`
	Interests  []string `json:"interests,omitempty"`
}

type briefJSON struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Tier  string     `json:"tier"`
	Value *valueJSON `json:"value,omitempty"`
}

type contactJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Emails       []string          `json:"emails"`
	Phones       []string          `json:"phones"`
	Handles      []string          `json:"handles"`
	Platforms    []string          `json:"platforms"`
	ChannelIDs   []string          `json:"channel_ids"`
	Labels       []string          `json:"labels"`
	Attributes   attributesJSON    `json:"attributes"`
	Custom       map[string]any    `json:"custom"`
	ReferralCode string            `json:"referral_code,omitempty"`
	Tier         string            `json:"tier"`
	Orders       int               `json:"order_count"`
	Referrals    referralsJSON     `json:"referrals"`
	Influence    contact.Influence `json:"influence"`
	Value        *valueJSON        `json:"value,omitempty"`
	LastActivity *time.Time        `json:"last_activity,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Version      int64             `json:"version"`
}

type orderJSON struct {
	ExternalID        string    `json:"external_id"`
	Source            string    `json:"source"`
	ContactID         string    `json:"contact_id"`
	Currency          string    `json:"currency"`
	TotalMinor        int64     `json:"total_minor"`
	RefundedMinor     int64     `json:"refunded_minor"`
	BaseCurrency      string    `json:"base_currency"`
	BaseMinor         int64     `json:"base_minor"`
	BaseRefundedMinor int64     `json:"base_refunded_minor"`
	Rate              string    `json:"rate"`
	ReferralCode      string    `json:"referral_code,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	BookedAt          time.Time `json:"booked_at"`
}

type refundJSON struct {
	RefundID    string    `json:"refund_id"`
	OrderID     string    `json:"order_external_id,omitempty"`
	State       string    `json:"state"`
	Currency    string    `json:"currency,omitempty"`
	AmountMinor int64     `json:"amount_minor"`
	BaseMinor   int64     `json:"base_minor"`
	At          time.Time `json:"at"`
}

type linkJSON struct {
	ContactID  string    `json:"contact_id"`
	ReferrerID string    `json:"referrer_id"`
	At         time.Time `json:"at"`
}

type detailJSON struct {
	contactJSON
	ResolvedFrom  string                 `json:"resolved_from,omitempty"` // the id asked for, when it was merged into this contact
	Members       []string               `json:"members"`                 // ids merged into this contact, itself first
	Identities    []contact.Identity     `json:"identities"`
	ReferredBy    *briefJSON             `json:"referred_by,omitempty"`
	Referred      []briefJSON            `json:"referred"`
	OrderList     []orderJSON            `json:"orders,omitempty"`
	Trend         []ledger.TrendPoint    `json:"trend,omitempty"`
	Conversations []contact.Conversation `json:"conversations"`
	MergeHistory  []contact.Audit        `json:"merge_history"`
}

func nn[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func toValueJSON(c contact.Contact, currency string) *valueJSON {
	return &valueJSON{Currency: currency, Direct: c.Value.Direct, Referral: c.Value.Referral,
		ReferralByLevel: nn(c.Value.ReferralByLevel), Total: c.Value.Total}
}

func toContactJSON(c contact.Contact, money bool, currency string, year int) contactJSON {
	a := c.Attributes
	out := contactJSON{ID: c.ID, Name: c.Name, Emails: nn(c.Emails), Phones: nn(c.Phones), Handles: nn(c.Handles),
		Platforms: nn(c.Platforms), ChannelIDs: nn(c.ChannelIDs), Labels: nn(c.Labels),
		Attributes: attributesJSON{BirthYear: a.BirthYear, Country: a.Country, City: a.City, IncomeBand: a.IncomeBand,
			JobTitle: a.JobTitle, Industry: a.Industry, Interests: a.Interests},
		Custom: c.Custom, ReferralCode: c.ReferralCode, Tier: c.Value.Tier, Orders: c.Value.Orders,
		Referrals: referralsJSON{ReferredCount: nn(c.Value.ReferredCount), ReferredBuyers: nn(c.Value.ReferredBuyers)},
		Influence: c.Influence, LastActivity: ts(c.LastActivity), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
	if out.Custom == nil {
		out.Custom = map[string]any{}
	}
	if a.BirthYear != nil {
		age := year - *a.BirthYear
		out.Attributes.Age = &age
	}
	if money {
		out.Value = toValueJSON(c, currency)
	}
	return out
}

func toOrderJSON(o ledger.Order) orderJSON {
	return orderJSON{ExternalID: o.ExternalID, Source: o.Source, ContactID: o.ContactID, Currency: o.Currency, TotalMinor: o.TotalMinor,
		RefundedMinor: o.RefundedMinor, BaseCurrency: o.BaseCurrency, BaseMinor: o.BaseMinor, BaseRefundedMinor: o.BaseRefundedMinor,
		Rate: o.Rate, ReferralCode: o.ReferralCode, CreatedAt: o.CreatedAt, BookedAt: o.BookedAt}
}

func toRefundJSON(r ledger.Refund, externalID string) refundJSON {
	return refundJSON{RefundID: r.RefundID, OrderID: externalID, State: r.State, Currency: r.Currency, AmountMinor: r.AmountMinor, BaseMinor: r.BaseMinor, At: r.At}
}

func toLinkJSON(l value.Link) linkJSON {
	return linkJSON{ContactID: l.Child, ReferrerID: l.Parent, At: l.At}
}

type settingsJSON struct {
	BaseCurrency  string            `json:"base_currency"`
	Rates         map[string]string `json:"rates"`
	ReferralDepth int               `json:"referral_depth"`
	Weights       []string          `json:"weights"`
	VIPTotal      int64             `json:"vip_total_minor"`
	VIPReferral   int64             `json:"vip_referral_minor"`
	Version       int64             `json:"version"`
}

func toSettingsJSON(s settings.Settings) settingsJSON {
	out := settingsJSON{BaseCurrency: s.BaseCurrency, Rates: map[string]string{}, ReferralDepth: len(s.WeightsBP),
		VIPTotal: s.VIPTotal, VIPReferral: s.VIPReferral, Version: s.Version}
	for c, r := range s.Rates {
		out.Rates[c] = r.String()
	}
	for _, w := range s.WeightsBP {
		out.Weights = append(out.Weights, settings.FormatWeight(w))
	}
	return out
}
