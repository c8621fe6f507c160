package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/auth"
)

// refused posts a request that must be refused with status and leave every
// collection and the queue as they were, even after the workers run.
func (h *harness) refused(t *testing.T, status int, path string, body []byte, headers map[string]string) {
	t.Helper()
	before := h.snapshot()
	rec := h.do(http.MethodPost, path, body, headers)
	if rec.Code != status {
		t.Fatalf("POST %s: %d %s, want %d", path, rec.Code, rec.Body, status)
	}
	h.drain()
	if after := h.snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused request changed the database: before %v after %v", before, after)
	}
}

func TestWebhooksRefuseBadRequestsAndStoreNothing(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.WebhookBodyLimit = 8 << 10 })
	const ws = "ws-verify"
	h.createChannel(ws, "facebook", metaConfig("page_id", "1691462197845448", "right"))
	x := h.createChannel(ws, "x", map[string]any{"user_id": "4337869213", "consumer_secret": "x-secret", "access_token": "t"})
	tg := h.createChannel(ws, "telegram", map[string]any{"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secret_token": "tg-secret"})
	api := h.createChannel(ws, "api", nil)
	msg := fixture(t, "facebook/messenger_message_text.json")
	dm := fixture(t, "x/direct_message_events.json")
	tgBody := fixture(t, "telegram/update_message_text.json")
	apiBody := []byte(`{"id":"m1","author":{"id":"u1"},"text":"hi"}`)

	t.Run("wrong signatures", func(t *testing.T) {
		h.refused(t, 401, "/webhooks/meta", msg, map[string]string{"X-Hub-Signature-256": metaSignature("wrong", msg)})
		h.refused(t, 401, "/webhooks/meta", msg, nil)
		h.refused(t, 401, "/webhooks/meta", msg, map[string]string{"X-Hub-Signature": "sha1=da611bd448dc12acdf0cd3ab33fdb3adaee26145"})
		// A signature over other bytes (re-encoded JSON) does not verify.
		var v any
		_ = json.Unmarshal(msg, &v)
		reencoded, _ := json.Marshal(v)
		h.refused(t, 401, "/webhooks/meta", msg, map[string]string{"X-Hub-Signature-256": metaSignature("right", reencoded)})
		h.refused(t, 401, "/webhooks/x/"+x.ID, dm, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("nope", dm)})
		h.refused(t, 401, "/webhooks/telegram/"+tg.ID, tgBody, map[string]string{"X-Telegram-Bot-Api-Secret-Token": "guess"})
		h.refused(t, 401, "/webhooks/telegram/"+tg.ID, tgBody, nil)
		h.refused(t, 401, "/webhooks/api/"+api.ID, apiBody, map[string]string{"X-Inbox-Signature-256": metaSignature("nope", apiBody)})
	})
	t.Run("malformed bodies", func(t *testing.T) {
		for _, b := range []string{`{"object":"page","entry":"nope"}`, `[1,2]`, `{"object":"page","entry":[{"id":"1691462197845448","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":{}}}]}]}`} {
			h.refused(t, 400, "/webhooks/meta", []byte(b), map[string]string{"X-Hub-Signature-256": metaSignature("right", []byte(b))})
		}
		bad := []byte(`{"for_user_id":"4337869213","direct_message_events":{"x":1}}`)
		h.refused(t, 400, "/webhooks/x/"+x.ID, bad, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("x-secret", bad)})
		h.refused(t, 400, "/webhooks/telegram/"+tg.ID, []byte(`{"message":`), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
		noAuthor := []byte(`{"id":"m1","text":"hi"}`)
		h.refused(t, 400, "/webhooks/api/"+api.ID, noAuthor, map[string]string{"X-Inbox-Signature-256": metaSignature(api.WebhookSecret, noAuthor)})
	})
	t.Run("oversize bodies", func(t *testing.T) {
		big := []byte(`{"object":"page","entry":[],"pad":"` + strings.Repeat("x", 9<<10) + `"}`)
		h.refused(t, 413, "/webhooks/meta", big, map[string]string{"X-Hub-Signature-256": metaSignature("right", big)})
		h.refused(t, 413, "/webhooks/x/"+x.ID, big, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("x-secret", big)})
	})
	t.Run("unknown pages are acknowledged and ignored", func(t *testing.T) {
		unknown := fixture(t, "facebook/feed_comment_add.json") // page 206070979425408 has no channel
		h.refused(t, 200, "/webhooks/meta", unknown, map[string]string{"X-Hub-Signature-256": metaSignature("whatever", unknown)})
		other := []byte(`{"object":"user","entry":[{"id":"1"}]}`)
		h.refused(t, 200, "/webhooks/meta", other, nil)
	})
	t.Run("unknown channel ids", func(t *testing.T) {
		h.refused(t, 404, "/webhooks/x/"+tg.ID, dm, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("x-secret", dm)})
		h.refused(t, 404, "/webhooks/telegram/nope", tgBody, nil)
	})
	t.Run("valid requests are stored", func(t *testing.T) {
		for _, r := range []struct {
			path string
			body []byte
			hdr  map[string]string
			want int
		}{
			{"/webhooks/meta", msg, map[string]string{"X-Hub-Signature-256": metaSignature("right", msg)}, 200},
			{"/webhooks/x/" + x.ID, dm, map[string]string{"X-Twitter-Webhooks-Signature": xSignature("x-secret", dm)}, 200},
			{"/webhooks/telegram/" + tg.ID, tgBody, map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}, 200},
			{"/webhooks/api/" + api.ID, apiBody, map[string]string{"X-Inbox-Signature-256": metaSignature(api.WebhookSecret, apiBody)}, 202},
		} {
			if rec := h.do(http.MethodPost, r.path, r.body, r.hdr); rec.Code != r.want {
				t.Fatalf("%s: %d %s", r.path, rec.Code, rec.Body)
			}
		}
		if n := h.drain(); n != 4 {
			t.Fatalf("drained %d", n)
		}
		if n := h.count("messages", nil); n != 4 {
			t.Fatalf("%d messages stored, want 4", n)
		}
	})
}

func TestMetaSignatureMustMatchEveryKeptChannel(t *testing.T) {
	h := newHarness(t, false, nil)
	a := h.createChannel("wsA", "facebook", metaConfig("page_id", "111", "secret-a"))
	b := h.createChannel("wsB", "facebook", metaConfig("page_id", "222", "secret-b"))
	entry := func(page, user, mid string) string {
		return fmt.Sprintf(`{"id":"%s","time":1472026867114,"messaging":[{"sender":{"id":"%s"},"recipient":{"id":"%s"},"timestamp":1472026867080,"message":{"mid":"%s","text":"hi %s"}}]}`, page, user, page, mid, page)
	}
	body := []byte(`{"object":"page","entry":[` + entry("111", "u1", "m.a") + "," + entry("222", "u2", "m.b") + "," + entry("333", "u3", "m.c") + `]}`)
	if rec := h.postMeta(body, "secret-a"); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	h.drain()
	if m := h.message("wsA", a.ID, "m.a"); m.Text != "hi 111" {
		t.Fatalf("page a: %+v", m)
	}
	if _, err := h.svc.Store.Message(t.Context(), "wsB", conversation.MessageID(b.ID, "m.b")); err == nil {
		t.Fatal("entry of a channel whose secret did not sign the body was stored")
	}
	if n := h.count("messages", nil); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	h.refused(t, 401, "/webhooks/meta", body, map[string]string{"X-Hub-Signature-256": metaSignature("secret-c", body)})
}

func TestHandshakes(t *testing.T) {
	h := newHarness(t, false, nil)
	h.createChannel("ws", "whatsapp", metaConfig("phone_number_id", "106", "s"))
	x := h.createChannel("ws", "x", map[string]any{"user_id": "42", "consumer_secret": "apiSecret", "access_token": "t"})
	rec := h.do(http.MethodGet, "/webhooks/meta?hub.mode=subscribe&hub.verify_token=vt-106&hub.challenge=1158201444", nil, nil)
	if rec.Code != 200 || rec.Body.String() != "1158201444" {
		t.Fatalf("meta handshake: %d %q", rec.Code, rec.Body)
	}
	for _, q := range []string{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "hub.mode=unsubscribe&hub.verify_token=vt-106&hub.challenge=1",
		"hub.mode=subscribe&hub.verify_token=vt-106&hub.challenge=%3Cscript%3E"} {
		if rec := h.do(http.MethodGet, "/webhooks/meta?"+q, nil, nil); rec.Code != 403 {
			t.Fatalf("%s: %d", q, rec.Code)
		}
	}
	// The published CRC vector (SOURCES.md).
	rec = h.do(http.MethodGet, "/webhooks/x/"+x.ID+"?crc_token=test+token", nil, nil)
	var crc map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &crc)
	if rec.Code != 200 || crc["response_token"] != "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0=" {
		t.Fatalf("crc: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodGet, "/webhooks/x/nope?crc_token=a", nil, nil); rec.Code != 404 {
		t.Fatalf("crc of unknown channel: %d", rec.Code)
	}
}

func TestAPIChannelMessages(t *testing.T) {
	h := newHarness(t, false, nil)
	api := h.createChannel("wsA", "api", nil)
	fbA := h.createChannel("wsA", "facebook", metaConfig("page_id", "5", "s"))
	body := []byte(`{"messages":[{"id":"w-1","author":{"id":"cust-1","name":"Ann"},"text":"Where is my order?","timestamp":"2024-05-01T10:00:00Z"},
		{"id":"w-2","author":{"id":"shop"},"customer":{"id":"cust-1"},"echo":true,"text":"On its way","reply_to":"w-1","timestamp":"2024-05-01T10:05:00Z"}]}`)
	post := func(ws string, role auth.Role, id string, b []byte) int {
		return h.do(http.MethodPost, "/api/v1/channels/"+id+"/messages", b, map[string]string{"Authorization": "Bearer " + h.token(ws, role)}).Code
	}
	if c := post("wsA", auth.RoleAgent, api.ID, body); c != 403 {
		t.Fatalf("agent: %d", c)
	}
	if c := post("wsB", auth.RoleIntegration, api.ID, body); c != 404 {
		t.Fatalf("other workspace: %d", c)
	}
	if c := post("wsA", auth.RoleIntegration, fbA.ID, body); c != 400 {
		t.Fatalf("non-api channel: %d", c)
	}
	rec := h.do(http.MethodPost, "/api/v1/channels/"+api.ID+"/messages", []byte(`{"id":"x","text":"no author"}`),
		map[string]string{"Authorization": "Bearer " + h.token("wsA", auth.RoleIntegration)})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "author.id is required") {
		t.Fatalf("invalid message: %d %s", rec.Code, rec.Body)
	}
	if c := post("wsA", auth.RoleIntegration, api.ID, body); c != 202 {
		t.Fatalf("integration: %d", c)
	}
	if c := post("wsA", auth.RoleManager, api.ID, body); c != 202 {
		t.Fatalf("manager: %d", c)
	}
	h.drain()
	cv := h.conversation("wsA", api.ID, conversation.KindDM, "cust-1")
	out := h.message("wsA", api.ID, "w-2")
	if cv.MessageCount != 2 || cv.Customer.Name != "Ann" || !cv.WaitingSince.IsZero() || out.Direction != conversation.DirectionOut ||
		out.ReplyToID != conversation.MessageID(api.ID, "w-1") || out.ConversationID != cv.ID {
		t.Fatalf("conversation %+v reply %+v", cv, out)
	}
}
