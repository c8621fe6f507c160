package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// TestListPreviewsTheLastMessage: the inbox list shows each conversation's
// newest message by platform time, one line, whoever wrote it; a late older
// message does not replace it and a sent reply does.
func TestListPreviewsTheLastMessage(t *testing.T) {
	w := newWF(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	w.dm("psid-p", "mid.p2", "Where is\n  my order?", base.Add(time.Minute))
	w.dm("psid-p", "mid.p1", "hello", base) // delivered late
	c := w.only("")
	if c.LastMsgText != "Where is my order?" || c.LastMsgDir != "in" || c.MessageCount != 2 {
		t.Fatalf("after two messages: %+v", c)
	}
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "It ships today."}, "", http.StatusAccepted, nil)
	if c := w.only(""); c.LastMsgText != "Where is my order?" {
		t.Fatalf("a pending reply took the preview: %+v", c)
	}
	if n := w.sendAll(); n != 1 {
		t.Fatalf("outbox handled %d jobs", n)
	}
	if c := w.only(""); c.LastMsgText != "It ships today." || c.LastMsgDir != "out" {
		t.Fatalf("after the reply was sent: %+v", c)
	}
}

// TestPreviewFollowsEditsAndDeletes: an edit of the newest message shows in
// the preview, an edit of an older one does not, a delete empties it, and an
// edit that arrives before its original is what the preview shows.
func TestPreviewFollowsEditsAndDeletes(t *testing.T) {
	h := newHarness(t, true, nil)
	const ws = "ws-preview"
	api := h.createChannel(ws, "api", nil)
	preview := func() string {
		t.Helper()
		return h.conversation(ws, api.ID, conversation.KindDM, "cust").LastMessageText
	}
	steps := []struct {
		body []byte
		want string
	}{
		{apiMessage("m1", "", "cust", "first", "2024-05-01T10:00:00Z"), "first"},
		{apiMessage("m2", "", "cust", "second", "2024-05-01T10:01:00Z"), "second"},
		{apiMessage("m2", "edit", "cust", "second, edited", "2024-05-01T10:02:00Z"), "second, edited"},
		{apiMessage("m1", "edit", "cust", "first, edited", "2024-05-01T10:03:00Z"), "second, edited"},
		{apiMessage("m2", "delete", "cust", "", "2024-05-01T10:04:00Z"), ""},
		{apiMessage("m4", "edit", "cust", "fourth, edited", "2024-05-01T10:06:00Z"), ""},
		{apiMessage("m4", "", "cust", "fourth", "2024-05-01T10:05:00Z"), "fourth, edited"},
	}
	for i, st := range steps {
		h.postAPI(api, st.body)
		h.drain()
		if got := preview(); got != st.want {
			t.Fatalf("step %d: preview %q, want %q", i, got, st.want)
		}
	}
}

// TestUnreadCountsUntilTheTeamReads: incoming messages are unread until an
// agent reads the conversation (up to what they saw) or answers it; every
// agent's list follows through conversation.updated; other workspaces cannot
// mark it.
func TestUnreadCountsUntilTheTeamReads(t *testing.T) {
	w := newWF(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 3 {
		w.dm("psid-u", fmt.Sprintf("mid.u%d", i), fmt.Sprintf("message %d", i), base.Add(time.Duration(i)*time.Minute))
	}
	c := w.only("")
	if c.Unread != 3 || c.IncomingCnt != 3 {
		t.Fatalf("before reading: %+v", c)
	}
	read := func(body any, status int) convJSON {
		t.Helper()
		var out convJSON
		w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/read", body, "", status, &out)
		return out
	}
	stranger := w.tokenFor("ws-other", "u-zed", "Zed", "zed@example.test", auth.RoleAgent)
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/read", nil, stranger, http.StatusNotFound, nil)
	read(map[string]int{"incoming_count": -1}, http.StatusBadRequest)
	if got := read(map[string]int{"incoming_count": 2}, http.StatusOK); got.Unread != 1 {
		t.Fatalf("read up to 2 of 3: %+v", got)
	}
	if got := read(map[string]int{"incoming_count": 1}, http.StatusOK); got.Unread != 1 {
		t.Fatalf("reading less took the mark back: %+v", got)
	}
	if got := read(nil, http.StatusOK); got.Unread != 0 {
		t.Fatalf("read all: %+v", got)
	}
	if evs := w.eventsOf(event.ConversationUpdated); !hasUnread(t, evs[len(evs)-1], 0) {
		t.Fatalf("last conversation.updated: %s", evs[len(evs)-1].Data)
	}
	w.dm("psid-u", "mid.u3", "still there?", base.Add(10*time.Minute))
	if c := w.only(""); c.Unread != 1 {
		t.Fatalf("after a new message: %+v", c)
	}
	if evs := w.eventsOf(event.ConversationUpdated); !hasUnread(t, evs[len(evs)-1], 1) {
		t.Fatalf("the new message's conversation.updated: %s", evs[len(evs)-1].Data)
	}
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "Yes!"}, "", http.StatusAccepted, nil)
	if c := w.only(""); c.Unread != 0 {
		t.Fatalf("after a reply: %+v", c)
	}
	// Reading more than was counted reads everything, not ahead.
	read(map[string]int{"incoming_count": 99}, http.StatusOK)
	w.dm("psid-u", "mid.u4", "thanks", base.Add(20*time.Minute))
	if c := w.only(""); c.Unread != 1 {
		t.Fatalf("a read beyond the count swallowed a new message: %+v", c)
	}
}

func hasUnread(t *testing.T, e event.Event, n int64) bool {
	t.Helper()
	var c conversation.Conversation
	if err := json.Unmarshal(e.Data, &c); err != nil {
		t.Fatal(err)
	}
	return c.UnreadCount == n
}
