package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAPISingleAndBatch(t *testing.T) {
	single := `{"id":"m-1","author":{"id":"u-1","handle":"ann","name":"Ann"},"text":"hi","timestamp":"2024-05-01T12:00:00+02:00"}`
	got, err := ParseAPI([]byte(single))
	if err != nil {
		t.Fatal(err)
	}
	ann := Identity{Platform: API, UserID: "u-1", Handle: "ann", Name: "Ann"}
	assertEvents(t, got, []Event{{
		Platform: API, Action: ActionMessage, Kind: KindDM, ExternalID: "m-1", ThreadKey: "u-1",
		Author: ann, Customer: ann, Text: "hi", Timestamp: utc(2024, 5, 1, 10, 0, 0, 0), DedupeKey: "api::message:m-1",
	}})
	if got[0].Timestamp.Location().String() != "UTC" {
		t.Errorf("timestamp not normalised to UTC: %v", got[0].Timestamp)
	}

	batch := `{"messages":[
		{"id":"c-1","kind":"comment","post":{"id":"p-9","text":"New shoes","permalink":"https://shop.test/p/9","type":"product"},
		 "parent_id":"c-0","author":{"id":"u-2"},"attachments":[{"type":"photo","url":"https://shop.test/i.jpg","mime_type":"image/jpeg"}]},
		{"id":"m-2","kind":"dm","echo":true,"customer":{"id":"u-1"},"author":{"id":"agent-7","name":"Support"},"text":"on its way","reply_to":"m-1"},
		{"id":"m-1","action":"delete","author":{"id":"u-1"}}
	]}`
	got, err = ParseAPI([]byte(batch))
	if err != nil {
		t.Fatal(err)
	}
	u2, u1 := Identity{Platform: API, UserID: "u-2"}, Identity{Platform: API, UserID: "u-1"}
	assertEvents(t, got, []Event{
		{
			Platform: API, Action: ActionMessage, Kind: KindComment, ExternalID: "c-1", ThreadKey: "p-9", ParentID: "c-0",
			Post:   &Post{ID: "p-9", Text: "New shoes", Permalink: "https://shop.test/p/9", Type: "product"},
			Author: u2, Customer: u2,
			Attachments: []Attachment{{Type: AttachmentImage, URL: "https://shop.test/i.jpg", MimeType: "image/jpeg"}},
			DedupeKey:   "api::message:c-1",
		},
		{
			Platform: API, Action: ActionMessage, Kind: KindDM, Echo: true, ExternalID: "m-2", ThreadKey: "u-1", ReplyTo: "m-1",
			Author: Identity{Platform: API, UserID: "agent-7", Name: "Support"}, Customer: u1, Text: "on its way",
			DedupeKey: "api::message:m-2",
		},
		{Platform: API, Action: ActionDelete, Kind: KindDM, ExternalID: "m-1", ThreadKey: "u-1", Author: u1, Customer: u1, DedupeKey: "api::delete:m-1"},
	})
	checkInvariants(t, got, API)

	got, err = ParseAPI([]byte(`{"messages":[]}`))
	if err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v, %v", got, err)
	}
}

func TestParseAPIValidation(t *testing.T) {
	tests := []struct {
		body, wantErr string
	}{
		{`{"author":{"id":"u"},"text":"x"}`, "messages[0]: id is required"},
		{`{"id":"m","text":"x"}`, "messages[0]: author.id is required"},
		{`{"id":"m","author":{"id":"u"}}`, "messages[0]: text or attachments is required"},
		{`{"id":"m","author":{"id":"u"},"action":"edit"}`, "text or attachments is required"},
		{`{"messages":[{"id":"a","author":{"id":"u"},"text":"x"},{"id":"b","author":{"id":"u"}}]}`, "messages[1]: text or attachments is required"},
		{`{"id":"m","author":{"id":"u"},"text":"x","kind":"tweet"}`, `kind "tweet": want dm or comment`},
		{`{"id":"m","author":{"id":"u"},"text":"x","action":"reaction"}`, `action "reaction": want message, edit or delete`},
		{`{"id":"m","author":{"id":"u"},"text":"x","kind":"comment"}`, "thread_id or post.id is required for comments"},
		{`{"id":"m","author":{"id":"u"},"text":"x","echo":true}`, "thread_id or customer.id is required for echo DMs"},
		{`{"id":"m","author":{"id":"u"},"text":"x","customer":{"name":"n"}}`, "customer.id is required when customer is given"},
		{`{"id":"m","author":{"id":"u"},"text":"x","kind":"comment","post":{"text":"p"}}`, "post.id is required when post is given"},
		{`{"id":"m","author":{"id":"u"},"text":"x","parent_id":"p"}`, "parent_id is for comments"},
		{`{"id":"m","author":{"id":"u"},"text":"x","kind":"comment","thread_id":"t","reply_to":"r"}`, "reply_to is for DMs"},
		{`{"id":"m","author":{"id":"u"},"attachments":[{"url":"https://x.test/a"}]}`, "attachments[0].type is required"},
		{`{"id":"m","author":{"id":"u"},"attachments":[{"type":"image"}]}`, "attachments[0]: url or media_id is required"},
		{`{"id":"m","author":{"id":"u"},"text":"x","timestamp":"yesterday"}`, "cannot parse"},
		{`{"id":"m","author":{"id":"u"},"txt":"x"}`, `unknown field "txt"`},
		{`{"messages":[],"extra":1}`, `unknown field "extra"`},
		{`{"id":"m","author":{"id":"u","email":"e"},"text":"x"}`, `unknown field "email"`},
		{`{"id":"m","author":{"id":"u"},"text":"x"} {"id":"n"}`, "api:"},
		{`{"id":1,"author":{"id":"u"},"text":"x"}`, "cannot unmarshal number"},
		{`[{"id":"m"}]`, "not a JSON object"},
		{``, "not a JSON object"},
	}
	for _, tt := range tests {
		_, err := ParseAPI([]byte(tt.body))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseAPI(%s) err = %v, want ErrMalformed containing %q", tt.body, err, tt.wantErr)
		}
	}
}
