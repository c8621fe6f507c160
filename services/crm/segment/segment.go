// Package segment keeps saved contact filters and evaluates them: list, count
// and stream the contacts a segment selects, always as of now.
package segment

import (
	"context"
	"strings"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
)

// Segment is a named, saved filter.
type Segment struct {
	ID          string
	WorkspaceID string
	Name        string
	Filter      contact.Filter
	CreatedBy   string
	CreatedAt   time.Time
}

// Storer keeps segments.
type Storer interface {
	Create(ctx context.Context, s Segment) error
	Get(ctx context.Context, ws, id string) (Segment, error)
	List(ctx context.Context, ws string) ([]Segment, error)
	Delete(ctx context.Context, ws, id string) error
}

// Contacts evaluates filters; the contact service implements it.
type Contacts interface {
	ValidateFilter(ctx context.Context, ws string, f *contact.Filter) error
	List(ctx context.Context, ws string, f contact.Filter, so contact.Sort, p contact.Page) ([]contact.Contact, string, error)
	Count(ctx context.Context, ws string, f contact.Filter) (int64, error)
	Each(ctx context.Context, ws string, f contact.Filter, fn func(contact.Contact) error) error
}

// Service manages and evaluates segments.
type Service struct {
	store    Storer
	contacts Contacts
	now      func() time.Time
}

// New returns a segment service.
func New(store Storer, contacts Contacts, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, contacts: contacts, now: now}
}

// Create saves a segment after validating its filter. Only money viewers may
// save a filter on money.
func (s *Service) Create(ctx context.Context, ws string, p auth.Principal, name string, f contact.Filter) (Segment, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Segment{}, apperr.Invalid("name is required (at most 100 bytes)")
	}
	if f.UsesMoney() && !p.SeesMoney() {
		return Segment{}, apperr.Forbidden("filters on money require the manager role")
	}
	if err := s.contacts.ValidateFilter(ctx, ws, &f); err != nil {
		return Segment{}, err
	}
	seg := Segment{ID: auth.RandomID(), WorkspaceID: ws, Name: name, Filter: f, CreatedBy: p.UserID, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	return seg, s.store.Create(ctx, seg)
}

// Get returns one segment.
func (s *Service) Get(ctx context.Context, ws, id string) (Segment, error) {
	return s.store.Get(ctx, ws, id)
}

// List returns the workspace's segments, newest first.
func (s *Service) List(ctx context.Context, ws string) ([]Segment, error) {
	return s.store.List(ctx, ws)
}

// Delete removes a segment.
func (s *Service) Delete(ctx context.Context, ws, id string) error {
	return s.store.Delete(ctx, ws, id)
}

// Contacts returns one page of the segment's contacts.
func (s *Service) Contacts(ctx context.Context, ws, id string, so contact.Sort, p contact.Page) ([]contact.Contact, string, error) {
	seg, err := s.store.Get(ctx, ws, id)
	if err != nil {
		return nil, "", err
	}
	return s.contacts.List(ctx, ws, seg.Filter, so, p)
}

// Count returns how many contacts the segment selects now.
func (s *Service) Count(ctx context.Context, ws, id string) (int64, error) {
	seg, err := s.store.Get(ctx, ws, id)
	if err != nil {
		return 0, err
	}
	return s.contacts.Count(ctx, ws, seg.Filter)
}

// Each streams the segment's contacts to fn.
func (s *Service) Each(ctx context.Context, ws, id string, fn func(contact.Contact) error) error {
	seg, err := s.store.Get(ctx, ws, id)
	if err != nil {
		return err
	}
	return s.contacts.Each(ctx, ws, seg.Filter, fn)
}
