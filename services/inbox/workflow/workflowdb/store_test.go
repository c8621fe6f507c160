package workflowdb

import (
	"context"
	"testing"
	"time"

	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/shared/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(context.Background(), mongotest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLedgerClaimsOncePerKey(t *testing.T) {
	ctx := context.Background()
	l := newStore(t).Ledger()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	a, ok, err := l.Claim(ctx, "k1", now)
	if err != nil || !ok || a.State != connector.StatePending || a.Tries != 0 {
		t.Fatalf("first claim: %+v %v %v", a, ok, err)
	}
	a2, ok, err := l.Claim(ctx, "k1", now)
	if err != nil || ok || a2.State != connector.StatePending {
		t.Fatalf("claim of a pending key: %+v %v %v", a2, ok, err)
	}
	a.State, a.Tries, a.LastError = connector.StateFailed, 3, "503"
	if err := l.Finish(ctx, a); err != nil {
		t.Fatal(err)
	}
	a3, ok, err := l.Claim(ctx, "k1", now.Add(time.Minute))
	if err != nil || !ok || a3.Tries != 3 || a3.State != connector.StatePending {
		t.Fatalf("claim after failure: %+v %v %v", a3, ok, err)
	}
	a3.State, a3.ExternalID, a3.Tries = connector.StateSent, "ext-1", 4
	if err := l.Finish(ctx, a3); err != nil {
		t.Fatal(err)
	}
	a4, ok, err := l.Claim(ctx, "k1", now.Add(2*time.Minute))
	if err != nil || ok || a4.State != connector.StateSent || a4.ExternalID != "ext-1" || a4.Tries != 4 {
		t.Fatalf("claim after sent: %+v %v %v", a4, ok, err)
	}
}

// TestOutboxLeaseHandsOverAfterACrash: a claimed job is invisible for the
// lease, then claimable again (the worker that held it died), with its
// attempts counted; enqueueing twice keeps one job.
func TestOutboxLeaseHandsOverAfterACrash(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	job := workflow.OutboxJob{MessageID: "m1", WorkspaceID: "w", ConversationID: "c", ChannelID: "ch",
		Platform: connector.Facebook, Kind: connector.KindComment, ReplyTo: "1_2", Text: "hi"}
	for range 2 {
		if err := s.Enqueue(ctx, job, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.ClaimJob(ctx, now.Add(-time.Second), time.Minute); ok {
		t.Fatal("claimed a job before it was due")
	}
	got, ok, err := s.ClaimJob(ctx, now, time.Minute)
	if err != nil || !ok || got.Attempts != 1 || got.ReplyTo != "1_2" || got.Platform != connector.Facebook || got.Text != "hi" {
		t.Fatalf("claim: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.ClaimJob(ctx, now.Add(59*time.Second), time.Minute); ok {
		t.Fatal("claimed a leased job")
	}
	again, ok, err := s.ClaimJob(ctx, now.Add(time.Minute), time.Minute)
	if err != nil || !ok || again.MessageID != "m1" || again.Attempts != 2 {
		t.Fatalf("claim after the lease: %+v %v %v", again, ok, err)
	}
	if err := s.RetryJob(ctx, "m1", now.Add(5*time.Minute), "busy"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimJob(ctx, now.Add(4*time.Minute), time.Minute); ok {
		t.Fatal("claimed a job before its retry time")
	}
	if err := s.FinishJob(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimJob(ctx, now.Add(time.Hour), time.Minute); ok {
		t.Fatal("claimed a finished job")
	}
}
