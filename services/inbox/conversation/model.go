package conversation

import (
	"strings"
	"time"
)

// Kind says whether a conversation is a private DM thread or a public comment thread.
type Kind string

// Kinds of conversation.
const (
	KindDM      Kind = "dm"
	KindComment Kind = "comment"
)

// Status is where a conversation stands in the agents' workflow.
type Status string

// Statuses. Ingest creates conversations open and reopens them when a customer writes.
const (
	StatusOpen     Status = "open"
	StatusPending  Status = "pending" // answered, waiting on the customer
	StatusSnoozed  Status = "snoozed"
	StatusResolved Status = "resolved"
)

// Direction says who wrote a message: the customer (in) or the business (out).
type Direction string

// Directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// DeliveryState is how far an outbound message got.
type DeliveryState string

// Delivery states in the order they may advance.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliverySent      DeliveryState = "sent"
	DeliveryFailed    DeliveryState = "failed"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryRead      DeliveryState = "read"
)

// Rank orders delivery states; a state never replaces one of a higher rank.
// Failed ranks above sent (a failure reported after "sent" sticks) but below
// delivered and read (a later proof of delivery wins). Unknown states rank 0.
func (s DeliveryState) Rank() int {
	switch s {
	case DeliveryPending:
		return 1
	case DeliverySent:
		return 2
	case DeliveryFailed:
		return 3
	case DeliveryDelivered:
		return 4
	case DeliveryRead:
		return 5
	}
	return 0
}

// TombstoneState says why a message is no longer shown.
type TombstoneState string

// Tombstone states.
const (
	TombstoneDeleted TombstoneState = "deleted" // removed or unsent by its author; final
	TombstoneHidden  TombstoneState = "hidden"  // hidden by the page; can be unhidden
)

// Identity is a user or account on a platform.
type Identity struct {
	Platform string `json:"platform"`
	UserID   string `json:"user_id"`
	Handle   string `json:"handle,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Post is the post, video or group a comment thread belongs to.
type Post struct {
	ID        string `json:"id"`
	Text      string `json:"text,omitempty"`
	Permalink string `json:"permalink,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Attachment is a media item or location sent with a message.
type Attachment struct {
	Type     string `json:"type"`
	URL      string `json:"url,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	MediaID  string `json:"media_id,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Conversation is one thread on one channel.
type Conversation struct {
	ID          string   `json:"id"`
	WorkspaceID string   `json:"workspace_id"`
	ChannelID   string   `json:"channel_id"`
	Platform    string   `json:"platform"`
	Kind        Kind     `json:"kind"`
	ThreadKey   string   `json:"thread_key"`
	Post        *Post    `json:"post,omitempty"`
	Customer    Identity `json:"customer"` // DMs: the other party; comments: the first commenter
	Status      Status   `json:"status"`

	LastMessageAt  time.Time `json:"last_message_at,omitzero"`
	LastIncomingAt time.Time `json:"last_incoming_at,omitzero"`
	LastOutgoingAt time.Time `json:"last_outgoing_at,omitzero"`
	// WaitingSince is the platform time of the first incoming message not
	// yet followed by an outgoing one; zero when nobody is waiting.
	WaitingSince  time.Time `json:"waiting_since,omitzero"`
	MessageCount  int64     `json:"message_count"`
	IncomingCount int64     `json:"incoming_count"`
	OutgoingCount int64     `json:"outgoing_count"`
	// LastMessageID names the newest visible message by platform time and
	// LastMessageText previews it (see Preview) for the inbox list; the
	// preview follows that message's edits and is emptied when it is deleted.
	LastMessageID        string    `json:"last_message_id,omitempty"`
	LastMessageText      string    `json:"last_message_text,omitempty"`
	LastMessageDirection Direction `json:"last_message_direction,omitempty"`
	// UnreadCount is how many incoming messages were counted since the team
	// last read the conversation (see Unread).
	UnreadCount int64 `json:"unread_count"`

	// Workflow fields, written by the agents' workflow, never by ingest.
	AssigneeID string   `json:"assignee_id,omitempty"`
	Labels     []string `json:"labels,omitempty"`
	Priority   string   `json:"priority,omitempty"`
	// PriorityReasons say why triage raised Priority, for agents to read.
	PriorityReasons []string `json:"priority_reasons,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Edit is one version of a message's text reported by an edit.
type Edit struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Tombstone marks a deleted or hidden message; the text is kept for audit.
type Tombstone struct {
	State TombstoneState `json:"state"`
	At    time.Time      `json:"at"`
}

// Reaction is one user's current emoji on a message. In a Change, an empty
// Emoji removes the user's reaction.
type Reaction struct {
	UserID string    `json:"user_id"`
	Emoji  string    `json:"emoji"`
	At     time.Time `json:"at"`
}

// Delivery is the delivery state of an outbound message.
type Delivery struct {
	State        DeliveryState `json:"state"`
	At           time.Time     `json:"at,omitzero"`
	ErrorCode    string        `json:"error_code,omitempty"`
	ErrorMessage string        `json:"error_message,omitempty"`
}

// Message is one comment or DM.
type Message struct {
	ID             string    `json:"id"`
	WorkspaceID    string    `json:"workspace_id"`
	ConversationID string    `json:"conversation_id,omitempty"` // empty only for placeholders whose thread is not known yet
	ChannelID      string    `json:"channel_id"`
	Platform       string    `json:"platform"`
	Kind           Kind      `json:"kind"`
	Direction      Direction `json:"direction,omitempty"`
	Echo           bool      `json:"echo,omitempty"` // written by the business outside the inbox
	Author         Identity  `json:"author"`
	Text           string    `json:"text"`
	// TextAt is the platform time of the version in Text.
	TextAt      time.Time    `json:"text_at,omitzero"`
	Attachments []Attachment `json:"attachments,omitempty"`

	ExternalID        string `json:"external_id"`
	ParentID          string `json:"parent_id,omitempty"` // comments: the message replied to (our id; it may not be stored yet)
	ParentExternalID  string `json:"parent_external_id,omitempty"`
	ReplyToID         string `json:"reply_to_id,omitempty"` // DMs: the message quoted
	ReplyToExternalID string `json:"reply_to_external_id,omitempty"`

	PlatformTime time.Time `json:"platform_time,omitzero"` // when the platform says it was written
	ReceivedAt   time.Time `json:"received_at,omitzero"`   // when we received it

	Delivery  *Delivery  `json:"delivery,omitempty"`
	Edits     []Edit     `json:"edits,omitempty"`
	Tombstone *Tombstone `json:"tombstone,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`

	// Placeholder is true while only later events (edit, delete, status...)
	// have arrived; the original fills the message in.
	Placeholder bool `json:"placeholder,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IdentityRecord is a platform identity as first seen in a workspace.
type IdentityRecord struct {
	ID             string    `json:"id"`
	WorkspaceID    string    `json:"workspace_id"`
	Identity                 // platform, user id, latest handle and name
	ChannelID      string    `json:"channel_id"`       // where it was first seen
	ConversationID string    `json:"conversation_id"`  // where it was first seen
	FirstMessageID string    `json:"first_message_id"` // the message it was first seen in
	FirstSeenAt    time.Time `json:"first_seen_at"`
	LastSeenAt     time.Time `json:"last_seen_at"`
}

// previewRunes is how much of a message the inbox list previews.
const previewRunes = 140

// Preview is the inbox list's excerpt of a message: its text on one line,
// cut at previewRunes with an ellipsis, or the kind of its first attachment
// when it has no text.
func Preview(text string, attachments []Attachment) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" && len(attachments) > 0 {
		kind := attachments[0].Type
		if kind == "" {
			kind = "attachment"
		}
		return "[" + kind + "]"
	}
	runes := []rune(text)
	if len(runes) <= previewRunes {
		return text
	}
	return strings.TrimRight(string(runes[:previewRunes-1]), " ") + "…"
}

// Preview is what the inbox list shows of m: nothing once it is deleted,
// hidden or unsent, else Preview of its text and attachments.
func (m Message) Preview() string {
	if m.Tombstone != nil {
		return ""
	}
	return Preview(m.Text, m.Attachments)
}

// Unread is the unread count of a conversation with incoming messages of
// which the team has read the first seen: every message counted after the
// read is unread, late older ones included, since nobody has seen them.
func Unread(incoming, seen int64) int64 {
	return max(0, incoming-seen)
}
