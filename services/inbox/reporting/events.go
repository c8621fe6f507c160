package reporting

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/shared/event"
)

// ConsumerGroup is the bus consumer group of the reporting worker.
const ConsumerGroup = "inbox-reporting"

// messageData is the part of a message.created event reporting reads: the
// stored message (conversation.Message, published by ingest and by the agents'
// workflow) plus the workflow's flags for outgoing messages that answer nobody.
type messageData struct {
	conversation.Message
	Private   bool   `json:"private,omitempty"`   // an internal note
	Note      bool   `json:"note,omitempty"`      // an internal note (alternative spelling)
	Automated bool   `json:"automated,omitempty"` // bot, auto-reply, auto-sent canned response
	AgentID   string `json:"agent_id,omitempty"`  // the agent who sent an outgoing reply
	SenderID  string `json:"sender_id,omitempty"` // the same, as some publishers name it
}

// Handle turns one bus event into a timeline entry and recomputes the
// conversation's records; other events are ignored. It is idempotent.
func (s *Service) Handle(ctx context.Context, e event.Event) error {
	switch e.Type {
	case event.MessageCreated:
		var m messageData
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil // a malformed event never becomes valid: do not redeliver it
		}
		entry, ok := entryOfMessage(e, m)
		if !ok {
			return nil
		}
		return s.Record(ctx, entry)
	case event.ConversationUpdated:
		var cv conversation.Conversation
		if err := json.Unmarshal(e.Data, &cv); err != nil || cv.ID == "" {
			return nil
		}
		return s.statusChange(ctx, e, cv)
	}
	return nil
}

// entryOfMessage classifies a message; ok is false for messages that are not
// part of a timeline (placeholders, messages without a conversation).
func entryOfMessage(e event.Event, m messageData) (Entry, bool) {
	if m.Placeholder || m.ConversationID == "" || m.ID == "" {
		return Entry{}, false
	}
	at := firstSet(m.PlatformTime, m.CreatedAt, e.Time)
	entry := Entry{ID: m.ID + ":message", WorkspaceID: e.WorkspaceID, ConversationID: m.ConversationID,
		ChannelID: m.ChannelID, At: at}
	switch {
	case m.Private || m.Note:
		entry.Kind = metrics.Note
	case m.Direction == conversation.DirectionIn:
		entry.Kind = metrics.Incoming
	case m.Echo:
		entry.Kind = metrics.Echo
	case m.Automated:
		entry.Kind = metrics.Automated
	case m.Direction == conversation.DirectionOut:
		entry.Kind = metrics.AgentReply
		entry.AgentID = firstString(m.AgentID, m.SenderID, e.UserID)
	default:
		return Entry{}, false
	}
	return entry, true
}

// statusChange records a status the conversation did not already have at
// that time. Ingest publishes conversation.updated for every message, almost
// always with an unchanged status: those add nothing to the timeline.
func (s *Service) statusChange(ctx context.Context, e event.Event, cv conversation.Conversation) error {
	status := metrics.Status(cv.Status)
	switch status {
	case metrics.StatusOpen, metrics.StatusPending, metrics.StatusSnoozed, metrics.StatusResolved:
	default:
		return nil
	}
	ws := firstString(cv.WorkspaceID, e.WorkspaceID)
	at := firstSet(cv.UpdatedAt, e.Time)
	entries, err := s.store.Timeline(ctx, ws, cv.ID)
	if err != nil {
		return err
	}
	// The status the timeline implies at that time: a customer message
	// reopens a resolved or snoozed conversation, as ingest does.
	prev := metrics.Status("")
	for _, en := range entries {
		if en.At.After(at) {
			break
		}
		switch {
		case en.Kind == metrics.StatusChange:
			prev = en.Status
		case en.Kind == metrics.Incoming && (prev == metrics.StatusResolved || prev == metrics.StatusSnoozed):
			prev = metrics.StatusOpen
		}
	}
	// A conversation starts open: an "open" before any recorded change is
	// its creation, which the first customer message already marks.
	if status == prev || (prev == "" && status == metrics.StatusOpen) {
		return nil
	}
	return s.Record(ctx, Entry{
		ID:          fmt.Sprintf("%s:status:%s:%d", cv.ID, status, at.UnixNano()),
		WorkspaceID: ws, ConversationID: cv.ID, ChannelID: cv.ChannelID,
		Kind: metrics.StatusChange, At: at, AgentID: e.UserID, Status: status,
	})
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func firstString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Run consumes the bus as ConsumerGroup until ctx ends.
func (s *Service) Run(ctx context.Context, bus event.Bus) error {
	return bus.Consume(ctx, ConsumerGroup, s.Handle)
}
