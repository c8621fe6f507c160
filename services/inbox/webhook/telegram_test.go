package webhook

import (
	"errors"
	"testing"
)

func TestParseTelegramFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []Event
	}{
		{"telegram/update_message_text.json", []Event{{
			Platform: Telegram, Action: ActionMessage, Kind: KindDM,
			ExternalID: "3527065:41",
			ThreadKey:  "3527065",
			Author:     Identity{Platform: Telegram, UserID: "3527065", Handle: "nicpottier", Name: "Nic Pottier"},
			Customer:   Identity{Platform: Telegram, UserID: "3527065", Handle: "nicpottier", Name: "Nic Pottier"},
			Text:       "Hello World",
			Timestamp:  utc(2016, 1, 30, 1, 57, 9, 0),
			DedupeKey:  "telegram::message:3527065%3A41",
		}}},
		// Four sizes of one photo: the largest (720x1280) is kept.
		{"telegram/update_message_photo.json", []Event{{
			Platform: Telegram, Action: ActionMessage, Kind: KindDM,
			ExternalID:  "3527065:85",
			ThreadKey:   "3527065",
			Author:      Identity{Platform: Telegram, UserID: "3527065", Handle: "Nicpottier", Name: "Nic Pottier"},
			Customer:    Identity{Platform: Telegram, UserID: "3527065", Handle: "Nicpottier", Name: "Nic Pottier"},
			Text:        "Photo Caption",
			Attachments: []Attachment{{Type: AttachmentImage, MediaID: "AgADAQADtKcxG4LRUUQSQVUjfJIiiF8G6C8ABA9NJzFdXskaincBAAEC"}},
			Timestamp:   utc(2017, 5, 3, 20, 28, 38, 0),
			DedupeKey:   "telegram::message:3527065%3A85",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseTelegram(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tt.want)
			checkInvariants(t, got, Telegram)
		})
	}
}

func TestParseTelegramGroupsAndChannels(t *testing.T) {
	group := `{"update_id":1,"message":{"message_id":7,"from":{"id":42,"first_name":"Ada"},
		"chat":{"id":-1001234567890,"title":"Fans","type":"supergroup"},"date":1700000000,
		"text":"same here","reply_to_message":{"message_id":5,"chat":{"id":-1001234567890,"type":"supergroup"},"date":1,"text":"old"}}}`
	channel := `{"update_id":2,"channel_post":{"message_id":9,"chat":{"id":-1009,"title":"News","username":"newsch","type":"channel"},
		"date":1700000001,"document":{"file_id":"DOC1","file_name":"a.pdf","mime_type":"application/pdf"},"caption":"report"}}`
	ignored := `{"update_id":3,"callback_query":{"id":"1","from":{"id":42},"data":"x"}}`

	got, err := ParseTelegram([]byte(group))
	if err != nil {
		t.Fatal(err)
	}
	ada := Identity{Platform: Telegram, UserID: "42", Name: "Ada"}
	assertEvents(t, got, []Event{{
		Platform: Telegram, Action: ActionMessage, Kind: KindComment,
		ExternalID: "-1001234567890:7", ThreadKey: "-1001234567890", ParentID: "-1001234567890:5",
		Post:   &Post{ID: "-1001234567890", Text: "Fans", Type: "supergroup"},
		Author: ada, Customer: ada, Text: "same here",
		Timestamp: utc(2023, 11, 14, 22, 13, 20, 0), DedupeKey: "telegram::message:-1001234567890%3A7",
	}})

	got, err = ParseTelegram([]byte(channel))
	if err != nil {
		t.Fatal(err)
	}
	news := Identity{Platform: Telegram, UserID: "-1009", Handle: "newsch", Name: "News"}
	assertEvents(t, got, []Event{{
		Platform: Telegram, Action: ActionMessage, Kind: KindComment,
		ExternalID: "-1009:9", ThreadKey: "-1009", Post: &Post{ID: "-1009", Text: "News", Type: "channel"},
		Author: news, Customer: news, Text: "report",
		Attachments: []Attachment{{Type: AttachmentFile, MimeType: "application/pdf", MediaID: "DOC1", Name: "a.pdf"}},
		Timestamp:   utc(2023, 11, 14, 22, 13, 21, 0), DedupeKey: "telegram::message:-1009%3A9",
	}})

	got, err = ParseTelegram([]byte(ignored))
	if err != nil || len(got) != 0 {
		t.Errorf("callback_query: got %v, %v; want nothing", got, err)
	}
}

func TestParseTelegramMalformed(t *testing.T) {
	for _, body := range []string{``, `42`, `{"message":`, `{"message":[]}`, `{"message":{"from":"me"}}`} {
		if _, err := ParseTelegram([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseTelegram(%q) err = %v, want ErrMalformed", body, err)
		}
	}
}
