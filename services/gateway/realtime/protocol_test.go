package realtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/shared/event"
)

func TestParseClientMessageFixtures(t *testing.T) {
	want := map[string]struct {
		typ    string
		stream string
		since  int64 // -1: absent
		err    error
	}{
		"auth.json":                   {typ: "auth", since: -1},
		"subscribe_inbox.json":        {typ: "subscribe", stream: "inbox", since: -1},
		"subscribe_inbox_since.json":  {typ: "subscribe", stream: "inbox", since: 42},
		"subscribe_conversation.json": {typ: "subscribe", stream: "conversation:65f1c0ffee00aa11bb22cc33", since: 7},
		"subscribe_crm.json":          {typ: "subscribe", stream: "crm", since: -1},
		"subscribe_system.json":       {typ: "subscribe", stream: "system", since: -1}, // refused later, as forbidden
		"unsubscribe.json":            {typ: "unsubscribe", stream: "conversation:c1", since: -1},
		"ping.json":                   {typ: "ping", since: -1},
		"typing.json":                 {typ: "typing", since: -1},
		"typing_stop.json":            {typ: "typing", since: -1},
		"view.json":                   {typ: "view", since: -1},
		"leave.json":                  {typ: "leave", since: -1},
		"bad_conversation.json":       {err: errBadStream},
		"bad_since.json":              {err: errBadMessage},
		"bad_since_huge.json":         {err: errBadMessage},
	}
	files, err := filepath.Glob("testdata/client/*.json")
	if err != nil || len(files) != len(want) {
		t.Fatalf("fixtures: %d files (%v), want %d", len(files), err, len(want))
	}
	for _, path := range files {
		w, ok := want[filepath.Base(path)]
		if !ok {
			t.Fatalf("fixture %s has no expectation", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseClientMessage(data)
		if w.err != nil {
			if !errors.Is(err, w.err) {
				t.Errorf("%s: err %v, want %v", path, err, w.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		since := int64(-1)
		if m.Since != nil {
			since = *m.Since
		}
		if m.Type != w.typ || m.Stream != w.stream || since != w.since {
			t.Errorf("%s: got type %q stream %q since %d, want %q %q %d", path, m.Type, m.Stream, since, w.typ, w.stream, w.since)
		}
	}
}

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want topic
		err  error
	}{
		{in: "inbox", want: topic{kind: topicInbox}},
		{in: "crm", want: topic{kind: topicCRM}},
		{in: "conversation:abc-DEF_1.2", want: topic{kind: topicConversation, conversationID: "abc-DEF_1.2"}},
		{in: "system", err: errSystemStream},
		{in: "presence", err: errBadStream},
		{in: "conversation:", err: errBadStream},
		{in: "conversation:a b", err: errBadStream},
		{in: "conversation:a:b", err: errBadStream},
		{in: "conversation:" + strings.Repeat("a", maxIDLength+1), err: errBadStream},
		{in: "Inbox", err: errBadStream},
	} {
		got, err := parseTopic(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("parseTopic(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.name() != tc.in {
			t.Errorf("name() = %q, want %q", got.name(), tc.in)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc.def":  "abc.def",
		"bearer  abc ":    "abc",
		"Basic dXNlcjpw":  "",
		"Bearer":          "",
		"":                "",
		"BearerX abc.def": "",
	} {
		if got := bearerToken(in); got != want {
			t.Errorf("bearerToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeEventEnvelope(t *testing.T) {
	e := event.Event{
		ID: "e1", Type: event.MessageCreated, WorkspaceID: "wsA", Stream: event.StreamInbox, Seq: 9,
		ConversationID: "c1", ConversationSeq: 4, UserID: "u7",
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Data: json.RawMessage(`{"text":"hi"}`),
	}
	got, err := encodeEvent(e, "conversation:c1", e.ConversationSeq)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"message.created","id":"e1","workspace_id":"wsA","stream":"conversation:c1","seq":4,` +
		`"conversation_id":"c1","user_id":"u7","time":"2025-01-02T03:04:05Z","data":{"text":"hi"}}`
	if string(got) != want {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}
	e.Data = json.RawMessage{}
	if got, err := encodeEvent(e, "inbox", 9); err != nil || !strings.HasSuffix(string(got), `"data":null}`) {
		t.Fatalf("empty data encodes as %s (%v), want data null", got, err)
	}
}

// FuzzParseClientMessage feeds arbitrary client frames to the parser: it must
// never panic, and whatever it accepts must satisfy the invariants the read
// pump relies on.
func FuzzParseClientMessage(f *testing.F) {
	files, err := filepath.Glob("testdata/client/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseClientMessage(data)
		if err != nil {
			if m != (clientMessage{}) {
				t.Fatalf("rejected message leaks fields: %+v", m)
			}
			return
		}
		switch m.Type {
		case msgAuth:
			if m.Token == "" || len(m.Token) > maxTokenLength {
				t.Fatalf("accepted token of length %d", len(m.Token))
			}
		case msgSubscribe, msgUnsubscribe:
			tp, err := parseTopic(m.Stream)
			if err != nil && !errors.Is(err, errSystemStream) {
				t.Fatalf("accepted stream %q: %v", m.Stream, err)
			}
			if err == nil && tp.name() != m.Stream {
				t.Fatalf("stream %q round-trips to %q", m.Stream, tp.name())
			}
			if m.Since != nil && *m.Since < 0 {
				t.Fatalf("accepted since %d", *m.Since)
			}
		case msgTyping, msgView, msgLeave:
			if !validID(m.ConversationID) {
				t.Fatalf("accepted conversation id %q", m.ConversationID)
			}
		case msgPing:
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}
