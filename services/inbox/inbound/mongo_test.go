package inbound

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMongoQueueSurvivesAClaimerDyingMidClaim: a claimer that won a delivery's
// ticket and died before leasing it holds the delivery for one lease only.
func TestMongoQueueSurvivesAClaimerDyingMidClaim(t *testing.T) {
	ctx := context.Background()
	q, err := NewMongo(ctx, mongotest.DB(t), MongoOptions{Lease: testLease, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, delivery(0)); err != nil {
		t.Fatal(err)
	}
	var d dbDelivery
	if err := q.c.FindOne(ctx, bson.D{}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	ticket := d.ID + "@" + strconv.FormatInt(d.AvailableAt.UnixMilli(), 10)
	if _, err := q.tickets.InsertOne(ctx, dbTicket{ID: ticket, DeliveryID: d.ID, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := q.Claim(ctx, 10, 100*time.Millisecond); len(ds) != 0 {
		t.Fatal("delivery claimed while another claimer's ticket is fresh")
	}
	time.Sleep(testLease + 50*time.Millisecond)
	ds, err := q.Claim(ctx, 10, time.Second)
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID {
		t.Fatalf("after the lease: %+v %v", ds, err)
	}
	if n, _ := q.tickets.CountDocuments(ctx, bson.D{{Key: "_id", Value: ticket + "+"}}); n != 1 {
		t.Fatal("the successor ticket was not taken")
	}
}
