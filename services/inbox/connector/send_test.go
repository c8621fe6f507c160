package connector

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	pageToken = "EAAB-page-token"
	pageID    = "1122334455"
	waPhone   = "106540352242922"
)

// sendOK sends out and fails the test on error.
func sendOK(t *testing.T, s Sender, out Outbound) Result {
	t.Helper()
	res, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return res
}

// sendErr sends out, expects a *Error and returns it.
func sendErr(t *testing.T, s Sender, out Outbound) *Error {
	t.Helper()
	_, err := s.Send(context.Background(), out)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	return e
}

func TestFacebookCommentReply(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	res := sendOK(t, NewFacebook(g.config()), Outbound{
		Platform: Facebook, Kind: KindComment, Credentials: Credentials{AccessToken: pageToken, AccountID: pageID},
		ReplyTo: "1122334455_987_654", Text: "Thanks, we are on it!",
	})
	c := g.last()
	if c.method != "POST" || c.path != "/v25.0/1122334455_987_654/comments" {
		t.Fatalf("request %s %s", c.method, c.path)
	}
	if c.header.Get("Authorization") != "Bearer "+pageToken || strings.Contains(c.query, "access_token") {
		t.Fatalf("token must travel as bearer only: %q %q", c.header.Get("Authorization"), c.query)
	}
	if !reflect.DeepEqual(c.body, map[string]any{"message": "Thanks, we are on it!"}) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "1122334455_987_654_r1" {
		t.Fatalf("external id %q", res.ExternalID)
	}
}

func TestMessengerDM(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	fb := NewFacebook(g.config())
	out := Outbound{
		Platform: Facebook, Kind: KindDM, Credentials: Credentials{AccessToken: pageToken, AccountID: pageID},
		Recipient: "PSID-42", Text: "Hello Ann", IdempotencyKey: "msg-1",
	}
	res := sendOK(t, fb, out)
	c := g.last()
	if c.path != "/v25.0/"+pageID+"/messages" {
		t.Fatalf("path %s", c.path)
	}
	want := map[string]any{
		"recipient":      map[string]any{"id": "PSID-42"},
		"messaging_type": "RESPONSE",
		"message":        map[string]any{"text": "Hello Ann", "metadata": "msg-1"},
	}
	if !reflect.DeepEqual(c.body, want) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "m_out1" {
		t.Fatalf("external id %q", res.ExternalID)
	}

	// Outside 24 hours the window check hands out the tag.
	out.Tag = TagHumanAgent
	sendOK(t, fb, out)
	c = g.last()
	if c.body["messaging_type"] != "MESSAGE_TAG" || c.body["tag"] != "HUMAN_AGENT" {
		t.Fatalf("tagged body %v", c.body)
	}
}

func TestPrivateReplies(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	for _, tc := range []struct {
		s    *MetaSender
		p    Platform
		path string
	}{
		{NewFacebook(g.config()), Facebook, "/v25.0/" + pageID + "/messages"},
		{NewInstagram(g.config()), Instagram, "/v25.0/17841400000000/messages"},
	} {
		account := pageID
		if tc.p == Instagram {
			account = "17841400000000"
		}
		res := sendOK(t, tc.s, Outbound{
			Platform: tc.p, Kind: KindPrivateReply, Credentials: Credentials{AccessToken: pageToken, AccountID: account},
			ReplyTo: "17858893269000001", Text: "We sent you the details in private",
		})
		c := g.last()
		if c.path != tc.path {
			t.Fatalf("%s path %s", tc.p, c.path)
		}
		if str(c.body, "recipient", "comment_id") != "17858893269000001" || str(c.body, "recipient", "id") != "" {
			t.Fatalf("%s recipient %v", tc.p, c.body["recipient"])
		}
		if _, ok := c.body["messaging_type"]; ok {
			t.Fatalf("%s private replies carry no messaging_type: %v", tc.p, c.body)
		}
		if !strings.HasPrefix(res.ExternalID, "m_out") {
			t.Fatalf("%s external id %q", tc.p, res.ExternalID)
		}
	}
}

func TestInstagramCommentReplyAndDM(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	ig := NewInstagram(g.config())
	res := sendOK(t, ig, Outbound{Platform: Instagram, Kind: KindComment, Credentials: Credentials{AccessToken: pageToken},
		ReplyTo: "17870913679156914", Text: "Glad you like it"})
	if c := g.last(); c.path != "/v25.0/17870913679156914/replies" || c.body["message"] != "Glad you like it" {
		t.Fatalf("comment reply %s %v", c.path, c.body)
	}
	if res.ExternalID != "17870913679156914_r1" {
		t.Fatalf("external id %q", res.ExternalID)
	}
	// Without an account id the Instagram Login "me" node is used; no metadata field.
	sendOK(t, ig, Outbound{Platform: Instagram, Kind: KindDM, Credentials: Credentials{AccessToken: pageToken},
		Recipient: "IGSID-7", Text: "hi", IdempotencyKey: "k"})
	c := g.last()
	if c.path != "/v25.0/me/messages" || str(c.body, "recipient", "id") != "IGSID-7" || c.body["messaging_type"] != "RESPONSE" {
		t.Fatalf("dm %s %v", c.path, c.body)
	}
	if _, ok := c.body["message"].(map[string]any)["metadata"]; ok {
		t.Fatalf("instagram message got metadata: %v", c.body)
	}
}

func TestWhatsAppSend(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	wa := NewWhatsApp(g.config())
	res := sendOK(t, wa, Outbound{Platform: WhatsApp, Kind: KindDM, Credentials: Credentials{AccessToken: pageToken, AccountID: waPhone},
		Recipient: "4915112345678", ReplyTo: "wamid.IN1", Text: "Your order ships today", IdempotencyKey: "msg-9"})
	c := g.last()
	if c.path != "/v25.0/"+waPhone+"/messages" {
		t.Fatalf("path %s", c.path)
	}
	want := map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "text",
		"text":                     map[string]any{"body": "Your order ships today", "preview_url": false},
		"context":                  map[string]any{"message_id": "wamid.IN1"},
		"biz_opaque_callback_data": "msg-9",
	}
	if !reflect.DeepEqual(c.body, want) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "wamid.OUT1" {
		t.Fatalf("external id %q", res.ExternalID)
	}
	// Without ReplyTo there is no context object at all.
	sendOK(t, wa, Outbound{Platform: WhatsApp, Kind: KindDM, Credentials: Credentials{AccessToken: pageToken, AccountID: waPhone},
		Recipient: "4915112345678", Text: "ok"})
	if _, ok := g.last().body["context"]; ok {
		t.Fatal("context sent without ReplyTo")
	}
}

func TestXReplyAndDM(t *testing.T) {
	x := newX(t, "x-user-token")
	s := NewX(x.config())
	res := sendOK(t, s, Outbound{Platform: X, Kind: KindComment, Credentials: Credentials{AccessToken: "x-user-token"},
		ReplyTo: "1790000000000000001", Text: "@ann sorry about that, DM us"})
	c := x.last()
	if c.path != "/2/tweets" || c.header.Get("Authorization") != "Bearer x-user-token" {
		t.Fatalf("request %s %q", c.path, c.header.Get("Authorization"))
	}
	want := map[string]any{"text": "@ann sorry about that, DM us", "reply": map[string]any{"in_reply_to_tweet_id": "1790000000000000001"}}
	if !reflect.DeepEqual(c.body, want) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "181" {
		t.Fatalf("tweet id %q", res.ExternalID)
	}
	res = sendOK(t, s, Outbound{Platform: X, Kind: KindDM, Credentials: Credentials{AccessToken: "x-user-token"},
		Recipient: "2244994945", Text: "Here is your code"})
	if c := x.last(); c.path != "/2/dm_conversations/with/2244994945/messages" || !reflect.DeepEqual(c.body, map[string]any{"text": "Here is your code"}) {
		t.Fatalf("dm %s %v", c.path, c.body)
	}
	if res.ExternalID != "192" {
		t.Fatalf("dm event id %q", res.ExternalID)
	}
}

func TestYouTubeReply(t *testing.T) {
	y := newYouTube(t, "ya29.token")
	res := sendOK(t, NewYouTube(y.config()), Outbound{Platform: YouTube, Kind: KindComment, Credentials: Credentials{AccessToken: "ya29.token"},
		ReplyTo: "UgzTopLevel", Text: "Thanks for watching"})
	c := y.last()
	if c.path != "/youtube/v3/comments" || c.query != "part=snippet" || c.header.Get("Authorization") != "Bearer ya29.token" {
		t.Fatalf("request %s?%s", c.path, c.query)
	}
	want := map[string]any{"snippet": map[string]any{"parentId": "UgzTopLevel", "textOriginal": "Thanks for watching"}}
	if !reflect.DeepEqual(c.body, want) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "UgzTopLevel.r1" {
		t.Fatalf("id %q", res.ExternalID)
	}
}

func TestTelegramSend(t *testing.T) {
	tg := newTelegram(t, "123456:ABC-secret")
	s := NewTelegram(tg.config())
	// ReplyTo in the webhook's "<chat>:<message>" form supplies the chat.
	res := sendOK(t, s, Outbound{Platform: Telegram, Kind: KindDM, Credentials: Credentials{BotToken: "123456:ABC-secret"},
		ReplyTo: "-1001234:88", Text: "On our way"})
	c := tg.last()
	if c.path != "/bot123456:ABC-secret/sendMessage" {
		t.Fatalf("path %s", c.path)
	}
	want := map[string]any{"chat_id": float64(-1001234), "text": "On our way",
		"reply_parameters": map[string]any{"message_id": float64(88), "allow_sending_without_reply": true}}
	if !reflect.DeepEqual(c.body, want) {
		t.Fatalf("body %v", c.body)
	}
	if res.ExternalID != "-1001234:501" {
		t.Fatalf("external id %q", res.ExternalID)
	}
	if _, err := s.Send(context.Background(), Outbound{Platform: Telegram, Kind: KindDM, Credentials: Credentials{BotToken: "123456:ABC-secret"},
		Recipient: "555", ReplyTo: "-1001234:88", Text: "x"}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("reply into another chat: %v", err)
	}
}

// TestRefusedBeforeSending covers requests the connectors reject without a
// call: the platform would refuse them anyway.
func TestRefusedBeforeSending(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	tg := newTelegram(t, "1:t")
	cred := Credentials{AccessToken: pageToken, AccountID: waPhone, BotToken: "1:t"}
	cases := []struct {
		name string
		s    Sender
		out  Outbound
		msg  string
	}{
		{"empty text", NewFacebook(g.config()), Outbound{Kind: KindDM, Credentials: cred, Recipient: "1", Text: "  "}, "text is empty"},
		{"comment without ReplyTo", NewFacebook(g.config()), Outbound{Kind: KindComment, Credentials: cred, Text: "x"}, "ReplyTo"},
		{"no token", NewInstagram(g.config()), Outbound{Kind: KindDM, Recipient: "1", Text: "x"}, "access token"},
		{"messenger too long", NewFacebook(g.config()), Outbound{Kind: KindDM, Credentials: cred, Recipient: "1", Text: strings.Repeat("é", 2000)}, "2000 characters long; facebook allows 1999"},
		{"instagram bytes", NewInstagram(g.config()), Outbound{Kind: KindDM, Credentials: cred, Recipient: "1", Text: strings.Repeat("é", 501)}, "1002 bytes long"},
		{"whatsapp comment", NewWhatsApp(g.config()), Outbound{Kind: KindComment, Credentials: cred, ReplyTo: "1", Text: "x"}, "whatsapp cannot send a comment"},
		{"youtube dm", NewYouTube(g.config()), Outbound{Kind: KindDM, Credentials: cred, Recipient: "1", Text: "x"}, "youtube cannot send a dm"},
		{"telegram bad reply id", NewTelegram(tg.config()), Outbound{Kind: KindDM, Credentials: cred, Recipient: "5", ReplyTo: "5:abc", Text: "x"}, "not a Telegram message id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := sendErr(t, tc.s, tc.out)
			if e.Class != Permanent || e.Code != CodeInvalid || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %+v, want permanent %q", e, tc.msg)
			}
		})
	}
	if g.hits()+tg.hits() != 0 {
		t.Fatalf("%d calls made for invalid requests", g.hits()+tg.hits())
	}
	if _, err := (Router{}).Send(context.Background(), Outbound{Platform: "myspace"}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("router without connector: %v", err)
	}
}

// TestPlatformErrors checks that each platform's error body is surfaced with
// its code and the right class.
func TestPlatformErrors(t *testing.T) {
	t.Run("graph window closed", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		g.then(*graphErr(400, 10, 2018278, "(#10) This message is sent outside of allowed window."))
		e := sendErr(t, NewFacebook(g.config()), Outbound{Kind: KindDM, Credentials: Credentials{AccessToken: pageToken, AccountID: pageID}, Recipient: "1", Text: "late"})
		if e.Class != Permanent || e.Status != 400 || e.Code != "10" || e.Subcode != "2018278" || e.TraceID != "AbCdEf123" ||
			e.Message != "(#10) This message is sent outside of allowed window." {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("graph wrong token is the fake's own check", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		e := sendErr(t, NewFacebook(g.config()), Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: "stale"}, ReplyTo: "1_2", Text: "x"})
		if e.Class != Permanent || e.Code != "190" || !strings.Contains(e.Message, "Invalid OAuth access token") {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("graph throttling code on a 400 is retryable", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		g.then(*graphErr(400, 613, 0, "(#613) Calls to this api have exceeded the rate limit."))
		e := sendErr(t, NewFacebook(g.config()), Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: pageToken}, ReplyTo: "1_2", Text: "x"})
		if e.Class != Retryable || e.Code != "613" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("whatsapp re-engagement with details", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		g.then(reply{status: 400, body: `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`})
		e := sendErr(t, NewWhatsApp(g.config()), Outbound{Kind: KindDM, Credentials: Credentials{AccessToken: pageToken, AccountID: waPhone}, Recipient: "49", Text: "x"})
		if e.Class != Permanent || e.Code != "131047" || !strings.Contains(e.Message, "more than 24 hours have passed") {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("x duplicate tweet", func(t *testing.T) {
		x := newX(t, "tok")
		x.then(*xProblemReply(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."))
		e := sendErr(t, NewX(x.config()), Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: "tok"}, ReplyTo: "1", Text: "x"})
		if e.Class != Permanent || e.Status != 403 || e.Code != "Forbidden" || !strings.Contains(e.Message, "duplicate content") {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("x invalid request is the fake's own check", func(t *testing.T) {
		x := newX(t, "tok")
		e := sendErr(t, NewX(x.config()), Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: "tok"}, ReplyTo: "not-a-tweet", Text: "x"})
		if e.Class != Permanent || e.Code != "invalid-request" || !strings.Contains(e.Message, "in_reply_to_tweet_id") {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("youtube quota is permanent, rate limit retryable", func(t *testing.T) {
		y := newYouTube(t, "tok")
		y.then(*googleErr(403, "quotaExceeded", "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>."),
			*googleErr(403, "rateLimitExceeded", "Rate limit exceeded"))
		out := Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: "tok"}, ReplyTo: "Ugz", Text: "x"}
		e := sendErr(t, NewYouTube(y.config()), out)
		if e.Class != Permanent || e.Code != "quotaExceeded" || e.Message != "The request cannot be completed because you have exceeded your" {
			t.Fatalf("%+v", e)
		}
		if e = sendErr(t, NewYouTube(y.config()), out); e.Class != Retryable || e.Code != "rateLimitExceeded" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("telegram blocked by user", func(t *testing.T) {
		tg := newTelegram(t, "1:t")
		tg.then(*tgErr(403, "Forbidden: bot was blocked by the user"))
		e := sendErr(t, NewTelegram(tg.config()), Outbound{Kind: KindDM, Credentials: Credentials{BotToken: "1:t"}, Recipient: "42", Text: "x"})
		if e.Class != Permanent || e.Code != "403" || e.Message != "Forbidden: bot was blocked by the user" {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("telegram 429 retry_after", func(t *testing.T) {
		tg := newTelegram(t, "1:t")
		tg.then(reply{status: 429, body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`})
		e := sendErr(t, NewTelegram(tg.config()), Outbound{Kind: KindDM, Credentials: Credentials{BotToken: "1:t"}, Recipient: "42", Text: "x"})
		if e.Class != Retryable || e.RetryAfter.Seconds() != 7 {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("bare gateway 502 is ambiguous, 503 retryable", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		g.then(reply{status: 502, body: `<html>Bad Gateway</html>`}, reply{status: 503, body: ``})
		out := Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: pageToken}, ReplyTo: "1_2", Text: "x"}
		if e := sendErr(t, NewFacebook(g.config()), out); e.Class != Ambiguous || e.Status != 502 || e.Message != "Bad Gateway" {
			t.Fatalf("%+v", e)
		}
		if e := sendErr(t, NewFacebook(g.config()), out); e.Class != Retryable || e.Status != 503 {
			t.Fatalf("%+v", e)
		}
	})
	t.Run("success without id is ambiguous", func(t *testing.T) {
		g := newGraph(t, pageToken, waPhone)
		g.then(reply{status: 200, body: `{"success":true}`})
		e := sendErr(t, NewFacebook(g.config()), Outbound{Kind: KindComment, Credentials: Credentials{AccessToken: pageToken}, ReplyTo: "1_2", Text: "x"})
		if e.Class != Ambiguous {
			t.Fatalf("%+v", e)
		}
	})
}
