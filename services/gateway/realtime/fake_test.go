package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

// fakeBus is an in-memory Source and Publisher that numbers events like the
// real bus, and lets a test withhold events from live delivery or trim history.
type fakeBus struct {
	mu        sync.Mutex
	deliverMu sync.Mutex // keeps live delivery in publish order
	seq       map[[2]string]int64
	convSeq   map[[2]string]int64
	history   map[[2]string][]event.Event
	trimmed   map[[2]string]int64 // events with seq <= this are no longer retained
	subs      map[int]func(event.Event)
	nextSub   int
	// withhold, if set, keeps an event out of live delivery (it stays in history).
	withhold func(event.Event) bool
}

func newFakeBus() *fakeBus {
	return &fakeBus{
		seq:     map[[2]string]int64{},
		convSeq: map[[2]string]int64{},
		history: map[[2]string][]event.Event{},
		trimmed: map[[2]string]int64{},
		subs:    map[int]func(event.Event){},
	}
}

func (b *fakeBus) Publish(_ context.Context, e event.Event) (event.Event, error) {
	b.mu.Lock()
	k := [2]string{e.WorkspaceID, e.Stream}
	b.seq[k]++
	e.Seq = b.seq[k]
	if e.ConversationID != "" {
		ck := [2]string{e.WorkspaceID, e.ConversationID}
		b.convSeq[ck]++
		e.ConversationSeq = b.convSeq[ck]
	}
	e.ID = fmt.Sprintf("%s-%s-%d", e.WorkspaceID, e.Stream, e.Seq)
	e.Time = time.Now().UTC()
	b.history[k] = append(b.history[k], e)
	subs := make([]func(event.Event), 0, len(b.subs))
	for _, fn := range b.subs {
		subs = append(subs, fn)
	}
	live := b.withhold == nil || !b.withhold(e)
	b.deliverMu.Lock()
	b.mu.Unlock()
	defer b.deliverMu.Unlock()
	if live {
		for _, fn := range subs {
			fn(e)
		}
	}
	return e, nil
}

func (b *fakeBus) Subscribe(_ context.Context, fn func(event.Event)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextSub
	b.nextSub++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}

func (b *fakeBus) History(_ context.Context, ws, stream string, after int64, limit int) ([]event.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]string{ws, stream}
	if after < b.trimmed[k] {
		return nil, event.ErrHistoryTrimmed
	}
	var out []event.Event
	for _, e := range b.history[k] {
		if e.Seq > after && e.Seq > b.trimmed[k] {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// trim drops history up to and including seq.
func (b *fakeBus) trim(ws, stream string, seq int64) {
	b.mu.Lock()
	b.trimmed[[2]string{ws, stream}] = seq
	b.mu.Unlock()
}

// flush forgets everything, as a Redis FLUSHALL would: numbering restarts at 1.
func (b *fakeBus) flush() {
	b.mu.Lock()
	b.seq = map[[2]string]int64{}
	b.convSeq = map[[2]string]int64{}
	b.history = map[[2]string][]event.Event{}
	b.trimmed = map[[2]string]int64{}
	b.mu.Unlock()
}

func (b *fakeBus) setWithhold(fn func(event.Event) bool) {
	b.mu.Lock()
	b.withhold = fn
	b.mu.Unlock()
}

// seqBus adds SeqSource to fakeBus.
type seqBus struct{ *fakeBus }

func (b seqBus) LastSeq(_ context.Context, ws, stream string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq[[2]string{ws, stream}], nil
}

func (b seqBus) LastConversationSeq(_ context.Context, ws, id string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.convSeq[[2]string{ws, id}], nil
}

// publish publishes a test event with payload {"n":n} and returns it as numbered.
func (b *fakeBus) publish(t testing.TB, ws, stream, conv string, n int) event.Event {
	t.Helper()
	e, err := event.New(ws, stream, event.MessageCreated, map[string]int{"n": n})
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

// fakeAuth accepts the tokens it knows.
type fakeAuth map[string]Principal

var errForged = errors.New("forged token")

func (a fakeAuth) Authenticate(_ context.Context, token string) (Principal, error) {
	p, ok := a[token]
	if !ok {
		return Principal{}, errForged
	}
	return p, nil
}

var testUsers = fakeAuth{
	"tok-a1": {UserID: "a1", WorkspaceID: "wsA", Role: RoleAgent, Name: "Ann"},
	"tok-a2": {UserID: "a2", WorkspaceID: "wsA", Role: RoleAgent, Name: "Bob"},
	"tok-am": {UserID: "am", WorkspaceID: "wsA", Role: RoleManager, Name: "Meg"},
	"tok-b1": {UserID: "b1", WorkspaceID: "wsB", Role: RoleAdmin, Name: "Zed"},
}

// testHub is a running hub behind an httptest server.
type testHub struct {
	hub *Hub
	url string
}

// startHub runs a hub on src (and bus as Publisher) until the test ends;
// adjust changes the hub (its timing) before it runs.
func startHub(t testing.TB, bus *fakeBus, src Source, tweak func(*Config), adjust ...func(*Hub)) *testHub {
	t.Helper()
	cfg := Config{Auth: testUsers, Source: src, Publisher: bus}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range adjust {
		fn(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		srv.Close()
	})
	waitFor(t, "hub running", func() bool { return h.running.Load() })
	return &testHub{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// client is a test websocket client.
type client struct {
	t  testing.TB
	ws *websocket.Conn
}

// dial connects with token in the Authorization header ("" sends none).
func (th *testHub) dial(t testing.TB, token string) *client {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, _, err := websocket.DefaultDialer.Dial(th.url, h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) sendJSON(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// serverFrame is any frame the hub sends.
type serverFrame struct {
	Type           string          `json:"type"`
	WorkspaceID    string          `json:"workspace_id"`
	Stream         string          `json:"stream"`
	Seq            int64           `json:"seq"`
	ConversationID string          `json:"conversation_id"`
	Code           string          `json:"code"`
	Data           json.RawMessage `json:"data"`
}

// n is the test payload number of an event frame.
func (f serverFrame) n(t testing.TB) int {
	t.Helper()
	var d struct{ N int }
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("event data %s: %v", f.Data, err)
	}
	return d.N
}

// next reads one frame, failing the test after a generous timeout.
func (c *client) next() serverFrame {
	c.t.Helper()
	f, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) read(timeout time.Duration) (serverFrame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return serverFrame{}, err
	}
	var f serverFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return serverFrame{}, fmt.Errorf("frame %q: %w", data, err)
	}
	return f, nil
}

// expectClose reads until the connection closes and returns the close error.
func (c *client) expectClose() *websocket.CloseError {
	c.t.Helper()
	for {
		_, err := c.read(5 * time.Second)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("want a close frame, got %v", err)
		}
		return ce
	}
}

// subscribe sends a subscribe (since < 0 means none) and returns the answer.
func (c *client) subscribe(stream string, since int64) serverFrame {
	c.t.Helper()
	m := map[string]any{"type": "subscribe", "stream": stream}
	if since >= 0 {
		m["since"] = since
	}
	c.sendJSON(m)
	return c.next()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pump reads frames on a goroutine, which also answers the server's pings as
// a browser does; frames arrive on the returned channel, closed with the
// connection.
func (c *client) pump() <-chan serverFrame {
	out := make(chan serverFrame, 64)
	go func() {
		defer close(out)
		for {
			_, data, err := c.ws.ReadMessage()
			if err != nil {
				return
			}
			var f serverFrame
			if json.Unmarshal(data, &f) == nil {
				out <- f
			}
		}
	}()
	return out
}

// fastTiming pings every 30 ms and gives up on a silent peer after 150 ms.
func fastTiming(h *Hub) {
	h.timing = timing{pingPeriod: 30 * time.Millisecond, pongWait: 150 * time.Millisecond, pingSweep: 10 * time.Millisecond, writerIdle: 50 * time.Millisecond}
}

// lastSeq is the last seq the hub has seen live on a stream, 0 if none.
func (th *testHub) lastSeq(ws, stream string) int64 {
	var last int64
	th.hub.shardFor(ws).call(func(s *shard) {
		if st := s.streams[wsKey{ws, stream}]; st != nil {
			last = st.last
		}
	})
	return last
}
