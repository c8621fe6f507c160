// Package event defines the events services exchange over the bus and the Bus
// that carries them: an in-memory implementation for the all-in-one dev mode and
// a Redis implementation for deployments, both held to one contract test suite.
package event

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Streams an event can belong to. Every event of a workspace is numbered within
// its stream, so a client that knows the last seq it saw can ask for the rest.
const (
	// StreamInbox carries conversation and message changes; every user of the workspace may see it.
	StreamInbox = "inbox"
	// StreamCRM carries contact value changes; managers and admins only.
	StreamCRM = "crm"
	// StreamSystem carries service-to-service facts (identity seen, ...) that no browser receives.
	StreamSystem = "system"
	// StreamPresence carries who views and types where. It is ephemeral: not
	// numbered, not retained, not fed to consumer groups; only live subscribers see it.
	StreamPresence = "presence"
)

// Event types published by the services.
const (
	MessageCreated       = "message.created"
	MessageUpdated       = "message.updated"
	ConversationUpdated  = "conversation.updated"
	ConversationAssigned = "conversation.assigned"
	Mention              = "mention"
	Presence             = "presence"
	IdentitySeen         = "identity.seen"
	ContactValueChanged  = "contact.value_changed"
	ContactTierChanged   = "contact.tier_changed"
	ContactMerged        = "contact.merged"
)

// Event is one change, as it travels between services and out to browsers.
// Publish fills ID, Seq, ConversationSeq and Time.
type Event struct {
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	WorkspaceID     string          `json:"workspace_id"`
	Stream          string          `json:"stream"`
	Seq             int64           `json:"seq"`
	ConversationID  string          `json:"conversation_id,omitempty"`
	ConversationSeq int64           `json:"conversation_seq,omitempty"`
	UserID          string          `json:"user_id,omitempty"` // the user an event is addressed to (mention, assignment), if any
	Time            time.Time       `json:"time"`
	Data            json.RawMessage `json:"data"`
}

// New builds an event of type typ for workspace ws on stream with data marshalled as JSON.
func New(ws, stream, typ string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Type: typ, WorkspaceID: ws, Stream: stream, Data: raw}, nil
}

// ErrHistoryTrimmed is returned by History when events after the requested seq
// are no longer retained: the caller must reset and refetch its state.
var ErrHistoryTrimmed = errors.New("event: history trimmed")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("event: bus closed")

// Bus carries events between services.
//
// Guarantees, the same for every implementation:
//   - Publish numbers events: Seq increases by exactly one per (workspace, stream),
//     ConversationSeq by one per conversation. Numbering and retention are atomic.
//   - Subscribe delivers live events at most once, in Seq order per stream, to every
//     subscriber of every instance. A subscriber that misses events (a dropped
//     connection to Redis) sees a gap in Seq and fills it from History.
//   - History returns retained events of one stream after a seq, oldest first, up to
//     a bounded retention; ErrHistoryTrimmed when the gap cannot be filled.
//   - Events on StreamPresence skip numbering, retention and consumer groups.
//   - Consume delivers every event at least once to one member of a named group and
//     redelivers events whose handler returned an error or whose consumer died.
type Bus interface {
	Publish(ctx context.Context, e Event) (Event, error)
	Subscribe(ctx context.Context, fn func(Event)) (cancel func(), err error)
	History(ctx context.Context, workspaceID, stream string, afterSeq int64, limit int) ([]Event, error)
	// LastSeq is the seq of the newest event of (workspace, stream), 0 if none.
	LastSeq(ctx context.Context, workspaceID, stream string) (int64, error)
	// LastConversationSeq is the ConversationSeq of the newest event of a conversation, 0 if none.
	LastConversationSeq(ctx context.Context, workspaceID, conversationID string) (int64, error)
	Consume(ctx context.Context, group string, fn func(context.Context, Event) error) error
	Close() error
}

// BatchPublisher is a Bus that publishes many events in fewer round trips.
type BatchPublisher interface {
	PublishAll(ctx context.Context, es []Event) ([]Event, error)
}

// PublishAll publishes es on bus in order, with the guarantees of Publish for
// each event, in batches where the bus can (BatchPublisher). On an error the
// events before the failing one are published and are returned.
func PublishAll(ctx context.Context, bus Bus, es []Event) ([]Event, error) {
	if bp, ok := bus.(BatchPublisher); ok {
		return bp.PublishAll(ctx, es)
	}
	out := make([]Event, 0, len(es))
	for _, e := range es {
		p, err := bus.Publish(ctx, e)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}
