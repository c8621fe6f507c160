package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/event"
)

// startPriority runs the service's priority consumer and returns once it
// handles events (a memory-bus group only sees events published after it joined).
func (h *harness) startPriority(ws string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.svc.Priority.Run(ctx, h.bus)
	}()
	h.t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for h.svc.Priority.Handled() == 0 {
		if time.Now().After(deadline) {
			h.t.Fatal("priority consumer handled nothing")
		}
		h.publishStatus(ws, conversation.Conversation{ID: "probe", WorkspaceID: ws}, conversation.StatusOpen, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
}

// settlePriority waits until the priority consumer has handled every event
// published before the call.
func (h *harness) settlePriority(ws string) {
	h.t.Helper()
	before := h.svc.Priority.Handled()
	h.publishStatus(ws, conversation.Conversation{ID: "probe", WorkspaceID: ws}, conversation.StatusOpen, time.Now())
	deadline := time.Now().Add(20 * time.Second)
	last := int64(-1)
	for time.Now().Before(deadline) {
		n := h.svc.Priority.Handled()
		if n > before && n == last {
			return
		}
		last = n
		time.Sleep(150 * time.Millisecond)
	}
	h.t.Fatal("priority did not settle")
}

// comments posts n comments on post, by distinct authors, step apart from t0.
func (h *harness) comments(ch channelJSON, post string, n int, t0 time.Time, step time.Duration, text string) {
	h.t.Helper()
	var msgs []string
	for i := range n {
		msgs = append(msgs, fmt.Sprintf(`{"id":"%s-c%d","kind":"comment","post":{"id":%q},"author":{"id":"fan%d"},"text":%q,"timestamp":%q}`,
			post, i, post, i, text, t0.Add(time.Duration(i)*step).Format(time.RFC3339)))
	}
	h.postAPI(ch, []byte(`{"messages":[`+strings.Join(msgs, ",")+`]}`))
	h.drain()
}

func (h *harness) priorityOf(ws, convID string) (string, []string) {
	h.t.Helper()
	cv, err := h.svc.Store.Conversation(context.Background(), ws, convID)
	if err != nil {
		h.t.Fatal(err)
	}
	return cv.Priority, cv.PriorityReasons
}

// priorityEvents returns, per conversation, the priorities announced by conversation.updated.
func priorityEvents(evs []event.Event) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		if e.Type != event.ConversationUpdated {
			continue
		}
		var cv conversation.Conversation
		if json.Unmarshal(e.Data, &cv) == nil && cv.Priority != "" {
			out[cv.ID] = append(out[cv.ID], cv.Priority)
		}
	}
	return out
}

func TestFastGrowingNegativeThreadBecomesUrgent(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-triage"
	h.startPriority(ws)
	ch := h.createChannel(ws, "api", nil)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// 24 angry comments within 8 minutes after a quiet hour: a storm.
	h.comments(ch, "p-angry", 24, t0, 20*time.Second, "this is a scam, terrible service, I want a refund")
	// 24 happy comments just as fast: an opportunity, not a risk.
	h.comments(ch, "p-happy", 24, t0, 20*time.Second, "love it, great product, thank you")
	// 6 angry comments spread over an hour: negative but calm.
	h.comments(ch, "p-calm", 6, t0, 10*time.Minute, "this is a scam, terrible service")
	h.settlePriority(ws)

	angry := h.conversation(ws, ch.ID, conversation.KindComment, "p-angry").ID
	happy := h.conversation(ws, ch.ID, conversation.KindComment, "p-happy").ID
	calm := h.conversation(ws, ch.ID, conversation.KindComment, "p-calm").ID
	// It turns urgent at the 20th comment (triage's default MinRecent); the
	// reasons are those of that moment.
	p, reasons := h.priorityOf(ws, angry)
	if p != "urgent" || len(reasons) != 2 || !strings.HasPrefix(reasons[0], "negative: 20 of the latest 20 ") ||
		!strings.HasPrefix(reasons[1], "accelerating: 20 comments and reactions in the last 15 min against 0 ") {
		t.Fatalf("angry thread: %q %q", p, reasons)
	}
	if p, _ := h.priorityOf(ws, happy); p != "" {
		t.Fatalf("happy thread: %q", p)
	}
	if p, reasons := h.priorityOf(ws, calm); p != "high" || len(reasons) != 1 {
		t.Fatalf("calm negative thread: %q %q", p, reasons)
	}
	got := priorityEvents(h.events(ws, event.StreamInbox))
	// The angry thread was raised once to high (its first five comments),
	// then once to urgent; never announced again at the same priority.
	if strings.Join(got[angry], ",") != "high,urgent" || len(got[happy]) != 0 {
		t.Fatalf("priority events: %v", got)
	}
}

func TestVIPCustomerConversationsBecomeHigh(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-vip"
	h.startPriority(ws)
	ch := h.createChannel(ws, "api", nil)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h.customerSays(ch, "m1", "vip1", t0)
	h.customerSays(ch, "m2", "plain", t0)
	existing := h.conversation(ws, ch.ID, conversation.KindDM, "vip1").ID
	plain := h.conversation(ws, ch.ID, conversation.KindDM, "plain").ID

	tier := func(contact, tier, user string) {
		e, err := event.New(ws, event.StreamSystem, event.ContactTierChanged, map[string]any{"contact_id": contact, "tier": tier,
			"previous_tier": "regular", "identities": []map[string]string{{"platform": "api", "user_id": user}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.bus.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	tier("c-vip1", "vip", "vip1")
	tier("c-ref", "top_referrer", "vip2")
	tier("c-plain", "regular", "plain")
	h.settlePriority(ws)
	if p, reasons := h.priorityOf(ws, existing); p != "high" || len(reasons) != 1 || reasons[0] != "customer tier: vip" {
		t.Fatalf("open conversation of a new VIP: %q %q", p, reasons)
	}
	// A known top referrer's new DM is high from its first message.
	h.customerSays(ch, "m3", "vip2", t0.Add(time.Hour))
	h.customerSays(ch, "m4", "plain", t0.Add(time.Hour))
	h.settlePriority(ws)
	fresh := h.conversation(ws, ch.ID, conversation.KindDM, "vip2").ID
	if p, reasons := h.priorityOf(ws, fresh); p != "high" || len(reasons) != 1 || reasons[0] != "customer tier: top_referrer" {
		t.Fatalf("new DM of a top referrer: %q %q", p, reasons)
	}
	if p, _ := h.priorityOf(ws, plain); p != "" {
		t.Fatalf("regular customer: %q", p)
	}
	// Another workspace's tiers do not leak.
	other := "ws-vip-other"
	och := h.createChannel(other, "api", nil)
	h.customerSays(och, "m5", "vip1", t0)
	h.settlePriority(ws)
	if p, _ := h.priorityOf(other, h.conversation(other, och.ID, conversation.KindDM, "vip1").ID); p != "" {
		t.Fatalf("VIP in another workspace: %q", p)
	}
}
