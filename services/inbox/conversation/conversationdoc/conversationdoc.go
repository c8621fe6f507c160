// Package conversationdoc holds the documents of the conversations and
// messages collections, shared by the two stores that read and write them:
// conversationdb (ingest) and workflowdb (the agents' workflow).
package conversationdoc

import "time"

// Identity is a platform user as documents embed it.
type Identity struct {
	Platform string `bson:"platform"`
	UserID   string `bson:"user_id"`
	Handle   string `bson:"handle,omitempty"`
	Name     string `bson:"name,omitempty"`
}

// Post is the post a comment thread is about.
type Post struct {
	ID        string `bson:"id"`
	Text      string `bson:"text,omitempty"`
	Permalink string `bson:"permalink,omitempty"`
	Type      string `bson:"type,omitempty"`
}

// Attachment is a media item of a message.
type Attachment struct {
	Type     string `bson:"type"`
	URL      string `bson:"url,omitempty"`
	MimeType string `bson:"mime_type,omitempty"`
	MediaID  string `bson:"media_id,omitempty"`
	SHA256   string `bson:"sha256,omitempty"`
	Name     string `bson:"name,omitempty"`
}

// Delivery is an outbound message's delivery state; Rank orders states so an
// update never moves it backwards.
type Delivery struct {
	State        string    `bson:"state,omitempty"`
	Rank         int       `bson:"rank,omitempty"`
	At           time.Time `bson:"at,omitempty"`
	ErrorCode    string    `bson:"error_code,omitempty"`
	ErrorMessage string    `bson:"error_message,omitempty"`
}

// Edit is one earlier text of an edited message.
type Edit struct {
	Text string    `bson:"text"`
	At   time.Time `bson:"at"`
}

// Tombstone marks a deleted, hidden or unsent message.
type Tombstone struct {
	State string    `bson:"state"`
	At    time.Time `bson:"at"`
}

// Reaction is one user's reaction to a message.
type Reaction struct {
	UserID string    `bson:"user_id"`
	Emoji  string    `bson:"emoji"`
	At     time.Time `bson:"at"`
}

// Message is a message document. Seen maps a hash of every applied event's
// dedupe key to the token of the writer that applied it; Reactions is keyed by
// a hash of the reacting user so one update can address one user's reaction.
type Message struct {
	ID                string              `bson:"_id"`
	WorkspaceID       string              `bson:"workspace_id"`
	ConversationID    string              `bson:"conversation_id,omitempty"`
	ChannelID         string              `bson:"channel_id"`
	Platform          string              `bson:"platform"`
	Kind              string              `bson:"kind"`
	Direction         string              `bson:"direction,omitempty"`
	Echo              bool                `bson:"echo,omitempty"`
	Author            Identity            `bson:"author"`
	Text              string              `bson:"text"`
	TextAt            time.Time           `bson:"text_at,omitempty"`
	Attachments       []Attachment        `bson:"attachments,omitempty"`
	ExternalID        string              `bson:"external_id"`
	ParentID          string              `bson:"parent_id,omitempty"`
	ParentExternalID  string              `bson:"parent_external_id,omitempty"`
	ReplyToID         string              `bson:"reply_to_id,omitempty"`
	ReplyToExternalID string              `bson:"reply_to_external_id,omitempty"`
	PlatformTime      time.Time           `bson:"platform_time,omitempty"`
	ReceivedAt        time.Time           `bson:"received_at,omitempty"`
	Delivery          *Delivery           `bson:"delivery,omitempty"`
	Edits             []Edit              `bson:"edits,omitempty"`
	Tombstone         *Tombstone          `bson:"tombstone,omitempty"`
	VisibilityAt      time.Time           `bson:"visibility_at,omitempty"`
	Reactions         map[string]Reaction `bson:"reactions,omitempty"`
	Placeholder       bool                `bson:"placeholder"`
	Counted           bool                `bson:"counted"`
	CreatedBy         string              `bson:"created_by,omitempty"`
	Rev               int64               `bson:"rev"`
	Seen              map[string]string   `bson:"seen,omitempty"`
	// Written by the workflow for agents' replies and notes.
	Private  bool     `bson:"private,omitempty"`
	AgentID  string   `bson:"agent_id,omitempty"`
	Mode     string   `bson:"mode,omitempty"`
	Mentions []string `bson:"mentions,omitempty"`
	// AliasOf marks the document a sent reply leaves at the platform id's
	// natural key, where the echo webhook lands; lists leave aliases out.
	AliasOf   string    `bson:"alias_of,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at,omitempty"`
}

// Counted records which writer counted a message into a conversation and
// when; entries are pruned once no worker can still be racing on them.
type Counted struct {
	By string    `bson:"by"`
	At time.Time `bson:"at"`
}

// Counting records the messages one writer counted into a conversation in
// one go: IDs concatenates the counting key of each (conversationdb). A
// single writer keeps these instead of a Counted per message, which would
// grow a busy conversation's document by a few hundred bytes per message
// in flight (on FerretDB every update reads and rewrites all of it).
type Counting struct {
	At  time.Time `bson:"at"`
	IDs string    `bson:"ids"`
}

// Conversation is a conversation document: ingest writes its counters and
// thread fields, the workflow its assignee, labels, status, snooze and read
// mark; each writes only the fields it owns.
type Conversation struct {
	ID              string              `bson:"_id"`
	WorkspaceID     string              `bson:"workspace_id"`
	ChannelID       string              `bson:"channel_id"`
	Platform        string              `bson:"platform"`
	Kind            string              `bson:"kind"`
	ThreadKey       string              `bson:"thread_key"`
	Post            *Post               `bson:"post,omitempty"`
	Customer        Identity            `bson:"customer"`
	Status          string              `bson:"status"`
	LastMessageAt   time.Time           `bson:"last_message_at,omitempty"`
	LastIncomingAt  time.Time           `bson:"last_incoming_at,omitempty"`
	LastOutgoingAt  time.Time           `bson:"last_outgoing_at,omitempty"`
	WaitingSince    time.Time           `bson:"waiting_since,omitempty"`
	MessageCount    int64               `bson:"message_count"`
	IncomingCount   int64               `bson:"incoming_count"`
	OutgoingCount   int64               `bson:"outgoing_count"`
	LastMessageID   string              `bson:"last_message_id,omitempty"`
	LastMessageText string              `bson:"last_message_text,omitempty"`
	LastMessageDir  string              `bson:"last_message_direction,omitempty"`
	SeenIncoming    int64               `bson:"seen_incoming_count,omitempty"` // the workflow's; read here for UnreadCount
	AssigneeID      string              `bson:"assignee_id,omitempty"`
	Labels          []string            `bson:"labels,omitempty"`
	Priority        string              `bson:"priority,omitempty"`
	PriorityReasons []string            `bson:"priority_reasons,omitempty"`
	SnoozedUntil    time.Time           `bson:"snoozed_until,omitempty"`
	Inflight        map[string]Counted  `bson:"inflight,omitempty"`
	Counting        map[string]Counting `bson:"counting,omitempty"` // by "t" + writer token
	CreatedAt       time.Time           `bson:"created_at"`
	UpdatedAt       time.Time           `bson:"updated_at"`
}
