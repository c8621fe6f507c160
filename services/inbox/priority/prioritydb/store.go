// Package prioritydb is the Mongo store of priority: the thread_stats and
// customer_tiers collections, and the conditional priority write on
// conversations.
package prioritydb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/priority"
	"github.com/communityinbox/inbox/triage"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store implements priority.Storer on Mongo.
type Store struct {
	stats, tiers, conversations *mongo.Collection
}

// New returns the store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{stats: db.Collection("thread_stats"), tiers: db.Collection("customer_tiers"), conversations: db.Collection("conversations")}
	// The customer's open conversations, for a tier change.
	if err := mongox.EnsureIndexes(ctx, s.conversations, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1},
		{Key: "customer.platform", Value: 1}, {Key: "customer.user_id", Value: 1}}}); err != nil {
		return nil, err
	}
	return s, nil
}

// key makes a message id safe as a field name.
func key(id string) string { return strings.NewReplacer(".", "_", "$", "_").Replace(id) }

func statsID(ws, conversationID string) string { return ws + "|" + conversationID }

type commentDoc struct {
	At   time.Time `bson:"at"`
	Text string    `bson:"text"`
}

// statsDoc keeps comments and reactions as maps keyed by message id, so a
// redelivered event sets the same field again ($set is idempotent, $push is not).
type statsDoc struct {
	ID          string                 `bson:"_id"`
	WorkspaceID string                 `bson:"workspace_id"`
	Comments    map[string]commentDoc  `bson:"comments"`
	Reactions   map[string][]time.Time `bson:"reactions"`
}

// AddComment records a comment in the thread's stats.
func (s *Store) AddComment(ctx context.Context, ws, conversationID, messageID string, c triage.Comment) error {
	_, err := s.stats.UpdateOne(ctx, bson.D{{Key: "_id", Value: statsID(ws, conversationID)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "workspace_id", Value: ws},
			{Key: "comments." + key(messageID), Value: commentDoc{At: c.At.UTC(), Text: c.Text}}}}},
		options.UpdateOne().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return s.AddComment(ctx, ws, conversationID, messageID, c) // a concurrent upsert created the document
	}
	return mongox.Translate(err, "add comment to thread stats", "thread stats")
}

// SetReactions records the current reactions on one message.
func (s *Store) SetReactions(ctx context.Context, ws, conversationID, messageID string, at []time.Time) error {
	utc := make([]time.Time, len(at))
	for i, t := range at {
		utc[i] = t.UTC()
	}
	_, err := s.stats.UpdateOne(ctx, bson.D{{Key: "_id", Value: statsID(ws, conversationID)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "workspace_id", Value: ws}, {Key: "reactions." + key(messageID), Value: utc}}}},
		options.UpdateOne().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return s.SetReactions(ctx, ws, conversationID, messageID, at)
	}
	return mongox.Translate(err, "set reactions in thread stats", "thread stats")
}

// Stats returns the thread's comments and reactions since since, and
// removes older comments and reaction lists so the document stays small on
// a long-lived thread.
func (s *Store) Stats(ctx context.Context, ws, conversationID string, since time.Time) (priority.Stats, error) {
	var d statsDoc
	err := s.stats.FindOne(ctx, bson.D{{Key: "_id", Value: statsID(ws, conversationID)}, {Key: "workspace_id", Value: ws}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return priority.Stats{}, nil
	}
	if err != nil {
		return priority.Stats{}, mongox.Translate(err, "thread stats", "thread stats")
	}
	var out priority.Stats
	var stale bson.D
	for k, c := range d.Comments {
		if c.At.Before(since) {
			stale = append(stale, bson.E{Key: "comments." + k, Value: ""})
			continue
		}
		out.Comments = append(out.Comments, triage.Comment{At: c.At, Text: c.Text})
	}
	for k, rs := range d.Reactions {
		recent := 0
		for _, r := range rs {
			if !r.Before(since) {
				out.Reactions = append(out.Reactions, r)
				recent++
			}
		}
		if recent == 0 {
			stale = append(stale, bson.E{Key: "reactions." + k, Value: ""})
		}
	}
	if len(stale) > 0 {
		if _, err := s.stats.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$unset", Value: stale}}); err != nil {
			return priority.Stats{}, mongox.Translate(err, "prune thread stats", "thread stats")
		}
	}
	return out, nil
}

func tierID(ws, platform, userID string) string { return ws + "|" + platform + "|" + userID }

type tierDoc struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspace_id"`
	Platform    string    `bson:"platform"`
	UserID      string    `bson:"user_id"`
	Tier        string    `bson:"tier"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

// PutTier stores a customer identity's tier.
func (s *Store) PutTier(ctx context.Context, ws, platform, userID, tier string) error {
	d := tierDoc{ID: tierID(ws, platform, userID), WorkspaceID: ws, Platform: platform, UserID: userID, Tier: tier, UpdatedAt: time.Now().UTC()}
	_, err := s.tiers.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	return mongox.Translate(err, "put customer tier", "customer tier")
}

// Tier returns an identity's tier, "" when unknown.
func (s *Store) Tier(ctx context.Context, ws, platform, userID string) (string, error) {
	if platform == "" || userID == "" {
		return "", nil
	}
	var d tierDoc
	err := s.tiers.FindOne(ctx, bson.D{{Key: "_id", Value: tierID(ws, platform, userID)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", mongox.Translate(err, "customer tier", "customer tier")
	}
	return d.Tier, nil
}

// OpenConversationsOf returns the ids of the identity's open and pending conversations.
func (s *Store) OpenConversationsOf(ctx context.Context, ws, platform, userID string) ([]string, error) {
	cur, err := s.conversations.Find(ctx, bson.D{{Key: "workspace_id", Value: ws}, {Key: "customer.platform", Value: platform},
		{Key: "customer.user_id", Value: userID},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(conversation.StatusOpen), string(conversation.StatusPending)}}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "find customer conversations", "conversations")
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "read customer conversations", "conversations")
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// lower lists the stored priorities that rank below p.
func lower(p triage.Priority) bson.A {
	out := bson.A{nil, "", string(triage.Normal), "low"}
	if p == triage.Urgent {
		out = append(out, string(triage.High))
	}
	return out
}

// Raise sets priority and reasons only while the stored priority ranks
// lower: a single conditional update, so concurrent raises never lower.
func (s *Store) Raise(ctx context.Context, ws, conversationID string, p triage.Priority, reasons []string) (bool, error) {
	res, err := s.conversations.UpdateOne(ctx, bson.D{{Key: "_id", Value: conversationID}, {Key: "workspace_id", Value: ws},
		{Key: "priority", Value: bson.D{{Key: "$in", Value: lower(p)}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "priority", Value: string(p)}, {Key: "priority_reasons", Value: reasons},
			{Key: "updated_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return false, mongox.Translate(err, "raise priority", "conversation")
	}
	return res.MatchedCount == 1, nil
}
