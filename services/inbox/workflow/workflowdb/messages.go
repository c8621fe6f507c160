package workflowdb

import (
	"context"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/conversation/conversationdoc"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The documents, shared with conversationdb.
type (
	dbDelivery   = conversationdoc.Delivery
	dbAttachment = conversationdoc.Attachment
	dbTombstone  = conversationdoc.Tombstone
	dbMessage    = conversationdoc.Message
)

func toBusMessage(d dbMessage) workflow.Message {
	m := conversation.Message{
		ID: d.ID, WorkspaceID: d.WorkspaceID, ConversationID: d.ConversationID, ChannelID: d.ChannelID,
		Platform: d.Platform, Kind: conversation.Kind(d.Kind), Direction: conversation.Direction(d.Direction),
		Echo: d.Echo, Author: toBusIdentity(d.Author), Text: d.Text, ExternalID: d.ExternalID,
		ParentID: d.ParentID, ParentExternalID: d.ParentExternalID, ReplyToID: d.ReplyToID,
		PlatformTime: d.PlatformTime.UTC(), ReceivedAt: d.ReceivedAt.UTC(),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	for _, a := range d.Attachments {
		m.Attachments = append(m.Attachments, conversation.Attachment(a))
	}
	if d.Delivery != nil && d.Delivery.State != "" {
		m.Delivery = &conversation.Delivery{State: conversation.DeliveryState(d.Delivery.State), At: d.Delivery.At.UTC(),
			ErrorCode: d.Delivery.ErrorCode, ErrorMessage: d.Delivery.ErrorMessage}
	}
	if d.Tombstone != nil {
		m.Tombstone = &conversation.Tombstone{State: conversation.TombstoneState(d.Tombstone.State), At: d.Tombstone.At.UTC()}
	}
	return workflow.Message{Message: m, Private: d.Private, AgentID: d.AgentID, Mode: d.Mode, Mentions: d.Mentions}
}

// Messages returns the visible messages of a conversation in time order. A
// delivery status the platform reported on a reply's alias (delivered, read)
// is shown on the reply.
func (s *Store) Messages(ctx context.Context, workspaceID, conversationID string) ([]workflow.Message, error) {
	cur, err := s.messages.Find(ctx, bson.D{{Key: "conversation_id", Value: conversationID},
		{Key: "workspace_id", Value: workspaceID}},
		options.Find().SetSort(bson.D{{Key: "platform_time", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	var docs []dbMessage
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	aliases := map[string]dbMessage{} // by the reply they stand for
	aliasOf := map[string]string{}    // alias id → reply id
	for _, d := range docs {
		if d.AliasOf != "" {
			aliases[d.AliasOf] = d
			aliasOf[d.ID] = d.AliasOf
		}
	}
	out := make([]workflow.Message, 0, len(docs))
	for _, d := range docs {
		if d.AliasOf != "" || d.Placeholder {
			continue
		}
		if a, ok := aliases[d.ID]; ok && a.Delivery != nil && d.Delivery != nil &&
			conversation.DeliveryState(a.Delivery.State).Rank() > conversation.DeliveryState(d.Delivery.State).Rank() {
			d.Delivery = a.Delivery
		}
		// Customers answer the platform's copy of a reply: point them at the reply.
		if id, ok := aliasOf[d.ParentID]; ok {
			d.ParentID = id
		}
		if id, ok := aliasOf[d.ReplyToID]; ok {
			d.ReplyToID = id
		}
		out = append(out, toBusMessage(d))
	}
	return out, nil
}

// Message returns one message of a workspace.
func (s *Store) Message(ctx context.Context, workspaceID, id string) (workflow.Message, error) {
	var d dbMessage
	if err := s.messages.FindOne(ctx, wsID(workspaceID, id)).Decode(&d); err != nil {
		return workflow.Message{}, mongox.Translate(err, "message", "message")
	}
	return toBusMessage(d), nil
}

// InsertMessage stores an agent's reply or note under its own id.
func (s *Store) InsertMessage(ctx context.Context, m workflow.Message) error {
	d := dbMessage{
		ID: m.ID, WorkspaceID: m.WorkspaceID, ConversationID: m.ConversationID, ChannelID: m.ChannelID,
		Platform: m.Platform, Kind: string(m.Kind), Direction: string(m.Direction),
		Author: dbIdentity{Platform: m.Author.Platform, UserID: m.Author.UserID, Handle: m.Author.Handle, Name: m.Author.Name},
		Text:   m.Text, ParentID: m.ParentID, ParentExternalID: m.ParentExternalID, ReplyToID: m.ReplyToID,
		PlatformTime: m.PlatformTime, ReceivedAt: m.ReceivedAt, Counted: true,
		Private: m.Private, AgentID: m.AgentID, Mode: m.Mode, Mentions: m.Mentions,
		CreatedAt: m.CreatedAt, UpdatedAt: m.CreatedAt,
	}
	if m.Delivery != nil {
		d.Delivery = &dbDelivery{State: string(m.Delivery.State), Rank: m.Delivery.State.Rank(), At: m.Delivery.At}
	}
	if _, err := s.messages.InsertOne(ctx, d); err != nil {
		return mongox.Translate(err, "insert message", "message")
	}
	return nil
}

// MarkSent records the platform's id on a reply, leaves an alias at the
// platform id's natural key so the echo webhook does not add a second copy,
// and counts the reply into its conversation. When the echo was stored
// first, it is turned into the alias and already counted.
func (s *Store) MarkSent(ctx context.Context, u workflow.SentUpdate) error {
	_, err := s.messages.UpdateOne(ctx, wsID(u.WorkspaceID, u.MessageID), bson.D{{Key: "$set", Value: bson.D{
		{Key: "external_id", Value: u.ExternalID}, {Key: "updated_at", Value: u.At},
		{Key: "delivery", Value: dbDelivery{State: string(conversation.DeliverySent), Rank: conversation.DeliverySent.Rank(), At: u.At}},
	}}})
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	alias := dbMessage{ID: conversation.MessageID(u.ChannelID, u.ExternalID), WorkspaceID: u.WorkspaceID,
		ConversationID: u.ConversationID, ChannelID: u.ChannelID, Direction: string(conversation.DirectionOut),
		ExternalID: u.ExternalID, Placeholder: true, Counted: true, AliasOf: u.MessageID, CreatedAt: u.At}
	_, err = s.messages.InsertOne(ctx, alias)
	switch {
	case err == nil:
	case mongox.IsDuplicate(err):
		// The echo (or a retry of this call) came first.
		var prev dbMessage
		if err := s.messages.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: alias.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "alias_of", Value: u.MessageID}}}}).Decode(&prev); err != nil {
			return fmt.Errorf("mark sent alias: %w", err)
		}
		if prev.AliasOf != "" || prev.Counted {
			return nil
		}
	default:
		return fmt.Errorf("mark sent alias: %w", err)
	}
	id := bson.E{Key: "_id", Value: u.ConversationID}
	if _, err := s.conversations.UpdateOne(ctx, bson.D{id}, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "message_count", Value: 1}, {Key: "outgoing_count", Value: 1}}},
		{Key: "$max", Value: bson.D{{Key: "last_message_at", Value: u.At}, {Key: "last_outgoing_at", Value: u.At}}},
		{Key: "$set", Value: bson.D{{Key: "updated_at", Value: u.At}}}}); err != nil {
		return fmt.Errorf("count reply: %w", err)
	}
	// After the $max, last_message_at is at most u.At exactly when the reply
	// is the newest message: then it is the one the inbox list previews.
	if _, err := s.conversations.UpdateOne(ctx, bson.D{id, {Key: "last_message_at", Value: bson.D{{Key: "$lte", Value: u.At}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_message_id", Value: u.MessageID}, {Key: "last_message_text", Value: u.Preview},
			{Key: "last_message_direction", Value: string(conversation.DirectionOut)}}}}); err != nil {
		return fmt.Errorf("preview reply: %w", err)
	}
	if _, err := s.conversations.UpdateOne(ctx, bson.D{id, {Key: "waiting_since", Value: bson.D{{Key: "$lte", Value: u.At}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "waiting_since", Value: ""}}}}); err != nil {
		return fmt.Errorf("end wait: %w", err)
	}
	return nil
}

// MarkFailed records why a reply was not sent, unless it is no longer
// pending (a concurrent worker got it sent); it reports whether it changed it.
func (s *Store) MarkFailed(ctx context.Context, workspaceID, messageID, code, reason string, at time.Time) (bool, error) {
	filter := append(wsID(workspaceID, messageID), bson.E{Key: "delivery.state", Value: string(conversation.DeliveryPending)})
	res, err := s.messages.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{
		{Key: "updated_at", Value: at},
		{Key: "delivery", Value: dbDelivery{State: string(conversation.DeliveryFailed), Rank: conversation.DeliveryFailed.Rank(),
			At: at, ErrorCode: code, ErrorMessage: reason}},
	}}})
	if err != nil {
		return false, fmt.Errorf("mark failed: %w", err)
	}
	return res.ModifiedCount == 1, nil
}
