package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func TestUpdateCost(t *testing.T) {
	ctx := context.Background()
	c := mongotest.DB(t).Collection("c")
	var docs []any
	for i := 0; i < 200; i++ {
		docs = append(docs, bson.M{"_id": fmt.Sprint("d", i), "ws": "w", "val": bson.M{"ver": int64(0), "sum": bson.A{}, "direct": int64(0)}, "link": nil})
	}
	c.InsertMany(ctx, docs)
	try := func(name string, filter bson.M, upd bson.M) {
		start := time.Now()
		for i := 0; i < 20; i++ {
			f := bson.M{"_id": fmt.Sprint("d", i)}
			for k, v := range filter {
				f[k] = v
			}
			if _, err := c.UpdateOne(ctx, f, upd); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %v per update", name, time.Since(start)/20)
	}
	try("set scalar by id", nil, bson.M{"$set": bson.M{"val.direct": int64(5)}})
	try("set scalar by id+ws", bson.M{"ws": "w"}, bson.M{"$set": bson.M{"val.direct": int64(5)}})
	try("inc by id", nil, bson.M{"$inc": bson.M{"val.ver": int64(1)}})
	try("set array", nil, bson.M{"$set": bson.M{"val.sum": []int64{1, 2, 3}}})
	try("set nil link", nil, bson.M{"$set": bson.M{"link": nil}})
	try("set+inc", nil, bson.M{"$set": bson.M{"val.sum": []int64{1, 2, 3}, "link": nil}, "$inc": bson.M{"val.ver": int64(1)}})
	var ms []mongo.WriteModel
	for i := 0; i < 100; i++ {
		ms = append(ms, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": fmt.Sprint("d", i)}).SetUpdate(bson.M{"$set": bson.M{"val.direct": int64(i)}}))
	}
	start := time.Now()
	if _, err := c.BulkWrite(ctx, ms); err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk 100 by id: %v", time.Since(start))
}
