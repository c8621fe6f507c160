package store

import (
	"context"
	"testing"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// TestEnsureIndexesTwice pins that a restarted service can create its indexes
// again on an existing database (FerretDB 1.24 fails a repeated multi-index
// createIndexes), and that the indexes are really there afterwards.
func TestEnsureIndexesTwice(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	for i := 0; i < 2; i++ {
		if err := EnsureIndexes(ctx, db); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	for col, want := range map[string]int{colContacts: 7, colRefunds: 2, colIntegrations: 1} {
		cur, err := db.Collection(col).Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var specs []bson.M
		if err := cur.All(ctx, &specs); err != nil {
			t.Fatal(err)
		}
		// Besides _id_, each index once: a second run must not add copies.
		if len(specs) != want+1 {
			t.Errorf("%s: %d indexes %v, want %d and _id_", col, len(specs), specs, want)
		}
	}
}
