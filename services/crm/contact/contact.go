// Package contact holds the CRM's people: one contact per person per
// workspace, reached through identity keys (a platform account, an email, a
// phone, a shop customer id), with typed attributes, custom attributes
// validated against a per-workspace schema, a projection of the person's
// inbox conversations, a word-of-mouth influence score, manual and automatic
// merges with an audit trail, and filters for lists and segments.
package contact

import (
	"strings"
	"time"
	"unicode"
)

// Key kinds: how a contact can be found.
const (
	KindIdentity = "identity" // "<platform>:<user id>"
	KindEmail    = "email"
	KindPhone    = "phone"
	KindShop     = "shop" // "<shop domain>:<customer id>"
)

// Key is one way to find a contact; its (kind, value) belongs to one contact.
type Key struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Identity is a platform account of a contact, as the inbox announced it.
type Identity struct {
	Platform  string    `json:"platform"`
	UserID    string    `json:"user_id"`
	Handle    string    `json:"handle,omitempty"`
	Name      string    `json:"name,omitempty"`
	ChannelID string    `json:"channel_id,omitempty"`
	ContactID string    `json:"contact_id,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Key returns the identity's key.
func (i Identity) Key() Key { return Key{Kind: KindIdentity, Value: i.Platform + ":" + i.UserID} }

// Attributes are the typed attributes used for targeting.
type Attributes struct {
	BirthYear  *int     `json:"birth_year,omitempty"`
	Country    string   `json:"country,omitempty"` // ISO 3166-1 alpha-2, upper case
	City       string   `json:"city,omitempty"`
	IncomeBand string   `json:"income_band,omitempty"`
	JobTitle   string   `json:"job_title,omitempty"`
	Industry   string   `json:"industry,omitempty"`
	Interests  []string `json:"interests,omitempty"`
}

// Influence counts a contact's public word of mouth seen by the inbox.
type Influence struct {
	Comments int64 `json:"comments"`
	Mentions int64 `json:"mentions"`
	Shares   int64 `json:"shares"`
	Score    int64 `json:"score"`
}

// Influence weights: Score = Comments×1 + Mentions×3 + Shares×5. A mention
// or a share reaches the author's own audience, a comment mostly the page's,
// hence the heavier weights. The score is a count, never money.
const (
	CommentWeight = 1
	MentionWeight = 3
	ShareWeight   = 5
)

// ScoreOf returns the influence score of the counts.
func ScoreOf(comments, mentions, shares int64) int64 {
	return comments*CommentWeight + mentions*MentionWeight + shares*ShareWeight
}

// Value is a contact's money, as the ledger keeps it (base currency minor units).
type Value struct {
	Direct          int64   `json:"direct"`
	Referral        int64   `json:"referral"`
	Total           int64   `json:"total"`
	Orders          int     `json:"orders"`
	ReferralByLevel []int64 `json:"referral_by_level"`
	ReferredCount   []int   `json:"referred_count"`
	ReferredBuyers  []int   `json:"referred_buyers"`
	Tier            string  `json:"tier"`
}

// Contact is one person of a workspace. A contact merged into another keeps
// its id and its own keys; Canonical names the contact that now speaks for it.
type Contact struct {
	ID           string
	WorkspaceID  string
	Name         string
	Emails       []string
	Phones       []string
	Handles      []string
	Platforms    []string
	ChannelIDs   []string
	Labels       []string
	Attributes   Attributes
	Custom       map[string]any
	ReferralCode string
	Influence    Influence
	LastActivity time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
	Alias        string // the contact this one was merged into
	Canonical    string
	Value        Value
	ReferredVia  string // raw parent id of the effective referral link
}

// Conversation is the projection of one inbox conversation of a contact.
type Conversation struct {
	ConversationID string    `json:"conversation_id"`
	ContactID      string    `json:"contact_id"`
	Platform       string    `json:"platform,omitempty"`
	ChannelID      string    `json:"channel_id,omitempty"`
	Kind           string    `json:"kind,omitempty"`
	Messages       int64     `json:"messages"`
	FirstSeen      time.Time `json:"first_seen"`
	LastActivity   time.Time `json:"last_activity"`
}

// Audit is one merge or unmerge of the trail.
type Audit struct {
	ID     string    `json:"id"`
	Action string    `json:"action"` // merge | unmerge
	From   string    `json:"from"`
	Into   string    `json:"into"`
	Actor  string    `json:"actor"` // a user id, or "system" for automatic merges
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// NormalizeEmail returns the lookup form of an email, or "" if it is not one.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n") || len(s) > 254 {
		return ""
	}
	return s
}

// NormalizePhone keeps a leading + and the digits; letters (vanity numbers
// like 555-SHIP) or fewer than 6 digits are not a phone.
func NormalizePhone(s string) string {
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return ""
	}
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case unicode.IsDigit(r) && r < 128:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(strings.TrimPrefix(out, "+")) < 6 || len(out) > 20 {
		return ""
	}
	return out
}
