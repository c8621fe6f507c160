package realtime

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

const (
	// shardEventBuffer absorbs bursts from the bus; beyond it events are dropped
	// and recovered from history (see Hub.route).
	shardEventBuffer = 4096
	// historyTimeout bounds one history read, in a shard or a read pump.
	historyTimeout = 5 * time.Second
	// historyPage is how many events one History call asks for.
	historyPage = 200
	// pingSweepEvery is how often a shard looks for connections due a ping;
	// connections are pinged every pingPeriod to pingPeriod+pingSweepEvery.
	pingSweepEvery = 5 * time.Second
	// wakeEvery is how many events a shard delivers before waking the writers
	// of their recipients. Events that queued up while the shard was busy
	// thus reach each writer together and leave in one socket write instead
	// of one write each. It stays well under the send queue length so a
	// healthy subscriber is never evicted for the wait.
	wakeEvery = 16
	// pruneEvery and idleStateTTL bound the seq and presence state kept for
	// streams and conversations nobody here subscribes to.
	pruneEvery   = time.Minute
	idleStateTTL = time.Hour
)

// wsKey names a stream (inbox, crm) or a conversation within a workspace.
type wsKey struct{ ws, name string }

// stream is what a shard knows of one bus stream of one workspace.
type stream struct {
	key   wsKey
	last  int64 // seq of the last event delivered (or skipped) here
	known bool  // last is meaningful: an event of the stream went by
	// epoch changes whenever events of the stream may have been missed without
	// being filled, invalidating the conversation seqs learnt before.
	epoch uint64
	// subs maps each subscriber to its watermark: events with seq <= it were
	// replayed to it already or precede its subscription and are skipped.
	subs map[*conn]int64
	// convs are the conversations of this workspace that have subscribers here
	// (inbox stream only): a gap or reset of the inbox concerns them too.
	convs   map[string]*conversation
	touched time.Time
}

// audience reports whether anyone here needs the stream's events in full.
func (st *stream) audience() bool { return len(st.subs) > 0 || len(st.convs) > 0 }

// conversation is what a shard knows of one conversation: its seq, its
// subscribers (watermarks in inbox seq) and its presence.
type conversation struct {
	key      wsKey
	last     int64
	known    bool   // last was learnt from an event, not just presence
	epoch    uint64 // inbox epoch when last was learnt; stale if it differs
	subs     map[*conn]int64
	presence *presenceState
	touched  time.Time
}

// shard owns the subscriptions, seqs and presence of the workspaces hashed to
// it. Only its goroutine touches these maps; others reach it through calls.
type shard struct {
	hub     *Hub
	events  chan event.Event
	calls   chan func(*shard)
	dropped atomic.Bool // set by Hub.route when it had to drop an event

	conns   map[*conn]struct{}
	streams map[wsKey]*stream
	convs   map[wsKey]*conversation
	present map[wsKey]*conversation // conversations with presence state

	lastPingSweep, lastPrune time.Time

	// toWake lists the connections queued to since the last wakeAll, each once
	// (conn.wakeRound == round+1); sinceWake counts the events delivered since.
	toWake    []*conn
	round     uint64
	sinceWake int
}

func newShard(h *Hub) *shard {
	return &shard{
		hub:     h,
		events:  make(chan event.Event, shardEventBuffer),
		calls:   make(chan func(*shard), 64),
		conns:   make(map[*conn]struct{}),
		streams: make(map[wsKey]*stream),
		convs:   make(map[wsKey]*conversation),
		present: make(map[wsKey]*conversation),
	}
}

// sweepInterval paces presence expiry finely enough for the typing TTL, and
// ping sweeps.
func (h *Hub) sweepInterval() time.Duration {
	return min(time.Second, h.timing.pingSweep, max(10*time.Millisecond, h.cfg.TypingTTL/6))
}

// run is the shard goroutine. On the way out it closes its connections.
func (s *shard) run(ctx context.Context) {
	tick := time.NewTicker(s.hub.sweepInterval())
	defer tick.Stop()
	now := time.Now()
	s.lastPingSweep, s.lastPrune = now, now
	for {
		select {
		case <-ctx.Done():
			for c := range s.conns {
				s.remove(c)
				c.kill(websocket.CloseGoingAway, "server shutting down", false)
			}
			return
		case e := <-s.events:
			s.onEvent(ctx, e)
			// Take what else is queued before waking anyone (see wakeEvery).
		more:
			for range wakeEvery - 1 {
				select {
				case e := <-s.events:
					s.onEvent(ctx, e)
				default:
					break more
				}
			}
		case fn := <-s.calls:
			fn(s)
		case now := <-tick.C:
			s.sweep(ctx, now)
		}
		s.wakeAll()
	}
}

// wakeAll wakes the writers of the connections queued to since the last call.
func (s *shard) wakeAll() {
	for _, c := range s.toWake {
		c.wake()
	}
	clear(s.toWake)
	s.toWake = s.toWake[:0]
	s.round++
	s.sinceWake = 0
}

// call runs fn on the shard goroutine and waits for it. It reports false,
// without waiting, once the hub is stopping.
func (s *shard) call(fn func(*shard)) bool {
	done := make(chan struct{})
	select {
	case s.calls <- func(s *shard) { fn(s); close(done) }:
	case <-s.hub.stopped:
		return false
	}
	select {
	case <-done:
		return true
	case <-s.hub.stopped:
		return false
	}
}

func (s *shard) stream(ws, name string) *stream {
	k := wsKey{ws, name}
	st := s.streams[k]
	if st == nil {
		st = &stream{key: k, subs: make(map[*conn]int64)}
		if name == event.StreamInbox {
			st.convs = make(map[string]*conversation)
		}
		s.streams[k] = st
	}
	return st
}

func (s *shard) conversation(ws, id string) *conversation {
	k := wsKey{ws, id}
	cv := s.convs[k]
	if cv == nil {
		cv = &conversation{key: k} // subs is made on first subscription: most conversations have none
		s.convs[k] = cv
	}
	return cv
}

// onEvent handles one live event from the bus.
func (s *shard) onEvent(ctx context.Context, e event.Event) {
	if e.Stream == StreamPresence {
		s.onPresence(e)
		return
	}
	st := s.stream(e.WorkspaceID, e.Stream)
	if st.known {
		switch {
		case e.Seq == st.last:
			return // duplicate
		case e.Seq < st.last:
			s.renumbered(st, e)
			return
		case e.Seq > st.last+1:
			s.fill(ctx, st, e.Seq-1)
		}
	}
	s.deliver(st, e)
}

// deliver fans e out to the stream's subscribers and, for an inbox event of a
// conversation, to that conversation's subscribers. Each is encoded once.
func (s *shard) deliver(st *stream, e event.Event) {
	// A gap fill delivers many events in one go: wake writers on the way so
	// no queue fills up waiting.
	if s.sinceWake++; s.sinceWake > wakeEvery {
		s.wakeAll()
	}
	now := time.Now()
	st.last, st.known, st.touched = e.Seq, true, now
	if len(st.subs) > 0 {
		if b := s.eventBatch(e, st.key.name, e.Seq); b != nil {
			crm := st.key.name == event.StreamCRM
			for c, wm := range st.subs {
				if e.Seq <= wm || (crm && !c.p.canSeeCRM()) {
					continue
				}
				s.send(c, b)
			}
		}
	}
	if st.convs == nil || e.ConversationID == "" {
		return
	}
	cv := s.conversation(e.WorkspaceID, e.ConversationID)
	cv.last, cv.known, cv.epoch, cv.touched = e.ConversationSeq, true, st.epoch, now
	if len(cv.subs) == 0 {
		return
	}
	if b := s.eventBatch(e, conversationPrefix+e.ConversationID, e.ConversationSeq); b != nil {
		for c, wm := range cv.subs {
			if e.Seq > wm {
				s.send(c, b)
			}
		}
	}
}

// eventBatch encodes e once for every recipient of one fan-out.
func (s *shard) eventBatch(e event.Event, streamName string, seq int64) *batch {
	frame, err := encodeEvent(e, streamName, seq)
	if err != nil {
		s.hub.log.Error("encode event", "event_id", e.ID, "type", e.Type, "err", err)
		return nil
	}
	b, err := sharedBatch(frame)
	if err != nil {
		s.hub.log.Error("prepare event frame", "event_id", e.ID, "err", err)
		return nil
	}
	return b
}

// fill delivers, from history, the events after st.last up to upTo, or up to
// the end of history when upTo is 0. What cannot be filled becomes a reset.
// It runs on the shard goroutine and so delays this shard's other workspaces
// for the length of a history read; gaps are rare (a bus reconnect) and reads
// are bounded by historyTimeout, while doing it elsewhere would let later
// events overtake the gap.
func (s *shard) fill(ctx context.Context, st *stream, upTo int64) {
	if !st.audience() {
		// Nobody here needs these events; conversation seqs learnt so far may
		// now be stale.
		st.epoch++
		return
	}
	maxEvents := int64(s.hub.cfg.MaxReplay)
	if upTo > 0 && upTo-st.last > maxEvents {
		s.reset(st, upTo)
		return
	}
	hctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	var filled int64
	for upTo == 0 || st.last < upTo {
		limit := int64(historyPage)
		if upTo > 0 {
			limit = min(limit, upTo-st.last)
		}
		evs, err := s.hub.cfg.Source.History(hctx, st.key.ws, st.key.name, st.last, int(limit))
		if err != nil {
			s.hub.log.Warn("fill gap from history", "workspace_id", st.key.ws, "stream", st.key.name, "after", st.last, "err", err)
			break
		}
		before := st.last
		for _, ev := range evs {
			if ev.Seq != st.last+1 || (upTo > 0 && ev.Seq > upTo) {
				break
			}
			s.deliver(st, ev)
			filled++
		}
		if st.last == before || int64(len(evs)) < limit || filled >= maxEvents {
			break // no progress (history does not continue the stream), or done
		}
	}
	if upTo > 0 && st.last < upTo {
		s.reset(st, upTo)
		return
	}
	if filled > 0 {
		s.hub.gaps.Add(1)
	}
}

// reset tells the stream's subscribers (and, for the inbox, the subscribers of
// its conversations) that events up to seq are lost to them: they refetch
// their state and live delivery continues after seq.
func (s *shard) reset(st *stream, seq int64) {
	st.last, st.known = seq, true
	st.epoch++
	if len(st.subs) > 0 {
		b := newBatch(resetFrame(st.key.name, seq))
		s.hub.resets.Add(1)
		for c := range st.subs {
			st.subs[c] = seq
			s.send(c, b)
		}
	}
	for _, cv := range st.convs {
		b := newBatch(resetFrame(conversationPrefix+cv.key.name, cv.last))
		s.hub.resets.Add(1)
		for c := range cv.subs {
			cv.subs[c] = seq
			s.send(c, b)
		}
	}
}

// renumbered handles a seq that went backwards: the bus lost its numbering
// (a Redis flush). Everyone resets to the new numbering, starting after e.
func (s *shard) renumbered(st *stream, e event.Event) {
	s.hub.log.Warn("stream seq went backwards", "workspace_id", st.key.ws, "stream", st.key.name, "last", st.last, "seq", e.Seq)
	for _, cv := range st.convs {
		cv.last = 0
		if cv.key.name == e.ConversationID {
			cv.last = e.ConversationSeq
		}
	}
	s.reset(st, e.Seq)
	for _, cv := range st.convs {
		cv.known, cv.epoch = true, st.epoch // the new numbering is known from here on
	}
}

// send queues b for c without ever blocking; a full queue evicts c. The
// writer is woken by the next wakeAll, before the shard waits for work again.
func (s *shard) send(c *conn, b *batch) {
	if !c.send.push(b) {
		s.hub.slow.Add(1)
		s.remove(c)
		c.kill(CloseSlowConsumer, "slow consumer", true)
		return
	}
	if c.wakeRound != s.round+1 {
		c.wakeRound = s.round + 1 // +1: the zero value means "not listed"
		s.toWake = append(s.toWake, c)
	}
}

// register adds a freshly authenticated connection.
func (s *shard) register(c *conn) {
	s.conns[c] = struct{}{}
	c.lastPing = time.Now()
	c.registered = true
	s.hub.connections.Add(1)
}

// remove drops c and all its subscriptions; calling it twice is harmless.
func (s *shard) remove(c *conn) {
	if !c.registered {
		return
	}
	for _, t := range c.subs {
		s.detach(c, t)
	}
	c.subs = nil
	delete(s.conns, c)
	c.registered = false
	s.hub.connections.Add(-1)
}

// attach subscribes c to t with watermark wm and queues frames (the
// subscribed answer, then any reset or replay) ahead of every live event.
func (s *shard) attach(c *conn, t topic, wm int64, frames [][]byte) {
	if !c.registered {
		return
	}
	if idx := c.subscription(t); idx >= 0 {
		s.detach(c, t)
		c.subs = append(c.subs[:idx], c.subs[idx+1:]...)
	}
	if len(c.subs) >= maxSubscriptions {
		s.send(c, newBatch(errorFrame(ErrCodeTooManySubscriptions, t.name(), "too many subscriptions on this connection")))
		return
	}
	switch t.kind {
	case topicConversation:
		st := s.stream(c.p.WorkspaceID, event.StreamInbox)
		cv := s.conversation(c.p.WorkspaceID, t.conversationID)
		if cv.subs == nil {
			cv.subs = make(map[*conn]int64, 1)
		}
		cv.subs[c] = wm
		st.convs[t.conversationID] = cv
	default:
		s.stream(c.p.WorkspaceID, t.busStream()).subs[c] = wm
	}
	c.subs = append(c.subs, t)
	s.send(c, newBatch(frames...))
}

// detach removes c's subscription to t from the shard maps (not from c.subs).
func (s *shard) detach(c *conn, t topic) {
	switch t.kind {
	case topicConversation:
		k := wsKey{c.p.WorkspaceID, t.conversationID}
		if cv := s.convs[k]; cv != nil {
			delete(cv.subs, c)
			if len(cv.subs) == 0 {
				if st := s.streams[wsKey{c.p.WorkspaceID, event.StreamInbox}]; st != nil {
					delete(st.convs, t.conversationID)
				}
			}
		}
	default:
		if st := s.streams[wsKey{c.p.WorkspaceID, t.busStream()}]; st != nil {
			delete(st.subs, c)
		}
	}
}

// unsubscribe ends c's subscription to t and confirms it after the last event
// of t queued for c.
func (s *shard) unsubscribe(c *conn, t topic) {
	if !c.registered {
		return
	}
	if idx := c.subscription(t); idx >= 0 {
		s.detach(c, t)
		c.subs = append(c.subs[:idx], c.subs[idx+1:]...)
	}
	s.send(c, newBatch(mustJSON(unsubscribedReply{Type: "unsubscribed", Stream: t.name()})))
}

// onPresence applies a presence change from any gateway instance and tells the
// workspace's inbox subscribers if the visible state changed.
func (s *shard) onPresence(e event.Event) {
	ch, err := decodePresence(e)
	if err != nil {
		s.hub.log.Debug("ignore presence event", "workspace_id", e.WorkspaceID, "err", err)
		return
	}
	cv := s.conversation(e.WorkspaceID, ch.ConversationID)
	cv.touched = time.Now()
	if cv.presence == nil {
		cv.presence = &presenceState{}
		s.present[cv.key] = cv
	}
	cv.presence.apply(ch, cv.touched, s.hub.cfg.ViewingTTL, s.hub.cfg.TypingTTL)
	s.broadcastPresence(cv)
}

// broadcastPresence sends cv's presence to the workspace's inbox subscribers
// if it differs from what was sent last, and forgets empty state.
func (s *shard) broadcastPresence(cv *conversation) {
	frame := cv.presence.render(cv.key.name)
	if !bytes.Equal(frame, cv.presence.lastSent) {
		cv.presence.lastSent = frame
		if st := s.streams[wsKey{cv.key.ws, event.StreamInbox}]; st != nil && len(st.subs) > 0 {
			if b, err := sharedBatch(frame); err == nil {
				for c := range st.subs {
					s.send(c, b)
				}
			}
		}
	}
	if cv.presence.empty() {
		cv.presence = nil
		delete(s.present, cv.key)
	}
}

// sweep runs on every tick: presence expiry, pings, catch-up after dropped
// events, and pruning of idle state.
func (s *shard) sweep(ctx context.Context, now time.Time) {
	for _, cv := range s.present {
		if cv.presence.expire(now) {
			s.broadcastPresence(cv)
		}
	}
	if now.Sub(s.lastPingSweep) >= s.hub.timing.pingSweep {
		s.lastPingSweep = now
		for c := range s.conns {
			if now.Sub(c.lastPing) >= s.hub.timing.pingPeriod {
				c.lastPing = now
				s.send(c, pingBatch)
			}
		}
	}
	if s.dropped.Swap(false) {
		for _, st := range s.streams {
			if st.known {
				s.fill(ctx, st, 0)
			}
		}
	}
	if now.Sub(s.lastPrune) >= pruneEvery {
		s.lastPrune = now
		s.prune(now)
	}
}

// prune forgets streams and conversations idle for idleStateTTL with nobody
// subscribed or present; their seqs are relearnt from the next event.
func (s *shard) prune(now time.Time) {
	for k, cv := range s.convs {
		if len(cv.subs) == 0 && cv.presence == nil && now.Sub(cv.touched) > idleStateTTL {
			delete(s.convs, k)
		}
	}
	for k, st := range s.streams {
		if !st.audience() && now.Sub(st.touched) > idleStateTTL {
			delete(s.streams, k)
		}
	}
}
