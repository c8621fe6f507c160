package webhook

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestParseMetaFacebookFixtures(t *testing.T) {
	page := func(id string) Identity { return Identity{Platform: Facebook, UserID: id} }
	tests := []struct {
		file string
		want []Event
	}{
		{"facebook/feed_comment_add.json", []Event{{
			Platform: Facebook, AccountID: "206070979425408", Action: ActionMessage, Kind: KindComment,
			ExternalID: "712750021053074_1063824911537852",
			ThreadKey:  "206070979425408_712750021053074",
			Post: &Post{
				ID:        "206070979425408_712750021053074",
				Permalink: "https://www.facebook.com/710090817985661/posts/pfbid02kicXeLy3yWi95UN9BdtvcWzqp7rxsjT8J7hSiF3MCkuoAuFdU1NAaE97Yso8Kky3l",
				Type:      "added_photos",
			},
			Author:    Identity{Platform: Facebook, UserID: "24266381753005180", Name: "Wong Tsun-Lok Frank"},
			Customer:  Identity{Platform: Facebook, UserID: "24266381753005180", Name: "Wong Tsun-Lok Frank"},
			Text:      "+1",
			Timestamp: utc(2024, 2, 6, 9, 31, 16, 0), // created_time, not entry.time (…19)
			DedupeKey: "facebook:206070979425408:message:712750021053074_1063824911537852",
		}}},
		// The anonymised page id equals from.id: the page commented on its own post.
		{"facebook/feed_comment_add_v2_11.json", []Event{{
			Platform: Facebook, AccountID: "1234567890321", Action: ActionMessage, Kind: KindComment, Echo: true,
			ExternalID: "901097836652708_903438993085259",
			ThreadKey:  "1234567890321_901097836652708",
			Post:       &Post{ID: "1234567890321_901097836652708"},
			Author:     Identity{Platform: Facebook, UserID: "1234567890321", Name: "Tester"},
			Text:       "and the next one",
			Timestamp:  utc(2015, 12, 3, 9, 30, 3, 0),
			DedupeKey:  "facebook:1234567890321:message:901097836652708_903438993085259",
		}}},
		// Graph v2.5: numeric sender_id and sender_name instead of from.
		{"facebook/feed_comment_edited.json", []Event{{
			Platform: Facebook, AccountID: "1234567890321", Action: ActionEdit, Kind: KindComment, Echo: true,
			ExternalID: "900728623356296_900744590021366",
			ThreadKey:  "1234567890321_900728623356296",
			Post:       &Post{ID: "1234567890321_900728623356296"},
			Author:     Identity{Platform: Facebook, UserID: "1234567890321", Name: "Tester"},
			Text:       "Let's see the Webhooks in action :D",
			Timestamp:  utc(2015, 11, 26, 16, 35, 37, 0),
			DedupeKey:  "facebook:1234567890321:edit:900728623356296_900744590021366:1448555737000.*",
		}}},
		// No created_time and no message: time comes from entry.time.
		{"facebook/feed_comment_remove.json", []Event{{
			Platform: Facebook, AccountID: "1234567890321", Action: ActionDelete, Kind: KindComment, Echo: true,
			ExternalID: "905578656204626_905579239537901",
			ThreadKey:  "1234567890321_905578656204626",
			Post:       &Post{ID: "1234567890321_905578656204626"},
			Author:     Identity{Platform: Facebook, UserID: "1234567890321", Name: "John Doe"},
			Timestamp:  utc(2016, 1, 6, 19, 6, 22, 0),
			DedupeKey:  "facebook:1234567890321:delete:905578656204626_905579239537901",
		}}},
		{"facebook/messenger_message_text.json", []Event{{
			Platform: Facebook, AccountID: "1691462197845448", Action: ActionMessage, Kind: KindDM,
			ExternalID: "mid.1472026867074:cfb5e1d4bde07a2a55",
			ThreadKey:  "1134343043305865",
			Author:     page("1134343043305865"),
			Customer:   page("1134343043305865"),
			Text:       "hello world",
			Timestamp:  utc(2016, 8, 24, 8, 21, 7, 80),
			DedupeKey:  "facebook:1691462197845448:message:mid.1472026867074%3Acfb5e1d4bde07a2a55",
		}}},
		{"facebook/messenger_message_text_signed_raw.json", []Event{{
			Platform: Facebook, AccountID: "1751036168465324", Action: ActionMessage, Kind: KindDM,
			ExternalID: "mid.1460923697625:5c96e8279b55505308",
			ThreadKey:  "982337261802700",
			Author:     page("982337261802700"),
			Customer:   page("982337261802700"),
			Text:       "Test \u00e4\u00eb\u00ef",
			Timestamp:  utc(2016, 4, 17, 20, 8, 17, 635),
			DedupeKey:  "facebook:1751036168465324:message:mid.1460923697625%3A5c96e8279b55505308",
		}}},
		// sender = page, recipient = user: the thread is the user's.
		{"facebook/messenger_message_echo.json", []Event{{
			Platform: Facebook, AccountID: "1691462197845448", Action: ActionMessage, Kind: KindDM, Echo: true,
			ExternalID: "mid.1472026868734:832ecbdfc1ffc30139",
			ThreadKey:  "1134343043305865",
			Author:     page("1691462197845448"),
			Customer:   page("1134343043305865"),
			Text:       "hello",
			Timestamp:  utc(2016, 8, 24, 8, 21, 8, 763),
			DedupeKey:  "facebook:1691462197845448:message:mid.1472026868734%3A832ecbdfc1ffc30139",
		}}},
		{"facebook/messenger_message_image_attachment.json", []Event{{
			Platform: Facebook, AccountID: "1234567890", Action: ActionMessage, Kind: KindDM,
			ExternalID:  "external_id",
			ThreadKey:   "5678",
			Author:      page("5678"),
			Customer:    page("5678"),
			Attachments: []Attachment{{Type: AttachmentImage, URL: "https://image-url/foo.png"}},
			Timestamp:   utc(2016, 4, 7, 1, 11, 27, 970),
			DedupeKey:   "facebook:1234567890:message:external_id",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseMeta(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tt.want)
			checkInvariants(t, got, Facebook)
		})
	}
}

func TestParseMetaInstagramFixtures(t *testing.T) {
	ig := func(id string) Identity { return Identity{Platform: Instagram, UserID: id} }
	tests := []struct {
		file string
		want []Event
	}{
		{"instagram/comments_add.json", []Event{{
			Platform: Instagram, AccountID: "17841462460365475", Action: ActionMessage, Kind: KindComment,
			ExternalID: "17908760879912236",
			ThreadKey:  "18021480532860936",
			Post:       &Post{ID: "18021480532860936", Type: "FEED"},
			Author:     Identity{Platform: Instagram, UserID: "24286888740958239", Handle: "gengar8864"},
			Customer:   Identity{Platform: Instagram, UserID: "24286888740958239", Handle: "gengar8864"},
			Text:       "+1",
			Timestamp:  utc(2024, 2, 7, 1, 17, 59, 0),
			DedupeKey:  "instagram:17841462460365475:message:17908760879912236",
		}}},
		{"instagram/comments_reply_with_parent_id.json", []Event{{
			Platform: Instagram, AccountID: "0", Action: ActionMessage, Kind: KindComment,
			ExternalID: "123456789",
			ThreadKey:  "76543987",
			ParentID:   "987654321",
			Post:       &Post{ID: "76543987", Type: "FEED"},
			Author:     Identity{Platform: Instagram, UserID: "1234536447", Handle: "testuser"},
			Customer:   Identity{Platform: Instagram, UserID: "1234536447", Handle: "testuser"},
			Text:       "This is an example.",
			Timestamp:  utc(2018, 2, 23, 15, 21, 47, 0),
			DedupeKey:  "instagram:0:message:123456789",
		}}},
		{"instagram/messaging_text.json", []Event{{
			Platform: Instagram, AccountID: "17841462460365475", Action: ActionMessage, Kind: KindDM,
			ExternalID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDYyNDYwMzY1NDc1OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTM4NDQzMzA2NDE5OTI0NTozMTQ5MzU0MzM1NzkyOTAyNzUxODIzNjIzMjU4MjY5Mjg2NAZDZD",
			ThreadKey:  "24286888740958239",
			Author:     ig("24286888740958239"),
			Customer:   ig("24286888740958239"),
			Text:       "!h",
			Timestamp:  utc(2024, 2, 7, 1, 13, 26, 396),
			DedupeKey:  "instagram:17841462460365475:message:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDYyNDYwMzY1NDc1OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTM4NDQzMzA2NDE5OTI0NTozMTQ5MzU0MzM1NzkyOTAyNzUxODIzNjIzMjU4MjY5Mjg2NAZDZD",
		}}},
		{"instagram/messaging_image_attachment.json", []Event{{
			Platform: Instagram, AccountID: "1234567890", Action: ActionMessage, Kind: KindDM,
			ExternalID:  "external_id",
			ThreadKey:   "5678",
			Author:      ig("5678"),
			Customer:    ig("5678"),
			Attachments: []Attachment{{Type: AttachmentImage, URL: "https://image-url/foo.png"}},
			Timestamp:   utc(2016, 4, 7, 1, 11, 27, 970),
			DedupeKey:   "instagram:1234567890:message:external_id",
		}}},
		// The test fixture lists the account as recipient even though
		// is_echo is set; the customer is the party that is not the account.
		{"instagram/messaging_echo.json", []Event{{
			Platform: Instagram, AccountID: "1234567890", Action: ActionMessage, Kind: KindDM, Echo: true,
			ExternalID: "qT7ywaK",
			ThreadKey:  "5678",
			Author:     ig("1234567890"),
			Customer:   ig("5678"),
			Timestamp:  utc(2016, 4, 7, 1, 11, 27, 970),
			DedupeKey:  "instagram:1234567890:message:qT7ywaK",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseMeta(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tt.want)
			checkInvariants(t, got, Instagram)
		})
	}
}

func TestParseMetaMalformed(t *testing.T) {
	for _, body := range []string{
		``, `   `, `null`, `[]`, `"page"`, `{"object":"page","entry":[`, `{"object":"page"} trailing`,
		`{"object":"page","entry":{"id":"1"}}`,
		`{"object":"page","entry":[{"id":"1","changes":"nope"}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"message":{"mid":"m","is_echo":"yes"}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":"x"}}]}]}`,
	} {
		evs, err := ParseMeta([]byte(body))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseMeta(%q) = %v, %v; want ErrMalformed", body, evs, err)
		}
	}
	_, err := ParseMeta([]byte(`{"object":"page","entry":[`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("error %v does not wrap the *json.SyntaxError", err)
	}
}

func TestParseMetaSkipsWhatItDoesNotHandle(t *testing.T) {
	for name, body := range map[string]string{
		"unknown object":       `{"object":"user","entry":[{"id":"1","changes":[{"field":"name","value":"x"}]}]}`,
		"object missing":       `{"entry":[{"id":"1"}]}`,
		"unknown page field":   `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"ratings","value":{"item":"comment","verb":"add","comment_id":"c"}}]}]}`,
		"feed status item":     `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"1_2","message":"hi","post":"not an object"}}]}]}`,
		"feed reaction item":   `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"item":"reaction","verb":"add","reaction_type":"like","post_id":"1_2","from":["odd"]}}]}]}`,
		"feed value array":     `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":[1,2]}]}]}`,
		"comment unknown verb": `{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"item":"comment","verb":"block","comment_id":"2_3","post_id":"1_2"}}]}]}`,
		"ig mentions field":    `{"object":"instagram","entry":[{"id":"1","time":1,"changes":[{"field":"mentions","value":{"media_id":"5","comment_id":"6"}}]}]}`,
		"messenger read":       `{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":5,"read":{"watermark":4}}]}]}`,
		"messaging no mid":     `{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"message":{"text":"x"}}]}]}`,
		"whatsapp template":    `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}`,
		"whatsapp no phone id": `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","type":"text","text":{"body":"x"}}]}}]}]}`,
		"whatsapp system":      `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"7"},"messages":[{"from":"1","id":"w","type":"system","system":{"body":"changed number"}}]}}]}]}`,
	} {
		evs, err := ParseMeta([]byte(body))
		if err != nil || len(evs) != 0 {
			t.Errorf("%s: got %v, %v; want no events and no error", name, evs, err)
		}
	}
}

func TestParseMetaFeedEdgeCases(t *testing.T) {
	body := `{"object":"page","entry":[{"id":"100","time":1700000100,"changes":[
		{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"200_301","post_id":"100_200","parent_id":"200_300",
			"from":{"id":"555","name":"Ann"},"created_time":1700000000,"message":"reply with photo","photo":"https://example.test/p.jpg"}},
		{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":"200_301","post_id":"100_200","parent_id":"200_300","from":{"id":"555","name":"Ann"}}},
		{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_301","post_id":"100_200","parent_id":"200_300","from":{"id":"555","name":"Ann"},"created_time":"1700000000"}}
	]}]}`
	got, err := ParseMeta([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ann := Identity{Platform: Facebook, UserID: "555", Name: "Ann"}
	base := Event{
		Platform: Facebook, AccountID: "100", Kind: KindComment, ExternalID: "200_301",
		ThreadKey: "100_200", ParentID: "200_300", Post: &Post{ID: "100_200"}, Author: ann, Customer: ann,
	}
	add, hide, unhide := base, base, base
	add.Action, add.Text = ActionMessage, "reply with photo"
	add.Attachments = []Attachment{{Type: AttachmentImage, URL: "https://example.test/p.jpg"}}
	add.Timestamp = utc(2023, 11, 14, 22, 13, 20, 0)
	add.DedupeKey = "facebook:100:message:200_301"
	hide.Action, hide.Timestamp = ActionHide, utc(2023, 11, 14, 22, 15, 0, 0)
	hide.DedupeKey = "facebook:100:hide:200_301:1700000100000"
	unhide.Action, unhide.Timestamp = ActionUnhide, utc(2023, 11, 14, 22, 15, 0, 0)
	unhide.DedupeKey = "facebook:100:unhide:200_301:1700000100000"
	assertEvents(t, got, []Event{add, hide, unhide})
}

func TestParseMetaMessagingEdgeCases(t *testing.T) {
	body := `{"object":"instagram","entry":[{"id":"17841400000000001","time":1700000000999,"messaging":[
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000001,
		 "message":{"mid":"m-story","attachments":[{"type":"story_mention","payload":{"url":"https://cdn.test/story.mp4"}}]}},
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000002,
		 "message":{"mid":"m-reply","text":"about this","reply_to":{"mid":"m-earlier"}}},
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000003,
		 "reaction":{"mid":"m-reply","action":"react","reaction":"love","emoji":"\u2764\ufe0f"}},
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000004,
		 "reaction":{"mid":"m-reply","action":"unreact"}},
		{"sender":{"id":"901"},"recipient":{"id":"17841400000000001"},"timestamp":1700000000005,
		 "message":{"mid":"m-reply","is_deleted":true}}
	]}],"extra":{"ignored":true}}`
	got, err := ParseMeta([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	cust := Identity{Platform: Instagram, UserID: "901"}
	base := Event{Platform: Instagram, AccountID: "17841400000000001", Kind: KindDM, ThreadKey: "901", Author: cust, Customer: cust}
	story, reply, react, unreact, del := base, base, base, base, base
	story.Action, story.ExternalID = ActionMessage, "m-story"
	story.Attachments = []Attachment{{Type: "story_mention", URL: "https://cdn.test/story.mp4"}}
	story.Mention = true
	story.Timestamp = utc(2023, 11, 14, 22, 13, 20, 1)
	story.DedupeKey = "instagram:17841400000000001:message:m-story"
	reply.Action, reply.ExternalID, reply.Text, reply.ReplyTo = ActionMessage, "m-reply", "about this", "m-earlier"
	reply.Timestamp = utc(2023, 11, 14, 22, 13, 20, 2)
	reply.DedupeKey = "instagram:17841400000000001:message:m-reply"
	react.Action, react.ExternalID = ActionReaction, "m-reply"
	react.Reaction = &Reaction{TargetID: "m-reply", Emoji: "\u2764\ufe0f"}
	react.Timestamp = utc(2023, 11, 14, 22, 13, 20, 3)
	react.DedupeKey = "instagram:17841400000000001:reaction:m-reply:901:react:\u2764\ufe0f:1700000000003"
	unreact.Action, unreact.ExternalID = ActionReaction, "m-reply"
	unreact.Reaction = &Reaction{TargetID: "m-reply", Removed: true}
	unreact.Timestamp = utc(2023, 11, 14, 22, 13, 20, 4)
	unreact.DedupeKey = "instagram:17841400000000001:reaction:m-reply:901:unreact::1700000000004"
	del.Action, del.ExternalID = ActionDelete, "m-reply"
	del.Timestamp = utc(2023, 11, 14, 22, 13, 20, 5)
	del.DedupeKey = "instagram:17841400000000001:delete:m-reply"
	assertEvents(t, got, []Event{story, reply, react, unreact, del})
	checkInvariants(t, got, Instagram)
}

// The app dashboard's test button sends IG DMs as a "messages" change with a
// timestamp in seconds, as a string.
func TestParseMetaInstagramMessagesChange(t *testing.T) {
	body := `{"object":"instagram","entry":[{"id":"0","time":1527459824,"changes":[{"field":"messages","value":
		{"sender":{"id":"12334"},"recipient":{"id":"23245"},"timestamp":"1527459824","message":{"mid":"random_mid","text":"random_text"}}}]}]}`
	got, err := ParseMeta([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	who := Identity{Platform: Instagram, UserID: "12334"}
	assertEvents(t, got, []Event{{
		Platform: Instagram, AccountID: "0", Action: ActionMessage, Kind: KindDM, ExternalID: "random_mid",
		ThreadKey: "12334", Author: who, Customer: who, Text: "random_text",
		Timestamp: utc(2018, 5, 27, 22, 23, 44, 0), DedupeKey: "instagram:0:message:random_mid",
	}})
}

// A page-sent message without is_echo (some apps omit it) is still outbound.
func TestParseMetaPageSenderWithoutEchoFlag(t *testing.T) {
	body := `{"object":"page","entry":[{"id":"100","time":1,"messaging":[{"sender":{"id":"100"},"recipient":{"id":"555"},
		"timestamp":1700000000000,"message":{"mid":"m1","text":"we replied"}}]}]}`
	got, err := ParseMeta([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, got, []Event{{
		Platform: Facebook, AccountID: "100", Action: ActionMessage, Kind: KindDM, Echo: true, ExternalID: "m1",
		ThreadKey: "555", Author: Identity{Platform: Facebook, UserID: "100"}, Customer: Identity{Platform: Facebook, UserID: "555"},
		Text: "we replied", Timestamp: utc(2023, 11, 14, 22, 13, 20, 0), DedupeKey: "facebook:100:message:m1",
	}})
}

func TestParseMetaBatchedEntries(t *testing.T) {
	// Meta batches several entries (and several pages) in one delivery.
	a := fixture(t, "facebook/messenger_message_text.json")
	b := fixture(t, "facebook/messenger_message_echo.json")
	var ea, eb metaEnvelope
	if err := json.Unmarshal(a, &ea); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatal(err)
	}
	ea.Entry = append(ea.Entry, eb.Entry...)
	body, err := json.Marshal(ea)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMeta(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Text != "hello world" || got[1].Text != "hello" || got[0].Echo || !got[1].Echo {
		t.Fatalf("got %+v", got)
	}
	if got[0].ThreadKey != got[1].ThreadKey {
		t.Errorf("inbound and echo should share the customer's thread: %q vs %q", got[0].ThreadKey, got[1].ThreadKey)
	}
}

func TestRoutingIDs(t *testing.T) {
	tests := []struct {
		name, body string
		object     string
		ids        []string
	}{
		{"page feed", string(fixture(t, "facebook/feed_comment_add.json")), "page", []string{"206070979425408"}},
		{"instagram", string(fixture(t, "instagram/messaging_text.json")), "instagram", []string{"17841462460365475"}},
		// WhatsApp routes by phone number id, not by the WABA entry id.
		{"whatsapp", string(fixture(t, "whatsapp/message_text_signed_raw.json")), "whatsapp_business_account", []string{"277321005464405"}},
		{"whatsapp status", string(fixture(t, "whatsapp/status_read.json")), "whatsapp_business_account", []string{"1122334455667"}},
		{"batched, deduplicated, in order", `{"object":"page","entry":[{"id":"2"},{"id":1},{"id":"2"}]}`, "page", []string{"2", "1"}},
		{"whatsapp several numbers", `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[
			{"field":"messages","value":{"metadata":{"phone_number_id":"7"}}},
			{"field":"messages","value":{"metadata":{"phone_number_id":"8"}}},
			{"field":"messages","value":"odd"},
			{"field":"messages","value":{"metadata":{"phone_number_id":"7"}}}]}]}`, "whatsapp_business_account", []string{"7", "8"}},
	}
	for _, tt := range tests {
		object, ids, err := RoutingIDs([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if object != tt.object || !reflect.DeepEqual(ids, tt.ids) {
			t.Errorf("%s: got %q %q, want %q %q", tt.name, object, ids, tt.object, tt.ids)
		}
	}
	if _, _, err := RoutingIDs([]byte(`{"object":"page","entry":[{"id":{}}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("object id: err = %v, want ErrMalformed", err)
	}
	if _, _, err := RoutingIDs([]byte(`not json`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("not json: err = %v, want ErrMalformed", err)
	}
}
