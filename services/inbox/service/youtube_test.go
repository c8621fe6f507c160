package service

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/event"
)

func TestYouTubeCommentsArePolledIntoThreads(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "youtube", "commentThreads_list_with_replies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.URL.Query().Get("key")+" "+r.URL.Query().Get("allThreadsRelatedToChannelId"))
		w.Write(page)
	}))
	defer srv.Close()
	h := newHarness(t, true, func(c *Config) { c.YouTubeAPIURL = srv.URL })
	const ws = "ws-yt"
	yt := h.createChannel(ws, "youtube", map[string]any{"channel_id": "UC5VgEt3Na1zZDJo-PBa86Rg", "api_key": "AIza-test"})
	ctx := context.Background()
	if _, err := h.svc.Poller().PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "AIza-test UC5VgEt3Na1zZDJo-PBa86Rg" {
		t.Fatalf("requests %q", keys)
	}
	if n := h.count("messages", nil); n != 13 {
		t.Fatalf("%d messages, want 13", n)
	}
	// The channel answered a comment: the reply is outgoing, under its parent.
	cv := h.conversation(ws, yt.ID, conversation.KindComment, "ibpMob4wgHs")
	top := h.message(ws, yt.ID, "UghpFKUJfaHCZHgCoAEC")
	reply := h.message(ws, yt.ID, "UghpFKUJfaHCZHgCoAEC.8JEh4_ERo0a8JFaFXGFIQc")
	if top.Direction != conversation.DirectionIn || top.Author.Name != "InsightShare" || reply.Direction != conversation.DirectionOut ||
		reply.ParentID != top.ID || cv.MessageCount != 2 || cv.IncomingCount != 1 || cv.OutgoingCount != 1 || !cv.WaitingSince.IsZero() ||
		cv.Post == nil || cv.Post.Type != "video" || cv.Customer.Name != "InsightShare" {
		t.Fatalf("thread %+v / %+v / %+v", cv, top, reply)
	}
	// updatedAt after publishedAt is an edit.
	edited := h.message(ws, yt.ID, "Ugh3p7eIPb2zJngCoAEC")
	if len(edited.Edits) != 1 || !edited.Edits[0].At.Equal(at("2017-06-06T18:29:55Z")) || !edited.PlatformTime.Equal(at("2017-06-06T18:29:09Z")) {
		t.Fatalf("edited %+v", edited)
	}
	before := len(h.events(ws, event.StreamInbox))
	if _, err := h.svc.Poller().PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.count("messages", nil); n != 13 {
		t.Fatalf("re-poll stored %d messages", n)
	}
	if after := len(h.events(ws, event.StreamInbox)); after != before || before != 13+countConversations(h) {
		t.Fatalf("events: %d on the first poll, %d more on the re-poll", before, after-before)
	}
}

func countConversations(h *harness) int { return int(h.count("conversations", nil)) }
