package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seed adds every fixture of the given platform directories to the corpus.
func seed(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		for _, name := range fixtures(f, dir) {
			f.Add(fixture(f, name))
		}
	}
}

// checkParse asserts the invariants every parser keeps on any input: errors
// are ErrMalformed (YouTube also reports API errors), events satisfy
// checkInvariants, and parsing is deterministic, so a retried delivery maps
// to the same DedupeKeys.
func checkParse(t *testing.T, body []byte, parse func([]byte) ([]Event, error), platforms ...Platform) []Event {
	evs, err := parse(body)
	if err != nil {
		if len(evs) != 0 {
			t.Fatalf("events returned with error %v", err)
		}
		return nil
	}
	checkInvariants(t, evs, platforms...)
	again, err := parse(body)
	if err != nil || !reflect.DeepEqual(evs, again) {
		t.Fatalf("second parse differs: %v", err)
	}
	return evs
}

func FuzzParseMeta(f *testing.F) {
	seed(f, "facebook", "instagram", "whatsapp")
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":"2_3","post_id":"1_2","parent_id":"2_1"}}]}]}`))
	f.Add([]byte(`{"object":"instagram","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"reaction":{"mid":"m","action":"react","emoji":"x"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseMeta(body)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		evs = checkParse(t, body, ParseMeta, Facebook, Instagram, WhatsApp)
		if len(evs) == 0 {
			return
		}
		// The HTTP layer picks the channel (and its secret) from RoutingIDs,
		// so every parsed event must belong to a routed id.
		_, ids, err := RoutingIDs(body)
		if err != nil {
			t.Fatalf("ParseMeta accepted what RoutingIDs rejects: %v", err)
		}
		for _, ev := range evs {
			if ev.AccountID != "" && !slices.Contains(ids, ev.AccountID) {
				t.Fatalf("event for account %q, routing ids %q", ev.AccountID, ids)
			}
		}
	})
}

func FuzzParseX(f *testing.F) {
	seed(f, "x")
	f.Add([]byte(`{"for_user_id":"1","tweet_create_events":[{"id_str":"5","text":"a &amp; b","in_reply_to_status_id_str":"4","in_reply_to_user_id_str":"1","user":{"id_str":"2"},"extended_entities":{"media":[{"id_str":"m","type":"animated_gif","video_info":{"variants":[{"bitrate":1,"content_type":"video/mp4","url":"u"}]}}]}}]}`))
	f.Add([]byte(`{"for_user_id":"1","direct_message_events":[{"type":"message_create","id":"d","created_timestamp":"1","message_create":{"sender_id":"1","target":{"recipient_id":"2"},"message_data":{"text":"x https://t.co/a","attachment":{"media":{"url":"https://t.co/a","type":"photo"}}}}}],"users":{"2":{"screen_name":"s"}}}`))
	f.Add([]byte(`{"for_user_id":"1","tweet_delete_events":[{"status":{"id":"9","user_id":"1"},"timestamp_ms":"5"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseX(body); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		checkParse(t, body, ParseX, X)
	})
}

func FuzzParseTelegram(f *testing.F) {
	seed(f, "telegram")
	f.Add([]byte(`{"edited_channel_post":{"message_id":1,"chat":{"id":-5,"type":"channel"},"edit_date":9,"photo":[{"file_id":"a","width":1,"height":1}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseTelegram(body); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		checkParse(t, body, ParseTelegram, Telegram)
	})
}

func FuzzParseYouTube(f *testing.F) {
	seed(f, "youtube")
	// Small seeds: mutations of the 26 KB fixtures mostly break the JSON syntax.
	f.Add([]byte(`{"nextPageToken":"n","items":[{"snippet":{"channelId":"UCa","videoId":"v","topLevelComment":{"id":"c","snippet":{"textOriginal":"t","authorChannelId":{"value":"UCb"},"publishedAt":"2020-01-01T00:00:00Z","updatedAt":"2020-01-02T00:00:00Z"}}},"replies":{"comments":[{"id":"c.r","snippet":{"parentId":"c","textDisplay":"a<br>b","authorChannelId":{"value":"UCa"},"publishedAt":"2020-01-03T00:00:00Z"}}]}}]}`))
	f.Add([]byte(`{"items":[{"snippet":{"channelId":"UCa","topLevelComment":{"id":"c","snippet":{"textDisplay":"&amp;","authorChannelId":"UCb"}}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		parse := func(b []byte) ([]Event, error) {
			evs, _, err := ParseYouTubeCommentThreads(b)
			return evs, err
		}
		for _, ev := range checkParse(t, body, parse, YouTube) {
			if ev.Kind != KindComment || ev.Post == nil || ev.ThreadKey != ev.Post.ID {
				t.Fatalf("youtube event not a comment on its post: %+v", ev)
			}
		}
	})
}

func FuzzParseAPI(f *testing.F) {
	f.Add([]byte(`{"id":"m","author":{"id":"u"},"text":"hi"}`))
	f.Add([]byte(`{"messages":[{"id":"c","kind":"comment","thread_id":"p","author":{"id":"u"},"attachments":[{"type":"image","url":"u"}]},{"id":"m","action":"delete","author":{"id":"u"}}]}`))
	f.Add([]byte(`{"id":"m","author":{"id":"u"},"text":"x","echo":true,"customer":{"id":"c"},"timestamp":"2024-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseAPI(body); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		for _, ev := range checkParse(t, body, ParseAPI, API) {
			if ev.ThreadKey == "" || ev.Author.UserID == "" {
				t.Fatalf("validated event without thread or author: %+v", ev)
			}
			if ev.Action != ActionDelete && ev.Text == "" && len(ev.Attachments) == 0 {
				t.Fatalf("validated event without content: %+v", ev)
			}
		}
	})
}

func FuzzVerifyMetaSignature(f *testing.F) {
	f.Add(fbAppSecret, fixture(f, "facebook/messenger_message_text_signed_raw.json"), fbSignature)
	f.Add(waAppSecret, fixture(f, "whatsapp/message_text_signed_raw.json"), waSignature)
	f.Add(fbAppSecret, fixture(f, "facebook/messenger_message_text_signed_raw.json"), fbSHA1Header)
	f.Add("", []byte("{}"), "sha256=")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sum := mac.Sum(nil)

		err := VerifyMetaSignature(secret, body, header)
		switch {
		case secret == "":
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("empty secret accepted or misreported: %v", err)
			}
			return
		case err == nil:
			// Accepted: the header must really carry this body's HMAC.
			sig := strings.TrimSpace(header)
			got, decErr := hex.DecodeString(sig[len("sha256="):])
			if !strings.EqualFold(sig[:len("sha256=")], "sha256=") || decErr != nil || !hmac.Equal(got, sum) {
				t.Fatalf("accepted a wrong signature %q", header)
			}
		case !errors.Is(err, ErrBadSignature):
			t.Fatalf("rejection is not ErrBadSignature: %v", err)
		}
		// The correct signature is always accepted, and not for a changed body.
		good := "sha256=" + hex.EncodeToString(sum)
		if err := VerifyMetaSignature(secret, body, good); err != nil {
			t.Fatalf("correct signature rejected: %v", err)
		}
		changed := append(append([]byte{}, body...), ' ')
		if err := VerifyMetaSignature(secret, changed, good); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signature accepted for a changed body: %v", err)
		}
	})
}
