// Package mongox connects to MongoDB (or FerretDB) with the v2 driver and
// translates driver errors into domain errors for the stores.
package mongox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/communityinbox/shared/apperr"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Connect opens a client to uri and checks it answers within the context deadline.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second).SetConnectTimeout(5 * time.Second)
	c, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo connect: %w", err)
	}
	if err := c.Ping(ctx, readpref.Primary()); err != nil {
		_ = c.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo ping: %w", err)
	}
	return c, nil
}

// Ping reports whether db's server answers; used by /readyz.
func Ping(db *mongo.Database) func(context.Context) error {
	return func(ctx context.Context) error { return db.Client().Ping(ctx, readpref.Primary()) }
}

// Translate maps driver errors onto domain errors: no document → not found
// (naming what), duplicate key → conflict. Other errors are wrapped with op.
func Translate(err error, op, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return apperr.NotFound(what)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%s: %w", op, apperr.Wrap(err, apperr.CodeConflict, what+" already exists"))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// IsDuplicate reports whether err is a unique index violation.
func IsDuplicate(err error) bool { return mongo.IsDuplicateKeyError(err) }

// EnsureIndexes creates each index of models on coll, one command per index.
// FerretDB 1.24 panics on a createIndexes naming several indexes when some of
// them exist already, and services recreate their indexes at every start.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	for _, m := range models {
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("index on %s: %w", coll.Name(), err)
		}
	}
	return nil
}
