// Package workflowdb stores the agents' workflow in MongoDB (or FerretDB):
// workflow fields on the conversation documents ingest writes (always by
// field-level updates), agents' replies and notes in the messages collection,
// and the outbox, send ledger, agents directory, labels, canned responses
// and audit trail in their own collections.
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
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store is the MongoDB store of the workflow.
type Store struct {
	conversations *mongo.Collection
	messages      *mongo.Collection
	outbox        *mongo.Collection
	ledger        *mongo.Collection
	agents        *mongo.Collection
	labels        *mongo.Collection
	canned        *mongo.Collection
	audit         *mongo.Collection
}

// New returns a store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{
		conversations: db.Collection("conversations"),
		messages:      db.Collection("messages"),
		outbox:        db.Collection("outbox"),
		ledger:        db.Collection("send_ledger"),
		agents:        db.Collection("agents"),
		labels:        db.Collection("labels"),
		canned:        db.Collection("canned_responses"),
		audit:         db.Collection("audit"),
	}
	idx := []struct {
		c *mongo.Collection
		m mongo.IndexModel
	}{
		{s.conversations, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "waiting_since", Value: 1}}}},
		{s.conversations, mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "snoozed_until", Value: 1}}}},
		{s.messages, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "external_id", Value: 1}}}},
		{s.outbox, mongo.IndexModel{Keys: bson.D{{Key: "next_attempt_at", Value: 1}}}},
		{s.canned, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "shortcut", Value: 1}}, Options: options.Index().SetUnique(true)}},
		{s.audit, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "conversation_id", Value: 1}, {Key: "at", Value: 1}}}},
	}
	for _, i := range idx {
		if err := mongox.EnsureIndexes(ctx, i.c, i.m); err != nil {
			return nil, fmt.Errorf("workflowdb: %w", err)
		}
	}
	return s, nil
}

// Ledger returns the Mongo send ledger.
func (s *Store) Ledger() *Ledger { return &Ledger{coll: s.ledger} }

// The documents, shared with conversationdb.
type (
	dbIdentity     = conversationdoc.Identity
	dbPost         = conversationdoc.Post
	dbConversation = conversationdoc.Conversation
)

func toBusIdentity(i dbIdentity) conversation.Identity {
	return conversation.Identity{Platform: i.Platform, UserID: i.UserID, Handle: i.Handle, Name: i.Name}
}

func toBusConversation(d dbConversation) workflow.Conversation {
	c := conversation.Conversation{
		ID: d.ID, WorkspaceID: d.WorkspaceID, ChannelID: d.ChannelID, Platform: d.Platform,
		Kind: conversation.Kind(d.Kind), ThreadKey: d.ThreadKey, Customer: toBusIdentity(d.Customer),
		Status:        conversation.Status(d.Status),
		LastMessageAt: d.LastMessageAt.UTC(), LastIncomingAt: d.LastIncomingAt.UTC(), LastOutgoingAt: d.LastOutgoingAt.UTC(),
		WaitingSince: d.WaitingSince.UTC(), MessageCount: d.MessageCount, IncomingCount: d.IncomingCount,
		OutgoingCount: d.OutgoingCount, AssigneeID: d.AssigneeID, Labels: d.Labels, Priority: d.Priority,
		LastMessageID: d.LastMessageID, LastMessageText: d.LastMessageText,
		LastMessageDirection: conversation.Direction(d.LastMessageDir),
		UnreadCount:          conversation.Unread(d.IncomingCount, d.SeenIncoming),
		CreatedAt:            d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if d.Post != nil {
		c.Post = &conversation.Post{ID: d.Post.ID, Text: d.Post.Text, Permalink: d.Post.Permalink, Type: d.Post.Type}
	}
	return workflow.Conversation{Conversation: c, SnoozedUntil: d.SnoozedUntil.UTC()}
}

func wsID(workspaceID, id string) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}}
}

// Conversation returns one conversation of a workspace.
func (s *Store) Conversation(ctx context.Context, workspaceID, id string) (workflow.Conversation, error) {
	var d dbConversation
	if err := s.conversations.FindOne(ctx, wsID(workspaceID, id)).Decode(&d); err != nil {
		return workflow.Conversation{}, mongox.Translate(err, "conversation", "conversation")
	}
	return toBusConversation(d), nil
}

// ListConversations returns one page of f, sorted and filtered in the query.
func (s *Store) ListConversations(ctx context.Context, f workflow.Filter) ([]workflow.Conversation, error) {
	q := bson.D{{Key: "workspace_id", Value: f.WorkspaceID}}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			st[i] = string(v)
		}
		q = append(q, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: st}}})
	}
	if f.ChannelID != "" {
		q = append(q, bson.E{Key: "channel_id", Value: f.ChannelID})
	}
	if f.Kind != "" {
		q = append(q, bson.E{Key: "kind", Value: string(f.Kind)})
	}
	switch f.Assignee {
	case "":
	case workflow.AssigneeUnassigned:
		q = append(q, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "assignee_id", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "assignee_id", Value: ""}}}})
	default:
		q = append(q, bson.E{Key: "assignee_id", Value: f.Assignee})
	}
	if f.Label != "" {
		q = append(q, bson.E{Key: "labels", Value: f.Label})
	}
	if f.Priority != "" {
		q = append(q, bson.E{Key: "priority", Value: f.Priority})
	}
	var and bson.A
	if f.Search != "" {
		re := bson.Regex{Pattern: f.Search, Options: "i"}
		or := bson.A{bson.D{{Key: "customer.name", Value: re}}, bson.D{{Key: "customer.handle", Value: re}}}
		if len(f.SearchIDs) > 0 {
			or = append(or, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: f.SearchIDs}}}})
		}
		and = append(and, bson.D{{Key: "$or", Value: or}})
	}
	var sort bson.D
	if f.Sort == workflow.SortWaiting {
		q = append(q, bson.E{Key: "waiting_since", Value: bson.D{{Key: "$exists", Value: true}}})
		sort = bson.D{{Key: "waiting_since", Value: 1}, {Key: "_id", Value: 1}}
		if f.After != nil {
			and = append(and, bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "waiting_since", Value: bson.D{{Key: "$gt", Value: f.After.At}}}},
				bson.D{{Key: "waiting_since", Value: f.After.At}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: f.After.ID}}}},
			}}})
		}
	} else {
		sort = bson.D{{Key: "last_message_at", Value: -1}, {Key: "_id", Value: 1}}
		if f.After != nil {
			and = append(and, bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "last_message_at", Value: bson.D{{Key: "$lt", Value: f.After.At}}}},
				bson.D{{Key: "last_message_at", Value: f.After.At}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: f.After.ID}}}},
			}}})
		}
	}
	if len(and) > 0 {
		q = append(q, bson.E{Key: "$and", Value: and})
	}
	cur, err := s.conversations.Find(ctx, q, options.Find().SetSort(sort).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	var docs []dbConversation
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]workflow.Conversation, len(docs))
	for i, d := range docs {
		out[i] = toBusConversation(d)
	}
	return out, nil
}

// searchScan bounds the messages a text search reads: FerretDB has no text
// index, so the regex scans; the newest matches are the ones worth finding.
const searchScan = 5000

// SearchMessages returns the ids of conversations of the workspace having a
// visible message whose text matches pattern, newest matches first, at most
// limit of them.
func (s *Store) SearchMessages(ctx context.Context, workspaceID, pattern string, limit int) ([]string, error) {
	filter := bson.D{{Key: "workspace_id", Value: workspaceID}, {Key: "placeholder", Value: false},
		{Key: "text", Value: bson.Regex{Pattern: pattern, Options: "i"}}}
	cur, err := s.messages.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "platform_time", Value: -1}}).
		SetLimit(searchScan).SetProjection(bson.D{{Key: "conversation_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	defer cur.Close(ctx)
	seen := map[string]bool{}
	var out []string
	for cur.Next(ctx) && len(out) < limit {
		var d struct {
			ConversationID string `bson:"conversation_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("search messages: %w", err)
		}
		if d.ConversationID != "" && !seen[d.ConversationID] {
			seen[d.ConversationID] = true
			out = append(out, d.ConversationID)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return out, nil
}

// SetAssignee sets (or, with an empty userID, clears) the assignee.
func (s *Store) SetAssignee(ctx context.Context, workspaceID, id, userID string, at time.Time) (workflow.Conversation, error) {
	upd := bson.D{{Key: "$set", Value: bson.D{{Key: "assignee_id", Value: userID}, {Key: "updated_at", Value: at}}}}
	if userID == "" {
		upd = bson.D{{Key: "$unset", Value: bson.D{{Key: "assignee_id", Value: ""}}},
			{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}}}
	}
	return s.updateConversation(ctx, workspaceID, id, upd)
}

// SetStatus sets the status; snoozedUntil is kept only for StatusSnoozed.
func (s *Store) SetStatus(ctx context.Context, workspaceID, id string, st conversation.Status, snoozedUntil, at time.Time) (workflow.Conversation, error) {
	set := bson.D{{Key: "status", Value: string(st)}, {Key: "updated_at", Value: at}}
	upd := bson.D{}
	if st == conversation.StatusSnoozed {
		set = append(set, bson.E{Key: "snoozed_until", Value: snoozedUntil})
	} else {
		upd = append(upd, bson.E{Key: "$unset", Value: bson.D{{Key: "snoozed_until", Value: ""}}})
	}
	upd = append(upd, bson.E{Key: "$set", Value: set})
	return s.updateConversation(ctx, workspaceID, id, upd)
}

// MarkRead records that the team has read the first seen incoming messages
// of a conversation; it never goes back.
func (s *Store) MarkRead(ctx context.Context, workspaceID, id string, seen int64) (workflow.Conversation, error) {
	return s.updateConversation(ctx, workspaceID, id, bson.D{{Key: "$max", Value: bson.D{{Key: "seen_incoming_count", Value: seen}}}})
}

// DueSnoozed returns snoozed conversations whose time has come.
func (s *Store) DueSnoozed(ctx context.Context, now time.Time, limit int) ([]workflow.Conversation, error) {
	cur, err := s.conversations.Find(ctx, bson.D{{Key: "status", Value: string(conversation.StatusSnoozed)},
		{Key: "snoozed_until", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "snoozed_until", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("due snoozed: %w", err)
	}
	var docs []dbConversation
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("due snoozed: %w", err)
	}
	out := make([]workflow.Conversation, len(docs))
	for i, d := range docs {
		out[i] = toBusConversation(d)
	}
	return out, nil
}

// Reopen opens a conversation still snoozed until now or earlier; false when
// something (an agent, an incoming message) changed it first.
func (s *Store) Reopen(ctx context.Context, workspaceID, id string, now time.Time) (bool, error) {
	res, err := s.conversations.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID},
		{Key: "status", Value: string(conversation.StatusSnoozed)}, {Key: "snoozed_until", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: string(conversation.StatusOpen)}, {Key: "updated_at", Value: now}}},
			{Key: "$unset", Value: bson.D{{Key: "snoozed_until", Value: ""}}}})
	if err != nil {
		return false, fmt.Errorf("reopen: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// ChangeLabels adds then removes labels in two updates: MongoDB refuses
// $addToSet and $pullAll on one path in one update ($pull with $in is not
// supported by FerretDB).
func (s *Store) ChangeLabels(ctx context.Context, workspaceID, id string, add, remove []string, at time.Time) (workflow.Conversation, error) {
	if len(add) > 0 {
		if _, err := s.updateConversation(ctx, workspaceID, id, bson.D{
			{Key: "$addToSet", Value: bson.D{{Key: "labels", Value: bson.D{{Key: "$each", Value: add}}}}},
			{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}}}); err != nil {
			return workflow.Conversation{}, err
		}
	}
	if len(remove) > 0 {
		if _, err := s.updateConversation(ctx, workspaceID, id, bson.D{
			{Key: "$pullAll", Value: bson.D{{Key: "labels", Value: remove}}},
			{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}}}); err != nil {
			return workflow.Conversation{}, err
		}
	}
	return s.Conversation(ctx, workspaceID, id)
}

// updateConversation applies upd to one conversation of the workspace and
// returns it; FerretDB lacks nothing here, but findOneAndUpdate keeps it one call.
func (s *Store) updateConversation(ctx context.Context, workspaceID, id string, upd bson.D) (workflow.Conversation, error) {
	var d dbConversation
	err := s.conversations.FindOneAndUpdate(ctx, wsID(workspaceID, id), upd,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return workflow.Conversation{}, mongox.Translate(err, "update conversation", "conversation")
	}
	return toBusConversation(d), nil
}
