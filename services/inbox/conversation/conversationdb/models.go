package conversationdb

import (
	"sort"
	"time"

	"github.com/communityinbox/inbox/conversation"
)

// Collection names.
const (
	conversationsColl = "conversations"
	messagesColl      = "messages"
	identitiesColl    = "identities"
)

type dbIdentity struct {
	Platform string `bson:"platform"`
	UserID   string `bson:"user_id"`
	Handle   string `bson:"handle,omitempty"`
	Name     string `bson:"name,omitempty"`
}

type dbPost struct {
	ID        string `bson:"id"`
	Text      string `bson:"text,omitempty"`
	Permalink string `bson:"permalink,omitempty"`
	Type      string `bson:"type,omitempty"`
}

type dbAttachment struct {
	Type     string `bson:"type"`
	URL      string `bson:"url,omitempty"`
	MimeType string `bson:"mime_type,omitempty"`
	MediaID  string `bson:"media_id,omitempty"`
	SHA256   string `bson:"sha256,omitempty"`
	Name     string `bson:"name,omitempty"`
}

type dbDelivery struct {
	State        string    `bson:"state,omitempty"`
	Rank         int       `bson:"rank,omitempty"`
	At           time.Time `bson:"at,omitempty"`
	ErrorCode    string    `bson:"error_code,omitempty"`
	ErrorMessage string    `bson:"error_message,omitempty"`
}

type dbEdit struct {
	Text string    `bson:"text"`
	At   time.Time `bson:"at"`
}

type dbTombstone struct {
	State string    `bson:"state"`
	At    time.Time `bson:"at"`
}

type dbReaction struct {
	UserID string    `bson:"user_id"`
	Emoji  string    `bson:"emoji"`
	At     time.Time `bson:"at"`
}

// dbMessage is a message document. Seen maps a hash of every applied event's
// dedupe key to the token of the writer that applied it; Reactions is keyed by
// a hash of the reacting user so one update can address one user's reaction.
type dbMessage struct {
	ID                string                `bson:"_id"`
	WorkspaceID       string                `bson:"workspace_id"`
	ConversationID    string                `bson:"conversation_id,omitempty"`
	ChannelID         string                `bson:"channel_id"`
	Platform          string                `bson:"platform"`
	Kind              string                `bson:"kind"`
	Direction         string                `bson:"direction,omitempty"`
	Echo              bool                  `bson:"echo,omitempty"`
	Author            dbIdentity            `bson:"author"`
	Text              string                `bson:"text"`
	TextAt            time.Time             `bson:"text_at,omitempty"`
	Attachments       []dbAttachment        `bson:"attachments,omitempty"`
	ExternalID        string                `bson:"external_id"`
	ParentID          string                `bson:"parent_id,omitempty"`
	ParentExternalID  string                `bson:"parent_external_id,omitempty"`
	ReplyToID         string                `bson:"reply_to_id,omitempty"`
	ReplyToExternalID string                `bson:"reply_to_external_id,omitempty"`
	PlatformTime      time.Time             `bson:"platform_time,omitempty"`
	ReceivedAt        time.Time             `bson:"received_at,omitempty"`
	Delivery          *dbDelivery           `bson:"delivery,omitempty"`
	Edits             []dbEdit              `bson:"edits,omitempty"`
	Tombstone         *dbTombstone          `bson:"tombstone,omitempty"`
	VisibilityAt      time.Time             `bson:"visibility_at,omitempty"`
	Reactions         map[string]dbReaction `bson:"reactions,omitempty"`
	Placeholder       bool                  `bson:"placeholder"`
	Counted           bool                  `bson:"counted"`
	CreatedBy         string                `bson:"created_by,omitempty"`
	Rev               int64                 `bson:"rev"`
	Seen              map[string]string     `bson:"seen,omitempty"`
	CreatedAt         time.Time             `bson:"created_at"`
	UpdatedAt         time.Time             `bson:"updated_at,omitempty"`
}

// dbCounted records which writer counted a message into a conversation and
// when; entries are pruned once no worker can still be racing on them.
type dbCounted struct {
	By string    `bson:"by"`
	At time.Time `bson:"at"`
}

type dbConversation struct {
	ID              string               `bson:"_id"`
	WorkspaceID     string               `bson:"workspace_id"`
	ChannelID       string               `bson:"channel_id"`
	Platform        string               `bson:"platform"`
	Kind            string               `bson:"kind"`
	ThreadKey       string               `bson:"thread_key"`
	Post            *dbPost              `bson:"post,omitempty"`
	Customer        dbIdentity           `bson:"customer"`
	Status          string               `bson:"status"`
	LastMessageAt   time.Time            `bson:"last_message_at,omitempty"`
	LastIncomingAt  time.Time            `bson:"last_incoming_at,omitempty"`
	LastOutgoingAt  time.Time            `bson:"last_outgoing_at,omitempty"`
	WaitingSince    time.Time            `bson:"waiting_since,omitempty"`
	MessageCount    int64                `bson:"message_count"`
	IncomingCount   int64                `bson:"incoming_count"`
	OutgoingCount   int64                `bson:"outgoing_count"`
	LastMessageID   string               `bson:"last_message_id,omitempty"`
	LastMessageText string               `bson:"last_message_text,omitempty"`
	LastMessageDir  string               `bson:"last_message_direction,omitempty"`
	SeenIncoming    int64                `bson:"seen_incoming_count,omitempty"` // the workflow's; read here for UnreadCount
	AssigneeID      string               `bson:"assignee_id,omitempty"`
	Labels          []string             `bson:"labels,omitempty"`
	Priority        string               `bson:"priority,omitempty"`
	PriorityReasons []string             `bson:"priority_reasons,omitempty"`
	Inflight        map[string]dbCounted `bson:"inflight,omitempty"`
	CreatedAt       time.Time            `bson:"created_at"`
	UpdatedAt       time.Time            `bson:"updated_at"`
}

type dbIdentityRecord struct {
	ID             string    `bson:"_id"`
	WorkspaceID    string    `bson:"workspace_id"`
	Platform       string    `bson:"platform"`
	UserID         string    `bson:"user_id"`
	Handle         string    `bson:"handle,omitempty"`
	Name           string    `bson:"name,omitempty"`
	ChannelID      string    `bson:"channel_id"`
	ConversationID string    `bson:"conversation_id"`
	FirstMessageID string    `bson:"first_message_id"`
	FirstSeenAt    time.Time `bson:"first_seen_at"`
	LastSeenAt     time.Time `bson:"last_seen_at"`
	FirstToken     string    `bson:"first_token"`
}

func toDBIdentity(i conversation.Identity) dbIdentity {
	return dbIdentity{Platform: i.Platform, UserID: i.UserID, Handle: i.Handle, Name: i.Name}
}

func toBusIdentity(i dbIdentity) conversation.Identity {
	return conversation.Identity{Platform: i.Platform, UserID: i.UserID, Handle: i.Handle, Name: i.Name}
}

func toDBAttachments(in []conversation.Attachment) []dbAttachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]dbAttachment, len(in))
	for i, a := range in {
		out[i] = dbAttachment(a)
	}
	return out
}

func toBusMessage(d dbMessage) conversation.MessageState {
	m := conversation.Message{
		ID: d.ID, WorkspaceID: d.WorkspaceID, ConversationID: d.ConversationID, ChannelID: d.ChannelID,
		Platform: d.Platform, Kind: conversation.Kind(d.Kind), Direction: conversation.Direction(d.Direction),
		Echo: d.Echo, Author: toBusIdentity(d.Author), Text: d.Text, TextAt: d.TextAt.UTC(),
		ExternalID: d.ExternalID, ParentID: d.ParentID, ParentExternalID: d.ParentExternalID,
		ReplyToID: d.ReplyToID, ReplyToExternalID: d.ReplyToExternalID,
		PlatformTime: d.PlatformTime.UTC(), ReceivedAt: d.ReceivedAt.UTC(),
		Placeholder: d.Placeholder, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	for _, a := range d.Attachments {
		m.Attachments = append(m.Attachments, conversation.Attachment(a))
	}
	if d.Delivery != nil && d.Delivery.State != "" {
		m.Delivery = &conversation.Delivery{State: conversation.DeliveryState(d.Delivery.State), At: d.Delivery.At.UTC(),
			ErrorCode: d.Delivery.ErrorCode, ErrorMessage: d.Delivery.ErrorMessage}
	}
	for _, e := range d.Edits {
		m.Edits = append(m.Edits, conversation.Edit{Text: e.Text, At: e.At.UTC()})
	}
	if d.Tombstone != nil {
		m.Tombstone = &conversation.Tombstone{State: conversation.TombstoneState(d.Tombstone.State), At: d.Tombstone.At.UTC()}
	}
	for _, r := range d.Reactions {
		if r.Emoji != "" {
			m.Reactions = append(m.Reactions, conversation.Reaction{UserID: r.UserID, Emoji: r.Emoji, At: r.At.UTC()})
		}
	}
	sort.Slice(m.Reactions, func(i, j int) bool { return m.Reactions[i].UserID < m.Reactions[j].UserID })
	return conversation.MessageState{Message: m, Counted: d.Counted, CreatedBy: d.CreatedBy}
}

func toBusConversation(d dbConversation) conversation.CountState {
	c := conversation.Conversation{
		ID: d.ID, WorkspaceID: d.WorkspaceID, ChannelID: d.ChannelID, Platform: d.Platform,
		Kind: conversation.Kind(d.Kind), ThreadKey: d.ThreadKey, Customer: toBusIdentity(d.Customer),
		Status:        conversation.Status(d.Status),
		LastMessageAt: d.LastMessageAt.UTC(), LastIncomingAt: d.LastIncomingAt.UTC(), LastOutgoingAt: d.LastOutgoingAt.UTC(),
		WaitingSince: d.WaitingSince.UTC(), MessageCount: d.MessageCount, IncomingCount: d.IncomingCount,
		OutgoingCount: d.OutgoingCount, AssigneeID: d.AssigneeID, Labels: d.Labels, Priority: d.Priority,
		PriorityReasons: d.PriorityReasons,
		LastMessageID:   d.LastMessageID, LastMessageText: d.LastMessageText,
		LastMessageDirection: conversation.Direction(d.LastMessageDir),
		UnreadCount:          conversation.Unread(d.IncomingCount, d.SeenIncoming),
		CreatedAt:            d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if d.Post != nil {
		c.Post = &conversation.Post{ID: d.Post.ID, Text: d.Post.Text, Permalink: d.Post.Permalink, Type: d.Post.Type}
	}
	by := make(map[string]string, len(d.Inflight))
	for k, v := range d.Inflight {
		by[messageOfInflightKey(k)] = v.By
	}
	return conversation.CountState{Conversation: c, CountedBy: by}
}

func toBusIdentityRecord(d dbIdentityRecord, token string) conversation.IdentityState {
	return conversation.IdentityState{
		IdentityRecord: conversation.IdentityRecord{
			ID: d.ID, WorkspaceID: d.WorkspaceID,
			Identity:  conversation.Identity{Platform: d.Platform, UserID: d.UserID, Handle: d.Handle, Name: d.Name},
			ChannelID: d.ChannelID, ConversationID: d.ConversationID, FirstMessageID: d.FirstMessageID,
			FirstSeenAt: d.FirstSeenAt.UTC(), LastSeenAt: d.LastSeenAt.UTC(),
		},
		New: d.FirstToken == token,
	}
}
