package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Lease is a per-workspace writer lease kept in MongoDB, with an in-process
// mutex in front so that one process queues its own writers locally and only
// contends with other processes. A holder that neither releases nor renews
// within TTL loses the lease; because it did not release cleanly, the next
// holder is told the values may be half written.
type Lease struct {
	col   *mongo.Collection
	owner string
	ttl   time.Duration

	mu    sync.Mutex
	local map[string]chan struct{}
}

// NewLease returns a lease on db whose holders expire after ttl.
func NewLease(db *mongo.Database, ttl time.Duration) *Lease {
	return &Lease{col: db.Collection(colLeases), owner: auth.RandomID(), ttl: ttl, local: map[string]chan struct{}{}}
}

func (l *Lease) localLock(ws string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.local[ws]
	if !ok {
		ch = make(chan struct{}, 1)
		l.local[ws] = ch
	}
	return ch
}

type leaseDoc struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Token string    `bson:"token"`
	Until time.Time `bson:"until"`
	Clean bool      `bson:"clean"`
}

// Acquire waits until it holds the lease of ws or ctx ends.
func (l *Lease) Acquire(ctx context.Context, ws string) (func(dirty bool), bool, error) {
	ch := l.localLock(ws)
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	unlock := func() { <-ch }
	token := auth.RandomID()
	backoff := 2 * time.Millisecond
	for {
		now := time.Now()
		var prev leaseDoc
		err := l.col.FindOneAndUpdate(ctx, bson.M{"_id": ws, "until": bson.M{"$lt": now}},
			bson.M{"$set": bson.M{"owner": l.owner, "token": token, "until": now.Add(l.ttl), "clean": false}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&prev)
		dirty := false
		switch {
		case err == nil:
			dirty = !prev.Clean
		case errors.Is(err, mongo.ErrNoDocuments): // first lease of the workspace
		case mongox.IsDuplicate(err): // held by another process
			select {
			case <-ctx.Done():
				unlock()
				return nil, false, ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 200*time.Millisecond)
			continue
		default:
			unlock()
			return nil, false, fmt.Errorf("lease: %w", err)
		}
		var once sync.Once
		release := func(failed bool) {
			once.Do(func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				// If this update fails the lease simply expires unclean, and
				// the next holder recomputes: the safe direction.
				_, _ = l.col.UpdateOne(rctx, bson.M{"_id": ws, "token": token},
					bson.M{"$set": bson.M{"until": time.Unix(0, 0), "clean": !failed}})
				unlock()
			})
		}
		return release, dirty, nil
	}
}
