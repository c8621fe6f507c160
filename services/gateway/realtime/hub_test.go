package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

func TestAuthRequired(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, func(c *Config) { c.AuthTimeout = 200 * time.Millisecond })

	cases := []struct {
		name   string
		header string
		first  any // first message, nil for none
	}{
		{name: "no token, subscribe first", first: map[string]any{"type": "subscribe", "stream": "inbox"}},
		{name: "no token, silence"},
		{name: "forged header token", header: "forged"},
		{name: "forged auth message", first: map[string]any{"type": "auth", "token": "forged"}},
		{name: "auth message without token", first: map[string]any{"type": "auth"}},
		{name: "query token ignored", first: nil, header: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := th.url
			if tc.name == "query token ignored" {
				url += "?token=tok-a1"
			}
			h := map[string][]string{}
			if tc.header != "" {
				h["Authorization"] = []string{"Bearer " + tc.header}
			}
			ws, _, err := websocket.DefaultDialer.Dial(url, h)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			c := &client{t: t, ws: ws}
			if tc.first != nil {
				c.sendJSON(tc.first)
			}
			ce := c.expectClose()
			if ce.Code != CloseUnauthorized || ce.Text != "unauthorized" {
				t.Fatalf("close = %d %q, want %d unauthorized", ce.Code, ce.Text, CloseUnauthorized)
			}
		})
	}

	if n := th.hub.Stats().Connections; n != 0 {
		t.Fatalf("Connections = %d after refusals, want 0", n)
	}

	t.Run("auth message accepted", func(t *testing.T) {
		c := th.dial(t, "")
		c.sendJSON(map[string]any{"type": "auth", "token": "tok-a1"})
		if f := c.subscribe("inbox", -1); f.Type != "subscribed" || f.Stream != "inbox" {
			t.Fatalf("got %+v, want subscribed inbox", f)
		}
		if n := th.hub.Stats().Connections; n != 1 {
			t.Fatalf("Connections = %d, want 1", n)
		}
	})
	t.Run("header token accepted", func(t *testing.T) {
		c := th.dial(t, "tok-a1")
		c.sendJSON(map[string]any{"type": "ping"})
		if f := c.next(); f.Type != "pong" {
			t.Fatalf("got %+v, want pong", f)
		}
	})
}

func TestEventsStayInTheirWorkspace(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	a := th.dial(t, "tok-a1")
	b := th.dial(t, "tok-b1")
	for _, c := range []*client{a, b} {
		c.subscribe("inbox", -1)
		c.subscribe("conversation:c1", -1) // the same conversation id exists in both workspaces
	}

	bus.publish(t, "wsB", event.StreamInbox, "c1", 100)
	bus.publish(t, "wsB", event.StreamCRM, "", 101)
	bus.publish(t, "wsB", event.StreamSystem, "", 102)
	bus.publish(t, "wsA", event.StreamInbox, "c1", 1)

	// a sees exactly its own event, on both streams it holds, and nothing of B.
	got := map[string]serverFrame{}
	for range 2 {
		f := a.next()
		got[f.Stream] = f
	}
	for _, stream := range []string{"inbox", "conversation:c1"} {
		f := got[stream]
		if f.WorkspaceID != "wsA" || f.n(t) != 1 || f.Seq != 1 {
			t.Fatalf("a on %s got %+v, want wsA event 1 with seq 1", stream, f)
		}
	}
	a.sendJSON(map[string]any{"type": "ping"})
	if f := a.next(); f.Type != "pong" {
		t.Fatalf("a got %+v after its events, want pong (nothing from wsB)", f)
	}

	// b's replay of conversation c1 holds only wsB's events.
	b2 := th.dial(t, "tok-b1")
	if f := b2.subscribe("conversation:c1", 0); f.Type != "subscribed" || f.Seq != 1 {
		t.Fatalf("b2 subscribe answer %+v, want subscribed seq 1", f)
	}
	if f := b2.next(); f.WorkspaceID != "wsB" || f.n(t) != 100 || f.Stream != "conversation:c1" {
		t.Fatalf("b2 replay %+v, want wsB event 100", f)
	}
}

func TestCRMIsForManagers(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	agent := th.dial(t, "tok-a1")
	manager := th.dial(t, "tok-am")

	f := agent.subscribe("crm", -1)
	if f.Type != "error" || f.Code != ErrCodeForbidden || f.Stream != "crm" {
		t.Fatalf("agent crm subscribe got %+v, want error forbidden", f)
	}
	f = agent.subscribe("system", -1)
	if f.Type != "error" || f.Code != ErrCodeForbidden {
		t.Fatalf("system subscribe got %+v, want error forbidden", f)
	}
	f = agent.subscribe("inbox", -1)
	if f.Type != "subscribed" {
		t.Fatalf("agent inbox subscribe got %+v: refused subscriptions must not close the connection", f)
	}
	if f := manager.subscribe("crm", -1); f.Type != "subscribed" || f.Stream != "crm" {
		t.Fatalf("manager crm subscribe got %+v", f)
	}

	bus.publish(t, "wsA", event.StreamCRM, "", 7)
	bus.publish(t, "wsA", event.StreamInbox, "", 8)
	if f := manager.next(); f.Stream != "crm" || f.n(t) != 7 || f.Seq != 1 {
		t.Fatalf("manager got %+v, want crm event 7", f)
	}
	if f := agent.next(); f.Stream != "inbox" || f.n(t) != 8 {
		t.Fatalf("agent got %+v, want the inbox event and never the crm one", f)
	}
}

func TestSubscribeSinceReplaysMissedEvents(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hubFirst bool // the hub saw the events live, so it knows the current seq
	}{
		{name: "seq known from live feed", hubFirst: true},
		{name: "hub started after the events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := newFakeBus()
			var th *testHub
			if tc.hubFirst {
				th = startHub(t, bus, bus, nil)
			}
			for i := 1; i <= 10; i++ {
				conv := "c1"
				if i%2 == 0 {
					conv = "c2"
				}
				bus.publish(t, "wsA", event.StreamInbox, conv, i)
			}
			if !tc.hubFirst {
				th = startHub(t, bus, bus, nil)
			} else {
				waitFor(t, "hub to see the events", func() bool { return th.lastSeq("wsA", "inbox") == 10 })
			}
			c := th.dial(t, "tok-a1")

			if f := c.subscribe("inbox", 4); f.Type != "subscribed" || f.Seq != 10 {
				t.Fatalf("answer %+v, want subscribed seq 10", f)
			}
			for want := int64(5); want <= 10; want++ {
				f := c.next()
				if f.Type != event.MessageCreated || f.Stream != "inbox" || f.Seq != want || f.n(t) != int(want) {
					t.Fatalf("replay got %+v, want inbox event %d", f, want)
				}
			}

			// conversation c1 holds events 1,3,5,7,9 as conversation seqs 1..5.
			if f := c.subscribe("conversation:c1", 2); f.Type != "subscribed" || f.Seq != 5 {
				t.Fatalf("answer %+v, want subscribed conversation:c1 seq 5", f)
			}
			for want := int64(3); want <= 5; want++ {
				f := c.next()
				if f.Stream != "conversation:c1" || f.Seq != want || f.n(t) != int(2*want-1) {
					t.Fatalf("conversation replay got %+v, want conversation seq %d (event %d)", f, want, 2*want-1)
				}
			}

			// Live delivery continues right after the replay, without duplicates.
			bus.publish(t, "wsA", event.StreamInbox, "c1", 11)
			got := map[string]serverFrame{}
			for range 2 {
				f := c.next()
				got[f.Stream] = f
			}
			if f := got["inbox"]; f.Seq != 11 || f.n(t) != 11 {
				t.Fatalf("live inbox %+v, want seq 11", f)
			}
			if f := got["conversation:c1"]; f.Seq != 6 || f.n(t) != 11 {
				t.Fatalf("live conversation %+v, want conversation seq 6", f)
			}

			// Up to date: nothing to replay.
			c2 := th.dial(t, "tok-a2")
			if f := c2.subscribe("inbox", 11); f.Type != "subscribed" || f.Seq != 11 {
				t.Fatalf("up-to-date answer %+v, want subscribed seq 11", f)
			}
			c2.sendJSON(map[string]any{"type": "ping"})
			if f := c2.next(); f.Type != "pong" {
				t.Fatalf("got %+v, want pong: nothing is missed at since = current", f)
			}
		})
	}
}

func TestTrimmedHistoryResets(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	for i := 1; i <= 10; i++ {
		bus.publish(t, "wsA", event.StreamInbox, "c1", i)
	}
	bus.trim("wsA", event.StreamInbox, 5)
	c := th.dial(t, "tok-a1")

	if f := c.subscribe("inbox", 2); f.Type != "subscribed" || f.Seq != 10 {
		t.Fatalf("answer %+v, want subscribed seq 10", f)
	}
	if f := c.next(); f.Type != "reset" || f.Stream != "inbox" || f.Seq != 10 {
		t.Fatalf("got %+v, want reset inbox seq 10", f)
	}

	// A client ahead of the bus (it was flushed) is reset too.
	c2 := th.dial(t, "tok-a2")
	c2.subscribe("inbox", 100)
	if f := c2.next(); f.Type != "reset" || f.Seq != 10 {
		t.Fatalf("got %+v, want reset seq 10 for since > current", f)
	}

	// A conversation whose missed events are trimmed resets as well.
	c3 := th.dial(t, "tok-am")
	c3.subscribe("conversation:c1", 1)
	if f := c3.next(); f.Type != "reset" || f.Stream != "conversation:c1" || f.Seq != 10 {
		t.Fatalf("got %+v, want reset conversation:c1 seq 10", f)
	}

	// After a reset, live events continue.
	bus.publish(t, "wsA", event.StreamInbox, "", 11)
	if f := c.next(); f.Seq != 11 || f.n(t) != 11 {
		t.Fatalf("got %+v, want live event 11 after reset", f)
	}
}

func TestSeqSourceAnswersAfterRestart(t *testing.T) {
	bus := newFakeBus()
	for i := 1; i <= 6; i++ {
		bus.publish(t, "wsA", event.StreamInbox, "c1", i)
	}
	th := startHub(t, bus, seqBus{bus}, nil) // the hub has seen nothing live

	c := th.dial(t, "tok-a1")
	if f := c.subscribe("inbox", -1); f.Type != "subscribed" || f.Seq != 6 {
		t.Fatalf("answer %+v, want subscribed seq 6 from SeqSource", f)
	}
	if f := c.subscribe("conversation:c1", -1); f.Type != "subscribed" || f.Seq != 6 {
		t.Fatalf("answer %+v, want subscribed conversation seq 6", f)
	}
	c2 := th.dial(t, "tok-a2")
	c2.subscribe("inbox", 50)
	if f := c2.next(); f.Type != "reset" || f.Seq != 6 {
		t.Fatalf("got %+v, want reset to 6: the client is ahead of the bus", f)
	}
}

func TestLiveGapIsFilledFromHistory(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	c := th.dial(t, "tok-a1")
	bus.publish(t, "wsA", event.StreamInbox, "c1", 1) // the hub learns seq 1
	c.subscribe("inbox", -1)
	c.subscribe("conversation:c1", -1)

	// Events 2 and 3 are lost by the live feed (as during a Redis reconnect)
	// but kept in history.
	bus.setWithhold(func(e event.Event) bool { return e.Seq == 2 || e.Seq == 3 })
	bus.publish(t, "wsA", event.StreamInbox, "c1", 2)
	bus.publish(t, "wsA", event.StreamInbox, "c2", 3)
	bus.setWithhold(nil)
	bus.publish(t, "wsA", event.StreamInbox, "c1", 4)

	var inbox, conv []int64
	for len(inbox) < 3 || len(conv) < 2 {
		f := c.next()
		switch f.Stream {
		case "inbox":
			if int64(f.n(t)) != f.Seq {
				t.Fatalf("inbox frame %+v carries event %d", f, f.n(t))
			}
			inbox = append(inbox, f.Seq)
		case "conversation:c1":
			conv = append(conv, f.Seq)
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	if got := join(inbox); got != "2,3,4" {
		t.Fatalf("inbox seqs %s, want 2,3,4 in order", got)
	}
	if got := join(conv); got != "2,3" {
		t.Fatalf("conversation seqs %s, want 2,3 in order", got)
	}
	if th.hub.Stats().GapsFilled != 1 {
		t.Fatalf("GapsFilled = %d, want 1", th.hub.Stats().GapsFilled)
	}
}

func TestFlushedBusResetsSubscribers(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	c := th.dial(t, "tok-a1")
	for i := 1; i <= 3; i++ {
		bus.publish(t, "wsA", event.StreamInbox, "", i)
	}
	c.subscribe("inbox", 3)

	bus.flush()
	bus.publish(t, "wsA", event.StreamInbox, "", 1)
	if f := c.next(); f.Type != "reset" || f.Seq != 1 {
		t.Fatalf("got %+v, want reset seq 1 after the numbering restarted", f)
	}
	bus.publish(t, "wsA", event.StreamInbox, "", 2)
	if f := c.next(); f.Seq != 2 || f.n(t) != 2 {
		t.Fatalf("got %+v, want live event seq 2", f)
	}
}

func TestSlowConsumerIsDisconnected(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, func(c *Config) { c.SendQueue = 8 })
	slow := th.dial(t, "tok-a1")
	fast := th.dial(t, "tok-a2")
	slow.subscribe("inbox", -1)
	fast.subscribe("inbox", -1)

	pad := strings.Repeat("x", 16<<10)
	publish := func(n int) {
		e, err := event.New("wsA", event.StreamInbox, event.MessageCreated, map[string]any{"n": n, "pad": pad})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	// The slow client never reads: once its socket buffers are full its queue
	// fills and it is dropped. The fast one must get every event meanwhile.
	n := 0
	for extra := 0; extra < 20; n++ {
		if n > 4000 {
			t.Fatal("slow consumer still connected after 64 MB")
		}
		if th.hub.Stats().SlowDisconnects > 0 {
			extra++
		}
		publish(n + 1)
		if f := fast.next(); f.n(t) != n+1 || f.Seq != int64(n+1) {
			t.Fatalf("fast client got event %d seq %d, want %d", f.n(t), f.Seq, n+1)
		}
	}
	if s := th.hub.Stats(); s.SlowDisconnects != 1 {
		t.Fatalf("SlowDisconnects = %d, want 1", s.SlowDisconnects)
	}
	waitFor(t, "only the fast client to remain", func() bool { return th.hub.Stats().Connections == 1 })

	received := 0
	var err error
	for {
		if _, err = slow.read(5 * time.Second); err != nil {
			break
		}
		received++
	}
	t.Logf("published %d, slow received %d, err %v", n, received, err)
	if received >= n {
		t.Fatalf("slow client received all %d events; it should have been cut off", received)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || (ce.Code != CloseSlowConsumer && ce.Code != websocket.CloseAbnormalClosure) {
		t.Fatalf("slow client ended with %v, want close %d or an abnormal closure", err, CloseSlowConsumer)
	}
}

// TestBurstBeyondTheSocketBuffersIsDelivered: an ingest batch publishes
// thousands of events at once; a client that reads them a moment later gets
// every one, in order, and is not taken for a slow consumer.
func TestBurstBeyondTheSocketBuffersIsDelivered(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, func(c *Config) { c.SendQueueBytes = 64 << 20 })
	c := th.dial(t, "tok-a1")
	c.subscribe("inbox", -1)
	pad := strings.Repeat("x", 2<<10)
	const burst = 5000 // 10 MB: more than loopback socket buffers hold
	for n := 1; n <= burst; n++ {
		e, err := event.New("wsA", event.StreamInbox, event.MessageCreated, map[string]any{"n": n, "pad": pad})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= burst; n++ {
		if f := c.next(); f.n(t) != n || f.Seq != int64(n) {
			t.Fatalf("event %d arrived as %d (seq %d)", n, f.n(t), f.Seq)
		}
	}
	if s := th.hub.Stats(); s.SlowDisconnects != 0 || s.Connections != 1 {
		t.Fatalf("stats after the burst: %+v", s)
	}
}

// presenceOf decodes a presence frame.
func presenceOf(t *testing.T, f serverFrame) presenceData {
	t.Helper()
	var d presenceData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// nextPresence skips other frames until a presence frame of conversation id
// satisfying ok arrives.
func nextPresence(t *testing.T, c *client, id string, ok func(presenceData) bool) presenceData {
	t.Helper()
	for {
		f := c.next()
		if f.Type != event.Presence {
			continue
		}
		if f.Seq != 0 || f.Stream != "" {
			t.Fatalf("presence frame %+v must carry no seq", f)
		}
		if d := presenceOf(t, f); d.ConversationID == id && ok(d) {
			return d
		}
	}
}

func users(us []presenceUser) string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.UserID + ":" + u.Name
	}
	return strings.Join(ids, ",")
}

func TestTypingReachesUsersOnOtherInstances(t *testing.T) {
	bus := newFakeBus()
	gw1 := startHub(t, bus, bus, nil)
	gw2 := startHub(t, bus, bus, nil) // a second gateway instance on the same bus
	ann := gw1.dial(t, "tok-a1")
	bob := gw2.dial(t, "tok-a2")
	zed := gw1.dial(t, "tok-b1")
	for _, c := range []*client{ann, bob, zed} {
		c.subscribe("inbox", -1)
	}

	ann.sendJSON(map[string]any{"type": "view", "conversation_id": "c1"})
	d := nextPresence(t, bob, "c1", func(d presenceData) bool { return len(d.Viewers) == 1 })
	if users(d.Viewers) != "a1:Ann" || len(d.Typing) != 0 {
		t.Fatalf("bob sees %+v, want Ann viewing", d)
	}

	bob.sendJSON(map[string]any{"type": "typing", "conversation_id": "c1", "typing": true})
	d = nextPresence(t, ann, "c1", func(d presenceData) bool { return len(d.Typing) == 1 })
	if users(d.Typing) != "a2:Bob" || users(d.Viewers) != "a1:Ann" {
		t.Fatalf("ann sees %+v, want Bob typing while she views", d)
	}

	bob.sendJSON(map[string]any{"type": "typing", "conversation_id": "c1", "typing": false})
	nextPresence(t, ann, "c1", func(d presenceData) bool { return len(d.Typing) == 0 && len(d.Viewers) == 1 })

	// Leaving by disconnecting ends the view.
	ann.ws.Close()
	d = nextPresence(t, bob, "c1", func(d presenceData) bool { return len(d.Viewers) == 0 })
	if len(d.Typing) != 0 {
		t.Fatalf("bob sees %+v, want nobody", d)
	}

	// Workspace B heard nothing of A's presence.
	zed.sendJSON(map[string]any{"type": "ping"})
	if f := zed.next(); f.Type != "pong" {
		t.Fatalf("zed got %+v, want only its pong", f)
	}
}

func TestTypingExpires(t *testing.T) {
	const ttl = 300 * time.Millisecond
	bus := newFakeBus()
	th := startHub(t, bus, bus, func(c *Config) { c.TypingTTL = ttl })
	ann := th.dial(t, "tok-a1")
	bob := th.dial(t, "tok-a2")
	ann.subscribe("inbox", -1)
	bob.subscribe("inbox", -1)

	bob.sendJSON(map[string]any{"type": "typing", "conversation_id": "c1", "typing": true})
	nextPresence(t, ann, "c1", func(d presenceData) bool { return users(d.Typing) == "a2:Bob" })
	typingSeen := time.Now()
	nextPresence(t, ann, "c1", func(d presenceData) bool { return len(d.Typing) == 0 })
	if elapsed := time.Since(typingSeen); elapsed < ttl*2/3 {
		t.Fatalf("typing cleared after %v, before its TTL of %v", elapsed, ttl)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	c := th.dial(t, "tok-a1")
	c.subscribe("inbox", -1)
	c.sendJSON(map[string]any{"type": "unsubscribe", "stream": "inbox"})
	if f := c.next(); f.Type != "unsubscribed" || f.Stream != "inbox" {
		t.Fatalf("got %+v, want unsubscribed inbox", f)
	}
	bus.publish(t, "wsA", event.StreamInbox, "", 1)
	c.sendJSON(map[string]any{"type": "ping"})
	if f := c.next(); f.Type != "pong" {
		t.Fatalf("got %+v after unsubscribe, want pong", f)
	}
}

func TestBadMessagesAnswerErrors(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	c := th.dial(t, "tok-a1")
	for _, tc := range []struct {
		msg  string
		code string
	}{
		{`{"type":"subscribe","stream":"bogus"}`, ErrCodeInvalidStream},
		{`{"type":"subscribe","stream":"conversation:"}`, ErrCodeInvalidStream},
		{`{"type":"dance"}`, ErrCodeBadRequest},
		{`not json`, ErrCodeBadRequest},
		{`{"type":"auth","token":"tok-a2"}`, ErrCodeBadRequest},
	} {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		if f := c.next(); f.Type != "error" || f.Code != tc.code {
			t.Fatalf("%s: got %+v, want error %s", tc.msg, f, tc.code)
		}
	}
}

func TestShutdownClosesConnectionsGoingAway(t *testing.T) {
	bus := newFakeBus()
	h, err := NewHub(Config{Auth: testUsers, Source: bus})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	waitFor(t, "hub running", func() bool { return h.running.Load() })
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	c := (&testHub{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}).dial(t, "tok-a1")
	c.subscribe("inbox", -1)

	cancel()
	if ce := c.expectClose(); ce.Code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want %d", ce.Code, websocket.CloseGoingAway)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := h.Stats().Connections; n != 0 {
		t.Fatalf("Connections = %d after shutdown, want 0", n)
	}
}

func join(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ",")
}

// racingSource publishes a live event during the first history read, as if a
// message arrived while a reconnecting client's replay was being read.
type racingSource struct {
	*fakeBus
	once sync.Once
	race func()
}

func (s *racingSource) History(ctx context.Context, ws, stream string, after int64, limit int) ([]event.Event, error) {
	evs, err := s.fakeBus.History(ctx, ws, stream, after, limit)
	s.once.Do(s.race)
	return evs, err
}

func TestReplayRacingALiveEventHasNoGapOrDuplicate(t *testing.T) {
	for _, stream := range []string{"inbox", "conversation:c1"} {
		t.Run(stream, func(t *testing.T) {
			bus := newFakeBus()
			src := &racingSource{fakeBus: bus}
			src.race = func() { bus.publish(t, "wsA", event.StreamInbox, "c1", 11) }
			th := startHub(t, bus, src, nil)
			for i := 1; i <= 10; i++ {
				bus.publish(t, "wsA", event.StreamInbox, "c1", i)
			}
			waitFor(t, "hub to see the events", func() bool { return th.lastSeq("wsA", "inbox") == 10 })
			c := th.dial(t, "tok-a1")
			c.subscribe(stream, 4)
			// Whether event 11 comes as replay or live, the client sees 5..11 once each.
			for want := int64(5); want <= 11; want++ {
				if f := c.next(); f.Seq != want || f.n(t) != int(want) {
					t.Fatalf("got %+v, want seq %d", f, want)
				}
			}
			c.sendJSON(map[string]any{"type": "ping"})
			if f := c.next(); f.Type != "pong" {
				t.Fatalf("got %+v, want pong: event 11 came twice", f)
			}
		})
	}
}
