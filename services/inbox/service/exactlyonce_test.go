package service

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/event"
)

func TestDuplicateDeliveriesAreStoredOnce(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) { testDuplicates(t, guarded) })
	}
}

func testDuplicates(t *testing.T, guarded bool) {
	h := newHarness(t, true, func(c *Config) {
		if guarded {
			c.SerializeWrites = "false"
		}
	})
	const ws = "ws-dup"
	fb := h.createChannel(ws, "facebook", metaConfig("page_id", "1691462197845448", "s"))
	text, echo := fixture(t, "facebook/messenger_message_text.json"), fixture(t, "facebook/messenger_message_echo.json")
	for range 3 {
		for _, b := range [][]byte{text, echo} {
			if rec := h.postMeta(b, "s"); rec.Code != 200 {
				t.Fatal(rec.Code)
			}
		}
	}
	h.drain()
	check := func(stage string) {
		t.Helper()
		cv := h.conversation(ws, fb.ID, conversation.KindDM, "1134343043305865")
		if n := h.count("messages", nil); n != 2 || cv.MessageCount != 2 || cv.IncomingCount != 1 || cv.OutgoingCount != 1 {
			t.Fatalf("%s: %d messages, conversation %+v", stage, n, cv)
		}
		inbox, sys := h.events(ws, event.StreamInbox), h.events(ws, event.StreamSystem)
		if c, u, cu, id := countType(inbox, event.MessageCreated), countType(inbox, event.MessageUpdated),
			countType(inbox, event.ConversationUpdated), countType(sys, event.IdentitySeen); c != 2 || u != 0 || cu != 1 || id != 1 {
			t.Fatalf("%s: events created=%d updated=%d conversation=%d identity=%d", stage, c, u, cu, id)
		}
	}
	check("one batch with duplicates")
	// Retries arriving later, one batch each.
	for i := range 3 {
		h.postMeta(text, "s")
		h.postMeta(echo, "s")
		h.drain()
		check(fmt.Sprintf("retry %d", i))
	}
}

// apiMessage is one message in the generic format.
func apiMessage(id, action, author, text, ts string) []byte {
	s := fmt.Sprintf(`{"id":%q,"author":{"id":%q},"timestamp":%q`, id, author, ts)
	if action != "" {
		s += fmt.Sprintf(`,"action":%q`, action)
	}
	if text != "" {
		s += fmt.Sprintf(`,"text":%q`, text)
	}
	return []byte(s + "}")
}

func (h *harness) postAPI(ch channelJSON, body []byte) {
	h.t.Helper()
	rec := h.do(http.MethodPost, "/webhooks/api/"+ch.ID, body, map[string]string{"X-Inbox-Signature-256": metaSignature(ch.WebhookSecret, body)})
	if rec.Code != http.StatusAccepted {
		h.t.Fatalf("api webhook: %d %s", rec.Code, rec.Body)
	}
}

func TestEditAndDeleteBeforeTheOriginal(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-order"
	api := h.createChannel(ws, "api", nil)
	h.postAPI(api, apiMessage("m1", "edit", "cust", "fixed text", "2024-05-01T10:02:00Z"))
	h.drain()
	h.postAPI(api, apiMessage("m1", "delete", "cust", "", "2024-05-01T10:05:00Z"))
	h.drain()
	if evs := h.events(ws, event.StreamInbox); len(evs) != 0 {
		t.Fatalf("events for an invisible placeholder: %+v", evs)
	}
	h.postAPI(api, apiMessage("m1", "", "cust", "fixd txet", "2024-05-01T10:00:00Z"))
	h.postAPI(api, apiMessage("m1", "edit", "cust", "fixed text", "2024-05-01T10:02:00Z")) // a retry
	h.drain()
	m := h.message(ws, api.ID, "m1")
	if m.Placeholder || m.Text != "fixed text" || !m.TextAt.Equal(at("2024-05-01T10:02:00Z")) || len(m.Edits) != 1 ||
		m.Tombstone == nil || m.Tombstone.State != conversation.TombstoneDeleted || !m.PlatformTime.Equal(at("2024-05-01T10:00:00Z")) ||
		m.Author.UserID != "cust" {
		t.Fatalf("final message %+v", m)
	}
	cv := h.conversation(ws, api.ID, conversation.KindDM, "cust")
	if cv.MessageCount != 1 || cv.ID != m.ConversationID {
		t.Fatalf("conversation %+v", cv)
	}
	evs := h.events(ws, event.StreamInbox)
	if countType(evs, event.MessageCreated) != 1 || countType(evs, event.MessageUpdated) != 0 {
		t.Fatalf("events %v", evs)
	}

	// The same on Facebook: the fixture's edit first, then the original comment.
	fb := h.createChannel(ws, "facebook", metaConfig("page_id", "1234567890321", "s"))
	h.postMeta(fixture(t, "facebook/feed_comment_edited.json"), "s")
	h.drain()
	orig := []byte(`{"object":"page","entry":[{"id":"1234567890321","time":1448555700,"changes":[{"field":"feed","value":{"item":"comment","verb":"add",
		"comment_id":"900728623356296_900744590021366","post_id":"1234567890321_900728623356296","parent_id":"1234567890321_900728623356296",
		"from":{"id":"777","name":"Fan"},"created_time":1448555700,"message":"Lets see the Webhooks in acton"}}]}]}`)
	h.postMeta(orig, "s")
	h.drain()
	c := h.message(ws, fb.ID, "900728623356296_900744590021366")
	if c.Placeholder || c.Text != "Let's see the Webhooks in action :D" || c.Author.Name != "Fan" || !c.PlatformTime.Equal(time.Unix(1448555700, 0)) {
		t.Fatalf("facebook comment %+v", c)
	}
}

func TestWhatsAppStatuses(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-status"
	wa := h.createChannel(ws, "whatsapp", metaConfig("phone_number_id", "1122334455667", "s"))
	// Read arrives before sent (and carries the older timestamp): read stays.
	h.postMeta(fixture(t, "whatsapp/status_read.json"), "s")
	h.drain()
	h.postMeta(fixture(t, "whatsapp/status_sent.json"), "s")
	h.drain()
	m := h.message(ws, wa.ID, "wamid.xyzxyz")
	if !m.Placeholder || m.Direction != conversation.DirectionOut || m.Delivery == nil || m.Delivery.State != conversation.DeliveryRead ||
		m.ConversationID != conversation.ConversationID(ws, wa.ID, conversation.KindDM, "972987654321") {
		t.Fatalf("after statuses %+v / %+v", m, m.Delivery)
	}
	failed := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1122334455667"},
		"statuses":[{"id":"wamid.fail","status":"failed","timestamp":"1698266950","recipient_id":"972987654321","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed"}}]}]}}]}]}`)
	sent := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1122334455667"},
		"statuses":[{"id":"wamid.fail","status":"sent","timestamp":"1698266940","recipient_id":"972987654321"}]}}]}]}`)
	h.postMeta(failed, "s")
	h.postMeta(sent, "s")
	h.drain()
	f := h.message(ws, wa.ID, "wamid.fail")
	if f.Delivery == nil || f.Delivery.State != conversation.DeliveryFailed || f.Delivery.ErrorCode != "131047" ||
		f.Delivery.ErrorMessage != "Re-engagement message: Message failed to send because more than 24 hours have passed" {
		t.Fatalf("failed delivery %+v", f.Delivery)
	}
	if evs := h.events(ws, event.StreamInbox); len(evs) != 0 {
		t.Fatalf("events for placeholders: %d", len(evs))
	}
	// The outbound message is stored when the agent's send returns: the
	// statuses that came first are kept.
	send := conversation.Change{Key: "sent-by-agent", Action: conversation.ActionCreate, MessageID: m.ID, WorkspaceID: ws,
		ChannelID: wa.ID, Platform: "whatsapp", Kind: conversation.KindDM, ConversationID: m.ConversationID, ExternalID: "wamid.xyzxyz",
		At: at("2023-07-15T00:20:00Z"), ReceivedAt: at("2023-07-15T00:20:00Z"), Direction: conversation.DirectionOut,
		Author: conversation.Identity{Platform: "whatsapp", UserID: "1122334455667"}, Text: "Your order shipped",
		Thread: &conversation.Thread{ID: m.ConversationID}}
	if _, err := h.svc.Store.ApplyChanges(context.Background(), "agent", []conversation.Change{send}); err != nil {
		t.Fatal(err)
	}
	m = h.message(ws, wa.ID, "wamid.xyzxyz")
	if m.Placeholder || m.Text != "Your order shipped" || m.Delivery.State != conversation.DeliveryRead {
		t.Fatalf("after the original %+v / %+v", m, m.Delivery)
	}
}
