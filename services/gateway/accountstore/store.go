// Package accountstore keeps workspaces, users and API keys in MongoDB.
package accountstore

import (
	"context"
	"time"

	"github.com/communityinbox/gateway/account"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store implements account.Storer.
type Store struct {
	workspaces, users, keys *mongo.Collection
}

// New returns a store on db.
func New(db *mongo.Database) *Store {
	return &Store{workspaces: db.Collection("workspaces"), users: db.Collection("users"), keys: db.Collection("api_keys")}
}

// EnsureIndexes creates the unique and lookup indexes.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	if err := mongox.EnsureIndexes(ctx, s.users,
		mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
		mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "created_at", Value: 1}}},
	); err != nil {
		return err
	}
	return mongox.EnsureIndexes(ctx, s.keys, mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "id", Value: 1}}})
}

type workspaceDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	CreatedAt time.Time `bson:"created_at"`
}

type userDoc struct {
	ID           string    `bson:"_id"`
	WorkspaceID  string    `bson:"workspace_id"`
	Email        string    `bson:"email"`
	Name         string    `bson:"name"`
	Role         string    `bson:"role"`
	PasswordHash string    `bson:"password_hash"`
	Disabled     bool      `bson:"disabled"`
	CreatedAt    time.Time `bson:"created_at"`
}

// keyDoc is keyed by the key's hash so resolving a key is one _id lookup.
type keyDoc struct {
	Hash        string    `bson:"_id"`
	ID          string    `bson:"id"`
	WorkspaceID string    `bson:"workspace_id"`
	Name        string    `bson:"name"`
	CreatedBy   string    `bson:"created_by"`
	CreatedAt   time.Time `bson:"created_at"`
}

func toUserDoc(u account.User) userDoc {
	return userDoc{ID: u.ID, WorkspaceID: u.WorkspaceID, Email: u.Email, Name: u.Name, Role: string(u.Role),
		PasswordHash: u.PasswordHash, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func toUser(d userDoc) account.User {
	return account.User{ID: d.ID, WorkspaceID: d.WorkspaceID, Email: d.Email, Name: d.Name, Role: auth.Role(d.Role),
		PasswordHash: d.PasswordHash, Disabled: d.Disabled, CreatedAt: d.CreatedAt}
}

func toKey(d keyDoc) account.APIKey {
	return account.APIKey{ID: d.ID, WorkspaceID: d.WorkspaceID, Name: d.Name, Hash: d.Hash, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt}
}

// CountWorkspaces counts all workspaces of the installation.
func (s *Store) CountWorkspaces(ctx context.Context) (int64, error) {
	n, err := s.workspaces.CountDocuments(ctx, bson.D{})
	return n, mongox.Translate(err, "count workspaces", "workspace")
}

// CreateWorkspace inserts w.
func (s *Store) CreateWorkspace(ctx context.Context, w account.Workspace) error {
	_, err := s.workspaces.InsertOne(ctx, workspaceDoc{ID: w.ID, Name: w.Name, CreatedAt: w.CreatedAt})
	return mongox.Translate(err, "create workspace", "workspace")
}

// Workspace returns the workspace with id.
func (s *Store) Workspace(ctx context.Context, id string) (account.Workspace, error) {
	var d workspaceDoc
	err := s.workspaces.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if err != nil {
		return account.Workspace{}, mongox.Translate(err, "workspace", "workspace")
	}
	return account.Workspace{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt}, nil
}

// CreateUser inserts u; a taken email is a conflict.
func (s *Store) CreateUser(ctx context.Context, u account.User) error {
	_, err := s.users.InsertOne(ctx, toUserDoc(u))
	return mongox.Translate(err, "create user", "user")
}

// UserByEmail finds a user by login email, across workspaces.
func (s *Store) UserByEmail(ctx context.Context, email string) (account.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, bson.M{"email": email}).Decode(&d); err != nil {
		return account.User{}, mongox.Translate(err, "user by email", "user")
	}
	return toUser(d), nil
}

// User returns a user of workspaceID.
func (s *Store) User(ctx context.Context, workspaceID, id string) (account.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, bson.M{"_id": id, "workspace_id": workspaceID}).Decode(&d); err != nil {
		return account.User{}, mongox.Translate(err, "user", "user")
	}
	return toUser(d), nil
}

// Users lists the users of workspaceID, oldest first.
func (s *Store) Users(ctx context.Context, workspaceID string) ([]account.User, error) {
	cur, err := s.users.Find(ctx, bson.M{"workspace_id": workspaceID}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "users", "user")
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "users", "user")
	}
	out := make([]account.User, len(docs))
	for i, d := range docs {
		out[i] = toUser(d)
	}
	return out, nil
}

// UpdateUser replaces the mutable fields of u.
func (s *Store) UpdateUser(ctx context.Context, u account.User) error {
	res, err := s.users.UpdateOne(ctx, bson.M{"_id": u.ID, "workspace_id": u.WorkspaceID}, bson.M{"$set": bson.M{
		"name": u.Name, "role": string(u.Role), "disabled": u.Disabled, "password_hash": u.PasswordHash}})
	if err != nil {
		return mongox.Translate(err, "update user", "user")
	}
	if res.MatchedCount == 0 {
		return mongox.Translate(mongo.ErrNoDocuments, "update user", "user")
	}
	return nil
}

// CreateAPIKey stores k under its hash.
func (s *Store) CreateAPIKey(ctx context.Context, k account.APIKey) error {
	_, err := s.keys.InsertOne(ctx, keyDoc{Hash: k.Hash, ID: k.ID, WorkspaceID: k.WorkspaceID, Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
	return mongox.Translate(err, "create api key", "api key")
}

// APIKeyByHash resolves a presented key.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (account.APIKey, error) {
	var d keyDoc
	if err := s.keys.FindOne(ctx, bson.M{"_id": hash}).Decode(&d); err != nil {
		return account.APIKey{}, mongox.Translate(err, "api key", "api key")
	}
	return toKey(d), nil
}

// APIKeys lists the keys of workspaceID.
func (s *Store) APIKeys(ctx context.Context, workspaceID string) ([]account.APIKey, error) {
	cur, err := s.keys.Find(ctx, bson.M{"workspace_id": workspaceID}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "api keys", "api key")
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "api keys", "api key")
	}
	out := make([]account.APIKey, len(docs))
	for i, d := range docs {
		out[i] = toKey(d)
	}
	return out, nil
}

// DeleteAPIKey removes key id of workspaceID.
func (s *Store) DeleteAPIKey(ctx context.Context, workspaceID, id string) error {
	res, err := s.keys.DeleteOne(ctx, bson.M{"id": id, "workspace_id": workspaceID})
	if err != nil {
		return mongox.Translate(err, "delete api key", "api key")
	}
	if res.DeletedCount == 0 {
		return mongox.Translate(mongo.ErrNoDocuments, "delete api key", "api key")
	}
	return nil
}
