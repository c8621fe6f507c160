package realtime

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Timing of a connection. A browser answers pings by itself, so pongs prove
// the peer alive without any application traffic.
const (
	// writeWait bounds one write batch (or control frame) reaching the socket.
	writeWait = 10 * time.Second
	// pongWait is the longest the server waits for any frame, pongs included.
	pongWait = 60 * time.Second
	// pingPeriod must be shorter than pongWait so a healthy peer's pong arrives in time.
	pingPeriod = pongWait * 9 / 10
	// closeGrace is how long a closing side waits for the peer's close frame.
	closeGrace = time.Second
	// writerIdleExit is how long a connection's writer goroutine waits for more
	// to send before it exits; the next frame starts a new one. Busy
	// connections keep theirs, idle ones cost no writer stack.
	writerIdleExit = 10 * time.Second
)

// timing is the set of durations above, as a value tests can shorten.
type timing struct {
	pingPeriod, pongWait, pingSweep, writerIdle time.Duration
}

var defaultTiming = timing{pingPeriod: pingPeriod, pongWait: pongWait, pingSweep: pingSweepEvery, writerIdle: writerIdleExit}

// Sizes that keep an idle connection small.
const (
	// readBufferSize is the bufio buffer gorilla reads frames through; client
	// messages are small and larger ones are still read, just in more syscalls.
	readBufferSize = 256
	// writeBufferSize is the pooled buffer used for per-connection replies only;
	// fan-out frames are prepared once and written from their own bytes.
	writeBufferSize = 1024
	// maxMessageSize caps a client frame (an auth frame carries a JWT).
	maxMessageSize = 16 << 10
	// maxCoalesce is how many queued batches one socket write may carry.
	maxCoalesce = 32
	// corkFlushBytes flushes a coalesced write early so one batch of a large
	// replay does not build an unbounded buffer.
	corkFlushBytes = 64 << 10
	// maxSubscriptions bounds the streams one connection may hold.
	maxSubscriptions = 32
)

var writeBufferPool = &sync.Pool{}

// outMessage is one text frame: prepared once for a fan-out, or raw bytes for
// a reply meant for a single connection.
type outMessage struct {
	pm   *websocket.PreparedMessage
	data []byte
}

// batch is what a send queue carries: frames that must go out together and
// in order (a subscribe answer followed by its replay), or a ping. A fan-out
// shares one batch between all recipients, so batches are never modified.
type batch struct {
	msgs []outMessage
	ping bool
	size int // frame bytes, for the send queue's bound
}

var pingBatch = &batch{ping: true}

// sharedBatch prepares frame for writing to many connections.
func sharedBatch(frame []byte) (*batch, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		return nil, err
	}
	return &batch{msgs: []outMessage{{pm: pm}}, size: len(frame)}, nil
}

// newBatch wraps frames meant for one connection.
func newBatch(frames ...[]byte) *batch {
	b := &batch{msgs: make([]outMessage, len(frames))}
	for i, f := range frames {
		b.msgs[i].data = f
		b.size += len(f)
	}
	return b
}

// conn is one authenticated websocket connection.
type conn struct {
	hub     *Hub
	shard   *shard
	ws      *websocket.Conn
	raw     *corkConn
	p       Principal
	session string // identifies this connection in presence, across instances

	send     sendQueue
	notify   chan struct{} // capacity 1: there may be something new in send
	writing  atomic.Bool   // a writer goroutine runs; never more than one at a time
	done     chan struct{} // closed by kill: the writer closes the socket
	readDone chan struct{} // closed when the read pump stops reading
	closed   chan struct{} // closed by the writer once the socket is closed

	killed    atomic.Bool
	closeCode int    // written before done is closed, read after
	closeText string // idem

	// Owned by the shard goroutine.
	subs       []topic
	lastPing   time.Time
	registered bool
	wakeRound  uint64 // the shard's wake round this connection is listed in

	// Owned by the read pump.
	viewing     string
	viewingSent time.Time
	typing      string
	typingAt    time.Time
	typingSent  time.Time
}

// subscription returns the index of t in c.subs, or -1. Shard goroutine only.
func (c *conn) subscription(t topic) int {
	for i, s := range c.subs {
		if s == t {
			return i
		}
	}
	return -1
}

// kill asks the writer to close the connection, with a close frame when
// code is not zero. abort also cuts short a write stuck on a peer that does
// not read, so a slow consumer is gone within closeGrace. Safe from any
// goroutine; only the first call counts.
func (c *conn) kill(code int, text string, abort bool) {
	if !c.killed.CompareAndSwap(false, true) {
		return
	}
	c.closeCode, c.closeText = code, text
	close(c.done)
	if abort {
		_ = c.raw.Conn.SetWriteDeadline(time.Now().Add(closeGrace))
	}
	c.wake()
}

// reply queues a frame for this connection from the read pump. It waits for
// room rather than evicting: only this client's reading stalls, and the shard
// evicts it at its next send if the queue stays full.
func (c *conn) reply(frame []byte) {
	if c.send.pushWait(newBatch(frame), c.done) {
		c.wake()
	}
}

// wake makes sure a writer will look at the queue: it starts one unless one
// runs, and otherwise leaves it a notification. Call it after queueing.
func (c *conn) wake() {
	if c.writing.CompareAndSwap(false, true) {
		go c.writeLoop()
		return
	}
	select {
	case c.notify <- struct{}{}:
	default: // a notification is pending already
	}
}

var errKilled = errors.New("realtime: connection closing")

// writeLoop is the connection's write pump, the only goroutine writing data
// frames. It drains whatever is queued into one socket write under one
// deadline, and exits after writerIdleExit without work; the writing flag
// makes sure at most one runs. The writer that sees the connection killed
// closes it and keeps the flag, so no writer ever starts again. It sleeps on
// notify rather than on the queue so that a shard can queue several events
// before waking it (see shard.wakeAll): they then go out in one write.
func (c *conn) writeLoop() {
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	var pending [maxCoalesce]*batch
	for {
		if n := c.send.take(pending[:]); n > 0 {
			err := c.write(pending[:n])
			clear(pending[:n])
			if err != nil {
				c.kill(0, "", false)
				<-c.done // a concurrent kill may still be recording its close code
				c.finish()
				return
			}
			continue
		}
		if idle == nil {
			idle = time.NewTimer(c.hub.timing.writerIdle)
		} else {
			idle.Reset(c.hub.timing.writerIdle)
		}
		select {
		case <-c.notify:
		case <-c.done:
			c.finish()
			return
		case <-idle.C:
			c.writing.Store(false)
			// A sender that saw the flag still set did not start a writer:
			// look again before leaving.
			if c.send.len() == 0 && !c.killed.Load() {
				return
			}
			if !c.writing.CompareAndSwap(false, true) {
				return
			}
		}
	}
}

// finish sends the close frame kill asked for, then closes the socket.
func (c *conn) finish() {
	c.closeHandshake()
	_ = c.ws.Close()
	close(c.closed)
}

// write sends batches in order, coalesced into one socket write when there is
// more than one frame.
func (c *conn) write(batches []*batch) error {
	select {
	case <-c.done:
		return errKilled
	default:
	}
	frames := 0
	for _, b := range batches {
		frames += len(b.msgs)
		if b.ping {
			frames++
		}
	}
	deadline := time.Now().Add(writeWait)
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	corked := frames > 1
	if corked {
		c.raw.cork()
	}
	err := c.writeFrames(batches, deadline)
	if corked {
		if ferr := c.raw.uncork(); err == nil {
			err = ferr
		}
	}
	return err
}

func (c *conn) writeFrames(batches []*batch, deadline time.Time) error {
	for _, b := range batches {
		if b.ping {
			if err := c.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
				return err
			}
		}
		for _, m := range b.msgs {
			var err error
			if m.pm != nil {
				err = c.ws.WritePreparedMessage(m.pm)
			} else {
				err = c.ws.WriteMessage(websocket.TextMessage, m.data)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// closeHandshake sends the close frame kill asked for and gives the peer
// closeGrace to answer, so the socket is not reset under an unread close frame.
func (c *conn) closeHandshake() {
	if c.closeCode == 0 {
		return
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace)); err != nil {
		return
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

// readPump reads client messages until the connection ends, then withdraws
// the connection from the hub and waits for the writer to close the socket.
func (c *conn) readPump(ctx context.Context) {
	defer c.hub.conns.Done()
	defer func() {
		c.kill(0, "", false)
		c.shard.call(func(s *shard) { s.remove(c) })
		c.leaveAll()
		close(c.readDone)
		<-c.closed
	}()
	_ = c.ws.SetReadDeadline(time.Now().Add(c.hub.timing.pongWait))
	c.ws.SetPongHandler(c.onPong)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.hub.timing.pongWait))
		c.handleOffStack(ctx, data)
	}
}

// handleOffStack runs handle on a short-lived goroutine and waits for it.
// Parsing, history reads and encoding grow a stack to several KB and a stack
// only shrinks when mostly unused; done here, that growth dies with the
// helper and the read pump, idle in a read for most of its life, keeps a
// small stack. Client messages are rare, so the extra goroutine is cheap.
func (c *conn) handleOffStack(ctx context.Context, data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.handle(ctx, data)
	}()
	<-done
}

// onPong keeps the connection and its view alive: views expire on other
// instances unless refreshed, and pongs are the one signal every idle browser sends.
func (c *conn) onPong(string) error {
	now := time.Now()
	_ = c.ws.SetReadDeadline(now.Add(c.hub.timing.pongWait))
	if c.viewing != "" && now.Sub(c.viewingSent) >= c.hub.cfg.ViewingTTL/3 {
		c.viewingSent = now
		c.announce(c.viewing, now)
	}
	return nil
}

// handle acts on one client frame.
func (c *conn) handle(ctx context.Context, data []byte) {
	m, err := parseClientMessage(data)
	if err != nil {
		if errors.Is(err, errBadStream) {
			c.reply(errorFrame(ErrCodeInvalidStream, "", "unknown stream"))
			return
		}
		c.reply(errorFrame(ErrCodeBadRequest, "", "malformed message"))
		return
	}
	switch m.Type {
	case msgPing:
		c.reply(pongReply)
	case msgAuth:
		c.reply(errorFrame(ErrCodeBadRequest, "", "already authenticated"))
	case msgSubscribe:
		c.subscribe(ctx, m)
	case msgUnsubscribe:
		if t, err := parseTopic(m.Stream); err == nil {
			c.shard.call(func(s *shard) { s.unsubscribe(c, t) })
		}
	case msgTyping:
		c.setTyping(m.ConversationID, m.Typing == nil || *m.Typing)
	case msgView:
		c.setViewing(m.ConversationID)
	case msgLeave:
		c.leave(m.ConversationID)
	}
}

// setViewing records that the client shows conversation id; a connection shows
// one conversation at a time, so another view ends the previous one.
func (c *conn) setViewing(id string) {
	now := time.Now()
	if c.viewing != "" && c.viewing != id {
		old := c.viewing
		c.viewing = ""
		c.announce(old, now)
	}
	c.viewing, c.viewingSent = id, now
	c.announce(id, now)
}

// leave ends viewing (and typing in) conversation id.
func (c *conn) leave(id string) {
	if c.viewing != id && c.typing != id {
		return
	}
	if c.viewing == id {
		c.viewing = ""
	}
	if c.typing == id {
		c.typing = ""
	}
	c.announce(id, time.Now())
}

// setTyping records a typing start, refresh or stop. Refreshes within a third
// of the TTL are not republished: a keystroke-driven client would flood the bus.
func (c *conn) setTyping(id string, typing bool) {
	now := time.Now()
	if !typing {
		if c.typing == id {
			c.typing = ""
			c.announce(id, now)
		}
		return
	}
	if c.typing != "" && c.typing != id {
		old := c.typing
		c.typing = ""
		c.announce(old, now)
	}
	refresh := c.typing == id && now.Sub(c.typingSent) < c.hub.cfg.TypingTTL/3
	c.typing, c.typingAt = id, now
	if !refresh {
		c.typingSent = now
		c.announce(id, now)
	}
}

// leaveAll withdraws this connection from presence when it closes.
func (c *conn) leaveAll() {
	now := time.Now()
	if id := c.viewing; id != "" {
		c.viewing = ""
		c.announce(id, now)
	}
	if id := c.typing; id != "" {
		c.typing = ""
		c.announce(id, now)
	}
}

// announce publishes this connection's presence in conversation id.
func (c *conn) announce(id string, now time.Time) {
	e, err := newPresenceEvent(c.p.WorkspaceID, presenceChange{
		ConversationID: id,
		Session:        c.session,
		UserID:         c.p.UserID,
		Name:           c.p.Name,
		Viewing:        c.viewing == id,
		Typing:         c.typing == id && now.Sub(c.typingAt) < c.hub.cfg.TypingTTL,
	})
	if err != nil {
		return
	}
	c.hub.announce(e)
}

// corkConn lets the write pump gather several frames written by gorilla into
// one buffer and hand them to the kernel in one write. Control frames written
// concurrently by gorilla (pong, close) land in the buffer too, whole, because
// gorilla serialises frame writes.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte
	writes int // socket writes so far, for tests
	// dmu guards deadline apart from mu, which a blocked Write holds.
	dmu      sync.Mutex
	deadline time.Time // the write deadline last set through SetWriteDeadline
}

// deadlineSlack is how much earlier than asked a write deadline may fall.
// Setting a deadline costs a timer update; gorilla sets one for every frame,
// each writeWait from now, and within this slack the one in force is kept.
const deadlineSlack = writeWait / 10

// SetWriteDeadline sets t unless the deadline in force is at most
// deadlineSlack before it. Earlier deadlines (closing) always apply; kill
// sets its abort deadline on Conn directly, so none of these undoes it
// within the slack.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if !t.IsZero() && !c.deadline.IsZero() && !t.Before(c.deadline) && t.Sub(c.deadline) <= deadlineSlack {
		return nil
	}
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// Write buffers p while corked, flushing early past corkFlushBytes.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		c.writes++
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= corkFlushBytes {
		c.writes++
		if _, err := c.Conn.Write(*c.buf); err != nil {
			return 0, err
		}
		*c.buf = (*c.buf)[:0]
	}
	return len(p), nil
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = corkPool.Get().(*[]byte)
	c.mu.Unlock()
}

// uncork writes what was gathered and stops buffering.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	buf := c.buf
	c.buf = nil
	var err error
	if len(*buf) > 0 {
		c.writes++
		_, err = c.Conn.Write(*buf) // under the deadline write set through gorilla
	}
	if cap(*buf) <= 4*corkFlushBytes {
		*buf = (*buf)[:0]
		corkPool.Put(buf)
	}
	return err
}
