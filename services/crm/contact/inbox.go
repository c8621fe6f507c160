package contact

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/event"
)

// IdentitySeen is the data of an identity.seen event: the inbox saw an author
// for the first time.
type IdentitySeen struct {
	Platform       string `json:"platform"`
	UserID         string `json:"user_id"`
	Handle         string `json:"handle"`
	Name           string `json:"name"`
	ChannelID      string `json:"channel_id"`
	ConversationID string `json:"conversation_id"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
}

// ObserveIdentity links an identity announced by the inbox to its contact,
// creating the contact or merging contacts that share its email or phone.
func (s *Service) ObserveIdentity(ctx context.Context, ws string, d IdentitySeen) (string, error) {
	if d.Platform == "" || d.UserID == "" {
		return "", apperr.Invalid("identity.seen needs platform and user_id")
	}
	id := &Identity{Platform: d.Platform, UserID: d.UserID, Handle: d.Handle, Name: d.Name, ChannelID: d.ChannelID}
	r, err := s.Resolve(ctx, ws, Profile{Name: d.Name, Email: d.Email, Phone: d.Phone, Identity: id})
	if err != nil {
		return "", err
	}
	if d.ConversationID != "" {
		conv := Conversation{ConversationID: d.ConversationID, Platform: d.Platform, ChannelID: d.ChannelID, LastActivity: s.clock()}
		if err := s.store.Activity(ctx, ws, r.Owner, r.ID, conv, false); err != nil {
			return "", err
		}
	}
	return r.ID, nil
}

// inboxData is the part of a message.created or conversation.updated event the
// CRM reads. The inbox may send the fields flat or nested under "message" /
// "conversation"; both are accepted so the two services can evolve apart.
type inboxData struct {
	ID             string        `json:"id"`
	MessageID      string        `json:"message_id"`
	ConversationID string        `json:"conversation_id"`
	ChannelID      string        `json:"channel_id"`
	Platform       string        `json:"platform"`
	Kind           string        `json:"kind"`      // comment | dm | mention | share
	Direction      string        `json:"direction"` // in | out
	Echo           bool          `json:"echo"`
	Mention        bool          `json:"mention"`
	Share          bool          `json:"share"`
	Author         *identityData `json:"author"`
	Customer       *identityData `json:"customer"`
	CreatedAt      time.Time     `json:"created_at"`
	LastActivityAt time.Time     `json:"last_activity_at"`
	PlatformTime   time.Time     `json:"platform_time"`
	ReceivedAt     time.Time     `json:"received_at"`
	LastMessageAt  time.Time     `json:"last_message_at"`
	Message        *inboxData    `json:"message"`
	Conversation   *inboxData    `json:"conversation"`
}

type identityData struct {
	Platform string `json:"platform"`
	UserID   string `json:"user_id"`
	ID       string `json:"id"`
	Handle   string `json:"handle"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
}

// flatten fills empty fields of d from its nested message and conversation.
func (d *inboxData) flatten() {
	for _, n := range []*inboxData{d.Message, d.Conversation} {
		if n == nil {
			continue
		}
		n.flatten()
		set := func(dst *string, src string) {
			if *dst == "" {
				*dst = src
			}
		}
		set(&d.ID, n.ID)
		set(&d.MessageID, n.MessageID)
		set(&d.ConversationID, n.ConversationID)
		set(&d.ChannelID, n.ChannelID)
		set(&d.Platform, n.Platform)
		set(&d.Kind, n.Kind)
		set(&d.Direction, n.Direction)
		d.Echo = d.Echo || n.Echo
		d.Mention = d.Mention || n.Mention
		d.Share = d.Share || n.Share
		if d.Author == nil {
			d.Author = n.Author
		}
		if d.Customer == nil {
			d.Customer = n.Customer
		}
		if d.CreatedAt.IsZero() {
			d.CreatedAt = n.CreatedAt
		}
		for _, p := range []struct{ dst, src *time.Time }{{&d.LastActivityAt, &n.LastActivityAt}, {&d.PlatformTime, &n.PlatformTime},
			{&d.ReceivedAt, &n.ReceivedAt}, {&d.LastMessageAt, &n.LastMessageAt}} {
			if p.dst.IsZero() {
				*p.dst = *p.src
			}
		}
	}
	if d.MessageID == "" {
		d.MessageID = d.ID
	}
}

// ObserveInbox updates the conversation projection and, for an inbound
// public comment, mention or share, the author's influence. Events without an
// identifiable person are ignored.
func (s *Service) ObserveInbox(ctx context.Context, e event.Event) error {
	d, who, inbound, ok := parseInbox(e)
	if !ok {
		return nil // nothing to attribute to a person: dropped, not retried
	}
	platform := firstNonEmpty(who.Platform, d.Platform)
	uid := firstNonEmpty(who.UserID, who.ID)
	ident := &Identity{Platform: platform, UserID: uid, Handle: who.Handle, Name: who.Name, ChannelID: d.ChannelID}
	r, err := s.Resolve(ctx, e.WorkspaceID, Profile{Name: who.Name, Email: who.Email, Phone: who.Phone, Identity: ident})
	if err != nil {
		return err
	}
	at := firstTime(d.PlatformTime, d.CreatedAt, d.ReceivedAt, d.LastMessageAt, d.LastActivityAt, e.Time, s.clock())
	isMessage := e.Type == event.MessageCreated
	conv := Conversation{ConversationID: d.ConversationID, Platform: platform, ChannelID: d.ChannelID, Kind: d.Kind, LastActivity: at.UTC()}
	if isMessage && inbound {
		// At-least-once delivery: count each message once.
		first, err := s.store.SeenMessage(ctx, e.WorkspaceID, firstNonEmpty(d.MessageID, e.ID))
		if err != nil {
			return err
		}
		if !first {
			return nil
		}
		kind := strings.ToLower(d.Kind)
		var comments, mentions, shares int64
		if kind == "comment" {
			comments = 1
		}
		if kind == "mention" || d.Mention {
			mentions = 1
		}
		if kind == "share" || d.Share {
			shares = 1
		}
		if comments+mentions+shares > 0 {
			if err := s.store.AddInfluence(ctx, e.WorkspaceID, r.Owner, comments, mentions, shares); err != nil {
				return err
			}
		}
	}
	return s.store.Activity(ctx, e.WorkspaceID, r.Owner, r.ID, conv, isMessage)
}

// parseInbox decodes an inbox event and picks the person it is about: the
// author of an inbound message, else the conversation's customer. ok is false
// when the event names no conversation or no identifiable person.
func parseInbox(e event.Event) (d inboxData, who *identityData, inbound, ok bool) {
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return d, nil, false, false
	}
	d.flatten()
	if d.ConversationID == "" {
		d.ConversationID = e.ConversationID
	}
	if d.ConversationID == "" && e.Type == event.ConversationUpdated && d.Message == nil && d.Conversation == nil {
		d.ConversationID = d.ID // the inbox sends the conversation itself
	}
	who = d.Author
	inbound = d.Direction == "in" || (d.Direction == "" && !d.Echo)
	if e.Type == event.ConversationUpdated || !inbound {
		who = d.Customer
	}
	if who == nil || d.ConversationID == "" || firstNonEmpty(who.Platform, d.Platform) == "" || firstNonEmpty(who.UserID, who.ID) == "" {
		return d, nil, inbound, false
	}
	return d, who, inbound, true
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
