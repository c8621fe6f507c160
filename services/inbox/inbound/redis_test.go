package inbound

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/redistest"
	"github.com/redis/go-redis/v9"
)

// roundTrips counts a client's XADD round trips and holds every pipeline of
// XADDs until release is closed.
type roundTrips struct {
	singles, pipelines atomic.Int64
	held               atomic.Int64 // commands in pipelines being held
	release            chan struct{}
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "xadd" {
			r.singles.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		xadds := 0
		for _, c := range cmds {
			if c.Name() == "xadd" {
				xadds++
			}
		}
		if xadds == 0 { // a connection's handshake
			return next(ctx, cmds)
		}
		r.pipelines.Add(1)
		r.held.Add(int64(xadds))
		<-r.release
		return next(ctx, cmds)
	}
}

func TestConcurrentEnqueuesShareRoundTrips(t *testing.T) {
	c, prefix := redistest.Client(t)
	rt := &roundTrips{release: make(chan struct{})}
	c.AddHook(rt)
	q := NewRedis(c, RedisOptions{Prefix: prefix, Lease: testLease})
	const n = 600
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- q.Enqueue(context.Background(), delivery(i)) }()
	}
	// Every call is either waiting or in a pipeline held by the hook.
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.amu.Lock()
		waiting := len(q.waiting)
		q.amu.Unlock()
		if waiting+int(rt.held.Load()) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d waiting, %d held in pipelines, %d single commands, of %d enqueued",
				waiting, rt.held.Load(), rt.singles.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(rt.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// At most maxAppending pipelines were sent before the rest waited; the
	// rest go in pipelines of maxAppend.
	if p, most := rt.pipelines.Load(), int64(maxAppending+(n+maxAppend-1)/maxAppend); p > most || rt.singles.Load() != 0 {
		t.Fatalf("%d enqueues took %d pipelines and %d single commands, want at most %d pipelines", n, p, rt.singles.Load(), most)
	}
	q.amu.Lock()
	loops := q.appending
	q.amu.Unlock()
	if loops != 0 {
		t.Fatalf("%d append loops still running", loops)
	}
	seen := map[string]int{}
	for {
		ds, err := q.Claim(context.Background(), 1000, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			seen[string(d.Body)]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries queued, want %d", len(seen), n)
	}
	for body, k := range seen {
		if k != 1 {
			t.Fatalf("%s queued %d times", body, k)
		}
	}
}

func TestPipelinesAreBoundedInBytes(t *testing.T) {
	q := NewRedis(nil, RedisOptions{})
	big := strings.Repeat("x", 1<<20) // 1 MiB: four fit in 4 MiB, not with more
	for range 10 {
		q.waiting = append(q.waiting, &appendReq{d: ingest.Delivery{Body: []byte(big + "!")}})
	}
	huge := &appendReq{d: ingest.Delivery{Body: []byte(strings.Repeat("y", 5<<20))}}
	q.waiting = append(q.waiting, huge)
	for range 300 {
		q.waiting = append(q.waiting, &appendReq{d: ingest.Delivery{Body: []byte("small")}})
	}
	q.appending = 1
	var sizes []int
	for b := q.take(); b != nil; b = q.take() {
		sizes = append(sizes, len(b))
	}
	// Three of 1 MiB and a byte each (a fourth would pass 4 MiB), three,
	// three, then the last with nothing after it that fits; the delivery of
	// 5 MiB alone; then 300 small ones in pipelines of at most maxAppend.
	want := []int{3, 3, 3, 1, 1, maxAppend, 300 - maxAppend}
	if fmt.Sprint(sizes) != fmt.Sprint(want) || q.appending != 0 {
		t.Fatalf("pipelines of %v (loops left %d), want %v", sizes, q.appending, want)
	}
}

func TestEnqueueReportsItsOwnFailure(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	q := NewRedis(c, RedisOptions{Prefix: "down:"})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Enqueue(context.Background(), delivery(i)); err != nil && strings.Contains(err.Error(), "xadd") {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 20 {
		t.Fatalf("%d of 20 enqueues to a server that is down failed", failed.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Enqueue(ctx, ingest.Delivery{Body: []byte("x")}); err == nil {
		t.Fatal("enqueue with an ended context succeeded")
	}
}
