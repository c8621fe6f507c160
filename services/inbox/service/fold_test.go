package service

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
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
	h.postAPI(api, apiMessage("m1", "", "cust1", "hello", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m2", "", "cust1", "second", "2024-05-01T10:00:10Z"))
	first := claimExactly(t, h, 2)
	st1 := stage(t, h, first)
	h.postAPI(api, apiMessage("m2", "edit", "cust1", "second, edited", "2024-05-01T10:00:20Z"))
	h.postAPI(api, apiMessage("m1", "", "cust1", "hello", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m3", "", "cust2", "other customer", "2024-05-01T10:00:30Z"))
	second := claimExactly(t, h, 3)
	st2 := stage(t, h, second)
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
	foldAndAck(t, h, append(first, second...), st1, st2)

	c1 := h.conversation(ws, api.ID, conversation.KindDM, "cust1")
	if c1.MessageCount != 2 || c1.IncomingCount != 2 || c1.UnreadCount != 2 ||
		c1.LastMessageID != conversation.MessageID(api.ID, "m2") || c1.LastMessageText != "second, edited" {
		t.Fatalf("cust1 conversation %+v", c1)
	}
	if c2 := h.conversation(ws, api.ID, conversation.KindDM, "cust2"); c2.MessageCount != 1 || c2.LastMessageText != "other customer" {
		t.Fatalf("cust2 conversation %+v", c2)
	}
	evs := h.events(ws, event.StreamInbox)
	created := createdTexts(t, evs)
	convs := map[string]int{}
	for _, e := range evs {
		switch e.Type {
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

// dyingCountStore dies while it writes the conversations: after the counts
// are decided (and handed to the fold, which publishes the message events
// meanwhile) and before the updates land.
type dyingCountStore struct{ ingest.Storer }

func (s dyingCountStore) AddToConversationsWith(ctx context.Context, token string, counts []conversation.Count,
	decided func(conversation.Counted)) (conversation.Counted, error) {
	ctx, cancel := context.WithCancel(ctx)
	return s.Storer.AddToConversationsWith(ctx, token, counts, func(c conversation.Counted) {
		decided(c)
		cancel()
	})
}

// TestFoldDyingAfterPublishingCountsOnce: a fold publishes message events
// while it writes the conversations; when it dies in the middle, nothing is
// acknowledged, and the redelivery counts every message once and publishes
// its events again.
// createdTexts maps the external id of each message.created among evs to its
// text, and fails on a message announced twice.
func createdTexts(t *testing.T, evs []event.Event) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range evs {
		if e.Type != event.MessageCreated {
			continue
		}
		var m conversation.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[m.ExternalID]; dup {
			t.Fatalf("message.created twice for %s", m.ExternalID)
		}
		out[m.ExternalID] = m.Text
	}
	return out
}

// claimExactly claims from h's queue and fails unless it gets n deliveries.
func claimExactly(t *testing.T, h *harness, n int) []ingest.Delivery {
	t.Helper()
	ds, err := h.svc.Queue().Claim(context.Background(), 100, 100*time.Millisecond)
	if err != nil || len(ds) != n {
		t.Fatalf("claimed %d, %v; want %d", len(ds), err, n)
	}
	return ds
}

// stage stores ds as a worker's stage does.
func stage(t *testing.T, h *harness, ds []ingest.Delivery) *ingest.Staged {
	t.Helper()
	st, err := h.svc.Processor().Stage(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// foldAndAck folds staged, acknowledges ds and settles, as a worker does, and
// checks the result both tests here expect: three messages created, one
// updated, one duplicate.
func foldAndAck(t *testing.T, h *harness, ds []ingest.Delivery, staged ...*ingest.Staged) {
	t.Helper()
	ctx := context.Background()
	proc := h.svc.Processor()
	res, err := proc.Fold(ctx, staged...)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Queue().Ack(ctx, ds); err != nil {
		t.Fatal(err)
	}
	proc.Settle(res.Token)
	if res.Created != 3 || res.Updated != 1 || res.Duplicates != 1 {
		t.Fatalf("result %+v, want 3 created, 1 updated, 1 duplicate", res)
	}
}

func TestFoldDyingAfterPublishingCountsOnce(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-fold-crash"
	api := h.createChannel(ws, "api", nil)
	h.postAPI(api, apiMessage("m0", "", "cust", "first", "2024-05-01T10:00:00Z"))
	h.drain() // the conversation exists, so the next count updates it
	for i, id := range []string{"m1", "m2", "m3"} {
		h.postAPI(api, apiMessage(id, "", "cust", "more "+id, time.Date(2024, 5, 1, 10, 0, 10+i, 0, time.UTC).Format(time.RFC3339)))
	}
	log := logging.Discard()
	dying := ingest.NewProcessor(dyingCountStore{h.svc.Store}, h.svc.Channels, h.bus, log, ingest.ProcessorOptions{Serialize: true})
	if _, err := ingest.NewWorker(h.svc.Queue(), dying, ingest.WorkerOptions{Batch: 10}, log).Drain(context.Background(), 50*time.Millisecond); err == nil {
		t.Fatal("the dying fold succeeded")
	}
	if c := h.conversation(ws, api.ID, conversation.KindDM, "cust"); c.MessageCount != 1 {
		t.Fatalf("the dead fold's counts were written: %d messages", c.MessageCount)
	}
	if n := countType(h.events(ws, event.StreamInbox), event.MessageCreated); n != 4 {
		t.Fatalf("%d message.created before the redelivery, want 4 (m0 and the dead fold's 3)", n)
	}
	time.Sleep(h.cfg.IngestLease + 100*time.Millisecond)
	h.drain()
	c := h.conversation(ws, api.ID, conversation.KindDM, "cust")
	if c.MessageCount != 4 || c.IncomingCount != 4 || c.LastMessageText != "more m3" {
		t.Fatalf("after the redelivery: %+v", c)
	}
	evs := h.events(ws, event.StreamInbox)
	if n := countType(evs, event.MessageCreated); n != 7 {
		t.Fatalf("%d message.created in all, want 7 (the redelivery republishes 3)", n)
	}
	if last := evs[len(evs)-1]; last.Type != event.ConversationUpdated || last.ConversationID != c.ID {
		t.Fatalf("last event %s, want the conversation's update", last.Type)
	}
}

// TestStagesAnnounceMessagesOfKnownConversations: with a single writer, a
// stage publishes message.created for the messages it creates in a
// conversation that exists, before the fold. The fold then publishes
// message.updated only for such a message that a later batch of the fold
// changed, message.created for the messages of a new conversation, and
// each conversation.updated after them: every message is created once.
func TestStagesAnnounceMessagesOfKnownConversations(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-announce"
	api := h.createChannel(ws, "api", nil)
	created := func() map[string]string { return createdTexts(t, h.events(ws, event.StreamInbox)) }
	h.postAPI(api, apiMessage("m0", "", "cust1", "first", "2024-05-01T09:00:00Z"))
	h.drain() // cust1's conversation exists from here on
	before := len(h.events(ws, event.StreamInbox))

	h.postAPI(api, apiMessage("m1", "", "cust1", "hello", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m2", "", "cust1", "second", "2024-05-01T10:00:10Z"))
	first := claimExactly(t, h, 2)
	st1 := stage(t, h, first)
	deadline := time.Now().Add(5 * time.Second)
	for len(created()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := created(); len(got) != 3 || got["m1"] != "hello" || got["m2"] != "second" {
		t.Fatalf("message.created before the fold: %v, want m0, m1 and m2", got)
	}
	h.postAPI(api, apiMessage("m1", "edit", "cust1", "hello, edited", "2024-05-01T10:00:20Z"))
	h.postAPI(api, apiMessage("m2", "", "cust1", "second", "2024-05-01T10:00:10Z"))
	h.postAPI(api, apiMessage("m3", "", "cust2", "new customer", "2024-05-01T10:00:30Z"))
	second := claimExactly(t, h, 3)
	st2 := stage(t, h, second)
	if n := h.count("conversations", nil); n != 1 {
		t.Fatalf("%d conversations before the fold, want 1", n)
	}
	if got := created(); len(got) != 3 {
		t.Fatalf("message.created of a new conversation before the fold: %v", got)
	}
	foldAndAck(t, h, append(first, second...), st1, st2)
	c1 := h.conversation(ws, api.ID, conversation.KindDM, "cust1")
	if c1.MessageCount != 3 || c1.LastMessageID != conversation.MessageID(api.ID, "m2") {
		t.Fatalf("cust1 conversation %+v", c1)
	}
	if c2 := h.conversation(ws, api.ID, conversation.KindDM, "cust2"); c2.MessageCount != 1 {
		t.Fatalf("cust2 conversation %+v", c2)
	}
	if got := created(); len(got) != 4 || got["m3"] != "new customer" {
		t.Fatalf("message.created after the fold: %v", got)
	}
	evs := h.events(ws, event.StreamInbox)[before:]
	var updated []string
	convs := map[string]int{}
	lastMessage, firstConv := -1, len(evs)
	for i, e := range evs {
		switch e.Type {
		case event.MessageCreated, event.MessageUpdated:
			lastMessage = i
			if e.Type == event.MessageUpdated {
				var m conversation.Message
				if err := json.Unmarshal(e.Data, &m); err != nil {
					t.Fatal(err)
				}
				updated = append(updated, m.ExternalID+":"+m.Text)
			}
		case event.ConversationUpdated:
			convs[e.ConversationID]++
			firstConv = min(firstConv, i)
		}
	}
	if len(updated) != 1 || updated[0] != "m1:hello, edited" {
		t.Fatalf("message.updated events %v, want m1's edit only", updated)
	}
	if len(convs) != 2 || convs[c1.ID] != 1 {
		t.Fatalf("conversation.updated events %v", convs)
	}
	if lastMessage > firstConv {
		t.Fatalf("a message event at %d follows the first conversation.updated at %d", lastMessage, firstConv)
	}
}
