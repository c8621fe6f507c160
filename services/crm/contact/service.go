package contact

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// Storer is what the contact service needs from storage.
type Storer interface {
	// KeyOwners returns the contact id owning each of keys that is known.
	KeyOwners(ctx context.Context, ws string, keys []Key) (map[Key]string, error)
	// ClaimKey gives key to contact; false if another contact owns it already.
	ClaimKey(ctx context.Context, ws string, key Key, contact string, id *Identity) (bool, error)
	// TouchIdentity refreshes handle, name, channel and last seen of an identity key.
	TouchIdentity(ctx context.Context, ws string, id Identity) error
	// Ensure creates contact id with c's profile unless it exists.
	Ensure(ctx context.Context, ws, id string, c Contact) error
	// AddSearch adds names, emails, phones, handles, platforms and channels to contact's search fields.
	AddSearch(ctx context.Context, ws, id string, c Contact) error
	// RefreshSearch rebuilds the search fields of canonical from the keys of its members.
	RefreshSearch(ctx context.Context, ws, canonical string) error
	Get(ctx context.Context, ws, id string) (Contact, error)
	GetMany(ctx context.Context, ws string, ids []string) ([]Contact, error)
	Members(ctx context.Context, ws, canonical string) ([]string, error)
	// MembersOf maps every id whose canonical contact is one of canonicals to that canonical.
	MembersOf(ctx context.Context, ws string, canonicals []string) (map[string]string, error)
	Identities(ctx context.Context, ws string, contacts []string) ([]Identity, error)
	Keys(ctx context.Context, ws string, contacts []string) ([]Key, error)
	Update(ctx context.Context, ws, id string, version int64, p Patch) (Contact, error)
	List(ctx context.Context, ws string, f Filter, custom map[string]any, s Sort, p Page, now time.Time) ([]Contact, string, error)
	Count(ctx context.Context, ws string, f Filter, custom map[string]any, now time.Time) (int64, error)
	Each(ctx context.Context, ws string, f Filter, custom map[string]any, now time.Time, fn func(Contact) error) error
	Referred(ctx context.Context, ws string, parents []string, limit int) ([]Contact, error)
	TopReferrers(ctx context.Context, ws string, limit int) ([]Contact, error)
	SetReferralCode(ctx context.Context, ws, id, code string) (string, error)
	CodeOwner(ctx context.Context, ws, code string) (string, error)
	InsertAudit(ctx context.Context, ws string, a Audit) error
	Audit(ctx context.Context, ws string, contacts []string) ([]Audit, error)
	AttrDefs(ctx context.Context, ws string) ([]AttrDef, error)
	PutAttrDef(ctx context.Context, ws string, d AttrDef) error
	DeleteAttrDef(ctx context.Context, ws, name string) error
	// SeenMessage records a message id; false if it was recorded before.
	SeenMessage(ctx context.Context, ws, messageID string) (bool, error)
	AddInfluence(ctx context.Context, ws, id string, comments, mentions, shares int64) error
	// Activity upserts owner's conversation and refreshes canonical's last activity and channels.
	Activity(ctx context.Context, ws, owner, canonical string, c Conversation, newMessage bool) error
	Conversations(ctx context.Context, ws string, contacts []string, limit int) ([]Conversation, error)
}

// Merger changes the ledger side of merges; the ledger service implements it.
type Merger interface {
	Merge(ctx context.Context, ws, from, into string) error
	Unmerge(ctx context.Context, ws, alias string) error
	Canonical(ctx context.Context, ws, id string) (string, error)
}

// Publisher publishes events; event.Bus implements it.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
}

// Service is the contact business API.
type Service struct {
	store  Storer
	merger Merger
	bus    Publisher
	log    *slog.Logger
	now    func() time.Time
}

// New returns a contact service.
func New(store Storer, merger Merger, bus Publisher, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, merger: merger, bus: bus, log: log, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Profile is what a channel or an order tells about a person.
type Profile struct {
	Name           string
	Email          string
	Phone          string
	ShopCustomerID string // "<shop domain>:<customer id>"
	Identity       *Identity
}

// keys returns the profile's keys, most specific first. A WhatsApp user id
// is the person's phone number (wa_id, E.164 without the +), so it doubles as
// a phone key and links the chat to orders placed with that phone.
func (p Profile) keys() []Key {
	if p.Phone == "" && p.Identity != nil && p.Identity.Platform == "whatsapp" {
		p.Phone = "+" + strings.TrimPrefix(p.Identity.UserID, "+")
	}
	var out []Key
	if p.Identity != nil && p.Identity.Platform != "" && p.Identity.UserID != "" {
		out = append(out, p.Identity.Key())
	}
	if p.ShopCustomerID != "" {
		out = append(out, Key{KindShop, p.ShopCustomerID})
	}
	if e := NormalizeEmail(p.Email); e != "" {
		out = append(out, Key{KindEmail, e})
	}
	if ph := NormalizePhone(p.Phone); ph != "" {
		out = append(out, Key{KindPhone, ph})
	}
	return out
}

func (p Profile) contact(now time.Time) Contact {
	c := Contact{Name: strings.TrimSpace(p.Name), CreatedAt: now, UpdatedAt: now, LastActivity: now}
	if e := NormalizeEmail(p.Email); e != "" {
		c.Emails = []string{e}
	}
	if ph := NormalizePhone(p.Phone); ph != "" {
		c.Phones = []string{ph}
	}
	if id := p.Identity; id != nil {
		if id.Handle != "" {
			c.Handles = []string{id.Handle}
		}
		if id.Platform != "" {
			c.Platforms = []string{id.Platform}
		}
		if id.ChannelID != "" {
			c.ChannelIDs = []string{id.ChannelID}
		}
		if c.Name == "" {
			c.Name = firstNonEmpty(id.Name, id.Handle)
		}
	}
	return c
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Resolve finds the contact a profile belongs to, or creates it, and gives it
// the profile's keys. Keys owned by different contacts (an identity whose
// email another contact already has) mean one person: the younger contacts
// are merged into the oldest automatically, with an audit entry. It returns
// the canonical contact, the contact owning the profile's most specific key
// (where activity is recorded, so that it follows an unmerge) and whether the
// contact was created.
func (s *Service) Resolve(ctx context.Context, ws string, p Profile) (Resolved, error) {
	r, err := s.resolve(ctx, ws, p)
	return r, err
}

// Resolved is the outcome of Resolve.
type Resolved struct {
	ID      string // canonical contact
	Owner   string // contact owning the most specific key
	Created bool
}

func (s *Service) resolve(ctx context.Context, ws string, p Profile) (Resolved, error) {
	keys := p.keys()
	if len(keys) == 0 {
		return Resolved{}, apperr.Invalid("a contact needs an identity, a shop customer id, an email or a phone")
	}
	now := s.clock()
	if p.Identity != nil {
		p.Identity.FirstSeen, p.Identity.LastSeen = now, now
	}
	prof := p.contact(now)
	for attempt := 0; attempt < 5; attempt++ {
		owners, err := s.store.KeyOwners(ctx, ws, keys)
		if err != nil {
			return Resolved{}, err
		}
		var target string
		created := false
		if len(owners) == 0 {
			id := auth.RandomID()
			ok, err := s.store.ClaimKey(ctx, ws, keys[0], id, identityFor(keys[0], p))
			if err != nil {
				return Resolved{}, err
			}
			if !ok {
				continue // someone claimed it first: resolve again
			}
			if err := s.store.Ensure(ctx, ws, id, prof); err != nil {
				return Resolved{}, err
			}
			target, created = id, true
		} else {
			if target, err = s.unify(ctx, ws, owners); err != nil {
				return Resolved{}, err
			}
		}
		for _, k := range keys {
			if _, ok := owners[k]; ok || (created && k == keys[0]) {
				continue
			}
			// A lost race only leaves the key with another contact; the
			// next sighting of this profile merges the two.
			if _, err := s.store.ClaimKey(ctx, ws, k, target, identityFor(k, p)); err != nil {
				return Resolved{}, err
			}
		}
		if p.Identity != nil && !created {
			if err := s.store.TouchIdentity(ctx, ws, *p.Identity); err != nil {
				return Resolved{}, err
			}
		}
		if !created {
			if err := s.store.AddSearch(ctx, ws, target, prof); err != nil {
				return Resolved{}, err
			}
		}
		owner := target
		if o, ok := owners[keys[0]]; ok {
			owner = o
		}
		return Resolved{ID: target, Owner: owner, Created: created}, nil
	}
	return Resolved{}, apperr.Conflict("contact keys are changing concurrently, retry")
}

func identityFor(k Key, p Profile) *Identity {
	if k.Kind == KindIdentity && p.Identity != nil {
		return p.Identity
	}
	return nil
}

// unify returns the canonical contact of the owners, merging distinct
// canonical contacts into the oldest.
func (s *Service) unify(ctx context.Context, ws string, owners map[Key]string) (string, error) {
	var ids []string
	for _, id := range owners {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	cs, err := s.store.GetMany(ctx, ws, ids)
	if err != nil {
		return "", err
	}
	var canon []string
	for _, c := range cs {
		if !slices.Contains(canon, c.Canonical) {
			canon = append(canon, c.Canonical)
		}
	}
	if len(canon) == 0 {
		// Keys whose contact document is missing (a crash between claim and
		// create): recreate the document under the claimed id.
		if err := s.store.Ensure(ctx, ws, ids[0], Contact{CreatedAt: s.clock(), UpdatedAt: s.clock()}); err != nil {
			return "", err
		}
		return ids[0], nil
	}
	if len(canon) == 1 {
		return canon[0], nil
	}
	roots, err := s.store.GetMany(ctx, ws, canon)
	if err != nil {
		return "", err
	}
	slices.SortFunc(roots, func(a, b Contact) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	into := roots[0].ID
	for _, r := range roots[1:] {
		err := s.Merge(ctx, ws, "system", r.ID, into, "shared email, phone or identity")
		if err != nil && !errors.Is(err, apperr.ErrConflict) {
			return "", err
		}
	}
	return into, nil
}

// Get returns the canonical contact of id with the keys of all its members.
func (s *Service) Get(ctx context.Context, ws, id string) (Contact, error) {
	c, err := s.store.Get(ctx, ws, id)
	if err != nil {
		return Contact{}, err
	}
	if c.Canonical != c.ID {
		return s.store.Get(ctx, ws, c.Canonical)
	}
	return c, nil
}

// Members returns the ids merged into canonical, canonical first.
func (s *Service) Members(ctx context.Context, ws, canonical string) ([]string, error) {
	ms, err := s.store.Members(ctx, ws, canonical)
	if err != nil {
		return nil, err
	}
	out := []string{canonical}
	for _, m := range ms {
		if m != canonical {
			out = append(out, m)
		}
	}
	return out, nil
}

// Identities returns the identities of the given contact ids.
func (s *Service) Identities(ctx context.Context, ws string, ids []string) ([]Identity, error) {
	return s.store.Identities(ctx, ws, ids)
}

// Conversations returns the most recent conversations of the given ids.
func (s *Service) Conversations(ctx context.Context, ws string, ids []string, limit int) ([]Conversation, error) {
	return s.store.Conversations(ctx, ws, ids, limit)
}

// Audit returns the merge trail touching any of ids, newest first.
func (s *Service) Audit(ctx context.Context, ws string, ids []string) ([]Audit, error) {
	return s.store.Audit(ctx, ws, ids)
}

// Referred returns the canonical contacts whose effective referrer is one of parents.
func (s *Service) Referred(ctx context.Context, ws string, parents []string, limit int) ([]Contact, error) {
	return s.store.Referred(ctx, ws, parents, limit)
}

// TopReferrers returns the contacts with the highest referral value.
func (s *Service) TopReferrers(ctx context.Context, ws string, limit int) ([]Contact, error) {
	if limit <= 0 || limit > MaxLimit {
		limit = 20
	}
	return s.store.TopReferrers(ctx, ws, limit)
}

// Create makes a contact by hand from a profile (at least an email or phone).
func (s *Service) Create(ctx context.Context, ws string, p Profile, attrs AttributesInput, custom map[string]any) (Contact, error) {
	r, err := s.Resolve(ctx, ws, p)
	if err != nil {
		return Contact{}, err
	}
	id := r.ID
	if attrs != (AttributesInput{}) || len(custom) > 0 {
		return s.Update(ctx, ws, id, 0, PatchInput{Attributes: &attrs, Custom: custom})
	}
	return s.Get(ctx, ws, id)
}

// PatchInput is a change to a contact's profile.
type PatchInput struct {
	Name       *string          `json:"name,omitempty"`
	Labels     *[]string        `json:"labels,omitempty"`
	Attributes *AttributesInput `json:"attributes,omitempty"`
	Custom     map[string]any   `json:"custom,omitempty"` // null deletes
}

// Patch is a validated profile change for the store.
type Patch struct {
	Name       *string
	Labels     *[]string
	Attributes *Attributes
	SetCustom  map[string]any
	DelCustom  []string
	At         time.Time
}

// Update applies in to contact id (its canonical contact). A non-zero version
// must match the stored one, else the update is refused with a conflict.
func (s *Service) Update(ctx context.Context, ws, id string, version int64, in PatchInput) (Contact, error) {
	c, err := s.Get(ctx, ws, id)
	if err != nil {
		return Contact{}, err
	}
	p := Patch{At: s.clock()}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if len(n) > 200 {
			return Contact{}, apperr.Invalid("name is longer than 200 bytes")
		}
		p.Name = &n
	}
	if in.Labels != nil {
		var ls []string
		for _, l := range *in.Labels {
			l = strings.TrimSpace(l)
			if l == "" || len(l) > 50 {
				return Contact{}, apperr.Invalid("labels must be 1 to 50 bytes")
			}
			if !slices.Contains(ls, l) {
				ls = append(ls, l)
			}
		}
		if len(ls) > 50 {
			return Contact{}, apperr.Invalid("at most 50 labels")
		}
		p.Labels = &ls
	}
	if in.Attributes != nil {
		a, err := in.Attributes.Apply(c.Attributes, s.clock().Year())
		if err != nil {
			return Contact{}, err
		}
		p.Attributes = &a
	}
	if len(in.Custom) > 0 {
		defs, err := s.store.AttrDefs(ctx, ws)
		if err != nil {
			return Contact{}, err
		}
		p.SetCustom = map[string]any{}
		for name, v := range in.Custom {
			i := slices.IndexFunc(defs, func(d AttrDef) bool { return d.Name == name })
			if i < 0 {
				return Contact{}, apperr.Invalid("unknown custom attribute %q: define it first", name)
			}
			if v == nil {
				p.DelCustom = append(p.DelCustom, name)
				continue
			}
			cv, err := defs[i].Coerce(v, false)
			if err != nil {
				return Contact{}, err
			}
			p.SetCustom[name] = cv
		}
	}
	return s.store.Update(ctx, ws, c.ID, version, p)
}

// List returns one page of canonical contacts matching f, sorted by so.
func (s *Service) List(ctx context.Context, ws string, f Filter, so Sort, p Page) ([]Contact, string, error) {
	custom, err := s.prepare(ctx, ws, &f)
	if err != nil {
		return nil, "", err
	}
	if p.Limit <= 0 {
		p.Limit = 50
	}
	p.Limit = min(p.Limit, MaxLimit)
	return s.store.List(ctx, ws, f, custom, so, p, s.clock())
}

// Count returns how many canonical contacts match f.
func (s *Service) Count(ctx context.Context, ws string, f Filter) (int64, error) {
	custom, err := s.prepare(ctx, ws, &f)
	if err != nil {
		return 0, err
	}
	return s.store.Count(ctx, ws, f, custom, s.clock())
}

// Each streams every canonical contact matching f to fn.
func (s *Service) Each(ctx context.Context, ws string, f Filter, fn func(Contact) error) error {
	custom, err := s.prepare(ctx, ws, &f)
	if err != nil {
		return err
	}
	return s.store.Each(ctx, ws, f, custom, s.clock(), fn)
}

// ValidateFilter checks f against the workspace's custom attributes.
func (s *Service) ValidateFilter(ctx context.Context, ws string, f *Filter) error {
	_, err := s.prepare(ctx, ws, f)
	return err
}

func (s *Service) prepare(ctx context.Context, ws string, f *Filter) (map[string]any, error) {
	var defs []AttrDef
	if len(f.Custom) > 0 {
		var err error
		if defs, err = s.store.AttrDefs(ctx, ws); err != nil {
			return nil, err
		}
	}
	if err := f.Validate(defs); err != nil {
		return nil, err
	}
	return f.CustomValues(defs), nil
}

// Merge merges contact from (and everything merged into it) into contact
// into: orders, referrals, conversations and keys then count for into's
// canonical contact. actor is a user id or "system".
func (s *Service) Merge(ctx context.Context, ws, actor, from, into, reason string) error {
	if from == into {
		return apperr.Invalid("cannot merge a contact into itself")
	}
	if err := s.merger.Merge(ctx, ws, from, into); err != nil {
		return mapValueErr(err)
	}
	canon, err := s.merger.Canonical(ctx, ws, into)
	if err != nil {
		return err
	}
	if err := s.store.RefreshSearch(ctx, ws, canon); err != nil {
		return err
	}
	a := Audit{ID: auth.RandomID(), Action: "merge", From: from, Into: into, Actor: actor, Reason: reason, At: s.clock()}
	if err := s.store.InsertAudit(ctx, ws, a); err != nil {
		return err
	}
	s.publishMerge(ctx, ws, a, canon)
	return nil
}

// Unmerge makes alias its own contact again; what was merged into it goes with it.
func (s *Service) Unmerge(ctx context.Context, ws, actor, alias, reason string) error {
	c, err := s.store.Get(ctx, ws, alias)
	if err != nil {
		return err
	}
	if err := s.merger.Unmerge(ctx, ws, alias); err != nil {
		return mapValueErr(err)
	}
	for _, id := range []string{alias, c.Canonical} {
		if err := s.store.RefreshSearch(ctx, ws, id); err != nil {
			return err
		}
	}
	a := Audit{ID: auth.RandomID(), Action: "unmerge", From: alias, Into: c.Alias, Actor: actor, Reason: reason, At: s.clock()}
	if err := s.store.InsertAudit(ctx, ws, a); err != nil {
		return err
	}
	s.publishMerge(ctx, ws, a, c.Canonical)
	return nil
}

func (s *Service) publishMerge(ctx context.Context, ws string, a Audit, canonical string) {
	data := map[string]any{"action": a.Action, "from": a.From, "into": a.Into, "canonical": canonical, "actor": a.Actor}
	for _, stream := range []string{event.StreamCRM, event.StreamSystem} {
		e, err := event.New(ws, stream, event.ContactMerged, data)
		if err == nil {
			_, err = s.bus.Publish(ctx, e)
		}
		if err != nil {
			s.log.WarnContext(ctx, "publish contact.merged", "err", err)
		}
	}
}

// mapValueErr turns the value engine's refusals into client errors.
func mapValueErr(err error) error {
	switch {
	case errors.Is(err, value.ErrAlreadyMerged):
		return apperr.Conflict("contact is already merged into another contact; unmerge it first")
	case errors.Is(err, value.ErrSameContact):
		return apperr.Conflict("the contacts are already the same contact")
	case errors.Is(err, value.ErrNotMerged):
		return apperr.Conflict("contact is not merged into another contact")
	case errors.Is(err, value.ErrSelfReferral):
		return apperr.Invalid("a contact cannot refer itself (directly or through a merge)")
	case errors.Is(err, value.ErrCycle):
		return apperr.Conflict("this referral would create a cycle: the referrer was (indirectly) referred by this contact")
	case errors.Is(err, value.ErrAlreadyReferred):
		return apperr.Conflict("contact already has a referrer (first touch wins)")
	}
	return err
}

// MapValueError is mapValueErr for other packages' handlers.
func MapValueError(err error) error { return mapValueErr(err) }

// codeAlphabet avoids look-alike characters (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ReferralCode returns the contact's referral code, creating it on first use.
func (s *Service) ReferralCode(ctx context.Context, ws, id string) (string, error) {
	c, err := s.Get(ctx, ws, id)
	if err != nil {
		return "", err
	}
	if c.ReferralCode != "" {
		return c.ReferralCode, nil
	}
	for attempt := 0; attempt < 5; attempt++ {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
		}
		code, err := s.store.SetReferralCode(ctx, ws, c.ID, string(b))
		if errors.Is(err, apperr.ErrConflict) {
			continue // code taken by another contact: draw again
		}
		return code, err
	}
	return "", fmt.Errorf("referral code: no free code after 5 draws")
}

// CodeOwner returns the canonical contact owning a referral code.
func (s *Service) CodeOwner(ctx context.Context, ws, code string) (string, error) {
	id, err := s.store.CodeOwner(ctx, ws, strings.ToUpper(strings.TrimSpace(code)))
	if err != nil {
		return "", err
	}
	return s.merger.Canonical(ctx, ws, id)
}

// AttrDefs returns the workspace's custom attribute schema.
func (s *Service) AttrDefs(ctx context.Context, ws string) ([]AttrDef, error) {
	return s.store.AttrDefs(ctx, ws)
}

// DefineAttr adds or replaces a custom attribute definition.
func (s *Service) DefineAttr(ctx context.Context, ws string, d AttrDef) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.store.PutAttrDef(ctx, ws, d)
}

// DeleteAttr removes a custom attribute definition; stored values stay but no longer validate new writes.
func (s *Service) DeleteAttr(ctx context.Context, ws, name string) error {
	return s.store.DeleteAttrDef(ctx, ws, name)
}

// Raw returns the contact document of id itself, even when it is merged
// into another contact.
func (s *Service) Raw(ctx context.Context, ws, id string) (Contact, error) {
	return s.store.Get(ctx, ws, id)
}

// IdentitiesOf returns the identities of each canonical contact in ids,
// merged members included, with two queries however many contacts there are.
func (s *Service) IdentitiesOf(ctx context.Context, ws string, ids []string) (map[string][]Identity, error) {
	owner := map[string]string{}
	var members []string
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		ms, err := s.store.MembersOf(ctx, ws, chunk)
		if err != nil {
			return nil, err
		}
		for m, c := range ms {
			owner[m] = c
			members = append(members, m)
		}
	}
	out := map[string][]Identity{}
	for start := 0; start < len(members); start += 500 {
		idents, err := s.store.Identities(ctx, ws, members[start:min(start+500, len(members))])
		if err != nil {
			return nil, err
		}
		for _, i := range idents {
			c := owner[i.ContactID]
			out[c] = append(out[c], i)
		}
	}
	return out, nil
}
