package channeldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/secretbox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// rawDoc reads a channel document as the database holds it.
func rawDoc(t *testing.T, c *mongo.Collection, id string) bson.M {
	t.Helper()
	var m bson.M
	if err := c.FindOne(context.Background(), bson.M{"_id": id}).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// field reads a dotted path of a raw document as a string ("" when absent).
func field(m bson.M, path string) string {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		switch sub := m[p].(type) {
		case bson.M:
			m = sub
		case bson.D: // the driver decodes embedded documents as bson.D
			m = bson.M{}
			for _, e := range sub {
				m[e.Key] = e.Value
			}
		default:
			return ""
		}
	}
	s, _ := m[parts[len(parts)-1]].(string)
	return s
}

func TestSecretsAreSealedAtRest(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	box := testBox(t)
	st, err := New(ctx, db, box)
	if err != nil {
		t.Fatal(err)
	}
	svc := channel.NewService(st, 0)
	plain := map[string]string{
		"config.verify_token": "verify-me-4711", "secrets.app_secret": "app-secret-0123456789",
		"secrets.access_token": "EAABaccesstoken0123", "secrets.consumer_secret": "consumer-secret-abcdef",
		"secrets.bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secrets.secret_token": "tg-secret-token-99",
		"secrets.api_key": "AIzaSyTestKey0123456789",
	}
	created := map[string]channel.NewChannel{
		"facebook": {Type: channel.Facebook, Name: "Page", Settings: channel.Settings{PageID: "1001", AppSecret: plain["secrets.app_secret"],
			VerifyToken: plain["config.verify_token"], AccessToken: plain["secrets.access_token"]}},
		"x":        {Type: channel.X, Name: "X", Settings: channel.Settings{UserID: "42", ConsumerSecret: plain["secrets.consumer_secret"], AccessToken: plain["secrets.access_token"]}},
		"telegram": {Type: channel.Telegram, Name: "Bot", Settings: channel.Settings{BotToken: plain["secrets.bot_token"], SecretToken: plain["secrets.secret_token"]}},
		"youtube":  {Type: channel.YouTube, Name: "YT", Settings: channel.Settings{ChannelID: "UC5VgEt3Na1zZDJo-PBa86Rg", APIKey: plain["secrets.api_key"]}},
		"api":      {Type: channel.API, Name: "Widget"},
	}
	sealedFields := map[string][]string{
		"facebook": {"config.verify_token", "secrets.app_secret", "secrets.access_token"},
		"x":        {"secrets.consumer_secret", "secrets.access_token"},
		"telegram": {"secrets.bot_token", "secrets.secret_token"},
		"youtube":  {"secrets.api_key"},
		"api":      {"secrets.webhook_secret"},
	}
	for name, nc := range created {
		ch, err := svc.Create(ctx, "wsA", nc)
		if err != nil {
			t.Fatal(name, err)
		}
		raw := rawDoc(t, db.Collection(collection), ch.ID)
		text := bson.Raw(mustMarshal(t, raw)).String()
		secrets := map[string]string{"secrets.webhook_secret": ch.Secrets.WebhookSecret}
		for k, v := range plain {
			secrets[k] = v
		}
		for _, path := range sealedFields[name] {
			v := field(raw, path)
			if !strings.HasPrefix(v, "v1:"+box.KeyID()+":") {
				t.Errorf("%s %s stored as %q, want sealed under %s", name, path, v, box.KeyID())
			}
			if strings.Contains(text, secrets[path]) {
				t.Errorf("%s: document contains the plaintext of %s: %s", name, path, text)
			}
		}
		got, err := st.Get(ctx, "wsA", ch.ID)
		if err != nil {
			t.Fatal(name, err)
		}
		if got.Secrets != ch.Secrets || got.Config.VerifyToken != ch.Config.VerifyToken {
			t.Errorf("%s read back %+v / %q, want %+v / %q", name, got.Secrets, got.Config.VerifyToken, ch.Secrets, ch.Config.VerifyToken)
		}
	}
	// The verify token is found through its lookup hash, never stored in the clear.
	vt, err := st.ByVerifyToken(ctx, plain["config.verify_token"])
	if err != nil || len(vt) != 1 || vt[0].Secrets.AppSecret != plain["secrets.app_secret"] {
		t.Fatalf("by verify token: %+v %v", vt, err)
	}
	if vt, err := st.ByVerifyToken(ctx, "verify-me-4712"); err != nil || len(vt) != 0 {
		t.Fatalf("wrong verify token found %d channels (%v)", len(vt), err)
	}
	chs, err := st.ByType(ctx, channel.YouTube)
	if err != nil || len(chs) != 1 || chs[0].Secrets.APIKey != plain["secrets.api_key"] {
		t.Fatalf("by type: %+v %v", chs, err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := bson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealedSecretIsBoundToItsRecord(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	st, err := New(ctx, db, testBox(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := channel.NewService(st, 0)
	mk := func(ws, page, secret string) channel.Channel {
		ch, err := svc.Create(ctx, ws, channel.NewChannel{Type: channel.Facebook, Name: "Page", Settings: channel.Settings{
			PageID: page, AppSecret: secret, VerifyToken: "vt-" + page, AccessToken: "EAAB" + page}})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	a, b := mk("wsA", "111", "secret-of-a"), mk("wsB", "222", "secret-of-b")
	col := db.Collection(collection)
	stolen := field(rawDoc(t, col, a.ID), "secrets.app_secret")
	// Someone with write access to the database copies A's app secret into B's channel.
	if _, err := col.UpdateOne(ctx, bson.M{"_id": b.ID}, bson.M{"$set": bson.M{"secrets.app_secret": stolen}}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, "wsB", b.ID); !errors.Is(err, secretbox.ErrDecrypt) {
		t.Fatalf("copied secret opened in another workspace: %+v %v", got.Secrets, err)
	}
	// Moving a value to another field of the same record fails too.
	token := field(rawDoc(t, col, a.ID), "secrets.access_token")
	if _, err := col.UpdateOne(ctx, bson.M{"_id": a.ID}, bson.M{"$set": bson.M{"secrets.app_secret": token}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "wsA", a.ID); !errors.Is(err, secretbox.ErrDecrypt) {
		t.Fatalf("value moved between fields: %v", err)
	}
	// Unreadable channels are skipped by Reseal, not fatal.
	if stats, err := st.Reseal(ctx); err != nil || stats.Unreadable != 2 || stats.Resealed != 0 {
		t.Fatalf("reseal %+v %v", stats, err)
	}
}

func TestLegacyPlaintextIsReadAndResealed(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	box := testBox(t)
	st, err := New(ctx, db, box)
	if err != nil {
		t.Fatal(err)
	}
	col := db.Collection(collection)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// A document as stores before encryption wrote it.
	legacy := bson.D{{Key: "_id", Value: "legacy1"}, {Key: "workspace_id", Value: "wsA"}, {Key: "type", Value: "facebook"},
		{Key: "name", Value: "Old page"}, {Key: "route", Value: "facebook:555"}, {Key: "created_at", Value: created},
		{Key: "config", Value: bson.D{{Key: "page_id", Value: "555"}, {Key: "verify_token", Value: "old-verify"}}},
		{Key: "secrets", Value: bson.D{{Key: "app_secret", Value: "old-app-secret"}, {Key: "access_token", Value: "EAABold"}}}}
	if _, err := col.InsertOne(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		got, err := st.Get(ctx, "wsA", "legacy1")
		if err != nil || got.Secrets.AppSecret != "old-app-secret" || got.Secrets.AccessToken != "EAABold" ||
			got.Config.VerifyToken != "old-verify" || got.Config.PageID != "555" || !got.CreatedAt.Equal(created) {
			t.Fatalf("%s: get %+v %v", when, got, err)
		}
		vt, err := st.ByVerifyToken(ctx, "old-verify")
		if err != nil || len(vt) != 1 || vt[0].ID != "legacy1" {
			t.Fatalf("%s: by verify token %+v %v", when, vt, err)
		}
		routes, err := st.ByRoutes(ctx, []string{"facebook:555"})
		if err != nil || len(routes) != 1 || routes[0].Secrets.AppSecret != "old-app-secret" {
			t.Fatalf("%s: by route %+v %v", when, routes, err)
		}
	}
	check("plain text")
	stats, err := st.Reseal(ctx)
	if err != nil || stats.Resealed != 1 || stats.Unreadable != 0 {
		t.Fatalf("reseal %+v %v", stats, err)
	}
	raw := rawDoc(t, col, "legacy1")
	for _, path := range []string{"config.verify_token", "secrets.app_secret", "secrets.access_token"} {
		if v := field(raw, path); !strings.HasPrefix(v, "v1:"+box.KeyID()+":") {
			t.Fatalf("%s after reseal: %q", path, v)
		}
	}
	if field(raw, "config.verify_token_lookup") != box.Lookup("old-verify", "verify_token")[0] || field(raw, "name") != "Old page" {
		t.Fatalf("document after reseal: %v", raw)
	}
	check("resealed")
	if stats, err := st.Reseal(ctx); err != nil || stats.Resealed != 0 {
		t.Fatalf("second reseal %+v %v", stats, err)
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	db := mongotest.DB(t)
	k1, k2 := randomKey(t), randomKey(t)
	before, err := New(ctx, db, testBox(t, k1))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := channel.NewService(before, 0).Create(ctx, "wsA", channel.NewChannel{Type: channel.Facebook, Name: "Page",
		Settings: channel.Settings{PageID: "777", AppSecret: "app-secret-777", VerifyToken: "vt-777", AccessToken: "EAAB777"}})
	if err != nil {
		t.Fatal(err)
	}
	col := db.Collection(collection)
	if v := field(rawDoc(t, col, ch.ID), "secrets.app_secret"); !strings.HasPrefix(v, "v1:"+k1.ID()+":") {
		t.Fatalf("sealed under %q, want %s", v, k1.ID())
	}
	// Another instance already runs with the new key (old key accepted) and has not resealed.
	rotated := &Store{c: col, box: testBox(t, k2, k1)}
	vt, err := rotated.ByVerifyToken(ctx, "vt-777")
	if err != nil || len(vt) != 1 || vt[0].Secrets.AppSecret != "app-secret-777" {
		t.Fatalf("old-key document by verify token: %+v %v", vt, err)
	}
	// Starting a store reseals under the current key.
	if _, err := New(ctx, db, testBox(t, k2, k1)); err != nil {
		t.Fatal(err)
	}
	raw := rawDoc(t, col, ch.ID)
	for _, path := range []string{"config.verify_token", "secrets.app_secret", "secrets.access_token"} {
		if v := field(raw, path); !strings.HasPrefix(v, "v1:"+k2.ID()+":") {
			t.Fatalf("%s after rotation: %q", path, v)
		}
	}
	if l := field(raw, "config.verify_token_lookup"); !strings.HasPrefix(l, k2.ID()+":") {
		t.Fatalf("lookup after rotation %q", l)
	}
	// The old key can be dropped now; a box with only the old key cannot read.
	onlyNew := &Store{c: col, box: testBox(t, k2)}
	got, err := onlyNew.Get(ctx, "wsA", ch.ID)
	if err != nil || got.Secrets.AppSecret != "app-secret-777" || got.Secrets.AccessToken != "EAAB777" {
		t.Fatalf("after dropping the old key: %+v %v", got, err)
	}
	if vt, err := onlyNew.ByVerifyToken(ctx, "vt-777"); err != nil || len(vt) != 1 {
		t.Fatalf("by verify token after rotation: %d %v", len(vt), err)
	}
	if _, err := (&Store{c: col, box: testBox(t, k1)}).Get(ctx, "wsA", ch.ID); !errors.Is(err, secretbox.ErrUnknownKey) {
		t.Fatalf("old key alone: %v", err)
	}
	if _, err := New(ctx, db, nil); err == nil {
		t.Fatal("store without a box")
	}
}
