// Package routingdb is the Mongo store of routing: the agent_availability and
// assignment_settings collections, and the conditional assignee write on
// conversations.
package routingdb

import (
	"context"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/routing"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store implements routing.Storer on Mongo.
type Store struct {
	agents, settings, conversations *mongo.Collection
}

// New returns the store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{agents: db.Collection("agent_availability"), settings: db.Collection("assignment_settings"),
		conversations: db.Collection("conversations")}
	for _, c := range []*mongo.Collection{s.agents, s.settings} {
		if err := mongox.EnsureIndexes(ctx, c, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}}}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type agentDoc struct {
	ID          string    `bson:"_id"` // workspace|user
	WorkspaceID string    `bson:"workspace_id"`
	UserID      string    `bson:"user_id"`
	Name        string    `bson:"name,omitempty"`
	Status      string    `bson:"status"`
	Capacity    int       `bson:"capacity"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

func toAgent(d agentDoc) routing.Agent {
	return routing.Agent{WorkspaceID: d.WorkspaceID, UserID: d.UserID, Name: d.Name, Status: routing.Availability(d.Status),
		Capacity: d.Capacity, UpdatedAt: d.UpdatedAt}
}

// Agents returns the workspace's agents.
func (s *Store) Agents(ctx context.Context, ws string) ([]routing.Agent, error) {
	cur, err := s.agents.Find(ctx, bson.D{{Key: "workspace_id", Value: ws}})
	if err != nil {
		return nil, mongox.Translate(err, "find agents", "agents")
	}
	var docs []agentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read agents", "agents")
	}
	out := make([]routing.Agent, len(docs))
	for i, d := range docs {
		out[i] = toAgent(d)
	}
	return out, nil
}

// Agent returns one agent; not found when unknown.
func (s *Store) Agent(ctx context.Context, ws, userID string) (routing.Agent, error) {
	var d agentDoc
	if err := s.agents.FindOne(ctx, bson.D{{Key: "_id", Value: ws + "|" + userID}}).Decode(&d); err != nil {
		return routing.Agent{}, mongox.Translate(err, "get agent", "agent")
	}
	return toAgent(d), nil
}

// PutAgent stores an agent.
func (s *Store) PutAgent(ctx context.Context, a routing.Agent) error {
	d := agentDoc{ID: a.WorkspaceID + "|" + a.UserID, WorkspaceID: a.WorkspaceID, UserID: a.UserID, Name: a.Name,
		Status: string(a.Status), Capacity: a.Capacity, UpdatedAt: a.UpdatedAt}
	_, err := s.agents.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	return mongox.Translate(err, "put agent", "agent")
}

type settingsDoc struct {
	ID          string `bson:"_id"` // workspace|channel
	WorkspaceID string `bson:"workspace_id"`
	ChannelID   string `bson:"channel_id"`
	Auto        bool   `bson:"auto"`
	Capacity    int    `bson:"capacity"`
}

// ChannelSettings returns the workspace's channel settings.
func (s *Store) ChannelSettings(ctx context.Context, ws string) ([]routing.ChannelSettings, error) {
	cur, err := s.settings.Find(ctx, bson.D{{Key: "workspace_id", Value: ws}})
	if err != nil {
		return nil, mongox.Translate(err, "find assignment settings", "assignment settings")
	}
	var docs []settingsDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read assignment settings", "assignment settings")
	}
	out := make([]routing.ChannelSettings, len(docs))
	for i, d := range docs {
		out[i] = routing.ChannelSettings{ChannelID: d.ChannelID, Auto: d.Auto, Capacity: d.Capacity}
	}
	return out, nil
}

// PutChannelSettings stores a channel's settings.
func (s *Store) PutChannelSettings(ctx context.Context, ws string, cs routing.ChannelSettings) error {
	d := settingsDoc{ID: ws + "|" + cs.ChannelID, WorkspaceID: ws, ChannelID: cs.ChannelID, Auto: cs.Auto, Capacity: cs.Capacity}
	_, err := s.settings.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	return mongox.Translate(err, "put assignment settings", "assignment settings")
}

// openConversation is the part of a conversation document routing reads.
type openConversation struct {
	ID           string    `bson:"_id"`
	ChannelID    string    `bson:"channel_id"`
	Status       string    `bson:"status"`
	AssigneeID   string    `bson:"assignee_id"`
	Priority     string    `bson:"priority"`
	WaitingSince time.Time `bson:"waiting_since"`
	CreatedAt    time.Time `bson:"created_at"`
}

// OpenConversations returns the workspace's open and pending conversations.
func (s *Store) OpenConversations(ctx context.Context, ws string) ([]conversation.Conversation, error) {
	cur, err := s.conversations.Find(ctx, bson.D{{Key: "workspace_id", Value: ws},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(conversation.StatusOpen), string(conversation.StatusPending)}}}}},
		options.Find().SetProjection(bson.D{{Key: "channel_id", Value: 1}, {Key: "status", Value: 1}, {Key: "assignee_id", Value: 1},
			{Key: "priority", Value: 1}, {Key: "waiting_since", Value: 1}, {Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "find open conversations", "conversations")
	}
	var docs []openConversation
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read open conversations", "conversations")
	}
	out := make([]conversation.Conversation, len(docs))
	for i, d := range docs {
		out[i] = conversation.Conversation{ID: d.ID, WorkspaceID: ws, ChannelID: d.ChannelID, Status: conversation.Status(d.Status),
			AssigneeID: d.AssigneeID, Priority: d.Priority, WaitingSince: d.WaitingSince, CreatedAt: d.CreatedAt}
	}
	return out, nil
}

// AssignIfUnassigned sets assignee_id only while the conversation has none.
// One conditional single-document update: of two instances picking the same
// conversation, exactly one matches.
func (s *Store) AssignIfUnassigned(ctx context.Context, ws, conversationID, agentID string) (bool, error) {
	res, err := s.conversations.UpdateOne(ctx, bson.D{{Key: "_id", Value: conversationID}, {Key: "workspace_id", Value: ws},
		{Key: "assignee_id", Value: bson.D{{Key: "$in", Value: bson.A{nil, ""}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "assignee_id", Value: agentID}, {Key: "updated_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return false, mongox.Translate(err, "assign conversation", "conversation")
	}
	return res.MatchedCount == 1, nil
}
