// Package workflow is the agents' side of the inbox: finding conversations,
// replying (through a durable outbox), private notes with @mentions, manual
// assignment, status and snooze, labels, canned responses and the audit
// trail. Every change publishes its event with the conversation id set.
package workflow

import (
	"context"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/conversation"
)

// Sorts of the conversation list.
const (
	SortRecent  = "recent"  // last activity first
	SortWaiting = "waiting" // longest waiting first, only conversations waiting for an answer
)

// Assignee filter values besides a user id.
const (
	AssigneeMe         = "me"
	AssigneeUnassigned = "unassigned"
)

// Priorities an agent may set.
var Priorities = []string{"urgent", "high", "normal"}

// Reply modes.
const (
	ModePublic       = "public"
	ModeDM           = "dm"
	ModePrivateReply = "private_reply"
)

// List limits.
const (
	DefaultLimit = 25
	MaxLimit     = 100
	// MaxSearchConversations caps the conversations a text search collects
	// from the messages collection: FerretDB has no text index, so the search
	// is a regex scan and its result set must stay small.
	MaxSearchConversations = 500
)

// Conversation is a conversation as agents see it.
type Conversation struct {
	conversation.Conversation
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	Assignee     *Agent    `json:"assignee,omitempty"`
}

// Message is a message as agents see it: platform messages, agents' replies
// and private notes; Replies nests a comment thread.
type Message struct {
	conversation.Message
	Private  bool       `json:"private,omitempty"`
	AgentID  string     `json:"agent_id,omitempty"`
	Mode     string     `json:"mode,omitempty"`
	Mentions []string   `json:"mentions,omitempty"`
	Replies  []*Message `json:"replies,omitempty"`
}

// Thread is the messages of a conversation: DMs in time order, or a comment
// thread as the post and a tree of comments.
type Thread struct {
	Kind     conversation.Kind  `json:"kind"`
	Post     *conversation.Post `json:"post,omitempty"`
	Messages []*Message         `json:"messages"`
}

// Agent is a workspace user as the inbox last saw them on a request.
type Agent struct {
	UserID string `json:"user_id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
}

// Label is a workspace label.
type Label struct {
	Name      string    `json:"name"`
	Color     string    `json:"color,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CannedResponse is a saved reply template.
type CannedResponse struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AuditEntry records who did what to a conversation.
type AuditEntry struct {
	ID             string            `json:"id"`
	ConversationID string            `json:"conversation_id"`
	ActorID        string            `json:"actor_id"`
	ActorName      string            `json:"actor_name,omitempty"`
	Action         string            `json:"action"`
	Detail         map[string]string `json:"detail,omitempty"`
	At             time.Time         `json:"at"`
}

// Audit actions.
const (
	AuditAssigned = "assigned"
	AuditStatus   = "status"
	AuditLabels   = "labels"
	AuditReplied  = "replied"
	AuditNote     = "note"
)

// Cursor is a position in a sorted list: the sort key and the id.
type Cursor struct {
	At time.Time
	ID string
}

// Filter selects conversations of one workspace.
type Filter struct {
	WorkspaceID string
	Statuses    []conversation.Status
	ChannelID   string
	Kind        conversation.Kind
	Assignee    string // user id or AssigneeUnassigned
	Label       string
	Priority    string
	// Search is a case-insensitive regex (already escaped) over the
	// customer's name and handle; SearchIDs adds conversations whose
	// messages matched.
	Search    string
	SearchIDs []string
	Sort      string
	After     *Cursor
	Limit     int
}

// Page is one page of conversations.
type Page struct {
	Conversations []Conversation `json:"conversations"`
	NextCursor    string         `json:"next_cursor,omitempty"`
}

// OutboxJob is one pending send: what to send, without the credentials,
// which are read from the channel at send time.
type OutboxJob struct {
	MessageID      string
	WorkspaceID    string
	ConversationID string
	ChannelID      string
	Platform       connector.Platform
	Kind           connector.Kind
	Recipient      string
	ReplyTo        string
	Text           string
	Tag            string
	Attempts       int // claims so far, this one included
}

// SentUpdate records a platform's answer to a send.
type SentUpdate struct {
	WorkspaceID    string
	MessageID      string
	ConversationID string
	ChannelID      string
	ExternalID     string
	At             time.Time
	Preview        string // the reply's conversation.Message.Preview
}

// Storer is what the workflow needs from the database.
type Storer interface {
	ListConversations(ctx context.Context, f Filter) ([]Conversation, error)
	Conversation(ctx context.Context, workspaceID, id string) (Conversation, error)
	SearchMessages(ctx context.Context, workspaceID, pattern string, limit int) ([]string, error)
	Messages(ctx context.Context, workspaceID, conversationID string) ([]Message, error)
	Message(ctx context.Context, workspaceID, id string) (Message, error)

	InsertMessage(ctx context.Context, m Message) error
	MarkSent(ctx context.Context, u SentUpdate) error
	MarkFailed(ctx context.Context, workspaceID, messageID, code, reason string, at time.Time) (bool, error)

	Enqueue(ctx context.Context, job OutboxJob, at time.Time) error
	ClaimJob(ctx context.Context, now time.Time, lease time.Duration) (OutboxJob, bool, error)
	FinishJob(ctx context.Context, messageID string) error
	RetryJob(ctx context.Context, messageID string, at time.Time, lastError string) error

	SetAssignee(ctx context.Context, workspaceID, id, userID string, at time.Time) (Conversation, error)
	SetStatus(ctx context.Context, workspaceID, id string, s conversation.Status, snoozedUntil, at time.Time) (Conversation, error)
	MarkRead(ctx context.Context, workspaceID, id string, seen int64) (Conversation, error)
	DueSnoozed(ctx context.Context, now time.Time, limit int) ([]Conversation, error)
	Reopen(ctx context.Context, workspaceID, id string, now time.Time) (bool, error)
	ChangeLabels(ctx context.Context, workspaceID, id string, add, remove []string, at time.Time) (Conversation, error)

	TouchAgent(ctx context.Context, workspaceID string, a Agent, at time.Time) error
	Agents(ctx context.Context, workspaceID string) ([]Agent, error)

	Labels(ctx context.Context, workspaceID string) ([]Label, error)
	CreateLabel(ctx context.Context, workspaceID string, l Label) error
	DeleteLabel(ctx context.Context, workspaceID, name string) error

	CannedResponses(ctx context.Context, workspaceID string) ([]CannedResponse, error)
	CannedResponse(ctx context.Context, workspaceID, id string) (CannedResponse, error)
	SaveCannedResponse(ctx context.Context, workspaceID string, r CannedResponse, create bool) error
	DeleteCannedResponse(ctx context.Context, workspaceID, id string) error

	AddAudit(ctx context.Context, workspaceID string, e AuditEntry) error
	Audit(ctx context.Context, workspaceID, conversationID string) ([]AuditEntry, error)
}

// ChannelGetter loads a channel of a workspace, for its credentials.
type ChannelGetter interface {
	Get(ctx context.Context, workspaceID, id string) (channel.Channel, error)
}
