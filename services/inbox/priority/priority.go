// Package priority raises conversations' priority from what happens in them
// (triage.Assess): a comment thread turning negative while its engagement
// accelerates becomes urgent; a customer the CRM ranks VIP or top referrer
// makes their conversations high.
//
// It keeps, per conversation, the recent comments and reactions of the
// thread (a stats document updated from message events, keyed so a
// redelivered event rewrites the same entries) and, per platform identity,
// the customer's CRM tier (from contact.tier_changed). Triage only ever
// raises a priority: lowering one is a human decision, so an agent's
// choice is never undone by a calmer thread.
package priority

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/triage"
	"github.com/communityinbox/shared/event"
)

// ConsumerGroup is the bus consumer group of the priority worker.
const ConsumerGroup = "inbox-priority"

// Stats are a thread's recent comments and reactions.
type Stats struct {
	Comments  []triage.Comment
	Reactions []time.Time
}

// Storer keeps thread stats and customer tiers and raises priorities.
type Storer interface {
	// AddComment records a comment (by message id) in the thread's stats.
	AddComment(ctx context.Context, ws, conversationID, messageID string, c triage.Comment) error
	// SetReactions records the current reactions on one message of the thread.
	SetReactions(ctx context.Context, ws, conversationID, messageID string, at []time.Time) error
	// Stats returns the thread's stats, dropping entries older than since.
	Stats(ctx context.Context, ws, conversationID string, since time.Time) (Stats, error)
	PutTier(ctx context.Context, ws, platform, userID, tier string) error
	Tier(ctx context.Context, ws, platform, userID string) (string, error) // "" when unknown
	// OpenConversationsOf returns the open and pending conversations whose customer is the identity.
	OpenConversationsOf(ctx context.Context, ws, platform, userID string) ([]string, error)
	// Raise sets priority and reasons when the stored priority ranks lower; false when it did not.
	Raise(ctx context.Context, ws, conversationID string, p triage.Priority, reasons []string) (bool, error)
}

// ConversationGetter reads one conversation as stored now.
type ConversationGetter interface {
	Conversation(ctx context.Context, ws, id string) (conversation.Conversation, error)
}

// Publisher publishes events.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
}

// Service triages conversations.
type Service struct {
	store Storer
	convs ConversationGetter
	bus   Publisher
	cfg   triage.Config
	log   *slog.Logger

	handled atomic.Int64
}

// Handled is the number of bus events handled so far (an operational
// figure; tests use it to wait for the consumer).
func (s *Service) Handled() int64 { return s.handled.Load() }

// NewService returns a triage service; cfg's zero fields take triage's defaults.
func NewService(store Storer, convs ConversationGetter, bus Publisher, cfg triage.Config, log *slog.Logger) *Service {
	return &Service{store: store, convs: convs, bus: bus, cfg: cfg, log: log}
}

// Run consumes the bus as ConsumerGroup until ctx ends.
func (s *Service) Run(ctx context.Context, bus event.Bus) error {
	return bus.Consume(ctx, ConsumerGroup, s.Handle)
}

// TierChanged is the part of a contact.tier_changed event triage reads.
type TierChanged struct {
	ContactID  string                  `json:"contact_id"`
	Tier       string                  `json:"tier"`
	Identities []conversation.Identity `json:"identities"`
}

// Handle applies one bus event; it is idempotent.
func (s *Service) Handle(ctx context.Context, e event.Event) error {
	defer s.handled.Add(1)
	switch e.Type {
	case event.MessageCreated, event.MessageUpdated:
		var m conversation.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil // never valid on redelivery either
		}
		return s.message(ctx, e, m)
	case event.ContactTierChanged:
		var tc TierChanged
		if err := json.Unmarshal(e.Data, &tc); err != nil {
			return nil
		}
		return s.tierChanged(ctx, e.WorkspaceID, tc)
	}
	return nil
}

func (s *Service) message(ctx context.Context, e event.Event, m conversation.Message) error {
	if m.Placeholder || m.ConversationID == "" || m.Echo || m.Direction != conversation.DirectionIn {
		return nil
	}
	ws := e.WorkspaceID
	at := m.PlatformTime
	if at.IsZero() {
		at = e.Time
	}
	if m.Kind == conversation.KindComment {
		if e.Type == event.MessageCreated && m.Tombstone == nil {
			if err := s.store.AddComment(ctx, ws, m.ConversationID, m.ID, triage.Comment{At: at, Text: m.Text}); err != nil {
				return err
			}
		}
		var reactions []time.Time
		for _, r := range m.Reactions {
			if r.Emoji != "" {
				reactions = append(reactions, r.At)
				at = later(at, r.At)
			}
		}
		if len(reactions) > 0 || e.Type == event.MessageUpdated {
			if err := s.store.SetReactions(ctx, ws, m.ConversationID, m.ID, reactions); err != nil {
				return err
			}
		}
	}
	tier, err := s.store.Tier(ctx, ws, m.Author.Platform, m.Author.UserID)
	if err != nil {
		return err
	}
	th := triage.Thread{Now: at, Tier: triage.Tier(tier)}
	if m.Kind == conversation.KindComment {
		st, err := s.store.Stats(ctx, ws, m.ConversationID, at.Add(-s.window()))
		if err != nil {
			return err
		}
		// Assess looks back from the newest activity: the event's time
		// rather than the wall clock, so replayed or delayed events judge
		// the thread as it was when they happened.
		for _, c := range st.Comments {
			th.Now = later(th.Now, c.At)
		}
		for _, r := range st.Reactions {
			th.Now = later(th.Now, r)
		}
		th.Comments, th.Reactions = st.Comments, st.Reactions
	}
	p, reasons := triage.Assess(th, s.cfg)
	return s.raise(ctx, ws, m.ConversationID, p, reasons)
}

// window is how far back Assess looks.
func (s *Service) window() time.Duration {
	d := triage.DefaultConfig()
	recent, base := s.cfg.Recent, s.cfg.Baseline
	if recent <= 0 {
		recent = d.Recent
	}
	if base <= 0 {
		base = d.Baseline
	}
	return recent + base
}

func (s *Service) tierChanged(ctx context.Context, ws string, tc TierChanged) error {
	raises := tc.Tier == string(triage.TierVIP) || tc.Tier == string(triage.TierTopReferrer)
	for _, id := range tc.Identities {
		if id.Platform == "" || id.UserID == "" {
			continue
		}
		if err := s.store.PutTier(ctx, ws, id.Platform, id.UserID, tc.Tier); err != nil {
			return err
		}
		if !raises {
			continue
		}
		convs, err := s.store.OpenConversationsOf(ctx, ws, id.Platform, id.UserID)
		if err != nil {
			return err
		}
		for _, c := range convs {
			if err := s.raise(ctx, ws, c, triage.High, []string{fmt.Sprintf("customer tier: %s", tc.Tier)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// raise stores a higher priority and announces it with conversation.updated.
func (s *Service) raise(ctx context.Context, ws, conversationID string, p triage.Priority, reasons []string) error {
	if p != triage.High && p != triage.Urgent {
		return nil
	}
	ok, err := s.store.Raise(ctx, ws, conversationID, p, reasons)
	if err != nil || !ok {
		return err
	}
	cv, err := s.convs.Conversation(ctx, ws, conversationID)
	if err != nil {
		return err
	}
	e, err := event.New(ws, event.StreamInbox, event.ConversationUpdated, cv)
	if err != nil {
		return err
	}
	e.ConversationID = cv.ID
	if _, err := s.bus.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish priority: %w", err)
	}
	s.log.InfoContext(ctx, "priority raised", "workspace", ws, "conversation", conversationID, "priority", string(p))
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
