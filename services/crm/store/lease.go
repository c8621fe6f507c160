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
//
// After a successful operation the process keeps the lease for a short
// linger: the next writer of the workspace in this process (the next order
// of a busy shop) reuses it without the two lease writes. A lease reused is
// clean by construction (only successes linger, and nobody else could write
// meanwhile); it is released for real when the linger passes unused, when
// less than half its TTL remains, or on Close. A crash during a linger leaves
// the lease unclean, so the next holder recomputes: the safe direction.
type Lease struct {
	col    *mongo.Collection
	owner  string
	ttl    time.Duration
	linger time.Duration

	mu     sync.Mutex
	local  map[string]chan struct{}
	held   map[string]*heldLease
	closed bool
}

// heldLease is a lease this process keeps past its release.
type heldLease struct {
	token string
	until time.Time
	timer *time.Timer
}

// NewLease returns a lease on db whose holders expire after ttl and which
// this process keeps for linger after a successful operation (0 = never).
func NewLease(db *mongo.Database, ttl, linger time.Duration) *Lease {
	return &Lease{col: db.Collection(colLeases), owner: auth.RandomID(), ttl: ttl, linger: linger,
		local: map[string]chan struct{}{}, held: map[string]*heldLease{}}
}

// Close releases the leases this process keeps and stops keeping new ones.
func (l *Lease) Close(ctx context.Context) {
	l.mu.Lock()
	l.closed = true
	var wss []string
	for ws := range l.held {
		wss = append(wss, ws)
	}
	l.mu.Unlock()
	for _, ws := range wss {
		ch := l.localLock(ws)
		select {
		case ch <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if h := l.takeHeld(ws); h != nil {
			l.write(ctx, ws, h.token, true)
		}
		<-ch
	}
}

// takeHeld removes and returns the kept lease of ws, if any; the caller
// holds the local lock of ws.
func (l *Lease) takeHeld(ws string) *heldLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[ws]
	if h != nil {
		delete(l.held, ws)
		h.timer.Stop()
	}
	return h
}

// write releases the lease document of ws if token still holds it.
func (l *Lease) write(ctx context.Context, ws, token string, clean bool) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// If this update fails the lease simply expires unclean, and the next
	// holder recomputes: the safe direction.
	_, _ = l.col.UpdateOne(rctx, bson.M{"_id": ws, "token": token},
		bson.M{"$set": bson.M{"until": time.Unix(0, 0), "clean": clean}})
}

// expire releases a kept lease whose linger passed unused.
func (l *Lease) expire(ws string, h *heldLease) {
	ch := l.localLock(ws)
	ch <- struct{}{}
	defer func() { <-ch }()
	l.mu.Lock()
	mine := l.held[ws] == h
	if mine {
		delete(l.held, ws)
	}
	l.mu.Unlock()
	if mine {
		l.write(context.Background(), ws, h.token, true)
	}
}

// releaser returns the release function of a lease held with token until.
func (l *Lease) releaser(ctx context.Context, ws, token string, until time.Time, unlock func()) func(bool) {
	var once sync.Once
	return func(failed bool) {
		once.Do(func() {
			defer unlock()
			l.mu.Lock()
			keep := !failed && l.linger > 0 && !l.closed
			if keep {
				h := &heldLease{token: token, until: until}
				h.timer = time.AfterFunc(l.linger, func() { l.expire(ws, h) })
				l.held[ws] = h
			}
			l.mu.Unlock()
			if !keep {
				l.write(ctx, ws, token, !failed)
			}
		})
	}
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
	if h := l.takeHeld(ws); h != nil {
		if time.Until(h.until) > l.ttl/2 {
			return l.releaser(ctx, ws, h.token, h.until, unlock), false, nil
		}
		l.write(ctx, ws, h.token, true) // too close to expiry to reuse
	}
	token := auth.RandomID()
	backoff := 2 * time.Millisecond
	for {
		now := time.Now()
		until := now.Add(l.ttl)
		var prev leaseDoc
		err := l.col.FindOneAndUpdate(ctx, bson.M{"_id": ws, "until": bson.M{"$lt": now}},
			bson.M{"$set": bson.M{"owner": l.owner, "token": token, "until": until, "clean": false}},
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
		return l.releaser(ctx, ws, token, until, unlock), dirty, nil
	}
}
