package mongotest

import (
	"context"
	"testing"

	"github.com/communityinbox/shared/mongox"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestEnsureIndexesTwice pins the work-around for FerretDB 1.24, which panics when
// createIndexes names several indexes of which some exist: services restart, so
// index creation must be repeatable.
func TestEnsureIndexesTwice(t *testing.T) {
	ctx := context.Background()
	c := DB(t).Collection("users")
	for i := 0; i < 2; i++ {
		err := mongox.EnsureIndexes(ctx, c,
			mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
			mongo.IndexModel{Keys: bson.D{{Key: "workspace_id", Value: 1}, {Key: "created_at", Value: 1}}},
		)
		if err != nil {
			t.Fatal(i, err)
		}
	}
}
