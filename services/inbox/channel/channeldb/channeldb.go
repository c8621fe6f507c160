// Package channeldb stores channels in MongoDB; every workspace-facing query
// includes the workspace id, and the route is unique across workspaces.
// Credentials and the Meta verify token are stored sealed (see secretbox),
// each bound to its workspace, channel and field.
package channeldb

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/shared/mongox"
	"github.com/communityinbox/shared/secretbox"
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
	VerifyToken   string   `bson:"verify_token,omitempty"` // sealed
	// VerifyTokenLookup finds a channel by its verify token without storing
	// the token in the clear: a keyed hash (secretbox.Box.Lookup).
	VerifyTokenLookup string `bson:"verify_token_lookup,omitempty"`
}

// dbSecrets holds sealed values; documents written before secrets were
// encrypted hold plain text, which reads fine and is sealed by Reseal.
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

// verifyTokenField is the aad field name and lookup context of the verify token.
const verifyTokenField = "verify_token"

// sealedFields pairs each sealed field of d with its name, which is part of
// the value's additional data: a value moved to another field does not open.
func sealedFields(d *dbChannel) []struct {
	name string
	v    *string
} {
	return []struct {
		name string
		v    *string
	}{
		{verifyTokenField, &d.Config.VerifyToken}, {"app_secret", &d.Secrets.AppSecret}, {"access_token", &d.Secrets.AccessToken},
		{"consumer_secret", &d.Secrets.ConsumerSecret}, {"bot_token", &d.Secrets.BotToken}, {"secret_token", &d.Secrets.SecretToken},
		{"api_key", &d.Secrets.APIKey}, {"webhook_secret", &d.Secrets.WebhookSecret},
	}
}

// toDB converts c and seals its secrets with the box's current key.
func (s *Store) toDB(c channel.Channel) (dbChannel, error) {
	d := dbChannel{ID: c.ID, WorkspaceID: c.WorkspaceID, Type: string(c.Type), Name: c.Name, Route: c.Route,
		Config: dbConfig{PageID: c.Config.PageID, AccountID: c.Config.AccountID, PhoneNumberID: c.Config.PhoneNumberID,
			UserID: c.Config.UserID, ChannelID: c.Config.ChannelID, VideoIDs: c.Config.VideoIDs, VerifyToken: c.Config.VerifyToken},
		Secrets: dbSecrets(c.Secrets), CreatedAt: c.CreatedAt}
	if l := s.box.Lookup(c.Config.VerifyToken, verifyTokenField); len(l) > 0 {
		d.Config.VerifyTokenLookup = l[0]
	}
	for _, f := range sealedFields(&d) {
		sealed, err := s.box.Seal(*f.v, d.WorkspaceID, d.ID, f.name)
		if err != nil {
			return dbChannel{}, fmt.Errorf("channel %s: seal %s: %w", d.ID, f.name, err)
		}
		*f.v = sealed
	}
	return d, nil
}

// toBus converts d, opening its secrets. stale reports that d should be
// written again: it holds plain text or values sealed with an old key.
func (s *Store) toBus(d dbChannel) (ch channel.Channel, stale bool, err error) {
	for _, f := range sealedFields(&d) {
		plain, old, err := s.box.Open(*f.v, d.WorkspaceID, d.ID, f.name)
		if err != nil {
			return channel.Channel{}, false, fmt.Errorf("channel %s: open %s: %w", d.ID, f.name, err)
		}
		*f.v, stale = plain, stale || old
	}
	if l := s.box.Lookup(d.Config.VerifyToken, verifyTokenField); len(l) > 0 && d.Config.VerifyTokenLookup != l[0] {
		stale = true
	}
	c := d.Config
	return channel.Channel{ID: d.ID, WorkspaceID: d.WorkspaceID, Type: channel.Type(d.Type), Name: d.Name, Route: d.Route,
		Config: channel.Config{PageID: c.PageID, AccountID: c.AccountID, PhoneNumberID: c.PhoneNumberID, UserID: c.UserID,
			ChannelID: c.ChannelID, VideoIDs: c.VideoIDs, VerifyToken: c.VerifyToken},
		Secrets: channel.Secrets(d.Secrets), CreatedAt: d.CreatedAt.UTC()}, stale, nil
}

// Store is the MongoDB channel store.
type Store struct {
	c   *mongo.Collection
	box *secretbox.Box
}

// New returns a store on db sealing secrets with box, creating its indexes
// and sealing again what is stored in plain text or under an old key.
func New(ctx context.Context, db *mongo.Database, box *secretbox.Box) (*Store, error) {
	if box == nil {
		return nil, errors.New("channeldb: no secret box")
	}
	c := db.Collection(collection)
	for _, m := range []mongo.IndexModel{
		{Keys: bson.D{{Key: "route", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "config.verify_token", Value: 1}}}, // plain-text tokens until Reseal
		{Keys: bson.D{{Key: "config.verify_token_lookup", Value: 1}}},
		{Keys: bson.D{{Key: "type", Value: 1}}},
	} {
		if _, err := c.Indexes().CreateOne(ctx, m); err != nil {
			return nil, fmt.Errorf("channeldb: index: %w", err)
		}
	}
	s := &Store{c: c, box: box}
	if _, err := s.Reseal(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ResealStats counts what Reseal did.
type ResealStats struct {
	Resealed   int // written again under the current key
	Unreadable int // left alone: sealed with a key the box lacks, or tampered with
}

// Reseal writes every channel whose secrets are plain text or sealed with an
// old key again under the current key. Channels are never updated otherwise,
// so this is what encrypts documents from before encryption and finishes a
// key rotation. Unreadable channels are counted and skipped: reading them
// fails loudly anyway, and one of them must not stop the service.
func (s *Store) Reseal(ctx context.Context) (ResealStats, error) {
	var st ResealStats
	cur, err := s.c.Find(ctx, bson.D{})
	if err != nil {
		return st, fmt.Errorf("reseal channels: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d dbChannel
		if err := cur.Decode(&d); err != nil {
			return st, fmt.Errorf("reseal channels: %w", err)
		}
		ch, stale, err := s.toBus(d)
		if err != nil {
			st.Unreadable++
			continue
		}
		if !stale {
			continue
		}
		nd, err := s.toDB(ch)
		if err != nil {
			return st, err
		}
		// Channels are immutable after creation, so the id suffices: a
		// concurrent reseal by another instance writes the same plaintexts.
		_, err = s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "workspace_id", Value: d.WorkspaceID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "config", Value: nd.Config}, {Key: "secrets", Value: nd.Secrets}}}})
		if err != nil {
			return st, fmt.Errorf("reseal channel %s: %w", d.ID, err)
		}
		st.Resealed++
	}
	if err := cur.Err(); err != nil {
		return st, fmt.Errorf("reseal channels: %w", err)
	}
	return st, nil
}

// Create inserts ch; a taken route is a conflict.
func (s *Store) Create(ctx context.Context, ch channel.Channel) error {
	d, err := s.toDB(ch)
	if err != nil {
		return err
	}
	_, err = s.c.InsertOne(ctx, d)
	return mongox.Translate(err, "create channel", "channel")
}

// Get returns a channel of a workspace.
func (s *Store) Get(ctx context.Context, workspaceID, id string) (channel.Channel, error) {
	var d dbChannel
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "workspace_id", Value: workspaceID}}).Decode(&d)
	if err != nil {
		return channel.Channel{}, mongox.Translate(err, "get channel", "channel")
	}
	ch, _, err := s.toBus(d)
	return ch, err
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

// ByVerifyToken returns the channels whose Meta verify token is token. It
// finds them by the lookup hash under every key of the box, and by the plain
// token in documents not sealed yet; the opened token must then match.
func (s *Store) ByVerifyToken(ctx context.Context, token string) ([]channel.Channel, error) {
	if token == "" {
		return nil, nil
	}
	chs, err := s.find(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "config.verify_token_lookup", Value: bson.D{{Key: "$in", Value: s.box.Lookup(token, verifyTokenField)}}}},
		bson.D{{Key: "config.verify_token", Value: token}},
	}}}, "channels by verify token")
	if err != nil {
		return nil, err
	}
	out := chs[:0]
	for _, ch := range chs {
		if subtle.ConstantTimeCompare([]byte(ch.Config.VerifyToken), []byte(token)) == 1 {
			out = append(out, ch)
		}
	}
	return out, nil
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
		if out[i], _, err = s.toBus(d); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	return out, nil
}
