package service

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/event"
)

// TestEventsCarryWhatTheCRMReads checks, by their JSON names, the fields the
// CRM reads from the inbox's events: the phone of a WhatsApp author in
// identity.seen (E.164, as the CRM keys phones; none for other platforms),
// and the mention and share flags of message.created.
func TestEventsCarryWhatTheCRMReads(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-crm-fields"
	wa := h.createChannel(ws, "whatsapp", metaConfig("phone_number_id", "1122334455667", "wa-c"))
	ig := h.createChannel(ws, "instagram", metaConfig("account_id", "17841400000000001", "ig-s"))
	xTweet := h.createChannel(ws, "x", map[string]any{"user_id": "1114259648326987776", "consumer_secret": "x-tw", "access_token": "t"})

	if rec := h.postMeta(fixture(t, "whatsapp/message_image.json"), "wa-c"); rec.Code != http.StatusOK {
		t.Fatalf("whatsapp: %d %s", rec.Code, rec.Body)
	}
	story := []byte(`{"object":"instagram","entry":[{"id":"17841400000000001","time":1700000000999,"messaging":[
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000001,
		 "message":{"mid":"m-story","attachments":[{"type":"story_mention","payload":{"url":"https://cdn.test/story.mp4"}}]}},
		{"sender":{"id":"902"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000002,
		 "message":{"mid":"m-plain","text":"hello"}}]}]}`)
	if rec := h.postMeta(story, "ig-s"); rec.Code != http.StatusOK {
		t.Fatalf("instagram: %d %s", rec.Code, rec.Body)
	}
	tweet := fixture(t, "x/tweet_create_events_mention_reply.json")
	if rec := h.do(http.MethodPost, "/webhooks/x/"+xTweet.ID, tweet, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("x-tw", tweet)}); rec.Code != http.StatusOK {
		t.Fatalf("x: %d %s", rec.Code, rec.Body)
	}
	h.drain()

	phones := map[string]any{}
	for _, e := range h.events(ws, event.StreamSystem) {
		if e.Type != event.IdentitySeen {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if _, ok := d["email"]; ok {
			t.Errorf("identity.seen %s carries an email: %v", d["user_id"], d)
		}
		phones[d["platform"].(string)+":"+d["user_id"].(string)] = d["phone"]
	}
	want := map[string]any{"whatsapp:972987654321": "+972987654321", "instagram:901": nil, "instagram:902": nil, "x:1247048165561270272": nil}
	if len(phones) != len(want) {
		t.Fatalf("identity.seen phones %v, want %v", phones, want)
	}
	for id, p := range want {
		if got, ok := phones[id]; !ok || got != p {
			t.Errorf("identity.seen %s: phone %v, want %v", id, got, p)
		}
	}

	type flags struct{ mention, share any }
	got := map[string]flags{}
	for _, e := range h.events(ws, event.StreamInbox) {
		if e.Type != event.MessageCreated {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		got[d["id"].(string)] = flags{d["mention"], d["share"]}
	}
	wantFlags := map[string]flags{
		conversation.MessageID(wa.ID, "wamid.xyzxyz"):            {},
		conversation.MessageID(ig.ID, "m-story"):                 {mention: true},
		conversation.MessageID(ig.ID, "m-plain"):                 {},
		conversation.MessageID(xTweet.ID, "1332557345071644672"): {mention: true},
	}
	if len(got) != len(wantFlags) {
		t.Fatalf("message.created %v, want %v", got, wantFlags)
	}
	for id, w := range wantFlags {
		if g, ok := got[id]; !ok || g != w {
			t.Errorf("message.created %s: mention/share %v, want %v", id, g, w)
		}
	}
}
