package conversation

import "time"

// Action is what a Change does to a message.
type Action string

// Actions of a Change.
const (
	ActionCreate Action = "create" // the message itself
	ActionEdit   Action = "edit"
	ActionDelete Action = "delete"
	ActionHide   Action = "hide"
	ActionUnhide Action = "unhide"
	ActionReact  Action = "react"
	ActionStatus Action = "status"
)

// Change is one platform event applied to one message, in storage-neutral
// terms. Key identifies the platform event: applying a Change whose Key the
// message has already seen does nothing.
type Change struct {
	Key            string
	Action         Action
	MessageID      string
	WorkspaceID    string
	ChannelID      string
	Platform       string
	Kind           Kind
	ConversationID string // "" when the event does not say which thread
	ExternalID     string
	// DeliveryID is the queue delivery that carried the event ("" for polled
	// events). A create records it on the message, so that a redelivery of
	// that delivery, and only that, knows the message is its own to recount.
	DeliveryID string
	At         time.Time // platform time of the event; the receive time when the platform sent none
	ReceivedAt time.Time

	// Create.
	Direction         Direction
	Echo              bool
	Author            Identity
	Attachments       []Attachment
	ParentID          string
	ParentExternalID  string
	ReplyToID         string
	ReplyToExternalID string
	Thread            *Thread // how to open the conversation if it is new

	Text     string    // create and edit
	Reaction *Reaction // react: the user's emoji, "" for a removal
	Delivery *Delivery // status
}

// Thread describes a conversation for the moment it is first opened.
type Thread struct {
	ID          string
	WorkspaceID string
	ChannelID   string
	Platform    string
	Kind        Kind
	ThreadKey   string
	Post        *Post
	Customer    Identity
}

// Outcome says what became of a Change or Count.
type Outcome int

// Outcomes.
const (
	// Mine: this writer applied it.
	Mine Outcome = iota + 1
	// Earlier: it had already been applied, by an earlier or concurrent writer.
	Earlier
)

// MessageState is a stored message with the ingest bookkeeping.
type MessageState struct {
	Message
	// Counted is true once the message is meant to be in its conversation's
	// counters: set when a batch creates the message visible (that batch
	// counts it next) or when a later batch counted it (MarkCounted).
	Counted bool
	// Inserted is true when this batch created the message document.
	Inserted bool
	// CreatedBy is the delivery whose create event made the message visible.
	CreatedBy string
}

// Applied is the result of applying a batch of changes.
type Applied struct {
	Outcomes []Outcome               // one per change, in order
	Messages map[string]MessageState // by message id, after the writes
}

// Count adds one message to its conversation's counters.
type Count struct {
	MessageID string
	Direction Direction
	At        time.Time
	Thread    Thread
	Preview   string // the message's Preview, for the conversation's last message
}

// CountState is a conversation after counting.
type CountState struct {
	Conversation
}

// Counted is the result of counting a batch of messages.
type Counted struct {
	Outcomes      []Outcome // one per count, in order
	Conversations map[string]CountState
}

// Sighting is an author seen in a message.
type Sighting struct {
	Identity
	WorkspaceID    string
	ChannelID      string
	ConversationID string
	MessageID      string
	At             time.Time
}

// IdentityState is an identity after a sighting, with whether this writer
// created it.
type IdentityState struct {
	IdentityRecord
	New bool
}
