package service

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/shared/event"
	"github.com/gorilla/websocket"
)

// TestWebsocketDeliversWorkspaceEvents proves the hub is wired to the bus and the
// gateway's tokens: a signed-in user gets their workspace's events and no other's.
func TestWebsocketDeliversWorkspaceEvents(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := New(ctx, Config{LoginPerMinute: 10, InboxURL: f.upstream.URL, CRMURL: f.upstream.URL}, f.infra)
	if err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	tok := f.login("admin@example.com", "admin-password")
	_, me := f.call("GET", "/api/v1/me", tok, nil)
	ws := me["workspace"].(map[string]any)["id"].(string)

	// The fixture's server runs a Service whose hub is not running; serve this one.
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	srvURL := strings.Replace(srv.URL, "http", "ws", 1)

	bad, _, err := websocket.DefaultDialer.Dial(srvURL+"/ws", http.Header{"Authorization": {"Bearer forged"}})
	if err == nil {
		_, _, rerr := bad.ReadMessage()
		if !websocket.IsCloseError(rerr, 4001) {
			t.Fatalf("forged token: want close 4001, got %v", rerr)
		}
		bad.Close()
	}
	c, _, err := websocket.DefaultDialer.Dial(srvURL+"/ws", http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.WriteJSON(map[string]any{"type": "subscribe", "stream": "inbox"})
	var msg map[string]any
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&msg); err != nil || msg["type"] != "subscribed" {
		t.Fatalf("subscribe answer %v %v", msg, err)
	}
	other, _ := event.New("another-workspace", event.StreamInbox, event.MessageCreated, map[string]string{"text": "secret"})
	_, _ = f.infra.Bus.Publish(ctx, other)
	mine, _ := event.New(ws, event.StreamInbox, event.MessageCreated, map[string]string{"text": "hello"})
	_, _ = f.infra.Bus.Publish(ctx, mine)
	if err := c.ReadJSON(&msg); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(msg["data"])
	if msg["type"] != event.MessageCreated || msg["workspace_id"] != ws || !strings.Contains(string(data), "hello") {
		t.Fatalf("got %v", msg)
	}
}
