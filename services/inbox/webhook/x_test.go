package webhook

import (
	"errors"
	"testing"
)

func TestParseXFixtures(t *testing.T) {
	tanu := Identity{Platform: X, UserID: "1247048165561270272", Handle: "TanuLearns", Name: "Tanu Learns"}
	jordan := Identity{Platform: X, UserID: "3001969357", Handle: "furiouscamper", Name: "Jordan Brinks"}
	tests := []struct {
		file string
		want []Event
	}{
		// Tanu replies to her own tweet and mentions the subscribed account:
		// the answered tweet is not ours, so it is the parent, and the post is unknown.
		{"x/tweet_create_events_mention_reply.json", []Event{{
			Platform: X, AccountID: "1114259648326987776", Action: ActionMessage, Kind: KindComment,
			ExternalID: "1332557345071644672",
			ThreadKey:  "1332252354599555074",
			ParentID:   "1332252354599555074",
			Author:     tanu,
			Customer:   tanu,
			Text:       "@Learn_Awesome Save this",
			Timestamp:  utc(2020, 11, 28, 5, 30, 3, 440),
			DedupeKey:  "x:1114259648326987776:message:1332557345071644672",
			Mention:    true, // names the account in a reply to someone else
		}}},
		{"x/direct_message_events.json", []Event{{
			Platform: X, AccountID: "4337869213", Action: ActionMessage, Kind: KindDM,
			ExternalID: "954491830116155396",
			ThreadKey:  "3001969357",
			Author:     jordan,
			Customer:   jordan,
			Text:       "Hello World!",
			Timestamp:  utc(2018, 1, 19, 23, 12, 40, 557),
			DedupeKey:  "x:4337869213:message:954491830116155396",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseX(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tt.want)
			checkInvariants(t, got, X)
		})
	}
}

func TestParseXEdgeCases(t *testing.T) {
	body := `{"for_user_id":"100",
	"tweet_create_events":[
		{"id_str":"201","text":"@brand is this &amp; that &lt;ok&gt;?","in_reply_to_status_id_str":"150","in_reply_to_user_id_str":"100",
		 "user":{"id_str":"300","screen_name":"cust","name":"Cus Tomer"},"created_at":"Sat Nov 28 05:30:03 +0000 2020",
		 "truncated":true,"extended_tweet":{"full_text":"@brand is this &amp; that &lt;ok&gt;? (long version)",
		   "extended_entities":{"media":[{"id_str":"9","type":"video","media_url_https":"https://pbs.test/thumb.jpg","url":"https://t.co/v",
		     "video_info":{"variants":[{"content_type":"application/x-mpegURL","url":"https://video.test/pl.m3u8"},
		       {"bitrate":256000,"content_type":"video/mp4","url":"https://video.test/low.mp4"},
		       {"bitrate":832000,"content_type":"video/mp4","url":"https://video.test/high.mp4"}]}}]}}},
		{"id_str":"202","text":"@cust thanks!","in_reply_to_status_id_str":"201","in_reply_to_user_id_str":"300","in_reply_to_screen_name":"cust",
		 "user":{"id_str":"100","screen_name":"brand","name":"Brand"},"timestamp_ms":"1606541404000"},
		{"id_str":"203","text":"RT @brand: news","user":{"id_str":"301"},"retweeted_status":{"id_str":"150"},"timestamp_ms":"1606541405000"}
	],
	"tweet_delete_events":[{"status":{"id":"201","user_id":"300"},"timestamp_ms":"1606541406000"}],
	"direct_message_indicate_typing_events":[{"created_timestamp":"1","sender_id":"300","target":{"recipient_id":"100"}}],
	"direct_message_events":[
		{"type":"message_create","id":"401","created_timestamp":"1606541407000","message_create":{"target":{"recipient_id":"300"},"sender_id":"100",
		 "message_data":{"text":"here you go https://t.co/img","attachment":{"type":"media","media":{"id_str":"77","type":"photo","media_url_https":"https://pbs.test/img.jpg","url":"https://t.co/img"}}}}},
		{"type":"message_delete","id":"402"}
	],
	"users":{"300":{"id":"300","name":"Cus Tomer","screen_name":"cust"},"100":{"id":"100","name":"Brand","screen_name":"brand"}}}`
	got, err := ParseX([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	cust := Identity{Platform: X, UserID: "300", Handle: "cust", Name: "Cus Tomer"}
	brand := Identity{Platform: X, UserID: "100", Handle: "brand", Name: "Brand"}
	want := []Event{
		// A reply to the brand's tweet 150 is a top-level comment on it.
		{
			Platform: X, AccountID: "100", Action: ActionMessage, Kind: KindComment, ExternalID: "201",
			ThreadKey: "150", Post: &Post{ID: "150"}, Author: cust, Customer: cust,
			Text:        "@brand is this & that <ok>? (long version)",
			Attachments: []Attachment{{Type: AttachmentVideo, URL: "https://video.test/high.mp4", MimeType: "video/mp4", MediaID: "9"}},
			Timestamp:   utc(2020, 11, 28, 5, 30, 3, 0), // from created_at: no timestamp_ms
			DedupeKey:   "x:100:message:201",
		},
		// The brand answering the customer's reply: an echo whose customer is the one answered.
		{
			Platform: X, AccountID: "100", Action: ActionMessage, Kind: KindComment, Echo: true, ExternalID: "202",
			ThreadKey: "201", ParentID: "201",
			Author:    Identity{Platform: X, UserID: "100", Handle: "brand", Name: "Brand"},
			Customer:  Identity{Platform: X, UserID: "300", Handle: "cust"},
			Text:      "@cust thanks!",
			Timestamp: utc(2020, 11, 28, 5, 30, 4, 0),
			DedupeKey: "x:100:message:202",
		},
		{
			Platform: X, AccountID: "100", Action: ActionDelete, Kind: KindComment, ExternalID: "201",
			Author: Identity{Platform: X, UserID: "300"}, Customer: Identity{Platform: X, UserID: "300"},
			Timestamp: utc(2020, 11, 28, 5, 30, 6, 0),
			DedupeKey: "x:100:delete:201",
		},
		{
			Platform: X, AccountID: "100", Action: ActionMessage, Kind: KindDM, Echo: true, ExternalID: "401",
			ThreadKey: "300", Author: brand, Customer: cust,
			Text:        "here you go",
			Attachments: []Attachment{{Type: AttachmentImage, URL: "https://pbs.test/img.jpg", MediaID: "77"}},
			Timestamp:   utc(2020, 11, 28, 5, 30, 7, 0),
			DedupeKey:   "x:100:message:401",
		},
	}
	assertEvents(t, got, want)
	checkInvariants(t, got, X)
}

func TestParseXMalformed(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"for_user_id":`, `{"tweet_create_events":{}}`, `{"users":[1]}`} {
		if _, err := ParseX([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseX(%q) err = %v, want ErrMalformed", body, err)
		}
	}
	evs, err := ParseX([]byte(`{"for_user_id":"1","favorite_events":[{"id":"x"}]}`))
	if err != nil || len(evs) != 0 {
		t.Errorf("favorite only: got %v, %v; want nothing", evs, err)
	}
}

// TestParseXMentionAndShare pins which tweets reach the author's audience
// with our account in them: a tweet naming the account (in entities or, for
// long tweets, extended_tweet.entities) unless it replies to the account, and
// a quote of the account's tweet. The account's own tweets are neither.
func TestParseXMentionAndShare(t *testing.T) {
	body := `{"for_user_id":"100","tweet_create_events":[
		{"id_str":"1","text":"love @brand","user":{"id_str":"300"},"entities":{"user_mentions":[{"id_str":"100","screen_name":"brand"}]}},
		{"id_str":"2","text":"@brand thanks","in_reply_to_status_id_str":"50","in_reply_to_user_id_str":"100","user":{"id_str":"300"},
		 "entities":{"user_mentions":[{"id_str":"100","screen_name":"brand"}]}},
		{"id_str":"3","text":"long…","truncated":true,"user":{"id_str":"300"},"entities":{"user_mentions":[]},
		 "extended_tweet":{"full_text":"long text naming @brand","entities":{"user_mentions":[{"id":100,"screen_name":"brand"}]}}},
		{"id_str":"4","text":"look at this","user":{"id_str":"300"},"is_quote_status":true,"quoted_status":{"id_str":"60","user":{"id_str":"100"}}},
		{"id_str":"5","text":"look at that","user":{"id_str":"300"},"quoted_status":{"id_str":"61","user":{"id_str":"999"}},
		 "entities":{"user_mentions":[{"id_str":"999"}]}},
		{"id_str":"6","text":"we are @brand","user":{"id_str":"100"},"entities":{"user_mentions":[{"id_str":"100"}]},
		 "quoted_status":{"user":{"id_str":"100"}}}
	]}`
	got, err := ParseX([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]bool{"1": {true, false}, "2": {false, false}, "3": {true, false}, "4": {false, true}, "5": {false, false}, "6": {false, false}}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for _, ev := range got {
		if w := want[ev.ExternalID]; ev.Mention != w[0] || ev.Share != w[1] {
			t.Errorf("tweet %s: mention %v share %v, want %v %v", ev.ExternalID, ev.Mention, ev.Share, w[0], w[1])
		}
	}
	checkInvariants(t, got, X)
}
