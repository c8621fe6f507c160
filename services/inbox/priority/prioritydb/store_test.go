package prioritydb

import (
	"context"
	"testing"
	"time"

	"github.com/communityinbox/inbox/triage"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func TestRaiseNeverLowers(t *testing.T) {
	db := mongotest.DB(t)
	ctx := context.Background()
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("conversations").InsertOne(ctx, bson.D{{Key: "_id", Value: "c1"}, {Key: "workspace_id", Value: "ws"}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		p    triage.Priority
		want bool
	}{{triage.High, true}, {triage.High, false}, {triage.Urgent, true}, {triage.High, false}, {triage.Urgent, false}}
	for i, st := range steps {
		if ok, err := s.Raise(ctx, "ws", "c1", st.p, []string{string(st.p)}); ok != st.want || err != nil {
			t.Fatalf("step %d raise %s: %v %v", i, st.p, ok, err)
		}
	}
	var d struct {
		Priority string   `bson:"priority"`
		Reasons  []string `bson:"priority_reasons"`
	}
	if err := db.Collection("conversations").FindOne(ctx, bson.D{{Key: "_id", Value: "c1"}}).Decode(&d); err != nil || d.Priority != "urgent" || len(d.Reasons) != 1 || d.Reasons[0] != "urgent" {
		t.Fatalf("stored %+v %v", d, err)
	}
	if ok, _ := s.Raise(ctx, "other", "c1", triage.Urgent, nil); ok {
		t.Fatal("raised another workspace's conversation")
	}
}

func TestStatsIdempotentAndPruned(t *testing.T) {
	s, err := New(context.Background(), mongotest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for range 2 { // a redelivery
		if err := s.AddComment(ctx, "ws", "c1", "m.1", triage.Comment{At: t0, Text: "old"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddComment(ctx, "ws", "c1", "m2", triage.Comment{At: t0.Add(2 * time.Hour), Text: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReactions(ctx, "ws", "c1", "m2", []time.Time{t0.Add(2 * time.Hour), t0}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx, "ws", "c1", t0.Add(time.Hour))
	if err != nil || len(st.Comments) != 1 || st.Comments[0].Text != "new" || len(st.Reactions) != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	// The old comment was pruned: even a wider window no longer sees it.
	if st, _ := s.Stats(ctx, "ws", "c1", t0.Add(-time.Hour)); len(st.Comments) != 1 || len(st.Reactions) != 2 {
		t.Fatalf("after prune %+v", st)
	}
	if st, _ := s.Stats(ctx, "other", "c1", t0.Add(-time.Hour)); len(st.Comments) != 0 {
		t.Fatalf("other workspace %+v", st)
	}
}
