package event

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/shared/redistest"
	"github.com/redis/go-redis/v9"
)

// pair returns two buses that share state (two service instances); for the memory
// bus both are the same instance.
type factory func(t *testing.T, histLen int) (Bus, Bus)

func memoryFactory(t *testing.T, histLen int) (Bus, Bus) {
	b := NewMemoryBus(histLen)
	return b, b
}

func redisFactory(t *testing.T, histLen int) (Bus, Bus) {
	c, prefix := redistest.Client(t)
	o := RedisOptions{Prefix: prefix, HistoryLen: int64(histLen)}
	return NewRedisBus(c, o), NewRedisBus(c, o)
}

func TestMemoryBusContract(t *testing.T) { runContract(t, memoryFactory) }
func TestRedisBusContract(t *testing.T)  { runContract(t, redisFactory) }

func runContract(t *testing.T, f factory) {
	t.Run("numbering", func(t *testing.T) { testNumbering(t, f) })
	t.Run("subscribe across instances", func(t *testing.T) { testSubscribe(t, f) })
	t.Run("history", func(t *testing.T) { testHistory(t, f) })
	t.Run("last seq and presence", func(t *testing.T) { testLastSeqPresence(t, f) })
	t.Run("consume groups", func(t *testing.T) { testConsume(t, f) })
	t.Run("consume redelivers on error", func(t *testing.T) { testRedeliver(t, f) })
	t.Run("publish all", func(t *testing.T) { testPublishAll(t, f) })
}

func mustPublish(t *testing.T, b Bus, ws, stream, conv, typ string) Event {
	t.Helper()
	e, err := New(ws, stream, typ, map[string]string{"k": typ})
	if err != nil {
		t.Fatal(err)
	}
	e.ConversationID = conv
	out, err := b.Publish(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testNumbering(t *testing.T, f factory) {
	a, b := f(t, 100)
	e1 := mustPublish(t, a, "w1", StreamInbox, "c1", "x")
	e2 := mustPublish(t, b, "w1", StreamInbox, "c2", "x")
	e3 := mustPublish(t, a, "w1", StreamInbox, "c1", "x")
	o1 := mustPublish(t, b, "w2", StreamInbox, "", "x")
	crm := mustPublish(t, a, "w1", StreamCRM, "", "x")
	got := []int64{e1.Seq, e2.Seq, e3.Seq, o1.Seq, crm.Seq, e1.ConversationSeq, e2.ConversationSeq, e3.ConversationSeq}
	want := []int64{1, 2, 3, 1, 1, 1, 1, 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("seqs %v, want %v", got, want)
	}
	if e1.ID == "" || e1.ID == e2.ID || e1.Time.IsZero() {
		t.Fatalf("ids/time not stamped: %+v", e1)
	}
}

// testPublishAll: a batch is numbered, delivered and retained exactly as the
// same events published one by one, interleaved with single publishes, across
// more events than one pipeline carries.
func testPublishAll(t *testing.T, f factory) {
	a, b := f(t, 1000)
	ctx := context.Background()
	var mu sync.Mutex
	var live []Event
	cancel, err := b.Subscribe(ctx, func(e Event) {
		mu.Lock()
		live = append(live, e)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	mustPublish(t, a, "w1", StreamInbox, "c1", "single")
	var batch []Event
	for i := range 600 {
		e, err := New([]string{"w1", "w2"}[i%2], StreamInbox, fmt.Sprintf("b%d", i), map[string]int{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		e.ConversationID = []string{"c1", "c2", ""}[i%3]
		batch = append(batch, e)
	}
	presence := Event{Type: Presence, WorkspaceID: "w1", Stream: StreamPresence, Data: []byte(`{}`)}
	batch = append(batch[:300], append([]Event{presence}, batch[300:]...)...)
	out, err := PublishAll(ctx, a, batch)
	if err != nil || len(out) != len(batch) {
		t.Fatalf("published %d of %d: %v", len(out), len(batch), err)
	}
	after := mustPublish(t, b, "w1", StreamInbox, "c1", "single")
	seq := map[string]int64{"w1": 1, "w2": 0}
	cseq := map[string]int64{"w1/c1": 1}
	for i, e := range out {
		if e.Type != batch[i].Type || e.ID == "" || e.Time.IsZero() {
			t.Fatalf("event %d: %+v", i, e)
		}
		if e.Stream == StreamPresence {
			if e.Seq != 0 {
				t.Fatalf("presence numbered: %+v", e)
			}
			continue
		}
		seq[e.WorkspaceID]++
		var wantC int64
		if e.ConversationID != "" {
			k := e.WorkspaceID + "/" + e.ConversationID
			cseq[k]++
			wantC = cseq[k]
		}
		if e.Seq != seq[e.WorkspaceID] || e.ConversationSeq != wantC {
			t.Fatalf("event %d (%s): seq %d/%d, want %d/%d", i, e.Type, e.Seq, e.ConversationSeq, seq[e.WorkspaceID], wantC)
		}
	}
	if after.Seq != seq["w1"]+1 || after.ConversationSeq != cseq["w1/c1"]+1 {
		t.Fatalf("single publish after the batch: %d/%d", after.Seq, after.ConversationSeq)
	}
	h, err := a.History(ctx, "w2", StreamInbox, 0, 1000)
	if err != nil || int64(len(h)) != seq["w2"] || h[0].Type != "b1" || h[len(h)-1].Type != "b599" {
		t.Fatalf("history of w2: %d events, %v", len(h), err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(live) == len(batch)+2 })
	mu.Lock()
	defer mu.Unlock()
	last := map[string]int64{}
	for _, e := range live {
		if e.Stream == StreamPresence {
			continue
		}
		if e.Seq != last[e.WorkspaceID]+1 {
			t.Fatalf("live %s of %s: seq %d after %d", e.Type, e.WorkspaceID, e.Seq, last[e.WorkspaceID])
		}
		last[e.WorkspaceID] = e.Seq
	}
}

func testSubscribe(t *testing.T, f factory) {
	a, b := f(t, 100)
	var mu sync.Mutex
	var got []Event
	cancel, err := b.Subscribe(context.Background(), func(e Event) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	for i := 0; i < 50; i++ {
		mustPublish(t, a, "w1", StreamInbox, "", "x")
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 50 })
	mu.Lock()
	defer mu.Unlock()
	for i, e := range got {
		if e.Seq != int64(i+1) || e.WorkspaceID != "w1" || string(e.Data) != `{"k":"x"}` {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
}

func testHistory(t *testing.T, f factory) {
	a, _ := f(t, 5)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		mustPublish(t, a, "w1", StreamInbox, "", "x")
	}
	h, err := a.History(ctx, "w1", StreamInbox, 1, 10)
	if err != nil || len(h) != 2 || h[0].Seq != 2 || h[1].Seq != 3 {
		t.Fatalf("history after 1: %v %v", h, err)
	}
	if h, err := a.History(ctx, "w1", StreamInbox, 3, 10); err != nil || len(h) != 0 {
		t.Fatalf("history at head: %v %v", h, err)
	}
	for i := 0; i < 300; i++ { // far past retention (Redis trims approximately)
		mustPublish(t, a, "w1", StreamInbox, "", "x")
	}
	if _, err := a.History(ctx, "w1", StreamInbox, 1, 10); !errors.Is(err, ErrHistoryTrimmed) {
		t.Fatalf("want trimmed, got %v", err)
	}
	h, err = a.History(ctx, "w1", StreamInbox, 300, 10)
	if err != nil || len(h) != 3 || h[2].Seq != 303 {
		t.Fatalf("recent history: %v %v", h, err)
	}
	if h, err := a.History(ctx, "w2", StreamInbox, 0, 10); err != nil || len(h) != 0 {
		t.Fatalf("other workspace: %v %v", h, err)
	}
}

func testConsume(t *testing.T, f factory) {
	a, b := f(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]map[int64]int{"g1": {}, "g2": {}}
	start := func(bus Bus, group string) {
		go bus.Consume(ctx, group, func(_ context.Context, e Event) error {
			mu.Lock()
			seen[group][e.Seq]++
			mu.Unlock()
			return nil
		})
	}
	start(a, "g1")
	start(b, "g1") // two members of one group share the work
	start(a, "g2")
	time.Sleep(300 * time.Millisecond) // groups exist before the events
	for i := 0; i < 40; i++ {
		mustPublish(t, a, "w1", StreamInbox, "", "x")
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen["g1"]) == 40 && len(seen["g2"]) == 40 })
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for g, m := range seen {
		for seq, n := range m {
			if n != 1 {
				t.Fatalf("group %s got seq %d %d times", g, seq, n)
			}
		}
	}
}

func testRedeliver(t *testing.T, f factory) {
	a, _ := f(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	calls := 0
	done := make(chan struct{})
	go a.Consume(ctx, "flaky", func(_ context.Context, e Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 3 {
			return errors.New("transient")
		}
		close(done)
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	mustPublish(t, a, "w1", StreamInbox, "", "x")
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("event not redelivered after handler errors")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisBusSurvivesRestart shows a subscriber keeps receiving after Redis restarts.
func TestRedisBusSurvivesRestart(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	bus := NewRedisBus(c, RedisOptions{Prefix: "r:"})
	got := make(chan Event, 10)
	cancel, err := bus.Subscribe(context.Background(), func(e Event) { got <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	mustPublish(t, bus, "w", StreamInbox, "", "before")
	if e := <-got; e.Type != "before" {
		t.Fatalf("got %s", e.Type)
	}
	srv.Restart(t, 100*time.Millisecond)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _ = bus.Publish(context.Background(), Event{Type: "after", WorkspaceID: "w", Stream: StreamInbox})
		select {
		case e := <-got:
			if e.Type == "after" {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("subscriber silent after Redis restart")
		}
	}
}

// TestRedisPublishAllReloadsFlushedScript: after SCRIPT FLUSH (what a Redis
// restart does to the script cache) a batch still publishes every event once.
func TestRedisPublishAllReloadsFlushedScript(t *testing.T) {
	c, prefix := redistest.Client(t)
	bus := NewRedisBus(c, RedisOptions{Prefix: prefix})
	ctx := context.Background()
	es := []Event{{Type: "a", WorkspaceID: "w", Stream: StreamInbox}, {Type: "b", WorkspaceID: "w", Stream: StreamInbox}}
	for round := range 2 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		out, err := bus.PublishAll(ctx, es)
		if err != nil || len(out) != 2 || out[0].Seq != int64(2*round+1) || out[1].Seq != int64(2*round+2) {
			t.Fatalf("round %d: %+v %v", round, out, err)
		}
	}
	if last, err := bus.LastSeq(ctx, "w", StreamInbox); err != nil || last != 4 {
		t.Fatalf("last seq %d %v", last, err)
	}
}

func testLastSeqPresence(t *testing.T, f factory) {
	a, b := f(t, 100)
	ctx := context.Background()
	got := make(chan Event, 10)
	cancel, err := b.Subscribe(ctx, func(e Event) { got <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	mustPublish(t, a, "w1", StreamInbox, "c1", "x")
	mustPublish(t, a, "w1", StreamInbox, "c1", "x")
	p := mustPublish(t, a, "w1", StreamPresence, "c1", "typing")
	if p.Seq != 0 || p.ConversationSeq != 0 {
		t.Fatalf("presence numbered: %+v", p)
	}
	if n, err := b.LastSeq(ctx, "w1", StreamInbox); err != nil || n != 2 {
		t.Fatalf("last seq %d %v", n, err)
	}
	if n, err := b.LastConversationSeq(ctx, "w1", "c1"); err != nil || n != 2 {
		t.Fatalf("last conversation seq %d %v", n, err)
	}
	if n, _ := b.LastSeq(ctx, "w1", StreamPresence); n != 0 {
		t.Fatalf("presence seq %d", n)
	}
	for i := 0; i < 3; i++ {
		select {
		case e := <-got:
			if i == 2 && e.Type != "typing" {
				t.Fatalf("third event %s", e.Type)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("presence event not delivered")
		}
	}
	if h, err := a.History(ctx, "w1", StreamPresence, 0, 10); err != nil || len(h) != 0 {
		t.Fatalf("presence retained: %v %v", h, err)
	}
}
