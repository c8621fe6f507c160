package realtime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/communityinbox/shared/event"
)

func TestPresenceStateAggregatesSessions(t *testing.T) {
	const viewTTL, typeTTL = time.Minute, 6 * time.Second
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var p presenceState
	render := func() presenceData {
		t.Helper()
		var f presenceFrame
		if err := json.Unmarshal(p.render("c1"), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "presence" || f.Data.ConversationID != "c1" {
			t.Fatalf("frame %+v", f)
		}
		return f.Data
	}

	if d := render(); d.Viewers == nil || d.Typing == nil || len(d.Viewers)+len(d.Typing) != 0 {
		t.Fatalf("empty state renders %+v, want empty lists (not null)", d)
	}

	// Ann views from two tabs, Bob types without viewing.
	p.apply(presenceChange{ConversationID: "c1", Session: "s1", UserID: "ann", Name: "Ann", Viewing: true}, t0, viewTTL, typeTTL)
	p.apply(presenceChange{ConversationID: "c1", Session: "s2", UserID: "ann", Name: "Ann", Viewing: true}, t0, viewTTL, typeTTL)
	p.apply(presenceChange{ConversationID: "c1", Session: "s3", UserID: "bob", Name: "Bob", Typing: true}, t0, viewTTL, typeTTL)
	d := render()
	if users(d.Viewers) != "ann:Ann" || users(d.Typing) != "bob:Bob" {
		t.Fatalf("got viewers %s typing %s, want ann / bob", users(d.Viewers), users(d.Typing))
	}

	// One of Ann's tabs leaves: she still views.
	p.apply(presenceChange{ConversationID: "c1", Session: "s1", UserID: "ann", Name: "Ann"}, t0, viewTTL, typeTTL)
	if d := render(); users(d.Viewers) != "ann:Ann" {
		t.Fatalf("viewers %s after one tab left, want ann", users(d.Viewers))
	}

	// Typing lapses at its TTL, not before; views last longer.
	if p.expire(t0.Add(typeTTL - time.Millisecond)) {
		t.Fatal("expire reported a change before any TTL")
	}
	if d := render(); users(d.Typing) != "bob:Bob" {
		t.Fatalf("typing %s just before TTL, want bob", users(d.Typing))
	}
	if !p.expire(t0.Add(typeTTL)) {
		t.Fatal("expire reported no change at the typing TTL")
	}
	if d := render(); len(d.Typing) != 0 || users(d.Viewers) != "ann:Ann" {
		t.Fatalf("at TTL got %+v, want ann viewing, nobody typing", d)
	}
	if len(p.sessions) != 1 {
		t.Fatalf("%d sessions kept, want 1 (bob's is empty)", len(p.sessions))
	}

	// A refresh moves the deadline; without it the view ends at its TTL.
	p.apply(presenceChange{ConversationID: "c1", Session: "s2", UserID: "ann", Name: "Ann", Viewing: true}, t0.Add(30*time.Second), viewTTL, typeTTL)
	p.expire(t0.Add(viewTTL))
	if p.empty() {
		t.Fatal("refreshed view expired at the old deadline")
	}
	p.expire(t0.Add(30*time.Second + viewTTL))
	if !p.empty() {
		t.Fatalf("view still present after its TTL: %+v", render())
	}
}

func TestDecodePresenceRejectsInvalid(t *testing.T) {
	valid := presenceChange{ConversationID: "c1", Session: "s", UserID: "u", Name: "N", Viewing: true}
	e, err := newPresenceEvent("wsA", valid)
	if err != nil {
		t.Fatal(err)
	}
	if e.Stream != StreamPresence || e.ConversationID != "c1" || e.Type != "presence" {
		t.Fatalf("event %+v", e)
	}
	if got, err := decodePresence(e); err != nil || got != valid {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, valid)
	}
	for _, bad := range []presenceChange{
		{ConversationID: "c 1", Session: "s", UserID: "u"},
		{ConversationID: "c1", UserID: "u"},
		{ConversationID: "c1", Session: "s"},
	} {
		e, _ := newPresenceEvent("wsA", bad)
		if _, err := decodePresence(e); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// nextPresenceFrom is nextPresence for a pumped client.
func nextPresenceFrom(t *testing.T, frames <-chan serverFrame, id string, ok func(presenceData) bool) presenceData {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, open := <-frames:
			if !open {
				t.Fatal("connection closed while waiting for presence")
			}
			if f.Type != event.Presence {
				continue
			}
			if d := presenceOf(t, f); d.ConversationID == id && ok(d) {
				return d
			}
		case <-timeout:
			t.Fatal("timed out waiting for presence")
		}
	}
}

func TestViewsLastWhileRefreshedAndExpireWhenNot(t *testing.T) {
	const viewTTL = 300 * time.Millisecond
	bus := newFakeBus()
	th := startHub(t, bus, bus, func(c *Config) { c.ViewingTTL = viewTTL }, fastTiming)
	ann := th.dial(t, "tok-a1")
	bob := th.dial(t, "tok-a2")
	bob.subscribe("inbox", -1)
	ann.pump() // answers pings
	bobFrames := bob.pump()

	// Ann's connection answers pings, and pongs refresh her view past its TTL.
	ann.sendJSON(map[string]any{"type": "view", "conversation_id": "c1"})
	nextPresenceFrom(t, bobFrames, "c1", func(d presenceData) bool { return users(d.Viewers) == "a1:Ann" })
	deadline := time.After(3 * viewTTL)
wait:
	for {
		select {
		case f := <-bobFrames:
			if f.Type == event.Presence && len(presenceOf(t, f).Viewers) == 0 {
				t.Fatalf("Ann's view expired although her connection kept answering pings")
			}
		case <-deadline:
			break wait
		}
	}

	// A viewer announced by an instance that then died expires at the TTL.
	ghost, err := newPresenceEvent("wsA", presenceChange{ConversationID: "c2", Session: "ghost", UserID: "g1", Name: "Gus", Viewing: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Publish(t.Context(), ghost); err != nil {
		t.Fatal(err)
	}
	nextPresenceFrom(t, bobFrames, "c2", func(d presenceData) bool { return users(d.Viewers) == "g1:Gus" })
	seen := time.Now()
	nextPresenceFrom(t, bobFrames, "c2", func(d presenceData) bool { return len(d.Viewers) == 0 })
	if elapsed := time.Since(seen); elapsed < viewTTL*2/3 {
		t.Fatalf("ghost view expired after %v, before its TTL of %v", elapsed, viewTTL)
	}
}
