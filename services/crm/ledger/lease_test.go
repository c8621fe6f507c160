package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/communityinbox/crm/store"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestLeaseLingersThenHandsOver: process A keeps its lease after a success
// and reuses it without touching the lease document; process B gets it only
// once A's linger passes, clean; a failure is never kept; Close releases.
func TestLeaseLingersThenHandsOver(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	const linger = 300 * time.Millisecond
	a, b := store.NewLease(db, 30*time.Second, linger), store.NewLease(db, 30*time.Second, 0)
	doc := func() bson.M {
		t.Helper()
		var d bson.M
		if err := db.Collection("crm_leases").FindOne(ctx, bson.M{"_id": "ws1"}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	acquire := func(l *store.Lease, wantDirty bool) func(bool) {
		t.Helper()
		release, dirty, err := l.Acquire(ctx, "ws1")
		if err != nil || dirty != wantDirty {
			t.Fatalf("acquire: dirty=%v err=%v, want dirty=%v", dirty, err, wantDirty)
		}
		return release
	}
	acquire(a, false)(false)
	first := doc()
	if first["clean"] != false {
		t.Fatalf("a kept lease must read unclean in the store: %v", first)
	}
	acquire(a, false)(false) // reused: the document is untouched
	if again := doc(); again["token"] != first["token"] || !again["until"].(bson.DateTime).Time().Equal(first["until"].(bson.DateTime).Time()) {
		t.Fatalf("reuse wrote the lease: %v then %v", first, again)
	}
	t0 := time.Now()
	releaseB := acquire(b, false) // A's linger ran out and released cleanly
	if waited := time.Since(t0); waited < linger/2 {
		t.Fatalf("b got a's kept lease after %v", waited)
	}
	releaseB(true)
	releaseA := acquire(a, true) // b failed: a must recompute
	releaseA(true)               // a failure is not kept
	if d := doc(); d["clean"] != false || d["until"].(bson.DateTime).Time().After(time.Now()) {
		t.Fatalf("failed release left %v", d)
	}
	acquire(a, true)(false)
	a.Close(ctx)
	if d := doc(); d["clean"] != true || d["until"].(bson.DateTime).Time().After(time.Now()) {
		t.Fatalf("close left %v", d)
	}
	acquire(a, false)(false) // closed: released at once
	if d := doc(); d["clean"] != true || d["until"].(bson.DateTime).Time().After(time.Now()) {
		t.Fatalf("after close a release left %v", d)
	}
}
