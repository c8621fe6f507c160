package service

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/communityinbox/shared/auth"
)

func TestChannelsAPI(t *testing.T) {
	h := newHarness(t, false, nil)
	admin := map[string]string{"Authorization": "Bearer " + h.token("wsA", auth.RoleAdmin)}
	agent := map[string]string{"Authorization": "Bearer " + h.token("wsA", auth.RoleAgent)}
	otherAdmin := map[string]string{"Authorization": "Bearer " + h.token("wsB", auth.RoleAdmin)}
	create := func(hdr map[string]string, body string) (int, string) {
		rec := h.do(http.MethodPost, "/api/v1/channels", []byte(body), hdr)
		return rec.Code, rec.Body.String()
	}

	code, body := create(admin, `{"type":"facebook","name":"Shop","config":{"page_id":"1691462197845448","app_secret":"fb-app-secret-value","verify_token":"vt","access_token":"EAAB-token-value"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var fb channelJSON
	_ = json.Unmarshal([]byte(body), &fb)
	if fb.WebhookURL != publicURL+"/webhooks/meta" || fb.Config["page_id"] != "1691462197845448" || fb.Config["verify_token"] != "vt" ||
		strings.Join(fb.Secrets, ",") != "app_secret,access_token" || len(fb.ID) != 32 {
		t.Fatalf("created %s", body)
	}
	for _, secret := range []string{"fb-app-secret-value", "EAAB-token-value"} {
		if strings.Contains(body, secret) {
			t.Fatalf("secret %q returned on creation", secret)
		}
	}
	code, body = create(admin, `{"type":"api","name":"Widget","config":{}}`)
	var api channelJSON
	_ = json.Unmarshal([]byte(body), &api)
	if code != 201 || api.WebhookURL != publicURL+"/webhooks/api/"+api.ID || !strings.HasPrefix(api.WebhookSecret, "whsec_") {
		t.Fatalf("api channel: %d %s", code, body)
	}
	code, body = create(admin, `{"type":"x","name":"X","config":{"user_id":"42","consumer_secret":"cs-value","access_token":"at"}}`)
	var x channelJSON
	_ = json.Unmarshal([]byte(body), &x)
	if code != 201 || x.WebhookURL != publicURL+"/webhooks/x/"+x.ID {
		t.Fatalf("x channel: %d %s", code, body)
	}
	code, body = create(admin, `{"type":"telegram","name":"Bot","config":{"bot_token":"110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}}`)
	if code != 201 || !strings.Contains(body, `"webhook_url":"`+publicURL+`/webhooks/telegram/`) || strings.Contains(body, "AAHdqTcv") {
		t.Fatalf("telegram channel: %d %s", code, body)
	}
	code, body = create(admin, `{"type":"youtube","name":"YT","config":{"channel_id":"UC5VgEt3Na1zZDJo-PBa86Rg","api_key":"AIza-key","video_ids":["F1UP7wRCPH8"]}}`)
	if code != 201 || strings.Contains(body, "webhook_url") || strings.Contains(body, "AIza-key") || !strings.Contains(body, `"video_ids":["F1UP7wRCPH8"]`) {
		t.Fatalf("youtube channel: %d %s", code, body)
	}

	for _, tc := range []struct {
		hdr    map[string]string
		body   string
		status int
		msg    string
	}{
		{agent, `{"type":"api","name":"x","config":{}}`, 403, "requires role admin"},
		{nil, `{"type":"api","name":"x","config":{}}`, 401, ""},
		{admin, `{"type":"facebook","name":"Shop","config":{"page_id":"1691462197845448","app_secret":"a","verify_token":"v","access_token":"t"}}`, 409, "already connected"},
		{otherAdmin, `{"type":"facebook","name":"Shop","config":{"page_id":"1691462197845448","app_secret":"a","verify_token":"v","access_token":"t"}}`, 409, "already connected"},
		{admin, `{"type":"whatsapp","name":"WA","config":{"phone_number_id":"1","app_secret":"a","verify_token":"v"}}`, 400, "config.access_token is required for whatsapp channels"},
		{admin, `{"type":"instagram","name":"IG","config":{"page_id":"1","app_secret":"a","verify_token":"v","access_token":"t"}}`, 400, "config.page_id does not apply to instagram channels"},
		{admin, `{"type":"x","name":"X","config":{"user_id":"42","consumer_secret":"c","access_token":"t","bogus":1}}`, 400, "unknown field"},
		{admin, `{"type":"fax","name":"F","config":{}}`, 400, "type must be one of"},
	} {
		code, body := create(tc.hdr, tc.body)
		if code != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.body, code, body, tc.status, tc.msg)
		}
	}

	rec := h.do(http.MethodGet, "/api/v1/channels", nil, agent)
	var list struct {
		Channels []channelJSON `json:"channels"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	if rec.Code != 200 || len(list.Channels) != 5 || list.Channels[0].ID != fb.ID || strings.Contains(rec.Body.String(), "cs-value") {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodGet, "/api/v1/channels/"+fb.ID, nil, agent); rec.Code != 200 || !strings.Contains(rec.Body.String(), fb.ID) {
		t.Fatalf("get: %d", rec.Code)
	}

	// Tenant isolation: workspace B sees nothing of A.
	rec = h.do(http.MethodGet, "/api/v1/channels", nil, otherAdmin)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), fb.ID) {
		t.Fatalf("B lists A's channels: %s", rec.Body)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/channels/" + fb.ID},
		{http.MethodDelete, "/api/v1/channels/" + fb.ID},
		{http.MethodPost, "/api/v1/channels/" + api.ID + "/messages"},
	} {
		if rec := h.do(r.method, r.path, []byte(`{"id":"1","author":{"id":"a"},"text":"x"}`), otherAdmin); rec.Code != 404 {
			t.Errorf("B %s %s: %d", r.method, r.path, rec.Code)
		}
	}

	if rec := h.do(http.MethodDelete, "/api/v1/channels/"+fb.ID, nil, agent); rec.Code != 403 {
		t.Fatalf("agent delete: %d", rec.Code)
	}
	if rec := h.do(http.MethodDelete, "/api/v1/channels/"+fb.ID, nil, admin); rec.Code != 204 {
		t.Fatalf("delete: %d", rec.Code)
	}
	if rec := h.do(http.MethodGet, "/api/v1/channels/"+fb.ID, nil, admin); rec.Code != 404 {
		t.Fatalf("deleted channel: %d", rec.Code)
	}
	// Its page can be connected again, here by workspace B.
	if code, body := create(otherAdmin, `{"type":"facebook","name":"Shop","config":{"page_id":"1691462197845448","app_secret":"a","verify_token":"v","access_token":"t"}}`); code != 201 {
		t.Fatalf("reconnect: %d %s", code, body)
	}
}
