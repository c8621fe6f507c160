package connector

import (
	"context"
	"sync"
	"time"
)

// AttemptState is where a keyed send stands.
type AttemptState string

// Attempt states.
const (
	// StatePending: claimed, a send is in flight. A pending attempt older
	// than the HTTP timeout times MaxAttempts plus the retry waits was cut
	// short by a crash; the service treats it as ambiguous.
	StatePending   AttemptState = "pending"
	StateSent      AttemptState = "sent"      // the platform answered with ExternalID
	StateFailed    AttemptState = "failed"    // every try was refused or deferred: nothing was posted
	StateAmbiguous AttemptState = "ambiguous" // the message may be on the platform; needs reconciliation
)

// Attempt is the ledger record of one idempotency key.
type Attempt struct {
	Key        string
	State      AttemptState
	ExternalID string // set when State is StateSent
	Tries      int    // HTTP calls made under this key, across claims
	LastError  string
	UpdatedAt  time.Time
}

// Ledger remembers keyed sends across retries, workers and restarts, so a
// message is posted at most once per key. A Mongo implementation keys
// documents by Key (_id) and claims with findOneAndUpdate({_id: key, state:
// "failed"}, {$set: {state: "pending"}}, upsert): a duplicate-key error means
// the key exists in another state, which it then reads. Two instances racing
// on one key see one winner.
type Ledger interface {
	// Claim marks key pending and returns (attempt, true) when key is new or
	// its last attempt failed; otherwise it returns the existing attempt and
	// false, changing nothing.
	Claim(ctx context.Context, key string, now time.Time) (Attempt, bool, error)
	// Finish stores the outcome of a claimed attempt. The service also calls
	// it to settle an ambiguous attempt: StateSent with the ExternalID seen in
	// an echo webhook, or StateFailed when an agent confirms nothing arrived
	// and wants to send again.
	Finish(ctx context.Context, a Attempt) error
}

// MemoryLedger is a Ledger for tests and single-process use.
type MemoryLedger struct {
	mu       sync.Mutex
	attempts map[string]Attempt
}

// NewMemoryLedger returns an empty MemoryLedger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{attempts: map[string]Attempt{}} }

// Claim implements Ledger.
func (l *MemoryLedger) Claim(_ context.Context, key string, now time.Time) (Attempt, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.attempts[key]
	if ok && a.State != StateFailed {
		return a, false, nil
	}
	a = Attempt{Key: key, State: StatePending, Tries: a.Tries, UpdatedAt: now}
	l.attempts[key] = a
	return a, true, nil
}

// Finish implements Ledger.
func (l *MemoryLedger) Finish(_ context.Context, a Attempt) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts[a.Key] = a
	return nil
}

// Get returns the attempt stored under key.
func (l *MemoryLedger) Get(key string) (Attempt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.attempts[key]
	return a, ok
}
