package value

import (
	"errors"
	"strings"
	"time"
)

// Errors returned by the engine and by Recompute.
var (
	// ErrSelfReferral refuses a link whose child and parent are the same
	// contact, directly or through a merge.
	ErrSelfReferral = errors.New("value: a contact cannot refer itself")
	// ErrAlreadyReferred refuses a second referrer for a contact: the first
	// link wins.
	ErrAlreadyReferred = errors.New("value: contact already has a referrer")
	// ErrCycle refuses a link that would make a contact its own ancestor.
	ErrCycle = errors.New("value: referral link would create a cycle")
	// ErrAlreadyMerged refuses to merge a contact that is already an alias.
	ErrAlreadyMerged = errors.New("value: contact is already merged into another contact")
	// ErrSameContact refuses to merge a contact into itself or into one of
	// its own aliases.
	ErrSameContact = errors.New("value: contacts are already the same contact")
	// ErrNotMerged refuses to unmerge a contact that is not an alias.
	ErrNotMerged = errors.New("value: contact is not merged into another contact")
	// ErrInvalid reports malformed input: an empty id, a negative amount, a
	// bad configuration or an inconsistent ledger.
	ErrInvalid = errors.New("value: invalid input")
	// ErrOverflow refuses an entry that would take the ledger past
	// MaxLedgerTotal.
	ErrOverflow = errors.New("value: ledger total exceeds the supported range")
)

// Value is what the CRM shows for one contact. Slices have one element per
// level: index d-1 holds depth d.
type Value struct {
	// Direct is Σ orders − Σ refunds in base-currency minor units.
	Direct int64
	// Orders is the number of distinct order entries; a contact with at
	// least one is a buyer, whatever its refunds.
	Orders int
	// Referral is the weighted, rounded sum of ReferralByLevel.
	Referral int64
	// ReferralByLevel[d-1] is the undiscounted Σ Direct of the contacts
	// referred at depth d.
	ReferralByLevel []int64
	// Total is Direct + Referral.
	Total int64
	// ReferredCount[d-1] is how many contacts sit at depth d.
	ReferredCount []int
	// ReferredBuyers[d-1] is how many of those have at least one order.
	ReferredBuyers []int
}

// Buyer reports whether the contact has at least one order.
func (v Value) Buyer() bool { return v.Orders > 0 }

// Entry is one ledger line: an order or a refund of Amount minor units of the
// workspace base currency, booked on Contact. Amount is never negative; a
// refund subtracts it.
type Entry struct {
	ID      string
	Contact string
	Amount  int64
	At      time.Time
}

// Link records that Child was referred by Parent at time At.
type Link struct {
	Child  string
	Parent string
	At     time.Time
}

// before orders links by (At, Child, Parent): the earlier link wins when two
// compete, and the later one loses when a merge closes a cycle. The id
// tie-breaks make the order total, so every decision is deterministic.
func (l *Link) before(m *Link) bool {
	if c := l.At.Compare(m.At); c != 0 {
		return c < 0
	}
	if c := strings.Compare(l.Child, m.Child); c != 0 {
		return c < 0
	}
	return l.Parent < m.Parent
}

// Alias records that From was merged into Into.
type Alias struct {
	From string
	Into string
}

// Ledger is the complete input of a recompute: the state, not its history.
// Orders and refunds may repeat an ID; the first occurrence counts.
type Ledger struct {
	Orders  []Entry
	Refunds []Entry
	Links   []Link
	Aliases []Alias
}
