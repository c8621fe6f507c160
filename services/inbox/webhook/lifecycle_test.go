package webhook

import (
	"reflect"
	"strings"
	"testing"
)

// Each case delivers the life of one message as separate bodies, in the
// order a platform may send them. Every event must name the same message
// (ExternalID), every delivery must get its own DedupeKey, and a retried
// delivery must reproduce its key exactly.
func TestLifecycleSharesExternalIDWithDistinctDedupeKeys(t *testing.T) {
	feed := func(verb, extra string) string {
		return `{"object":"page","entry":[{"id":"100","time":` + extra + `,"changes":[{"field":"feed","value":{"item":"comment","verb":"` + verb +
			`","comment_id":"200_301","post_id":"100_200","parent_id":"100_200","from":{"id":"555","name":"Ann"},"created_time":1700000000,"message":"text at ` + extra + `"}}]}]}`
	}
	messenger := func(item string) string {
		return `{"object":"page","entry":[{"id":"100","time":1,"messaging":[{"sender":{"id":"555"},"recipient":{"id":"100"},` + item + `}]}]}`
	}
	ig := func(item string) string {
		return `{"object":"instagram","entry":[{"id":"100","time":1,"messaging":[{"sender":{"id":"555"},"recipient":{"id":"100"},` + item + `}]}]}`
	}
	tg := func(kind, extra string) string {
		return `{"update_id":1,"` + kind + `":{"message_id":41,"from":{"id":7},"chat":{"id":7,"type":"private"},"date":1700000000,` + extra + `}}`
	}
	api := func(extra string) string { return `{"id":"m-1","author":{"id":"u"},` + extra + `}` }

	tests := []struct {
		name    string
		parse   func([]byte) ([]Event, error)
		bodies  []string
		id      string
		actions []Action
	}{
		{"facebook feed", ParseMeta, []string{
			feed("add", "1700000001"), feed("edited", "1700000050"), feed("edited", "1700000090"),
			feed("hide", "1700000100"), feed("unhide", "1700000200"), feed("hide", "1700000300"), feed("remove", "1700000400"),
		}, "200_301", []Action{ActionMessage, ActionEdit, ActionEdit, ActionHide, ActionUnhide, ActionHide, ActionDelete}},
		{"messenger", ParseMeta, []string{
			messenger(`"timestamp":1700000000000,"message":{"mid":"mid.1:a","text":"helo"}`),
			messenger(`"timestamp":1700000005000,"message_edit":{"mid":"mid.1:a","text":"hello","num_edit":1}`),
			messenger(`"timestamp":1700000009000,"message_edit":{"mid":"mid.1:a","text":"hello!","num_edit":2}`),
		}, "mid.1:a", []Action{ActionMessage, ActionEdit, ActionEdit}},
		// Two edits without timestamps still differ by their text.
		{"messenger edits without time", ParseMeta, []string{
			messenger(`"message_edit":{"mid":"m","text":"one"}`),
			messenger(`"message_edit":{"mid":"m","text":"two"}`),
		}, "m", []Action{ActionEdit, ActionEdit}},
		{"instagram unsend", ParseMeta, []string{
			ig(`"timestamp":1700000000000,"message":{"mid":"igmid","text":"oops"}`),
			ig(`"timestamp":1700000001000,"message":{"mid":"igmid","is_deleted":true}`),
		}, "igmid", []Action{ActionMessage, ActionDelete}},
		{"telegram", ParseTelegram, []string{
			tg("message", `"text":"helo"`),
			tg("edited_message", `"edit_date":1700000010,"text":"hello"`),
			tg("edited_message", `"edit_date":1700000020,"text":"hello!"`),
		}, "7:41", []Action{ActionMessage, ActionEdit, ActionEdit}},
		{"x", ParseX, []string{
			`{"for_user_id":"1","tweet_create_events":[{"id_str":"9","text":"@b hi","user":{"id_str":"2"},"timestamp_ms":"1700000000000"}]}`,
			`{"for_user_id":"1","tweet_delete_events":[{"status":{"id":"9","user_id":"2"},"timestamp_ms":"1700000001000"}]}`,
		}, "9", []Action{ActionMessage, ActionDelete}},
		{"api", ParseAPI, []string{
			api(`"text":"a"`),
			api(`"action":"edit","text":"b","timestamp":"2024-01-01T00:00:00Z"`),
			api(`"action":"edit","text":"c","timestamp":"2024-01-01T00:01:00Z"`),
			api(`"action":"delete"`),
		}, "m-1", []Action{ActionMessage, ActionEdit, ActionEdit, ActionDelete}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := map[string]int{}
			for i, body := range tt.bodies {
				evs, err := tt.parse([]byte(body))
				if err != nil {
					t.Fatalf("body %d: %v", i, err)
				}
				if len(evs) != 1 {
					t.Fatalf("body %d: %d events", i, len(evs))
				}
				ev := evs[0]
				if ev.ExternalID != tt.id || ev.Action != tt.actions[i] {
					t.Errorf("body %d: ExternalID %q Action %q, want %q %q", i, ev.ExternalID, ev.Action, tt.id, tt.actions[i])
				}
				if j, dup := keys[ev.DedupeKey]; dup {
					t.Errorf("body %d: DedupeKey %q already used by body %d", i, ev.DedupeKey, j)
				}
				keys[ev.DedupeKey] = i
				retry, err := tt.parse([]byte(body))
				if err != nil || !reflect.DeepEqual(retry, evs) {
					t.Errorf("body %d: retried delivery parsed differently: %+v", i, retry)
				}
			}
		})
	}
}

// Polling returns unchanged comments again and again; only a new edit may produce a new key.
func TestYouTubeRepollKeys(t *testing.T) {
	page := func(updated, text string) []byte {
		return []byte(`{"items":[{"snippet":{"channelId":"UCme","videoId":"v1","topLevelComment":{"id":"c1","snippet":{
			"videoId":"v1","textOriginal":"` + text + `","authorChannelId":{"value":"UCfan"},
			"publishedAt":"2024-01-01T00:00:00Z","updatedAt":"` + updated + `"}}}}]}`)
	}
	parse := func(b []byte) []Event {
		t.Helper()
		evs, _, err := ParseYouTubeCommentThreads(b)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	fresh := parse(page("2024-01-01T00:00:00Z", "first"))
	again := parse(page("2024-01-01T00:00:00Z", "first"))
	if len(fresh) != 1 || !reflect.DeepEqual(fresh, again) {
		t.Fatalf("unchanged comment: %+v then %+v", fresh, again)
	}
	edited := parse(page("2024-01-02T00:00:00Z", "second"))
	editedAgain := parse(page("2024-01-02T00:00:00Z", "second"))
	edited2 := parse(page("2024-01-03T00:00:00Z", "third"))
	if len(edited) != 2 || len(edited2) != 2 || !reflect.DeepEqual(edited, editedAgain) {
		t.Fatalf("edited: %+v / %+v / %+v", edited, editedAgain, edited2)
	}
	if edited[0].DedupeKey != fresh[0].DedupeKey || edited2[0].DedupeKey != fresh[0].DedupeKey {
		t.Errorf("the create key changed with an edit: %q %q %q", fresh[0].DedupeKey, edited[0].DedupeKey, edited2[0].DedupeKey)
	}
	if edited[1].Action != ActionEdit || edited[1].ExternalID != "c1" || edited[1].Text != "second" ||
		!edited[1].Timestamp.Equal(utc(2024, 1, 2, 0, 0, 0, 0)) {
		t.Errorf("edit event: %+v", edited[1])
	}
	if edited[1].DedupeKey == edited2[1].DedupeKey || edited[1].DedupeKey == fresh[0].DedupeKey {
		t.Errorf("edit keys not distinct: %q %q", edited[1].DedupeKey, edited2[1].DedupeKey)
	}
}

func TestDedupeKeyEscapesSeparators(t *testing.T) {
	// Without escaping, id "a:b" plus part "c" and id "a" plus part "b:c" would collide.
	k1 := dedupeKey(Facebook, "p", ActionEdit, "a:b", "c")
	k2 := dedupeKey(Facebook, "p", ActionEdit, "a", "b:c")
	if k1 == k2 {
		t.Fatalf("collision: %q", k1)
	}
	if k1 != "facebook:p:edit:a%3Ab:c" || dedupeKey(X, "1", ActionMessage, "50%") != "x:1:message:50%25" {
		t.Errorf("keys: %q, %q", k1, dedupeKey(X, "1", ActionMessage, "50%"))
	}
	if strings.Count(dedupeKey(Telegram, "", ActionMessage, "-100:5"), ":") != 3 {
		t.Errorf("telegram key has unescaped separators")
	}
}
