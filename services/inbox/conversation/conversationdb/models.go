package conversationdb

import (
	"sort"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/conversation/conversationdoc"
)

// Collection names.
const (
	conversationsColl = "conversations"
	messagesColl      = "messages"
	identitiesColl    = "identities"
)

// The documents, shared with workflowdb.
type (
	dbIdentity     = conversationdoc.Identity
	dbPost         = conversationdoc.Post
	dbAttachment   = conversationdoc.Attachment
	dbDelivery     = conversationdoc.Delivery
	dbEdit         = conversationdoc.Edit
	dbTombstone    = conversationdoc.Tombstone
	dbReaction     = conversationdoc.Reaction
	dbMessage      = conversationdoc.Message
	dbCounted      = conversationdoc.Counted
	dbCounting     = conversationdoc.Counting
	dbConversation = conversationdoc.Conversation
)

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
	return conversation.CountState{Conversation: c}
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
