package boot

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/secretbox"
)

func randomKeyText(t *testing.T) string {
	t.Helper()
	raw := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func loadBase(t *testing.T, env map[string]string) Base {
	t.Helper()
	var b Base
	if err := config.LoadFrom(&b, nil, &bytes.Buffer{}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSecretBoxFromConfig(t *testing.T) {
	current, old := randomKeyText(t), randomKeyText(t)
	b := loadBase(t, map[string]string{"SECRETS_KEY": current, "SECRETS_KEY_OLD": old + ", ", "JWT_SECRET": "prod-jwt-secret-0123456789abcdef"})
	if len(b.SecretsKeyOld) != 1 {
		t.Fatalf("SECRETS_KEY_OLD parsed as %d keys", len(b.SecretsKeyOld))
	}
	var logs bytes.Buffer
	box, err := SecretBox(b, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := secretbox.ParseKey(current)
	if box.KeyID() != want.ID() || logs.Len() != 0 {
		t.Fatalf("sealing with %s (want %s), logs %q", box.KeyID(), want.ID(), logs.String())
	}
	// Values sealed with the old key and with the dev key derived from JWT_SECRET still open.
	oldKey, _ := secretbox.ParseKey(old)
	devKey, _ := secretbox.DeriveKey(b.JWTSecret)
	for _, k := range []secretbox.Key{oldKey, devKey} {
		ob, _ := secretbox.New(k)
		s, _ := ob.Seal("s3cret", "ws")
		if got, stale, err := box.Open(s, "ws"); err != nil || got != "s3cret" || !stale {
			t.Fatalf("key %s: %q stale=%v %v", k.ID(), got, stale, err)
		}
	}
	if s := config.String(&b); strings.Contains(s, current) || strings.Contains(s, old) || !strings.Contains(s, "SECRETS_KEY=***") {
		t.Fatalf("config log line shows a key: %s", s)
	}
}

func TestSecretBoxDevKeyWarns(t *testing.T) {
	b := loadBase(t, nil)
	var logs bytes.Buffer
	box, err := SecretBox(b, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := secretbox.DeriveKey("dev-only-secret-change-me-please")
	if box.KeyID() != dev.ID() || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "SECRETS_KEY is not set") {
		t.Fatalf("key %s (want derived %s), logs %q", box.KeyID(), dev.ID(), logs.String())
	}
	b.JWTSecret = ""
	if _, err := SecretBox(b, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("box without SECRETS_KEY and JWT_SECRET")
	}
}

func TestSecretBoxRejectsBadKeys(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	for _, env := range []map[string]string{
		{"SECRETS_KEY": short},
		{"SECRETS_KEY": "hunter2-not-base64!"},
		{"SECRETS_KEY": randomKeyText(t), "SECRETS_KEY_OLD": "hunter2-not-base64!"},
	} {
		_, err := SecretBox(loadBase(t, env), slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "SECRETS_KEY") || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%v: err %v", env, err)
		}
	}
}
