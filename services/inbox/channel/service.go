package channel

import (
	"context"
	"errors"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
)

// Service manages channels and answers the webhook path's lookups from a
// short-lived cache: a webhook burst must not cost a database read per
// request. Another instance's deletion takes effect here within the TTL.
type Service struct {
	store Storer
	cache *cache
	now   func() time.Time
}

// NewService returns a service on store caching lookups for ttl.
func NewService(store Storer, ttl time.Duration) *Service {
	return &Service{store: store, cache: newCache(ttl), now: func() time.Time { return time.Now().UTC() }}
}

// Create validates nc and stores it as a channel of workspaceID.
func (s *Service) Create(ctx context.Context, workspaceID string, nc NewChannel) (Channel, error) {
	ch, err := build(nc)
	if err != nil {
		return Channel{}, err
	}
	ch.ID, ch.WorkspaceID, ch.CreatedAt = auth.RandomID(), workspaceID, s.now().Truncate(time.Millisecond)
	if ch.Type == API {
		ch.Route = RouteFor(API, ch.ID)
	}
	if err := s.store.Create(ctx, ch); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return Channel{}, apperr.Conflict("this %s account is already connected to a channel", ch.Type)
		}
		return Channel{}, err
	}
	s.cache.forget(ch)
	return ch, nil
}

// Get returns a channel of workspaceID.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (Channel, error) {
	return s.store.Get(ctx, workspaceID, id)
}

// List returns the channels of workspaceID.
func (s *Service) List(ctx context.Context, workspaceID string) ([]Channel, error) {
	return s.store.List(ctx, workspaceID)
}

// Delete removes a channel of workspaceID. Its conversations stay.
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	ch, err := s.store.Get(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if err := s.store.Delete(ctx, workspaceID, id); err != nil {
		return err
	}
	s.cache.forget(ch)
	return nil
}

// ByID returns a channel of any workspace, for the webhook path.
func (s *Service) ByID(ctx context.Context, id string) (Channel, error) {
	m, err := s.ByIDs(ctx, []string{id})
	if err != nil {
		return Channel{}, err
	}
	ch, ok := m[id]
	if !ok {
		return Channel{}, apperr.NotFound("channel")
	}
	return ch, nil
}

// ByIDs returns the channels among ids that exist, by id.
func (s *Service) ByIDs(ctx context.Context, ids []string) (map[string]Channel, error) {
	return s.cached(ctx, "id:", ids, s.store.ByIDs, func(c Channel) string { return c.ID })
}

// ByRoutes returns the channels owning routes, by route; routes nobody owns are absent.
func (s *Service) ByRoutes(ctx context.Context, routes []string) (map[string]Channel, error) {
	return s.cached(ctx, "route:", routes, s.store.ByRoutes, func(c Channel) string { return c.Route })
}

// ByVerifyToken returns the Meta channels whose verify token is token.
func (s *Service) ByVerifyToken(ctx context.Context, token string) ([]Channel, error) {
	if token == "" {
		return nil, nil
	}
	return s.store.ByVerifyToken(ctx, token)
}

// OfType returns every channel of type t in all workspaces, for pollers.
func (s *Service) OfType(ctx context.Context, t Type) ([]Channel, error) {
	return s.store.ByType(ctx, t)
}

func (s *Service) cached(ctx context.Context, prefix string, keys []string,
	load func(context.Context, []string) ([]Channel, error), keyOf func(Channel) string) (map[string]Channel, error) {
	out := make(map[string]Channel, len(keys))
	if s.cache.ttl <= 0 {
		return out, loadInto(ctx, out, keys, load, keyOf)
	}
	missing, waits, mine, gen := s.cache.claim(prefix, keys, out)
	if mine != nil {
		got := make(map[string]Channel, len(missing))
		err := loadInto(ctx, got, missing, load, keyOf)
		byKey := make(map[string]Channel, len(got))
		for k, ch := range got {
			out[k], byKey[prefix+k] = ch, ch
		}
		s.cache.land(mine, prefix, missing, byKey, err, gen)
		if err != nil {
			return nil, err
		}
	}
	for _, w := range waits {
		select {
		case <-w.f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if w.f.err != nil {
			// The other lookup failed, perhaps only its own context: try
			// once more for this one.
			if err := loadInto(ctx, out, w.keys, load, keyOf); err != nil {
				return nil, err
			}
			continue
		}
		for _, k := range w.keys {
			if ch, ok := w.f.got[prefix+k]; ok {
				out[k] = ch
			}
		}
	}
	return out, nil
}

// loadInto loads the channels of keys into out, by key.
func loadInto(ctx context.Context, out map[string]Channel, keys []string,
	load func(context.Context, []string) ([]Channel, error), keyOf func(Channel) string) error {
	chs, err := load(ctx, keys)
	if err != nil {
		return err
	}
	for _, ch := range chs {
		out[keyOf(ch)] = ch
	}
	return nil
}
