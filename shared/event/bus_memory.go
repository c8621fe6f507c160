package event

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// MemoryBus is the in-process Bus of the all-in-one dev mode and of unit tests.
// Subscribers that fall more than their buffer behind lose live events and
// recover them from History, exactly as with Redis.
type MemoryBus struct {
	mu       sync.Mutex
	closed   bool
	histLen  int
	seq      map[string]int64
	convSeq  map[string]int64
	history  map[string][]Event
	subs     map[int]chan Event
	nextSub  int
	groups   map[string]*memGroup
	retryGap time.Duration
}

type memGroup struct {
	mu    sync.Mutex
	cond  *sync.Cond
	queue []memItem
}

type memItem struct {
	e        Event
	attempts int
	notAfter time.Time
}

// maxAttempts bounds redeliveries of an event whose handler keeps failing; after
// that it is dropped (and logged by the consumer) so one poison event cannot stall a group.
const maxAttempts = 10

// NewMemoryBus returns an in-process bus keeping histLen events per stream.
func NewMemoryBus(histLen int) *MemoryBus {
	return &MemoryBus{histLen: histLen, seq: map[string]int64{}, convSeq: map[string]int64{},
		history: map[string][]Event{}, subs: map[int]chan Event{}, groups: map[string]*memGroup{},
		retryGap: 50 * time.Millisecond}
}

// Publish numbers e, keeps it in history and hands it to subscribers and groups.
func (b *MemoryBus) Publish(_ context.Context, e Event) (Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Event{}, ErrClosed
	}
	stamp(&e)
	if e.Stream == StreamPresence {
		b.fanOut(e)
		return e, nil
	}
	key := e.WorkspaceID + "|" + e.Stream
	b.seq[key]++
	e.Seq = b.seq[key]
	if e.ConversationID != "" {
		ck := e.WorkspaceID + "|" + e.ConversationID
		b.convSeq[ck]++
		e.ConversationSeq = b.convSeq[ck]
	}
	h := append(b.history[key], e)
	if len(h) > b.histLen {
		h = append(h[:0:0], h[len(h)-b.histLen:]...)
	}
	b.history[key] = h
	b.fanOut(e)
	for _, g := range b.groups {
		g.mu.Lock()
		g.queue = append(g.queue, memItem{e: e})
		g.mu.Unlock()
		g.cond.Signal()
	}
	return e, nil
}

// fanOut hands e to every subscriber without blocking; b.mu is held.
func (b *MemoryBus) fanOut(e Event) {
	for _, ch := range b.subs {
		select {
		case ch <- e:
		default: // a slow subscriber sees a gap and fills it from History
		}
	}
}

// LastSeq returns the newest seq of (workspace, stream).
func (b *MemoryBus) LastSeq(_ context.Context, ws, stream string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq[ws+"|"+stream], nil
}

// LastConversationSeq returns the newest ConversationSeq of a conversation.
func (b *MemoryBus) LastConversationSeq(_ context.Context, ws, conv string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.convSeq[ws+"|"+conv], nil
}

// Subscribe calls fn for every event published from now on, from one goroutine.
func (b *MemoryBus) Subscribe(ctx context.Context, fn func(Event)) (func(), error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	id := b.nextSub
	b.nextSub++
	ch := make(chan Event, 4096)
	b.subs[id] = ch
	b.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-ch:
				fn(e)
			}
		}
	}()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
		cancel()
		<-done
	}, nil
}

// History returns retained events of (workspace, stream) after afterSeq.
func (b *MemoryBus) History(_ context.Context, ws, stream string, afterSeq int64, limit int) ([]Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := ws + "|" + stream
	h := b.history[key]
	cur := b.seq[key]
	if afterSeq >= cur {
		return nil, nil
	}
	if len(h) == 0 || h[0].Seq > afterSeq+1 {
		return nil, ErrHistoryTrimmed
	}
	start := int(afterSeq + 1 - h[0].Seq)
	end := len(h)
	if limit > 0 && start+limit < end {
		end = start + limit
	}
	return append([]Event(nil), h[start:end]...), nil
}

// Consume delivers events published after the group was first used to fn, one
// at a time, redelivering on error up to a bound.
func (b *MemoryBus) Consume(ctx context.Context, group string, fn func(context.Context, Event) error) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	g, ok := b.groups[group]
	if !ok {
		g = &memGroup{}
		g.cond = sync.NewCond(&g.mu)
		b.groups[group] = g
	}
	b.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer stop()
	for {
		g.mu.Lock()
		for len(g.queue) == 0 && ctx.Err() == nil {
			g.cond.Wait()
		}
		if ctx.Err() != nil {
			g.mu.Unlock()
			return nil
		}
		it := g.queue[0]
		g.queue = g.queue[1:]
		g.mu.Unlock()
		if wait := time.Until(it.notAfter); wait > 0 {
			select {
			case <-ctx.Done():
				b.requeue(g, it)
				return nil
			case <-time.After(wait):
			}
		}
		if err := fn(ctx, it.e); err != nil {
			it.attempts++
			if it.attempts < maxAttempts {
				it.notAfter = time.Now().Add(b.retryGap * time.Duration(it.attempts))
				b.requeue(g, it)
			}
		}
	}
}

func (b *MemoryBus) requeue(g *memGroup, it memItem) {
	g.mu.Lock()
	g.queue = append(g.queue, it)
	g.mu.Unlock()
	g.cond.Signal()
}

// Close stops accepting events.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func stamp(e *Event) {
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Stream == "" {
		e.Stream = StreamInbox
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
