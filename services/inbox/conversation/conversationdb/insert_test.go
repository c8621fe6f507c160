package conversationdb

import (
	"context"
	"fmt"
	"testing"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestInsertNewChunks inserts more documents than insertStreams commands of
// insertChunk carry, some of which exist already in several chunks: each
// new one is stored once and each existing one is reported at its index.
func TestInsertNewChunks(t *testing.T) {
	ctx := context.Background()
	c := mongotest.DB(t).Collection("chunks")
	type doc struct {
		ID string `bson:"_id"`
		N  int    `bson:"n"`
	}
	n := insertChunk*(insertStreams+1) + 17
	existing := map[int]bool{0: true, insertChunk - 1: true, insertChunk: true, 2*insertChunk + 5: true, n - 1: true}
	for i := range existing {
		if _, err := c.InsertOne(ctx, doc{ID: fmt.Sprint("d", i), N: -1}); err != nil {
			t.Fatal(err)
		}
	}
	docs := make([]doc, n)
	for i := range docs {
		docs[i] = doc{ID: fmt.Sprint("d", i), N: i}
	}
	dup, err := insertNew(ctx, c, docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(dup) != len(existing) {
		t.Fatalf("reported %d existing, want %d: %v", len(dup), len(existing), dup)
	}
	for i := range existing {
		if !dup[i] {
			t.Fatalf("existing document %d not reported; got %v", i, dup)
		}
	}
	if got, err := c.CountDocuments(ctx, bson.D{}); err != nil || got != int64(n) {
		t.Fatalf("%d documents, %v; want %d", got, err, n)
	}
	if got, err := c.CountDocuments(ctx, bson.D{{Key: "n", Value: -1}}); err != nil || got != int64(len(existing)) {
		t.Fatalf("%d documents kept their old state, %v; want %d", got, err, len(existing))
	}
}
