package e2e

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	inbox "github.com/communityinbox/inbox/service"
)

// pointInboxAt sends the inbox's Graph API calls to the fake.
func pointInboxAt(cfg *inbox.Config, graphURL string) {
	cfg.GraphURL = graphURL
	cfg.WorkflowPoll = 100 * time.Millisecond
}

// facebookChannel is a connected Facebook Page.
type facebookChannel struct {
	id, pageID, appSecret, accessToken, webhookPath string
}

// connectFacebook connects a Page the way an admin does, through the API.
func connectFacebook(t *testing.T, e *env, admin string) facebookChannel {
	t.Helper()
	ch := facebookChannel{pageID: "104857600123456", appSecret: "e2e-app-secret-0123456789", accessToken: "EAAe2eFakePageToken0123456789"}
	out := e.must(201, "POST", "/api/v1/channels", admin, map[string]any{
		"type": "facebook", "name": "Acme Shoes Page",
		"config": map[string]any{"page_id": ch.pageID, "app_secret": ch.appSecret, "access_token": ch.accessToken, "verify_token": "e2e-verify"},
	})
	ch.id, _ = out["id"].(string)
	ch.webhookPath = "/webhooks/meta"
	if u, ok := out["webhook_url"].(string); ok && u != "" {
		ch.webhookPath = u[len(e.url):]
	}
	return ch
}

// mids numbers the Messenger message ids the tests send.
var mids atomic.Int64

// postMessenger delivers a Messenger text message as Facebook signs it.
func postMessenger(t *testing.T, e *env, ch facebookChannel, psid, text string) {
	t.Helper()
	now := time.Now().UnixMilli()
	body, err := json.Marshal(map[string]any{
		"object": "page",
		"entry": []any{map[string]any{"id": ch.pageID, "time": now, "messaging": []any{map[string]any{
			"sender": map[string]string{"id": psid}, "recipient": map[string]string{"id": ch.pageID}, "timestamp": now,
			"message": map[string]any{"mid": fmt.Sprintf("m_e2e_%d_%d", now, mids.Add(1)), "text": text},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, out := e.signMeta(ch.webhookPath, ch.appSecret, body); st != 200 {
		t.Fatalf("webhook: %d %s", st, out)
	}
}
