package service

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/event"
)

// TestFoldedBatchesCountAndPublishOnce stores two claims one after the other
// and folds them together, as a worker does with a backlog: the second
// edits a message of the first, repeats one of its messages (a platform
// retry) and opens another conversation. The fold must count each message
// once, preview the edited text, and publish one message.created per
// message (with its newest state) and one conversation.updated per
// conversation.
func TestFoldedBatchesCountAndPublishOnce(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-fold"
	api := h.createChannel(ws, "api", nil)
	ctx := context.Background()
	q, proc := h.svc.Queue(), h.svc.Processor()
	claim := func(n int) []ingest.Delivery {
		t.Helper()
		ds, err := q.Claim(ctx, 100, 100*time.Millisecond)
		if err != nil || len(ds) != n {
			t.Fatalf("claimed %d, %v; want %d", len(ds), err, n)
		}
		return ds
	}
	h.postAPI(api, apiMessage("m1", "", "cust1", "hello", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m2", "", "cust1", "second", "2024-05-01T10:00:10Z"))
	first := claim(2)
	st1, err := proc.Stage(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	h.postAPI(api, apiMessage("m2", "edit", "cust1", "second, edited", "2024-05-01T10:00:20Z"))
	h.postAPI(api, apiMessage("m1", "", "cust1", "hello", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m3", "", "cust2", "other customer", "2024-05-01T10:00:30Z"))
	second := claim(3)
	st2, err := proc.Stage(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	// Stored, but nothing counted or published before the fold.
	if n := h.count("messages", nil); n != 3 {
		t.Fatalf("%d messages stored before the fold, want 3", n)
	}
	if n := h.count("conversations", nil); n != 0 {
		t.Fatalf("%d conversations before the fold, want 0", n)
	}
	if evs := h.events(ws, event.StreamInbox); len(evs) != 0 {
		t.Fatalf("published before the fold: %v", evs)
	}
	res, err := proc.Fold(ctx, st1, st2)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, append(first, second...)); err != nil {
		t.Fatal(err)
	}
	proc.Settle(res.Token)
	if res.Created != 3 || res.Updated != 1 || res.Duplicates != 1 {
		t.Fatalf("result %+v, want 3 created, 1 updated, 1 duplicate", res)
	}

	c1 := h.conversation(ws, api.ID, conversation.KindDM, "cust1")
	if c1.MessageCount != 2 || c1.IncomingCount != 2 || c1.UnreadCount != 2 ||
		c1.LastMessageID != conversation.MessageID(api.ID, "m2") || c1.LastMessageText != "second, edited" {
		t.Fatalf("cust1 conversation %+v", c1)
	}
	if c2 := h.conversation(ws, api.ID, conversation.KindDM, "cust2"); c2.MessageCount != 1 || c2.LastMessageText != "other customer" {
		t.Fatalf("cust2 conversation %+v", c2)
	}
	evs := h.events(ws, event.StreamInbox)
	created := map[string]string{}
	convs := map[string]int{}
	for _, e := range evs {
		switch e.Type {
		case event.MessageCreated:
			var m conversation.Message
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			if _, dup := created[m.ExternalID]; dup {
				t.Fatalf("message.created twice for %s", m.ExternalID)
			}
			created[m.ExternalID] = m.Text
		case event.ConversationUpdated:
			convs[e.ConversationID]++
		case event.MessageUpdated:
			t.Fatalf("message.updated in a fold that created the message: %+v", e)
		}
	}
	if len(created) != 3 || created["m2"] != "second, edited" || created["m1"] != "hello" {
		t.Fatalf("message.created events %v", created)
	}
	if len(convs) != 2 || convs[c1.ID] != 1 {
		t.Fatalf("conversation.updated events %v", convs)
	}
}
