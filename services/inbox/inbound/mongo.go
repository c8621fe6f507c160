package inbound

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// delivery's available_at as it read it: the unique _id lets exactly one of
// the consumers that saw the delivery available win it, even on servers whose
// updates are not atomic (FerretDB 1.x applies an update as an unguarded
// read-modify-write). The winner then moves available_at past its lease,
// which makes the next claim's ticket a different one. A winner that dies
// before doing so leaves a ticket that goes stale after a lease; the next
// claimers then race for a successor ticket. Acknowledging deletes the
// delivery; tickets are swept later, so a consumer that read a delivery just
// before it was acknowledged still loses the race.
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
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.ID + "@" + strconv.FormatInt(c.AvailableAt.UnixMilli(), 10)
	}
	lost, err := q.ticket(ctx, ids, now)
	if err != nil {
		return nil, err
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

// ticket inserts the tickets ids and returns the indexes of those others won.
// A ticket lost to a winner that went silent for a lease (it died before
// extending the delivery's availability) is retried as its successor.
func (q *Mongo) ticket(ctx context.Context, ids []string, now time.Time) (map[int]bool, error) {
	lost := map[int]bool{}
	try := map[int]string{}
	for i, id := range ids {
		try[i] = id
	}
	for round := 0; round < 4 && len(try) > 0; round++ {
		idx := make([]int, 0, len(try))
		docs := make([]dbTicket, 0, len(try))
		for i, id := range try {
			idx = append(idx, i)
			delivery, _, _ := strings.Cut(ids[i], "@")
			docs = append(docs, dbTicket{ID: id, DeliveryID: delivery, At: now})
		}
		dups, err := insertUnordered(ctx, q.tickets, docs)
		if err != nil {
			return nil, fmt.Errorf("inbound: ticket: %w", err)
		}
		next := map[int]string{}
		var taken []string
		for j := range docs {
			if dups[j] {
				taken = append(taken, docs[j].ID)
			}
		}
		if len(taken) == 0 {
			try = nil
			break
		}
		cur, err := q.tickets.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: taken}}}})
		if err != nil {
			return nil, fmt.Errorf("inbound: read tickets: %w", err)
		}
		var held []dbTicket
		if err := cur.All(ctx, &held); err != nil {
			return nil, fmt.Errorf("inbound: read tickets: %w", err)
		}
		stale := map[string]bool{}
		for _, t := range held {
			stale[t.ID] = now.Sub(t.At) > q.lease
		}
		for j, i := range idx {
			if !dups[j] {
				continue
			}
			if stale[docs[j].ID] {
				next[i] = docs[j].ID + "+"
			} else {
				lost[i] = true
			}
		}
		try = next
	}
	for i := range try {
		lost[i] = true // still contended after several successors: leave it
	}
	return lost, nil
}

// insertUnordered inserts docs and returns the indexes that were duplicates.
func insertUnordered(ctx context.Context, c *mongo.Collection, docs []dbTicket) (map[int]bool, error) {
	dup := map[int]bool{}
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return dup, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, err
	}
	for _, we := range bwe.WriteErrors {
		if !we.HasErrorCode(11000) {
			return nil, err
		}
		dup[we.Index] = true
	}
	return dup, nil
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
