package realtime

import (
	"context"
	"errors"

	"github.com/communityinbox/shared/event"
)

// maxSubscribeAttempts bounds the rounds between shard and history when live
// events keep overtaking the replay read; past it the client gets a reset.
const maxSubscribeAttempts = 4

// subscribeRequest carries one subscribe across its rounds. The shard decides
// from its live state what is still missing; the read pump does the I/O
// (history, SeqSource) between rounds, so no shard waits on a replay read.
type subscribeRequest struct {
	t        topic
	since    int64
	hasSince bool

	// What SeqSource said, asked only when the shard has not seen the stream.
	hintTried    bool
	busHint      int64 // seq of the bus stream (inbox or crm)
	busHintKnown bool
	hint         int64 // client-visible seq: the stream's, or the conversation's
	hintKnown    bool

	// Replay read so far from the bus stream's history.
	fetched    bool
	next       int64    // bus seq to continue reading after
	seen       int64    // highest bus seq history returned, 0 if none
	last       int64    // client-visible seq of the last replayed frame, since if none
	frames     [][]byte // replay, encoded for this connection
	unprovable bool     // the replay cannot be shown complete: answer reset
}

// subscribeStep is the shard's verdict on one round.
type subscribeStep struct {
	done      bool
	needHint  bool  // ask SeqSource, then come back
	fetchFrom int64 // otherwise read history after this bus seq, then come back
}

// subscribe runs on the read pump: it checks permission, then alternates
// between the shard and the I/O the shard asks for until the shard has queued
// the answer.
func (c *conn) subscribe(ctx context.Context, m clientMessage) {
	t, err := parseTopic(m.Stream)
	switch {
	case errors.Is(err, errSystemStream):
		c.reply(errorFrame(ErrCodeForbidden, m.Stream, "stream not available to browsers"))
		return
	case err != nil:
		c.reply(errorFrame(ErrCodeInvalidStream, m.Stream, "unknown stream"))
		return
	case t.kind == topicCRM && !c.p.canSeeCRM():
		c.reply(errorFrame(ErrCodeForbidden, m.Stream, "crm is for managers and admins"))
		return
	}
	r := &subscribeRequest{t: t}
	if m.Since != nil {
		r.since, r.hasSince, r.last = *m.Since, true, *m.Since
	}
	for round := 1; ; round++ {
		var step subscribeStep
		if !c.shard.call(func(s *shard) { step = s.subscribe(c, r) }) || step.done {
			return
		}
		if round >= maxSubscribeAttempts {
			r.unprovable, r.hintTried = true, true
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, historyTimeout)
		if step.needHint {
			c.readHints(hctx, r)
		} else {
			err = c.fetchReplay(hctx, r, step.fetchFrom)
		}
		cancel()
		if err != nil {
			c.hub.log.Warn("read replay", "workspace_id", c.p.WorkspaceID, "stream", t.name(), "err", err)
			c.reply(errorFrame(ErrCodeUnavailable, t.name(), "history unavailable, retry later"))
			return
		}
	}
}

// readHints asks SeqSource for the current seqs. The bus stream is read first:
// a change landing between the two reads then shows up as a duplicate, which
// clients ignore, rather than as a gap.
func (c *conn) readHints(ctx context.Context, r *subscribeRequest) {
	r.hintTried = true
	seqs := c.hub.seqs
	ws := c.p.WorkspaceID
	if seq, err := seqs.LastSeq(ctx, ws, r.t.busStream()); err == nil {
		r.busHint, r.busHintKnown = seq, true
	}
	if r.t.kind != topicConversation {
		r.hint, r.hintKnown = r.busHint, r.busHintKnown
		return
	}
	if seq, err := seqs.LastConversationSeq(ctx, ws, r.t.conversationID); err == nil {
		r.hint, r.hintKnown = seq, true
	}
}

// fetchReplay reads the bus stream's history after from and keeps, in order,
// the events the client missed. For a conversation those are the inbox events
// of that conversation with ConversationSeq > since. Each kept event must
// follow the previous one exactly, or the replay is unprovable.
func (c *conn) fetchReplay(ctx context.Context, r *subscribeRequest, from int64) error {
	cfg := c.hub.cfg
	conv := r.t.kind == topicConversation
	name := r.t.name()
	r.fetched, r.next = true, from
	scanned := 0
	for {
		evs, err := cfg.Source.History(ctx, c.p.WorkspaceID, r.t.busStream(), r.next, historyPage)
		if errors.Is(err, event.ErrHistoryTrimmed) {
			r.unprovable = true
			return nil
		}
		if err != nil {
			return err
		}
		before := r.next
		for _, e := range evs {
			if e.Seq <= r.next {
				continue
			}
			r.next, r.seen = e.Seq, e.Seq
			scanned++
			seq := e.Seq
			if conv {
				if e.ConversationID != r.t.conversationID || e.ConversationSeq <= r.since {
					continue
				}
				seq = e.ConversationSeq
			}
			if seq != r.last+1 {
				r.unprovable = true
				return nil
			}
			frame, err := encodeEvent(e, name, seq)
			if err != nil {
				return err
			}
			r.frames = append(r.frames, frame)
			r.last = seq
			if len(r.frames) > cfg.MaxReplay {
				r.unprovable = true
				return nil
			}
		}
		if len(evs) < historyPage {
			return nil
		}
		if r.next == before || scanned > cfg.ReplayWindow+cfg.MaxReplay {
			r.unprovable = true
			return nil
		}
	}
}

// subscribe is the shard's side of a subscribe round: answer now from live
// state if it can, or say what the read pump must read first. Answering
// attaches the subscription and queues subscribed (then reset or replay) in
// the same step, so no live event can slip in between or be lost.
func (s *shard) subscribe(c *conn, r *subscribeRequest) subscribeStep {
	done := subscribeStep{done: true}
	if !c.registered {
		return done
	}
	ws := c.p.WorkspaceID
	st := s.stream(ws, r.t.busStream())
	busLast, busKnown := st.last, st.known
	if !busKnown {
		busLast = 0
	}
	conv := r.t.kind == topicConversation
	cur, curKnown := busLast, busKnown
	if conv {
		cur, curKnown = 0, false
		if cv := s.convs[wsKey{ws, r.t.conversationID}]; cv != nil && cv.known && busKnown && cv.epoch == st.epoch {
			cur, curKnown = cv.last, true
		}
	}
	if (!curKnown || !busKnown) && !r.hintTried && s.hub.seqs != nil {
		return subscribeStep{needHint: true}
	}
	if !curKnown && r.hintKnown {
		cur, curKnown = r.hint, true
	}
	// start is where live delivery would begin if the client needed nothing older.
	start := busLast
	if !busKnown && r.busHintKnown {
		start = r.busHint
	}
	name := r.t.name()
	answer := func(wm, seq int64, frames ...[]byte) subscribeStep {
		s.attach(c, r.t, wm, append([][]byte{subscribedFrame(r.t, seq)}, frames...))
		return done
	}
	reset := func(wm, seq int64) subscribeStep {
		s.hub.resets.Add(1)
		return answer(wm, seq, resetFrame(name, seq))
	}

	if !r.hasSince {
		return answer(start, cur)
	}
	if r.unprovable {
		wm := max(start, r.seen)
		if !conv {
			return reset(wm, wm)
		}
		return reset(wm, cur)
	}
	if !r.fetched {
		if curKnown && r.since == cur {
			return answer(start, cur)
		}
		if !conv {
			return subscribeStep{fetchFrom: r.since}
		}
		return subscribeStep{fetchFrom: max(0, start-int64(s.hub.cfg.ReplayWindow))}
	}
	if busKnown && busLast > r.next {
		// Live events went by after the history read; read on, so the replay
		// reaches the point where live delivery to this client begins.
		return subscribeStep{fetchFrom: r.next}
	}
	wm := max(start, r.seen)
	if len(r.frames) > 0 {
		return answer(wm, r.last, r.frames...)
	}
	if !conv {
		if curKnown && r.since > cur {
			return reset(wm, cur) // the client is ahead of the bus: it was flushed
		}
		return answer(max(wm, r.since), r.since)
	}
	if curKnown && r.since == cur {
		return answer(max(wm, r.next), cur)
	}
	// Nothing of the conversation in the scanned window, yet the client is not
	// provably up to date (its events are older than the window, or it is
	// ahead of the bus).
	if !curKnown {
		cur = 0
	}
	return reset(max(wm, r.next), cur)
}
