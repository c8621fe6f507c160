package store

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/secretbox"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testBox returns a box sealing with keys[0] and opening with all of keys,
// or with one random key when none is given.
func testBox(t *testing.T, keys ...secretbox.Key) *secretbox.Box {
	t.Helper()
	if len(keys) == 0 {
		keys = []secretbox.Key{testKey(t)}
	}
	b, err := secretbox.New(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey(t *testing.T) secretbox.Key {
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

func rawSecret(t *testing.T, s *Integrations, id string) string {
	t.Helper()
	var d integrationDoc
	if err := s.col.FindOne(context.Background(), bson.M{"_id": id}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.Secret
}

func TestShopifySecretSealedAtRest(t *testing.T) {
	ctx := context.Background()
	box := testBox(t)
	s := NewIntegrations(mongotest.DB(t), box)
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	a := order.Integration{ID: "int-a", WorkspaceID: "wsA", ShopDomain: "a.myshopify.com", Secret: "shpss_secret_of_a_0123", CreatedAt: at}
	b := order.Integration{ID: "int-b", WorkspaceID: "wsB", ShopDomain: "b.myshopify.com", Secret: "shpss_secret_of_b_0123", CreatedAt: at}
	for _, in := range []order.Integration{a, b} {
		if err := s.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if raw := rawSecret(t, s, a.ID); !strings.HasPrefix(raw, "v1:"+box.KeyID()+":") || strings.Contains(raw, a.Secret) {
		t.Fatalf("stored secret %q", raw)
	}
	got, err := s.Integration(ctx, a.ID)
	if err != nil || got.Secret != a.Secret || got.WorkspaceID != "wsA" {
		t.Fatalf("read back %+v %v", got, err)
	}
	list, err := s.Integrations(ctx, "wsB")
	if err != nil || len(list) != 1 || list[0].Secret != b.Secret {
		t.Fatalf("list %+v %v", list, err)
	}
	// A's sealed secret copied into B's integration does not open there.
	if _, err := s.col.UpdateOne(ctx, bson.M{"_id": b.ID}, bson.M{"$set": bson.M{"secret": rawSecret(t, s, a.ID)}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Integration(ctx, b.ID); !errors.Is(err, secretbox.ErrDecrypt) {
		t.Fatalf("copied secret: %+v %v", got, err)
	}
}

func TestShopifyLegacySecretReadAndSealed(t *testing.T) {
	ctx := context.Background()
	box := testBox(t)
	s := NewIntegrations(mongotest.DB(t), box)
	legacy := integrationDoc{ID: "int-old", WS: "wsA", ShopDomain: "old.myshopify.com", Secret: "shpss_plain_before_0123", CreatedAt: time.Now().UTC()}
	if _, err := s.col.InsertOne(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		got, err := s.Integration(ctx, legacy.ID)
		if err != nil || got.Secret != legacy.Secret {
			t.Fatalf("read %d: %+v %v", i, got, err)
		}
		// The first read sealed it.
		if raw := rawSecret(t, s, legacy.ID); !strings.HasPrefix(raw, "v1:"+box.KeyID()+":") {
			t.Fatalf("after read %d stored %q", i, raw)
		}
	}
}

func TestResealSealsLegacyAndOldKeySecrets(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	oldKey := testKey(t)
	oldBox, other := testBox(t, oldKey), testBox(t)
	box := testBox(t, testKey(t), oldKey) // after a rotation
	s := NewIntegrations(db, box)
	at := time.Now().UTC()
	plain := integrationDoc{ID: "int-plain", WS: "wsA", ShopDomain: "p.myshopify.com", Secret: "shpss_plain_before_0123", CreatedAt: at}
	underOld := integrationDoc{ID: "int-old", WS: "wsA", ShopDomain: "o.myshopify.com", CreatedAt: at}
	foreign := integrationDoc{ID: "int-foreign", WS: "wsB", ShopDomain: "f.myshopify.com", CreatedAt: at}
	var err error
	if underOld.Secret, err = oldBox.Seal("shpss_old_key_0123", underOld.WS, underOld.ID, secretField); err != nil {
		t.Fatal(err)
	}
	if foreign.Secret, err = other.Seal("shpss_foreign_0123", foreign.WS, foreign.ID, secretField); err != nil {
		t.Fatal(err)
	}
	for _, d := range []integrationDoc{plain, underOld, foreign} {
		if _, err := s.col.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Reseal(ctx)
	if err != nil || st != (ResealStats{Resealed: 2, Unreadable: 1}) {
		t.Fatalf("reseal: %+v %v", st, err)
	}
	for id, want := range map[string]string{plain.ID: "shpss_plain_before_0123", underOld.ID: "shpss_old_key_0123"} {
		if raw := rawSecret(t, s, id); !strings.HasPrefix(raw, "v1:"+box.KeyID()+":") || strings.Contains(raw, want) {
			t.Fatalf("%s stored %q after reseal", id, raw)
		}
		if got, err := s.Integration(ctx, id); err != nil || got.Secret != want {
			t.Fatalf("%s read %+v %v", id, got, err)
		}
	}
	if raw := rawSecret(t, s, foreign.ID); raw != foreign.Secret {
		t.Fatalf("unreadable secret rewritten: %q", raw)
	}
	// Nothing left to do the second time.
	if st, err := s.Reseal(ctx); err != nil || st != (ResealStats{Unreadable: 1}) {
		t.Fatalf("second reseal: %+v %v", st, err)
	}
}
