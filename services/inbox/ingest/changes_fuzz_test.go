package ingest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/webhook"
)

// FuzzChanges feeds any body to every parser and checks that whatever events
// come out become well-formed changes (or are dropped), never a panic.
func FuzzChanges(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "webhook", "testdata", "*", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"m","action":"edit","author":{"id":"a"},"text":"t"}`))
	received := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var events []webhook.Event
		for _, parse := range []func([]byte) ([]webhook.Event, error){webhook.ParseMeta, webhook.ParseX, webhook.ParseTelegram, webhook.ParseAPI} {
			evs, _ := parse(body)
			events = append(events, evs...)
		}
		if evs, _, err := webhook.ParseYouTubeCommentThreads(body); err == nil {
			events = append(events, evs...)
		}
		ch := channel.Channel{ID: "ch", WorkspaceID: "ws", Type: channel.API}
		for _, ev := range events {
			c, ok := toChange(item{ch: ch, ev: ev, receivedAt: received}, "")
			if !ok {
				continue
			}
			if c.Key == "" || c.ExternalID == "" || c.MessageID != conversation.MessageID("ch", ev.ExternalID) || c.At.IsZero() ||
				(c.Kind != conversation.KindDM && c.Kind != conversation.KindComment) || c.WorkspaceID != "ws" {
				t.Fatalf("malformed change %+v from %+v", c, ev)
			}
			switch c.Action {
			case conversation.ActionCreate:
				if c.Thread == nil || c.Thread.ID != c.ConversationID || c.ConversationID == "" ||
					(c.Direction != conversation.DirectionIn && c.Direction != conversation.DirectionOut) {
					t.Fatalf("create without a thread: %+v", c)
				}
			case conversation.ActionReact:
				if c.Reaction == nil || c.Reaction.UserID == "" {
					t.Fatalf("reaction without a user: %+v", c)
				}
			case conversation.ActionStatus:
				if c.Delivery == nil || c.Delivery.State.Rank() == 0 {
					t.Fatalf("status without a known state: %+v", c)
				}
			}
		}
	})
}
