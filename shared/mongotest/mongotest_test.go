package mongotest

import (
	"context"
	"testing"

	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestMain(m *testing.M) { Main(m) }

func TestEachTestHasItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := DB(t), DB(t)
	if a.Name() == b.Name() {
		t.Fatal("same database twice")
	}
	if _, err := a.Collection("c").InsertOne(ctx, bson.M{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	n, err := b.Collection("c").CountDocuments(ctx, bson.M{})
	if err != nil || n != 0 {
		t.Fatalf("isolation broken: %d %v", n, err)
	}
}

// TestSubsetWeRelyOn pins the behaviour of the MongoDB-wire server the services depend on.
func TestSubsetWeRelyOn(t *testing.T) {
	ctx := context.Background()
	c := DB(t).Collection("c")
	if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "k", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InsertOne(ctx, bson.M{"_id": "1", "k": "a", "n": 2}); err != nil {
		t.Fatal(err)
	}
	_, err := c.InsertOne(ctx, bson.M{"_id": "2", "k": "a"})
	if !mongox.IsDuplicate(err) {
		t.Fatalf("unique index not enforced: %v", err)
	}
	res, err := c.UpdateOne(ctx, bson.M{"_id": "3"}, bson.M{"$setOnInsert": bson.M{"k": "b"}, "$inc": bson.M{"n": 5}}, options.UpdateOne().SetUpsert(true))
	if err != nil || res.UpsertedCount != 1 {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	cur, err := c.Aggregate(ctx, mongo.Pipeline{{{Key: "$group", Value: bson.M{"_id": nil, "s": bson.M{"$sum": "$n"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.M
	if err := cur.All(ctx, &out); err != nil || len(out) != 1 {
		t.Fatalf("group: %v %v", out, err)
	}
	if s, _ := out[0]["s"].(int32); s != 7 {
		t.Fatalf("sum = %v, want 7", out[0]["s"])
	}
}
