package realtime

import (
	"testing"
	"time"
)

func TestSendQueueBoundsAndOrder(t *testing.T) {
	q := newSendQueue(4, 100)
	frame := func(n int) *batch { return newBatch(make([]byte, n)) }
	for i := range 3 {
		if !q.push(frame(30)) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(frame(30)) {
		t.Fatal("push beyond the byte bound accepted")
	}
	if !q.push(frame(10)) {
		t.Fatal("small push within both bounds refused")
	}
	if q.push(frame(0)) {
		t.Fatal("push beyond the batch bound accepted")
	}
	var dst [3]*batch
	if n := q.take(dst[:]); n != 3 || dst[0].size != 30 || dst[2].size != 30 {
		t.Fatalf("took %d", n)
	}
	if q.len() != 1 || q.bytes != 10 {
		t.Fatalf("left %d batches, %d bytes", q.len(), q.bytes)
	}
	if n := q.take(dst[:]); n != 1 || dst[0].size != 10 || q.items != nil || q.bytes != 0 {
		t.Fatalf("second take %d, items %v", n, q.items)
	}
	// An oversized batch still goes into an empty queue.
	if !q.push(frame(500)) || q.push(frame(1)) {
		t.Fatal("oversized batch handling")
	}
}

func TestSendQueuePushWaitsForRoom(t *testing.T) {
	q := newSendQueue(1, 1<<20)
	q.push(newBatch([]byte("a")))
	done := make(chan struct{})
	pushed := make(chan bool)
	go func() { pushed <- q.pushWait(newBatch([]byte("b")), done) }()
	select {
	case <-pushed:
		t.Fatal("pushWait did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	var dst [1]*batch
	q.take(dst[:])
	if !<-pushed {
		t.Fatal("pushWait gave up although room was made")
	}
	go func() { pushed <- q.pushWait(newBatch([]byte("c")), done) }()
	close(done)
	if <-pushed {
		t.Fatal("pushWait pushed into a full queue")
	}
}
