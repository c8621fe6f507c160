package channel

import (
	"errors"
	"strings"
	"testing"

	"github.com/communityinbox/shared/apperr"
)

func TestBuildValidatesPerType(t *testing.T) {
	meta := Settings{AppSecret: "a", VerifyToken: "v", AccessToken: "t"}
	with := func(s Settings, f func(*Settings)) Settings { f(&s); return s }
	cases := []struct {
		name    string
		nc      NewChannel
		wantErr string
		route   string
	}{
		{"facebook ok", NewChannel{Facebook, "Page", with(meta, func(s *Settings) { s.PageID = "123" })}, "", "facebook:123"},
		{"facebook missing page", NewChannel{Facebook, "Page", meta}, "config.page_id is required", ""},
		{"facebook non-numeric page", NewChannel{Facebook, "Page", with(meta, func(s *Settings) { s.PageID = "abc" })}, "numeric", ""},
		{"facebook missing secret", NewChannel{Facebook, "Page", Settings{PageID: "1", VerifyToken: "v", AccessToken: "t"}}, "config.app_secret is required", ""},
		{"instagram ok", NewChannel{Instagram, "IG", with(meta, func(s *Settings) { s.AccountID = "1784" })}, "", "instagram:1784"},
		{"instagram with page id", NewChannel{Instagram, "IG", with(meta, func(s *Settings) { s.AccountID = "1"; s.PageID = "2" })}, "config.page_id does not apply to instagram", ""},
		{"whatsapp ok", NewChannel{WhatsApp, "WA", with(meta, func(s *Settings) { s.PhoneNumberID = "106" })}, "", "whatsapp:106"},
		{"x ok", NewChannel{X, "X", Settings{UserID: "42", ConsumerSecret: "c", AccessToken: "t"}}, "", "x:42"},
		{"x with verify token", NewChannel{X, "X", Settings{UserID: "42", ConsumerSecret: "c", AccessToken: "t", VerifyToken: "v"}}, "does not apply to x", ""},
		{"telegram ok", NewChannel{Telegram, "Bot", Settings{BotToken: "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}}, "", "telegram:110201543"},
		{"telegram bad token", NewChannel{Telegram, "Bot", Settings{BotToken: "nope"}}, "bot_token", ""},
		{"telegram bad secret", NewChannel{Telegram, "Bot", Settings{BotToken: "1:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", SecretToken: "has space"}}, "secret_token", ""},
		{"youtube ok", NewChannel{YouTube, "YT", Settings{ChannelID: "UC5VgEt3Na1zZDJo-PBa86Rg", APIKey: "k", VideoIDs: []string{"F1UP7wRCPH8"}}}, "", "youtube:UC5VgEt3Na1zZDJo-PBa86Rg"},
		{"youtube bad video", NewChannel{YouTube, "YT", Settings{ChannelID: "UC5VgEt3Na1zZDJo-PBa86Rg", APIKey: "k", VideoIDs: []string{"x"}}}, "video_ids[0]", ""},
		{"video ids elsewhere", NewChannel{X, "X", Settings{UserID: "42", ConsumerSecret: "c", AccessToken: "t", VideoIDs: []string{"F1UP7wRCPH8"}}}, "video_ids does not apply", ""},
		{"api ok", NewChannel{API, "Widget", Settings{}}, "", ""},
		{"api with config", NewChannel{API, "Widget", Settings{APIKey: "k"}}, "config.api_key does not apply to api", ""},
		{"unknown type", NewChannel{"myspace", "M", Settings{}}, "type must be one of", ""},
		{"empty name", NewChannel{API, "  ", Settings{}}, "name is required", ""},
		{"secret with space", NewChannel{X, "X", Settings{UserID: "42", ConsumerSecret: "c d", AccessToken: "t"}}, "printable", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := build(tc.nc)
			if tc.wantErr != "" {
				if !errors.Is(err, apperr.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want invalid containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ch.Route != tc.route {
				t.Fatalf("route %q, want %q", ch.Route, tc.route)
			}
		})
	}
	api, _ := build(NewChannel{API, "Widget", Settings{}})
	if !strings.HasPrefix(api.Secrets.WebhookSecret, "whsec_") || len(api.Secrets.WebhookSecret) != 38 {
		t.Fatalf("api webhook secret %q", api.Secrets.WebhookSecret)
	}
}

func TestWebhookPath(t *testing.T) {
	for _, tc := range []struct {
		ch   Channel
		want string
	}{
		{Channel{ID: "c1", Type: Facebook}, "/webhooks/meta"},
		{Channel{ID: "c1", Type: WhatsApp}, "/webhooks/meta"},
		{Channel{ID: "c1", Type: X}, "/webhooks/x/c1"},
		{Channel{ID: "c1", Type: Telegram}, "/webhooks/telegram/c1"},
		{Channel{ID: "c1", Type: API}, "/webhooks/api/c1"},
		{Channel{ID: "c1", Type: YouTube}, ""},
	} {
		if got := tc.ch.WebhookPath(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.ch.Type, got, tc.want)
		}
	}
}
