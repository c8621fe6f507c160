package service

import (
	"net/http"
	"testing"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/event"
)

// Published signature vectors (SOURCES.md).
const (
	fbVectorSecret = "e6af24be1d683c8c911949f897eea1f6"
	fbVectorHeader = "sha256=3bf62d5bc657e3a17e55fa0095fa29964db507393b05209c260e2c845254968b"
	waVectorSecret = "1222e786b144d0e85b9f365372d93676"
	waVectorHeader = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441"
)

func metaConfig(key, id, secret string) map[string]any {
	return map[string]any{key: id, "app_secret": secret, "verify_token": "vt-" + id, "access_token": "tok-" + id}
}

// TestEveryFixtureLandsInItsThread posts every platform fixture, signed, to
// its channel's webhook URL, stores the queue, and checks the conversations
// and messages field by field.
func TestEveryFixtureLandsInItsThread(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-fixtures"
	fb := map[string]channelJSON{}
	for id, secret := range map[string]string{"206070979425408": "fb-a", "1234567890321": "fb-b",
		"1691462197845448": "fb-c", "1234567890": "fb-d", "1751036168465324": fbVectorSecret} {
		fb[id] = h.createChannel(ws, "facebook", metaConfig("page_id", id, secret))
	}
	ig := map[string]channelJSON{}
	for _, id := range []string{"17841462460365475", "0", "1234567890"} {
		ig[id] = h.createChannel(ws, "instagram", metaConfig("account_id", id, "ig-"+id))
	}
	wa := map[string]channelJSON{}
	for id, secret := range map[string]string{"10634295353625": "wa-a", "277321005464405": waVectorSecret, "1122334455667": "wa-c"} {
		wa[id] = h.createChannel(ws, "whatsapp", metaConfig("phone_number_id", id, secret))
	}
	xDM := h.createChannel(ws, "x", map[string]any{"user_id": "4337869213", "consumer_secret": "x-dm", "access_token": "t"})
	xTweet := h.createChannel(ws, "x", map[string]any{"user_id": "1114259648326987776", "consumer_secret": "x-tw", "access_token": "t"})
	tg := h.createChannel(ws, "telegram", map[string]any{"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secret_token": "tg-secret"})

	for _, f := range []struct{ file, secret string }{
		{"facebook/feed_comment_add.json", "fb-a"},
		{"facebook/feed_comment_add_v2_11.json", "fb-b"},
		{"facebook/feed_comment_edited.json", "fb-b"},
		{"facebook/feed_comment_remove.json", "fb-b"},
		{"facebook/messenger_message_text.json", "fb-c"},
		{"facebook/messenger_message_echo.json", "fb-c"},
		{"facebook/messenger_message_image_attachment.json", "fb-d"},
		{"instagram/comments_add.json", "ig-17841462460365475"},
		{"instagram/comments_reply_with_parent_id.json", "ig-0"},
		{"instagram/messaging_text.json", "ig-17841462460365475"},
		{"instagram/messaging_image_attachment.json", "ig-1234567890"},
		{"instagram/messaging_echo.json", "ig-1234567890"},
		{"whatsapp/message_text.json", "wa-a"},
		{"whatsapp/message_image.json", "wa-c"},
		{"whatsapp/message_reaction.json", "wa-c"},
	} {
		if rec := h.postMeta(fixture(t, f.file), f.secret); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f.file, rec.Code, rec.Body)
		}
	}
	// The published vectors, with their published header values.
	for _, f := range []struct{ file, header string }{
		{"facebook/messenger_message_text_signed_raw.json", fbVectorHeader},
		{"whatsapp/message_text_signed_raw.json", waVectorHeader},
	} {
		rec := h.do(http.MethodPost, "/webhooks/meta", fixture(t, f.file), map[string]string{"X-Hub-Signature-256": f.header})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f.file, rec.Code, rec.Body)
		}
	}
	for _, f := range []struct {
		file string
		ch   channelJSON
		sec  string
	}{{"x/direct_message_events.json", xDM, "x-dm"}, {"x/tweet_create_events_mention_reply.json", xTweet, "x-tw"}} {
		body := fixture(t, f.file)
		rec := h.do(http.MethodPost, "/webhooks/x/"+f.ch.ID, body, map[string]string{"X-Twitter-Webhooks-Signature": xSignature(f.sec, body)})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f.file, rec.Code, rec.Body)
		}
	}
	for _, f := range []string{"telegram/update_message_text.json", "telegram/update_message_photo.json"} {
		rec := h.do(http.MethodPost, "/webhooks/telegram/"+tg.ID, fixture(t, f), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f, rec.Code, rec.Body)
		}
	}
	if n := h.drain(); n != 21 {
		t.Fatalf("drained %d deliveries, want 21", n)
	}

	t.Run("facebook comment", func(t *testing.T) {
		ch := fb["206070979425408"].ID
		m := h.message(ws, ch, "712750021053074_1063824911537852")
		cv := h.conversation(ws, ch, conversation.KindComment, "206070979425408_712750021053074")
		if m.Kind != conversation.KindComment || m.Direction != conversation.DirectionIn || m.Text != "+1" ||
			m.Author.UserID != "24266381753005180" || m.Author.Name != "Wong Tsun-Lok Frank" || m.ParentID != "" ||
			!m.PlatformTime.Equal(at("2024-02-06T09:31:16Z")) || m.ConversationID != cv.ID || m.Placeholder {
			t.Fatalf("message %+v", m)
		}
		if cv.Post == nil || cv.Post.ID != "206070979425408_712750021053074" || cv.Post.Type != "added_photos" ||
			cv.Post.Permalink == "" || cv.Customer.UserID != "24266381753005180" || cv.Status != conversation.StatusOpen ||
			cv.MessageCount != 1 || cv.IncomingCount != 1 || !cv.WaitingSince.Equal(m.PlatformTime) || cv.Platform != "facebook" {
			t.Fatalf("conversation %+v", cv)
		}
	})
	t.Run("facebook page's own comment is outgoing", func(t *testing.T) {
		ch := fb["1234567890321"].ID
		m := h.message(ws, ch, "901097836652708_903438993085259")
		cv := h.conversation(ws, ch, conversation.KindComment, "1234567890321_901097836652708")
		if m.Direction != conversation.DirectionOut || !m.Echo || m.Text != "and the next one" || m.Delivery == nil ||
			m.Delivery.State != conversation.DeliverySent {
			t.Fatalf("message %+v", m)
		}
		if cv.OutgoingCount != 1 || cv.IncomingCount != 0 || !cv.WaitingSince.IsZero() || cv.Customer.UserID != "" {
			t.Fatalf("conversation %+v", cv)
		}
	})
	t.Run("facebook edit and remove before their comments", func(t *testing.T) {
		ch := fb["1234567890321"].ID
		e := h.message(ws, ch, "900728623356296_900744590021366")
		if !e.Placeholder || e.Text != "Let's see the Webhooks in action :D" || len(e.Edits) != 1 ||
			!e.Edits[0].At.Equal(at("2015-11-26T16:35:37Z")) || e.ConversationID == "" {
			t.Fatalf("edited placeholder %+v", e)
		}
		r := h.message(ws, ch, "905578656204626_905579239537901")
		if !r.Placeholder || r.Tombstone == nil || r.Tombstone.State != conversation.TombstoneDeleted || !r.Tombstone.At.Equal(at("2016-01-06T19:06:22Z")) {
			t.Fatalf("removed placeholder %+v", r)
		}
		msgs, _ := h.svc.Store.ConversationMessages(t.Context(), ws, r.ConversationID)
		if len(msgs) != 0 {
			t.Fatalf("placeholders listed: %d", len(msgs))
		}
	})
	t.Run("messenger text and echo share the customer's thread", func(t *testing.T) {
		ch := fb["1691462197845448"].ID
		in := h.message(ws, ch, "mid.1472026867074:cfb5e1d4bde07a2a55")
		out := h.message(ws, ch, "mid.1472026868734:832ecbdfc1ffc30139")
		cv := h.conversation(ws, ch, conversation.KindDM, "1134343043305865")
		if in.Text != "hello world" || in.Direction != conversation.DirectionIn || in.Kind != conversation.KindDM ||
			!in.PlatformTime.Equal(at("2016-08-24T08:21:07.080Z")) || in.ConversationID != cv.ID {
			t.Fatalf("incoming %+v", in)
		}
		if out.Text != "hello" || out.Direction != conversation.DirectionOut || !out.Echo || out.Author.UserID != "1691462197845448" || out.ConversationID != cv.ID {
			t.Fatalf("echo %+v", out)
		}
		if cv.MessageCount != 2 || cv.IncomingCount != 1 || cv.OutgoingCount != 1 || !cv.WaitingSince.IsZero() ||
			!cv.LastMessageAt.Equal(out.PlatformTime) || !cv.LastIncomingAt.Equal(in.PlatformTime) || cv.Customer.UserID != "1134343043305865" {
			t.Fatalf("conversation %+v", cv)
		}
		msgs, _ := h.svc.Store.ConversationMessages(t.Context(), ws, cv.ID)
		if len(msgs) != 2 || msgs[0].ID != in.ID || msgs[1].ID != out.ID {
			t.Fatalf("thread order %+v", msgs)
		}
	})
	t.Run("messenger image", func(t *testing.T) {
		m := h.message(ws, fb["1234567890"].ID, "external_id")
		if len(m.Attachments) != 1 || m.Attachments[0].Type != "image" || m.Attachments[0].URL != "https://image-url/foo.png" || m.Author.UserID != "5678" {
			t.Fatalf("message %+v", m)
		}
	})
	t.Run("messenger signed vector", func(t *testing.T) {
		m := h.message(ws, fb["1751036168465324"].ID, "mid.1460923697625:5c96e8279b55505308")
		if m.Text != "Test äëï" || m.Author.UserID != "982337261802700" {
			t.Fatalf("message %+v", m)
		}
	})
	t.Run("instagram comments and reply tree", func(t *testing.T) {
		m := h.message(ws, ig["17841462460365475"].ID, "17908760879912236")
		cv := h.conversation(ws, ig["17841462460365475"].ID, conversation.KindComment, "18021480532860936")
		if m.Author.Handle != "gengar8864" || m.Text != "+1" || cv.Post == nil || cv.Post.Type != "FEED" || cv.Customer.Handle != "gengar8864" {
			t.Fatalf("comment %+v / %+v", m, cv)
		}
		reply := h.message(ws, ig["0"].ID, "123456789")
		if reply.ParentExternalID != "987654321" || reply.ParentID != conversation.MessageID(ig["0"].ID, "987654321") || reply.Text != "This is an example." {
			t.Fatalf("reply %+v", reply)
		}
	})
	t.Run("instagram DMs", func(t *testing.T) {
		m := h.message(ws, ig["17841462460365475"].ID, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDYyNDYwMzY1NDc1OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTM4NDQzMzA2NDE5OTI0NTozMTQ5MzU0MzM1NzkyOTAyNzUxODIzNjIzMjU4MjY5Mjg2NAZDZD")
		if m.Text != "!h" || m.Author.UserID != "24286888740958239" || m.Kind != conversation.KindDM {
			t.Fatalf("dm %+v", m)
		}
		cv := h.conversation(ws, ig["1234567890"].ID, conversation.KindDM, "5678")
		img := h.message(ws, ig["1234567890"].ID, "external_id")
		echo := h.message(ws, ig["1234567890"].ID, "qT7ywaK")
		if img.Direction != conversation.DirectionIn || len(img.Attachments) != 1 || echo.Direction != conversation.DirectionOut ||
			!echo.Echo || cv.MessageCount != 2 || cv.OutgoingCount != 1 {
			t.Fatalf("image %+v echo %+v conversation %+v", img, echo, cv)
		}
		// The same ids on the Facebook page of the same number stay apart.
		if fbImg := h.message(ws, fb["1234567890"].ID, "external_id"); fbImg.ID == img.ID || fbImg.Platform != "facebook" {
			t.Fatalf("facebook and instagram messages collide: %s", fbImg.ID)
		}
	})
	t.Run("whatsapp", func(t *testing.T) {
		m := h.message(ws, wa["10634295353625"].ID, "wamid.HBgNNDkxNTIwOTgzMzM5OBUCABIYHGDEHJVFHJEVCFHJEVBCMTkyODk1OEIyAA==")
		cv := h.conversation(ws, wa["10634295353625"].ID, conversation.KindDM, "491234567890")
		if m.Text != "Test" || m.Author.Name != "TestUser" || !m.PlatformTime.Equal(at("2022-05-22T21:01:53Z")) || cv.Customer.Name != "TestUser" {
			t.Fatalf("text %+v / %+v", m, cv)
		}
		v := h.message(ws, wa["277321005464405"].ID, "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA")
		if v.Text != "Hey there! I am using PyWa." || v.Author.Name != "PyWa Tests" {
			t.Fatalf("vector %+v", v)
		}
		img := h.message(ws, wa["1122334455667"].ID, "wamid.xyzxyz")
		if len(img.Attachments) != 1 || img.Attachments[0].MediaID != "65463453" || img.Attachments[0].MimeType != "image/jpeg" || img.Attachments[0].SHA256 != "4654+8g=" {
			t.Fatalf("image %+v", img)
		}
		// The reaction targets a message we never received: kept on a placeholder.
		r := h.message(ws, wa["1122334455667"].ID, "wamid.yzxyzx=")
		if !r.Placeholder || len(r.Reactions) != 1 || r.Reactions[0].Emoji != "😮" || r.Reactions[0].UserID != "972987654321" {
			t.Fatalf("reaction %+v", r)
		}
	})
	t.Run("x", func(t *testing.T) {
		dm := h.message(ws, xDM.ID, "954491830116155396")
		cv := h.conversation(ws, xDM.ID, conversation.KindDM, "3001969357")
		if dm.Text != "Hello World!" || dm.Author.Handle != "furiouscamper" || cv.Customer.Name != "Jordan Brinks" {
			t.Fatalf("dm %+v / %+v", dm, cv)
		}
		tw := h.message(ws, xTweet.ID, "1332557345071644672")
		tcv := h.conversation(ws, xTweet.ID, conversation.KindComment, "1332252354599555074")
		// A reply to someone else's tweet: threaded under that tweet, whose post is unknown.
		if tw.Kind != conversation.KindComment || tw.ParentExternalID != "1332252354599555074" || tw.Author.Handle != "TanuLearns" ||
			tw.Text != "@Learn_Awesome Save this" || tcv.ThreadKey != "1332252354599555074" || tcv.Post != nil || tcv.Customer.Handle != "TanuLearns" {
			t.Fatalf("tweet %+v / %+v", tw, tcv)
		}
	})
	t.Run("telegram", func(t *testing.T) {
		m := h.message(ws, tg.ID, "3527065:41")
		if m.Text != "Hello World" || m.Author.Handle != "nicpottier" || m.Author.Name != "Nic Pottier" || m.Kind != conversation.KindDM {
			t.Fatalf("text %+v", m)
		}
		p := h.message(ws, tg.ID, "3527065:85")
		if p.Text != "Photo Caption" || len(p.Attachments) != 1 || p.Attachments[0].MediaID != "AgADAQADtKcxG4LRUUQSQVUjfJIiiF8G6C8ABA9NJzFdXskaincBAAEC" {
			t.Fatalf("photo %+v", p)
		}
		if cv := h.conversation(ws, tg.ID, conversation.KindDM, "3527065"); cv.MessageCount != 2 {
			t.Fatalf("conversation %+v", cv)
		}
	})
	t.Run("events", func(t *testing.T) {
		evs := h.events(ws, event.StreamInbox)
		visible := h.count("messages", nil) - 3 // three placeholders: edit, remove, reaction
		if got := countType(evs, event.MessageCreated); int64(got) != visible {
			t.Fatalf("%d message.created events for %d messages", got, visible)
		}
		for _, e := range evs {
			if e.ConversationID == "" {
				t.Fatalf("event without conversation: %+v", e)
			}
		}
		sys := h.events(ws, event.StreamSystem)
		if n := countType(sys, event.IdentitySeen); n != int(h.count("identities", nil)) || n < 10 {
			t.Fatalf("%d identity.seen for %d identities", n, h.count("identities", nil))
		}
	})
}
