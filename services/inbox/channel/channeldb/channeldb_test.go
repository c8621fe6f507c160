package channeldb

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/secretbox"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func testBox(t *testing.T, keys ...secretbox.Key) *secretbox.Box {
	t.Helper()
	if len(keys) == 0 {
		keys = []secretbox.Key{randomKey(t)}
	}
	b, err := secretbox.New(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomKey(t *testing.T) secretbox.Key {
	t.Helper()
	raw := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := secretbox.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStoreScopesAndRoutes(t *testing.T) {
	ctx := context.Background()
	st, err := New(ctx, mongotest.DB(t), testBox(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := channel.NewService(st, time.Minute)
	fb := channel.NewChannel{Type: channel.Facebook, Name: "Shop page", Settings: channel.Settings{
		PageID: "1234567890321", AppSecret: "s3cret", VerifyToken: "vt-1", AccessToken: "EAAB"}}
	a, err := svc.Create(ctx, "wsA", fb)
	if err != nil {
		t.Fatal(err)
	}
	if a.Route != "facebook:1234567890321" || a.Secrets.AppSecret != "s3cret" || a.WorkspaceID != "wsA" || len(a.ID) != 32 {
		t.Fatalf("created %+v", a)
	}
	// The same page cannot be connected twice, not even by another workspace.
	if _, err := svc.Create(ctx, "wsB", fb); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("duplicate page: %v", err)
	}
	// Workspace scoping: B cannot see or delete A's channel.
	if _, err := svc.Get(ctx, "wsB", a.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("cross-workspace get: %v", err)
	}
	if err := svc.Delete(ctx, "wsB", a.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("cross-workspace delete: %v", err)
	}
	got, err := svc.Get(ctx, "wsA", a.ID)
	if err != nil || got.Config.PageID != "1234567890321" || got.Config.VerifyToken != "vt-1" || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("get %+v %v", got, err)
	}
	listB, _ := svc.List(ctx, "wsB")
	listA, _ := svc.List(ctx, "wsA")
	if len(listB) != 0 || len(listA) != 1 {
		t.Fatalf("lists A=%d B=%d", len(listA), len(listB))
	}
	routes, err := svc.ByRoutes(ctx, []string{"facebook:1234567890321", "facebook:999"})
	if err != nil || len(routes) != 1 || routes["facebook:1234567890321"].ID != a.ID {
		t.Fatalf("by routes %v %v", routes, err)
	}
	vt, _ := svc.ByVerifyToken(ctx, "vt-1")
	if len(vt) != 1 {
		t.Fatalf("by verify token: %d", len(vt))
	}
	if err := svc.Delete(ctx, "wsA", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ByID(ctx, a.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted channel still found: %v", err)
	}
	// The route is free again.
	if _, err := svc.Create(ctx, "wsB", fb); err != nil {
		t.Fatalf("route not released: %v", err)
	}
}
