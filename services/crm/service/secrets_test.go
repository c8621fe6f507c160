package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestShopifySecretStoredBeforeEncryptionStillVerifies starts the service on
// a database holding an integration whose secret was stored in plain text
// before secrets were encrypted: the start seals it, and webhooks signed with
// it keep being accepted.
func TestShopifySecretStoredBeforeEncryptionStillVerifies(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	secret := "shpss_legacy_plaintext_0123"
	col := db.Collection("crm_integrations")
	if _, err := col.InsertOne(ctx, bson.M{"_id": "int-legacy", "ws": ws, "shop_domain": "dev-store.myshopify.com",
		"secret": secret, "created_at": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, db)
	var stored struct{ Secret string }
	if err := col.FindOne(ctx, bson.M{"_id": "int-legacy"}).Decode(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored.Secret, "v1:") || strings.Contains(stored.Secret, secret) {
		t.Fatalf("secret after start: %q", stored.Secret)
	}
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"base_currency": "ARS"}, nil)
	body := fixture(t, "orders_create_dev_store_ars.json")
	if code, _ := e.webhook("int-legacy", "orders/create", "wh-1", "not-the-secret-0000000", body); code != 401 {
		t.Fatalf("forged webhook: %d", code)
	}
	if code, b := e.webhook("int-legacy", "orders/create", "wh-2", secret, body); code != 200 {
		t.Fatalf("webhook signed with the legacy secret: %d %s", code, b)
	}
}
