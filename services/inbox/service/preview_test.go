package service

import (
	"net/http"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
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
