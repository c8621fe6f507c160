package inbound

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/communityinbox/inbox/ingest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoOptions tune a Mongo queue.
type MongoOptions struct {
	Collection string        // default "inbound"
	Lease      time.Duration // how long a claimed delivery is withheld from others, and the ticket period; default 30s
	Poll       time.Duration // how often an idle claim looks again; default 200ms
}

// Mongo is a queue in a MongoDB collection, for the single-process dev mode.
//
// A delivery is a document inserted before the webhook is answered. To claim
// one, a consumer inserts a ticket whose _id is the delivery id plus the
// current lease period: the unique _id lets exactly one consumer win each
// period, even on servers whose updates are not atomic (FerretDB 1.x applies an
// update as an unguarded read-modify-write). The winner then pushes the
// delivery's availability past its lease. If it dies before that, the next
// period's ticket frees the delivery. Acknowledging deletes the delivery and
// its tickets later. A claimer in the same process is woken at once by Enqueue.
type Mongo struct {
	c       *mongo.Collection
	tickets *mongo.Collection
	lease   time.Duration
	poll    time.Duration
	notify  chan struct{}
	now     func() time.Time

	mu        sync.Mutex
	lastSweep time.Time
}

type dbTicket struct {
	ID         string    `bson:"_id"`
	DeliveryID string    `bson:"delivery_id"`
	At         time.Time `bson:"at"`
}

type dbDelivery struct {
	ID          string    `bson:"_id"`
	Source      string    `bson:"source"`
	ChannelIDs  []string  `bson:"channel_ids"`
	Body        []byte    `bson:"body"`
	ReceivedAt  time.Time `bson:"received_at"`
	AvailableAt time.Time `bson:"available_at"`
	Attempts    int       `bson:"attempts"`
}

// NewMongo returns a queue in db, creating its index.
func NewMongo(ctx context.Context, db *mongo.Database, o MongoOptions) (*Mongo, error) {
	if o.Collection == "" {
		o.Collection = "inbound"
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	c, tickets := db.Collection(o.Collection), db.Collection(o.Collection+"_tickets")
	if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "available_at", Value: 1}}}); err != nil {
		return nil, fmt.Errorf("inbound: index: %w", err)
	}
	if _, err := tickets.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}}); err != nil {
		return nil, fmt.Errorf("inbound: index: %w", err)
	}
	return &Mongo{c: c, tickets: tickets, lease: o.Lease, poll: o.Poll, notify: make(chan struct{}, 1),
		now: func() time.Time { return time.Now().UTC() }}, nil
}

// Enqueue inserts d; ids sort in enqueue order.
func (q *Mongo) Enqueue(ctx context.Context, d ingest.Delivery) error {
	now := q.now()
	doc := dbDelivery{ID: fmt.Sprintf("%016x%s", now.UnixNano(), randomHex(4)), Source: string(d.Source),
		ChannelIDs: d.ChannelIDs, Body: d.Body, ReceivedAt: d.ReceivedAt, AvailableAt: time.UnixMilli(0).UTC()}
	if _, err := q.c.InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("inbound: insert: %w", err)
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return nil
}

// Claim leases up to limit available deliveries, waiting up to wait for one.
func (q *Mongo) Claim(ctx context.Context, limit int, wait time.Duration) ([]ingest.Delivery, error) {
	deadline := time.Now().Add(wait)
	for {
		ds, err := q.tryClaim(ctx, limit)
		if err != nil || len(ds) > 0 {
			if ctx.Err() != nil {
				return nil, nil
			}
			return ds, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		t := time.NewTimer(min(q.poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-q.notify:
			t.Stop()
		case <-t.C:
		}
	}
}

func (q *Mongo) tryClaim(ctx context.Context, limit int) ([]ingest.Delivery, error) {
	now := q.now()
	cur, err := q.c.Find(ctx, bson.D{{Key: "available_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("inbound: find: %w", err)
	}
	var cands []dbDelivery
	if err := cur.All(ctx, &cands); err != nil {
		return nil, fmt.Errorf("inbound: find: %w", err)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	period := strconv.FormatInt(now.UnixMilli()/q.lease.Milliseconds(), 10)
	tickets := make([]dbTicket, len(cands))
	for i, c := range cands {
		tickets[i] = dbTicket{ID: c.ID + ":" + period, DeliveryID: c.ID, At: now}
	}
	lost := map[int]bool{}
	if _, err := q.tickets.InsertMany(ctx, tickets, options.InsertMany().SetOrdered(false)); err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
			return nil, fmt.Errorf("inbound: ticket: %w", err)
		}
		for _, we := range bwe.WriteErrors {
			if !we.HasErrorCode(11000) {
				return nil, fmt.Errorf("inbound: ticket: %w", err)
			}
			lost[we.Index] = true
		}
	}
	var won []string
	var out []ingest.Delivery
	for i, d := range cands {
		if lost[i] {
			continue
		}
		won = append(won, d.ID)
		out = append(out, ingest.Delivery{ID: d.ID, Source: ingest.Source(d.Source), ChannelIDs: d.ChannelIDs, Body: d.Body,
			ReceivedAt: d.ReceivedAt.UTC(), Redelivered: d.Attempts > 0})
	}
	if len(won) == 0 {
		return nil, nil
	}
	if _, err := q.c.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: won}}}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "available_at", Value: now.Add(q.lease)}}},
		{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
	}); err != nil {
		return nil, fmt.Errorf("inbound: lease: %w", err)
	}
	return out, nil
}

// Ack deletes deliveries.
func (q *Mongo) Ack(ctx context.Context, ds []ingest.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	if _, err := q.c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return fmt.Errorf("inbound: ack: %w", err)
	}
	return q.sweepTickets(ctx)
}

// sweepTickets deletes tickets older than three leases, at most once a lease.
// Tickets outlive their deliveries on purpose: a consumer that read a delivery
// just before it was acknowledged must still lose the ticket race.
func (q *Mongo) sweepTickets(ctx context.Context) error {
	now := q.now()
	q.mu.Lock()
	due := now.Sub(q.lastSweep) >= q.lease
	if due {
		q.lastSweep = now
	}
	q.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := q.tickets.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-3 * q.lease)}}}}); err != nil {
		return fmt.Errorf("inbound: sweep tickets: %w", err)
	}
	return nil
}
