package realtime

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/shared/event"
)

// presenceChange is the Data of a presence event on the bus: the whole state of
// one connection (session) in one conversation. Sending state rather than deltas
// makes every change idempotent, so a replayed or duplicated change is harmless
// and refreshing a view is the same message as starting it.
type presenceChange struct {
	ConversationID string `json:"conversation_id"`
	Session        string `json:"session"`
	UserID         string `json:"user_id"`
	Name           string `json:"name"`
	Viewing        bool   `json:"viewing"`
	Typing         bool   `json:"typing"`
}

// newPresenceEvent builds the bus event announcing ch in workspace ws.
func newPresenceEvent(ws string, ch presenceChange) (event.Event, error) {
	e, err := event.New(ws, StreamPresence, event.Presence, ch)
	if err != nil {
		return event.Event{}, err
	}
	e.ConversationID = ch.ConversationID
	return e, nil
}

// decodePresence reads a presence event published by some gateway instance.
func decodePresence(e event.Event) (presenceChange, error) {
	var ch presenceChange
	if err := json.Unmarshal(e.Data, &ch); err != nil {
		return presenceChange{}, fmt.Errorf("presence: %w", err)
	}
	if !validID(ch.ConversationID) || ch.Session == "" || ch.UserID == "" ||
		len(ch.Session) > maxIDLength || len(ch.UserID) > maxIDLength || len(ch.Name) > 256 {
		return presenceChange{}, fmt.Errorf("presence: invalid change")
	}
	return ch, nil
}

// presenceSession is what one connection is doing in a conversation; a zero
// deadline means not doing it.
type presenceSession struct {
	userID, name string
	viewingUntil time.Time
	typingUntil  time.Time
}

// presenceState aggregates the sessions of every gateway instance in one
// conversation. Sessions carry deadlines because the instance holding a
// connection may die without saying goodbye.
type presenceState struct {
	sessions map[string]*presenceSession
	lastSent []byte // last frame broadcast, so only real changes are sent
}

// apply records ch received at now.
func (p *presenceState) apply(ch presenceChange, now time.Time, viewingTTL, typingTTL time.Duration) {
	if !ch.Viewing && !ch.Typing {
		delete(p.sessions, ch.Session)
		return
	}
	if p.sessions == nil {
		p.sessions = make(map[string]*presenceSession, 2)
	}
	s := p.sessions[ch.Session]
	if s == nil {
		s = &presenceSession{}
		p.sessions[ch.Session] = s
	}
	s.userID, s.name = ch.UserID, ch.Name
	s.viewingUntil, s.typingUntil = time.Time{}, time.Time{}
	if ch.Viewing {
		s.viewingUntil = now.Add(viewingTTL)
	}
	if ch.Typing {
		s.typingUntil = now.Add(typingTTL)
	}
}

// expire drops what has not been refreshed by now and reports whether
// anything was dropped.
func (p *presenceState) expire(now time.Time) bool {
	changed := false
	for id, s := range p.sessions {
		if !s.viewingUntil.IsZero() && !now.Before(s.viewingUntil) {
			s.viewingUntil, changed = time.Time{}, true
		}
		if !s.typingUntil.IsZero() && !now.Before(s.typingUntil) {
			s.typingUntil, changed = time.Time{}, true
		}
		if s.viewingUntil.IsZero() && s.typingUntil.IsZero() {
			delete(p.sessions, id)
		}
	}
	return changed
}

// empty reports whether nobody is viewing or typing.
func (p *presenceState) empty() bool { return len(p.sessions) == 0 }

// presenceUser is one person in a presence frame.
type presenceUser struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// presenceData is the data of a presence frame sent to browsers: distinct users,
// sorted by id so equal states encode to equal bytes.
type presenceData struct {
	ConversationID string         `json:"conversation_id"`
	Viewers        []presenceUser `json:"viewers"`
	Typing         []presenceUser `json:"typing"`
}

// presenceFrame is {"type":"presence","data":...}; it carries no seq.
type presenceFrame struct {
	Type string       `json:"type"`
	Data presenceData `json:"data"`
}

// render encodes the current state of conversation id as a browser frame.
func (p *presenceState) render(id string) []byte {
	d := presenceData{ConversationID: id, Viewers: []presenceUser{}, Typing: []presenceUser{}}
	for _, s := range p.sessions {
		u := presenceUser{UserID: s.userID, Name: s.name}
		if !s.viewingUntil.IsZero() {
			d.Viewers = append(d.Viewers, u)
		}
		if !s.typingUntil.IsZero() {
			d.Typing = append(d.Typing, u)
		}
	}
	d.Viewers = distinctUsers(d.Viewers)
	d.Typing = distinctUsers(d.Typing)
	return mustJSON(presenceFrame{Type: event.Presence, Data: d})
}

// distinctUsers sorts by user id and keeps one entry per user: a user viewing
// from two tabs is one viewer.
func distinctUsers(us []presenceUser) []presenceUser {
	slices.SortFunc(us, func(a, b presenceUser) int {
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return slices.CompactFunc(us, func(a, b presenceUser) bool { return a.UserID == b.UserID })
}
