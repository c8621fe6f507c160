package assign

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T, agents ...Agent) *Engine {
	t.Helper()
	e := New()
	for _, a := range agents {
		if _, err := e.SetAgent(a); err != nil {
			t.Fatal(err)
		}
		if _, err := e.AgentOnline(a.ID); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func wait(t *testing.T, e *Engine, id, channel string, p Priority, since time.Time) []Assignment {
	t.Helper()
	as, err := e.ConversationWaiting(Waiting{ConversationID: id, Channel: channel, Priority: p, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// who renders assignments as "conv→agent".
func who(as []Assignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ConversationID+"→"+a.AgentID)
	}
	return out
}

func TestRoundRobinFairness(t *testing.T) {
	e := setup(t, Agent{ID: "bob", Channels: []string{"fb"}}, Agent{ID: "ann", Channels: []string{"fb"}}, Agent{ID: "cy", Channels: []string{"fb"}})
	var got []string
	for i := range 7 {
		got = append(got, who(wait(t, e, fmt.Sprintf("c%d", i), "fb", Normal, t0.Add(time.Duration(i)*time.Minute)))...)
	}
	want := []string{"c0→ann", "c1→bob", "c2→cy", "c3→ann", "c4→bob", "c5→cy", "c6→ann"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if e.Load("ann") != 3 || e.Load("bob") != 2 || e.Load("cy") != 2 {
		t.Fatalf("loads %d %d %d", e.Load("ann"), e.Load("bob"), e.Load("cy"))
	}
}

func TestCapacityAndQueueDrainsOnResolve(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}, Capacity: 1}, Agent{ID: "bob", Channels: []string{"fb"}, Capacity: 2})
	var got []string
	for i := 1; i <= 4; i++ {
		got = append(got, who(wait(t, e, fmt.Sprintf("c%d", i), "fb", Normal, t0.Add(time.Duration(i)*time.Minute)))...)
	}
	if want := []string{"c1→ann", "c2→bob", "c3→bob"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if q := e.Queue(); len(q) != 1 || q[0].ConversationID != "c4" {
		t.Fatalf("queue %v", q)
	}
	// ann resolves c1: the waiting c4 goes to her at once.
	if as := who(e.ConversationClosed("c1")); !reflect.DeepEqual(as, []string{"c4→ann"}) {
		t.Fatalf("drain %v", as)
	}
	if e.Load("ann") != 1 || e.Load("bob") != 2 || len(e.Queue()) != 0 {
		t.Fatalf("loads %d %d, queue %v", e.Load("ann"), e.Load("bob"), e.Queue())
	}
	// Closing an unknown or already closed conversation changes nothing.
	if as := e.ConversationClosed("c1"); as != nil || e.Load("ann") != 1 {
		t.Fatalf("second close %v", as)
	}
}

func TestOfflineAgentsSkippedAndOnlineDrains(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}}, Agent{ID: "bob", Channels: []string{"fb"}, Capacity: 1})
	if err := e.AgentOffline("ann"); err != nil {
		t.Fatal(err)
	}
	got := append(who(wait(t, e, "c1", "fb", Normal, t0)), who(wait(t, e, "c2", "fb", Normal, t0.Add(time.Minute)))...)
	if !reflect.DeepEqual(got, []string{"c1→bob"}) {
		t.Fatalf("got %v", got)
	}
	as, err := e.AgentOnline("ann")
	if err != nil || !reflect.DeepEqual(who(as), []string{"c2→ann"}) {
		t.Fatalf("online drain %v %v", who(as), err)
	}
	// Going offline keeps what the agent holds.
	if err := e.AgentOffline("bob"); err != nil || e.Load("bob") != 1 {
		t.Fatalf("offline bob: %v load %d", err, e.Load("bob"))
	}
}

func TestPriorityBeforeWaitingTime(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}, Capacity: 1})
	wait(t, e, "busy", "fb", Normal, t0)
	wait(t, e, "n-old", "fb", Normal, t0.Add(1*time.Minute))
	wait(t, e, "u-late", "fb", Urgent, t0.Add(5*time.Minute))
	wait(t, e, "h", "fb", High, t0.Add(2*time.Minute))
	wait(t, e, "u-early", "fb", Urgent, t0.Add(3*time.Minute))
	wait(t, e, "n-new", "fb", "", t0.Add(4*time.Minute)) // "" is normal
	var order []string
	for _, w := range e.Queue() {
		order = append(order, w.ConversationID)
	}
	if want := []string{"u-early", "u-late", "h", "n-old", "n-new"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("queue %v, want %v", order, want)
	}
	var served []string
	prev := "busy"
	for range 5 {
		as := e.ConversationClosed(prev)
		if len(as) != 1 {
			t.Fatalf("after closing %s: %v", prev, as)
		}
		prev = as[0].ConversationID
		served = append(served, prev)
	}
	if !reflect.DeepEqual(served, order) {
		t.Fatalf("served %v", served)
	}
}

func TestReprioritizeKeepsWaitingTime(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}, Capacity: 1})
	wait(t, e, "busy", "fb", Normal, t0)
	wait(t, e, "a", "fb", Normal, t0.Add(time.Minute))
	wait(t, e, "b", "fb", High, t0.Add(2*time.Minute))
	// Triage raises "a" to high later: it keeps its earlier Since and goes first.
	wait(t, e, "a", "fb", High, t0.Add(10*time.Minute))
	q := e.Queue()
	if len(q) != 2 || q[0].ConversationID != "a" || q[0].Priority != High || !q[0].Since.Equal(t0.Add(time.Minute)) {
		t.Fatalf("queue %+v", q)
	}
	// Waiting again for a conversation an agent holds is a no-op.
	if as := wait(t, e, "busy", "fb", Urgent, t0); as != nil || len(e.Queue()) != 2 {
		t.Fatalf("held conversation re-queued: %v", as)
	}
}

func TestChannelsDoNotBlockEachOther(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}}, Agent{ID: "wan", Channels: []string{"wa"}, Capacity: 1})
	got := who(wait(t, e, "w1", "wa", Normal, t0))
	got = append(got, who(wait(t, e, "w2", "wa", Urgent, t0))...) // wan is full
	got = append(got, who(wait(t, e, "f1", "fb", Normal, t0.Add(time.Hour)))...)
	got = append(got, who(wait(t, e, "x1", "x", Normal, t0))...) // nobody works X
	if want := []string{"w1→wan", "f1→ann"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if q := e.Queue(); len(q) != 2 || q[0].ConversationID != "w2" || q[1].ConversationID != "x1" {
		t.Fatalf("queue %v", q)
	}
	// Giving ann the wa channel drains w2 to her.
	as, err := e.SetAgent(Agent{ID: "ann", Channels: []string{"fb", "wa"}})
	if err != nil || !reflect.DeepEqual(who(as), []string{"w2→ann"}) {
		t.Fatalf("after SetAgent %v %v", who(as), err)
	}
}

func TestManualAssignmentCountsAndMoves(t *testing.T) {
	e := setup(t, Agent{ID: "ann", Channels: []string{"fb"}, Capacity: 1}, Agent{ID: "bob", Channels: []string{"fb"}, Capacity: 1})
	wait(t, e, "q", "fb", Normal, t0) // → ann
	// A manager gives "m" to ann beyond her capacity, then moves "q" to bob.
	if err := e.Assigned("m", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := e.Assigned("q", "bob"); err != nil {
		t.Fatal(err)
	}
	if e.Load("ann") != 1 || e.Load("bob") != 1 {
		t.Fatalf("loads %d %d", e.Load("ann"), e.Load("bob"))
	}
	if as := wait(t, e, "n", "fb", Normal, t0); as != nil {
		t.Fatalf("assigned beyond capacity: %v", as)
	}
	if err := e.Assigned("x", "nobody"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("unknown agent: %v", err)
	}
}

func TestInvalidInput(t *testing.T) {
	e := New()
	if _, err := e.SetAgent(Agent{ID: "a", Capacity: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative capacity: %v", err)
	}
	if _, err := e.ConversationWaiting(Waiting{ConversationID: "c"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no channel: %v", err)
	}
	if _, err := e.ConversationWaiting(Waiting{ConversationID: "c", Channel: "fb", Priority: "asap"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad priority: %v", err)
	}
	if _, err := e.AgentOnline("ghost"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("unknown agent online: %v", err)
	}
}

// TestConcurrentEvents hammers the engine from many goroutines; run with
// -race. Whatever the interleaving, no agent exceeds capacity, no
// conversation is assigned twice and none is lost.
func TestConcurrentEvents(t *testing.T) {
	agents := []Agent{{ID: "a", Channels: []string{"fb"}, Capacity: 3}, {ID: "b", Channels: []string{"fb"}, Capacity: 2}}
	e := setup(t, agents...)
	var mu sync.Mutex
	holder := map[string]string{}
	closed := 0
	record := func(as []Assignment) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range as {
			if prev, ok := holder[a.ConversationID]; ok {
				t.Errorf("%s assigned twice (%s, %s)", a.ConversationID, prev, a.AgentID)
			}
			holder[a.ConversationID] = a.AgentID
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("g%d-%d", g, i)
				as, err := e.ConversationWaiting(Waiting{ConversationID: id, Channel: "fb", Since: t0.Add(time.Duration(i) * time.Second)})
				if err != nil {
					t.Error(err)
					return
				}
				record(as)
				if i%2 == 0 {
					mu.Lock()
					_, held := holder[id]
					if held {
						delete(holder, id)
						closed++
					}
					mu.Unlock()
					if held {
						record(e.ConversationClosed(id))
					}
				}
				if e.Load("a") > 3 || e.Load("b") > 2 {
					t.Errorf("capacity exceeded: a=%d b=%d", e.Load("a"), e.Load("b"))
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if e.Load("a")+e.Load("b") != len(holder) || e.Load("a") != 3 || e.Load("b") != 2 {
		t.Fatalf("loads a=%d b=%d, held %d", e.Load("a"), e.Load("b"), len(holder))
	}
	// Every conversation is closed, held or still queued: none lost.
	if q := len(e.Queue()); closed+len(holder)+q != 8*50 {
		t.Fatalf("closed %d + held %d + queued %d != 400", closed, len(holder), q)
	}
}
