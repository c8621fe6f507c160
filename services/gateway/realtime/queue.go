package realtime

import "sync"

// sendQueue is a connection's queue of batches waiting for its writer. It is
// bounded by a number of batches and of frame bytes but holds no slots while
// empty: an idle
// connection costs a few words, and a burst (a whole ingest batch published
// at once) grows it up to the limit instead of evicting a healthy reader.
// The batches themselves are shared between recipients, so a full queue of
// fan-out events costs one pointer per event.
type sendQueue struct {
	mu    sync.Mutex
	items []*batch
	bytes int // frame bytes queued
	limit int // batches
	max   int // frame bytes
	// room is signalled (capacity 1) whenever the writer takes batches, for
	// a producer waiting for space (pushWait).
	room chan struct{}
}

func newSendQueue(limit, maxBytes int) sendQueue {
	return sendQueue{limit: limit, max: maxBytes, room: make(chan struct{}, 1)}
}

// push appends b unless the queue is full. A batch larger than the byte
// bound still goes into an empty queue, so it is not refused forever.
func (q *sendQueue) push(b *batch) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.limit || len(q.items) > 0 && q.bytes+b.size > q.max {
		return false
	}
	q.items = append(q.items, b)
	q.bytes += b.size
	return true
}

// pushWait appends b, waiting for room while the queue is full, until done
// is closed (then it reports false).
func (q *sendQueue) pushWait(b *batch, done <-chan struct{}) bool {
	for !q.push(b) {
		select {
		case <-q.room:
		case <-done:
			return false
		}
	}
	return true
}

// take moves up to len(dst) batches from the front of the queue into dst and
// returns how many. An emptied queue lets go of its slots.
func (q *sendQueue) take(dst []*batch) int {
	q.mu.Lock()
	n := copy(dst, q.items)
	for _, b := range q.items[:n] {
		q.bytes -= b.size
	}
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil
	}
	q.mu.Unlock()
	if n > 0 {
		select {
		case q.room <- struct{}{}:
		default:
		}
	}
	return n
}

// len is the number of batches queued.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
