package zzprobe

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func TestProbeLostUpdate(t *testing.T) {
	ctx := context.Background()
	c := mongotest.DB(t).Collection("m")
	_, _ = c.InsertOne(ctx, bson.M{"_id": "x", "n": 0})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := c.UpdateOne(ctx, bson.M{"_id": "x"}, bson.M{"$inc": bson.M{"n": 1}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var d struct{ N int `bson:"n"` }
	_ = c.FindOne(ctx, bson.M{"_id": "x"}).Decode(&d)
	fmt.Printf("n = %d, want 400\n", d.N)
}
