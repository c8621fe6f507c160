package realtime

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

func TestQueuedFramesShareOneSocketWrite(t *testing.T) {
	bus := newFakeBus()
	for i := 1; i <= 10; i++ {
		bus.publish(t, "wsA", event.StreamInbox, "", i)
	}
	h, err := NewHub(Config{Auth: testUsers, Source: bus})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	waitFor(t, "hub running", func() bool { return h.running.Load() })

	var writes atomic.Int64
	srv := httptest.NewUnstartedServer(h.Handler())
	srv.Listener = countingListener{Listener: srv.Listener, writes: &writes}
	srv.Start()
	defer srv.Close()
	c := (&testHub{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}).dial(t, "tok-a1")

	before := writes.Load()
	if f := c.subscribe("inbox", 0); f.Type != "subscribed" || f.Seq != 10 {
		t.Fatalf("answer %+v", f)
	}
	for want := int64(1); want <= 10; want++ {
		if f := c.next(); f.Seq != want || f.n(t) != int(want) {
			t.Fatalf("frame %+v, want event %d as its own message", f, want)
		}
	}
	if got := writes.Load() - before; got != 1 {
		t.Fatalf("subscribed + 10 replayed frames took %d socket writes, want 1", got)
	}
}

// recordConn captures writes in memory.
type recordConn struct {
	net.Conn
	mu        sync.Mutex
	writes    [][]byte
	deadlines []time.Time
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadlines = append(c.deadlines, t)
	return nil
}

func TestCorkConnSkipsDeadlinesWithinSlack(t *testing.T) {
	rec := &recordConn{}
	cc := &corkConn{Conn: rec}
	t0 := time.Now().Add(writeWait)
	steps := []struct {
		t       time.Time
		applied bool
	}{
		{t0, true},                                     // first one
		{t0.Add(deadlineSlack / 2), false},             // later, within the slack: kept
		{t0.Add(deadlineSlack), false},                 // at the edge of the slack: kept
		{t0.Add(-time.Second), true},                   // earlier: always applied
		{t0.Add(-time.Second + deadlineSlack*2), true}, // beyond the slack
		{time.Time{}, true},                            // clearing
		{t0, true},                                     // after clearing
	}
	want := 0
	for i, st := range steps {
		if err := cc.SetWriteDeadline(st.t); err != nil {
			t.Fatal(err)
		}
		if st.applied {
			want++
		}
		if len(rec.deadlines) != want {
			t.Fatalf("step %d: %d deadlines reached the socket, want %d", i, len(rec.deadlines), want)
		}
		if st.applied && !rec.deadlines[want-1].Equal(st.t) {
			t.Fatalf("step %d: socket deadline %v, want %v", i, rec.deadlines[want-1], st.t)
		}
	}
}

func TestCorkConnGathersAndFlushes(t *testing.T) {
	rec := &recordConn{}
	cc := &corkConn{Conn: rec}

	if _, err := cc.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	cc.cork()
	for _, s := range []string{"b", "c", "d"} {
		if _, err := cc.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d writes reached the socket while corked, want only the uncorked one", len(rec.writes))
	}
	if err := cc.uncork(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || string(rec.writes[0]) != "a" || string(rec.writes[1]) != "bcd" {
		t.Fatalf("writes %q, want [a bcd]", rec.writes)
	}

	// A corked write past corkFlushBytes goes out early rather than growing the buffer.
	cc.cork()
	big := bytes.Repeat([]byte("x"), corkFlushBytes)
	if _, err := cc.Write(big); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 3 || len(rec.writes[2]) != corkFlushBytes {
		t.Fatalf("large corked write not flushed early: %d writes", len(rec.writes))
	}
	if err := cc.uncork(); err != nil || len(rec.writes) != 3 {
		t.Fatalf("uncork with nothing buffered wrote again (%d writes, %v)", len(rec.writes), err)
	}
}

func TestPingsKeepAnsweringClientsAndDropSilentOnes(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil, fastTiming)
	live := th.dial(t, "tok-a1")
	silent := th.dial(t, "tok-a2")
	var pings atomic.Int64
	live.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return live.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	silent.ws.SetPingHandler(func(string) error { return nil }) // reads, never answers
	liveFrames, silentFrames := live.pump(), silent.pump()

	// The silent client is dropped after pongWait; the live one outlasts it
	// several times over on pongs alone.
	for range silentFrames {
	}
	time.Sleep(4 * th.hub.timing.pongWait)
	select {
	case _, ok := <-liveFrames:
		if !ok {
			t.Fatal("a client answering pings was disconnected")
		}
	default:
	}
	if n := th.hub.Stats().Connections; n != 1 {
		t.Fatalf("Connections = %d, want 1", n)
	}
	if n := pings.Load(); n < 5 {
		t.Fatalf("live client saw %d pings in %v, want a ping every %v", n, 4*th.hub.timing.pongWait, th.hub.timing.pingPeriod)
	}
}

// TestQueuedEventsLeaveInOneWrite holds a shard busy while ten events queue
// up for it: the subscriber's writer is woken once for all of them and sends
// them in a single socket write, in order, each in a frame of its own.
func TestQueuedEventsLeaveInOneWrite(t *testing.T) {
	bus := newFakeBus()
	th := startHub(t, bus, bus, nil)
	c := th.dial(t, "tok-a1")
	if f := c.subscribe("inbox", -1); f.Type != "subscribed" {
		t.Fatalf("subscribe answered %+v", f)
	}
	s := th.hub.shardFor("wsA")
	var raw *corkConn
	s.call(func(s *shard) {
		for conn := range s.conns {
			raw = conn.raw
		}
	})
	writes := func() int {
		raw.mu.Lock()
		defer raw.mu.Unlock()
		return raw.writes
	}
	before := writes()

	busy, release := make(chan struct{}), make(chan struct{})
	go s.call(func(*shard) { close(busy); <-release })
	<-busy
	const events = 10
	for n := range events {
		e, err := event.New("wsA", event.StreamInbox, event.MessageCreated, map[string]any{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	for n := range events {
		f := c.next()
		if f.Type != event.MessageCreated || f.Seq != int64(n+1) || f.n(t) != n {
			t.Fatalf("frame %d: %+v", n, f)
		}
	}
	if got := writes() - before; got != 1 {
		t.Fatalf("%d events took %d socket writes, want 1", events, got)
	}
}
