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
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

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
	if err := cc.uncork(time.Now()); err != nil {
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
	if err := cc.uncork(time.Now()); err != nil || len(rec.writes) != 3 {
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
