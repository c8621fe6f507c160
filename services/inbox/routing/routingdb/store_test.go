package routingdb

import (
	"context"
	"errors"
	"testing"

	"github.com/communityinbox/inbox/routing"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func TestAssignIfUnassignedHasOneWinner(t *testing.T) {
	db := mongotest.DB(t)
	ctx := context.Background()
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("conversations").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: "c1"}, {Key: "workspace_id", Value: "ws"}, {Key: "status", Value: "open"}},
		bson.D{{Key: "_id", Value: "c2"}, {Key: "workspace_id", Value: "ws"}, {Key: "status", Value: "resolved"}, {Key: "assignee_id", Value: "x"}},
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AssignIfUnassigned(ctx, "other", "c1", "a1"); ok || err != nil {
		t.Fatalf("another workspace assigned: %v %v", ok, err)
	}
	if ok, err := s.AssignIfUnassigned(ctx, "ws", "c1", "a1"); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if ok, err := s.AssignIfUnassigned(ctx, "ws", "c1", "a2"); ok || err != nil {
		t.Fatalf("second instance won too: %v %v", ok, err)
	}
	open, err := s.OpenConversations(ctx, "ws")
	if err != nil || len(open) != 1 || open[0].ID != "c1" || open[0].AssigneeID != "a1" {
		t.Fatalf("open %+v %v", open, err)
	}
	if _, err := s.Agent(ctx, "ws", "a1"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := s.PutAgent(ctx, routing.Agent{WorkspaceID: "ws", UserID: "a1", Status: routing.Online, Capacity: 3}); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Agent(ctx, "ws", "a1"); err != nil || a.Status != routing.Online || a.Capacity != 3 {
		t.Fatalf("agent %+v %v", a, err)
	}
	if as, _ := s.Agents(ctx, "other"); len(as) != 0 {
		t.Fatalf("other workspace's agents %+v", as)
	}
}
