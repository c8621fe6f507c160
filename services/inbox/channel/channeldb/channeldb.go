// Package channeldb stores channels in MongoDB; every workspace-facing query
// includes the workspace id, and the route is unique across workspaces.
package channeldb

import (
	"context"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const collection = "channels"

type dbConfig struct {
	PageID        string   `bson:"page_id,omitempty"`
	AccountID     string   `bson:"account_id,omitempty"`
	PhoneNumberID string   `bson:"phone_number_id,omitempty"`
	UserID        string   `bson:"user_id,omitempty"`
	ChannelID     string   `bson:"channel_id,omitempty"`
	VideoIDs      []string `bson:"video_ids,omitempty"`
	VerifyToken   string   `bson:"verify_token,omitempty"`
}

type dbSecrets struct {
	AppSecret      string `bson:"app_secret,omitempty"`
	AccessToken    string `bson:"access_token,omitempty"`
	ConsumerSecret string `bson:"consumer_secret,omitempty"`
	BotToken       string `bson:"bot_token,omitempty"`
	SecretToken    string `bson:"secret_token,omitempty"`
	APIKey         string `bson:"api_key,omitempty"`
	WebhookSecret  string `bson:"webhook_secret,omitempty"`
}

type dbChannel struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspace_id"`
	Type        string    `bson:"type"`
	Name        string    `bson:"name"`
	Route       string    `bson:"route"`
	Config      dbConfig  `bson:"config"`
	Secrets     dbSecrets `bson:"secrets"`
	CreatedAt   time.Time `bson:"created_at"`
}

func toDB(c channel.Channel) dbChannel {
	return dbChannel{ID: c.ID, WorkspaceID: c.WorkspaceID, Type: string(c.Type), Name: c.Name, Route: c.Route,
		Config: dbConfig(c.Config), Secrets: dbSecrets(c.Secrets), CreatedAt: c.CreatedAt}
}

func toBus(d dbChannel) channel.Channel {
	return channel.Channel{ID: d.ID, WorkspaceID: d.WorkspaceID, Type: channel.Type(d.Type), Name: d.Name, Route: d.Route,
		Config: channel.Config(d.Config), Secrets: channel.Secrets(d.Secrets), CreatedAt: d.CreatedAt.UTC()}
}

// Store is the MongoDB channel store.
type Store struct{ c *mongo.Collection }

// New returns a store on db, creating its indexes.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	c := db.Collection(collection)
	for _, m := range []mongo.IndexModel{
		{Keys: bson.D{{Key: "route", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "config.verify_token", Value: 1}}},
		{Keys: bson.D{{Key: "type", Value: 1}}},
	} {
		if _, err := c.Indexes().CreateOne(ctx, m); err != nil {
			return nil, fmt.Errorf("channeldb: index: %w", err)
		}
	}
	return &Store{c: c}, nil
}

// Create inserts ch; a taken route is a conflict.
func (s *Store) Create(ctx context.Context, ch channel.Channel) error {
	_, err := s.c.InsertOne(ctx, toDB(ch))
	return mongox.Translate(err, "create channel", "channel")
}

// Get returns a channel of a workspace.
func (s *Store) Get(ctx context.Context, workspaceID, id string) (channel.Channel, error) {
	var d dbChannel
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}}).Decode(&d)
	if err != nil {
		return channel.Channel{}, mongox.Translate(err, "get channel", "channel")
	}
	return toBus(d), nil
}

// List returns a workspace's channels, oldest first.
func (s *Store) List(ctx context.Context, workspaceID string) ([]channel.Channel, error) {
	return s.find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}}, "list channels")
}

// Delete removes a channel of a workspace.
func (s *Store) Delete(ctx context.Context, workspaceID, id string) error {
	res, err := s.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}})
	if err != nil {
		return mongox.Translate(err, "delete channel", "channel")
	}
	if res.DeletedCount == 0 {
		return mongox.Translate(mongo.ErrNoDocuments, "delete channel", "channel")
	}
	return nil
}

// ByIDs returns the channels with the given ids, in any workspace.
func (s *Store) ByIDs(ctx context.Context, ids []string) ([]channel.Channel, error) {
	return s.find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, "channels by id")
}

// ByRoutes returns the channels owning the given routes.
func (s *Store) ByRoutes(ctx context.Context, routes []string) ([]channel.Channel, error) {
	return s.find(ctx, bson.D{{Key: "route", Value: bson.D{{Key: "$in", Value: routes}}}}, "channels by route")
}

// ByVerifyToken returns the channels whose Meta verify token is token.
func (s *Store) ByVerifyToken(ctx context.Context, token string) ([]channel.Channel, error) {
	return s.find(ctx, bson.D{{Key: "config.verify_token", Value: token}}, "channels by verify token")
}

// ByType returns all channels of a type.
func (s *Store) ByType(ctx context.Context, t channel.Type) ([]channel.Channel, error) {
	return s.find(ctx, bson.D{{Key: "type", Value: string(t)}}, "channels by type")
}

func (s *Store) find(ctx context.Context, filter bson.D, op string) ([]channel.Channel, error) {
	cur, err := s.c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var docs []dbChannel
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := make([]channel.Channel, len(docs))
	for i, d := range docs {
		out[i] = toBus(d)
	}
	return out, nil
}
