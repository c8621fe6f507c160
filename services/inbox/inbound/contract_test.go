package inbound

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/redistest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

const testLease = 400 * time.Millisecond

// factory returns two queues on the same storage, as two processes would see it.
type factory func(t *testing.T) (ingest.Queue, ingest.Queue)

func redisFactory(t *testing.T) (ingest.Queue, ingest.Queue) {
	c, prefix := redistest.Client(t)
	o := RedisOptions{Prefix: prefix, Lease: testLease}
	a, b := o, o
	a.Consumer, b.Consumer = "a", "b"
	return NewRedis(c, a), NewRedis(c, b)
}

func mongoFactory(t *testing.T) (ingest.Queue, ingest.Queue) {
	db := mongotest.DB(t)
	o := MongoOptions{Lease: testLease, Poll: 20 * time.Millisecond}
	a, err := NewMongo(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMongo(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestRedisQueueContract(t *testing.T) { runContract(t, redisFactory) }
func TestMongoQueueContract(t *testing.T) { runContract(t, mongoFactory) }

func runContract(t *testing.T, f factory) {
	t.Run("round trip keeps bytes and order", func(t *testing.T) { testRoundTrip(t, f) })
	t.Run("claim respects the limit", func(t *testing.T) { testLimit(t, f) })
	t.Run("unacknowledged deliveries come back", func(t *testing.T) { testRedelivery(t, f) })
	t.Run("concurrent claimers split the work", func(t *testing.T) { testConcurrent(t, f) })
	t.Run("a waiting claim wakes up", func(t *testing.T) { testWakeUp(t, f) })
}

var ctx = context.Background()

func delivery(i int) ingest.Delivery {
	body := append([]byte(fmt.Sprintf(`{"n":%d,"raw":"`, i)), 0x00, 0xff, 0xfe, '\\', 'u', '0', '0', 'e', '4')
	return ingest.Delivery{Source: ingest.SourceMeta, ChannelIDs: []string{"c1", fmt.Sprintf("c%d", i)},
		Body: append(body, '"', '}'), ReceivedAt: time.UnixMilli(1700000000123 + int64(i)).UTC()}
}

func enqueue(t *testing.T, q ingest.Queue, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := q.Enqueue(ctx, delivery(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func claim(t *testing.T, q ingest.Queue, limit int, wait time.Duration) []ingest.Delivery {
	t.Helper()
	ds, err := q.Claim(ctx, limit, wait)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func testRoundTrip(t *testing.T, f factory) {
	a, _ := f(t)
	enqueue(t, a, 0, 3)
	ds := claim(t, a, 10, time.Second)
	if len(ds) != 3 {
		t.Fatalf("claimed %d, want 3", len(ds))
	}
	for i, d := range ds {
		want := delivery(i)
		if !bytes.Equal(d.Body, want.Body) || d.Source != want.Source || fmt.Sprint(d.ChannelIDs) != fmt.Sprint(want.ChannelIDs) ||
			!d.ReceivedAt.Equal(want.ReceivedAt) || d.Redelivered || d.ID == "" {
			t.Fatalf("delivery %d = %+v, want %+v", i, d, want)
		}
	}
	if err := a.Ack(ctx, ds); err != nil {
		t.Fatal(err)
	}
	time.Sleep(testLease + 100*time.Millisecond)
	if rest := claim(t, a, 10, 50*time.Millisecond); len(rest) != 0 {
		t.Fatalf("acknowledged deliveries came back: %d", len(rest))
	}
}

func testLimit(t *testing.T, f factory) {
	a, _ := f(t)
	enqueue(t, a, 0, 5)
	first := claim(t, a, 2, time.Second)
	rest := claim(t, a, 10, time.Second)
	if len(first) != 2 || len(rest) != 3 {
		t.Fatalf("claimed %d then %d, want 2 then 3", len(first), len(rest))
	}
	if !bytes.Equal(first[0].Body, delivery(0).Body) || !bytes.Equal(rest[0].Body, delivery(2).Body) {
		t.Fatal("not in enqueue order")
	}
}

func testRedelivery(t *testing.T, f factory) {
	a, b := f(t)
	enqueue(t, a, 0, 1)
	got := claim(t, a, 10, time.Second)
	if len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	// Leased to a: b must not get it before the lease ends.
	if early := claim(t, b, 10, 50*time.Millisecond); len(early) != 0 {
		t.Fatalf("leased delivery handed out twice: %+v", early)
	}
	time.Sleep(testLease + 150*time.Millisecond)
	var again []ingest.Delivery
	for deadline := time.Now().Add(3 * time.Second); len(again) == 0 && time.Now().Before(deadline); {
		again = claim(t, b, 10, 100*time.Millisecond)
	}
	if len(again) != 1 || !again[0].Redelivered || !bytes.Equal(again[0].Body, delivery(0).Body) {
		t.Fatalf("redelivery %+v", again)
	}
	if err := b.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	// The dead consumer's late ack is harmless.
	if err := a.Ack(ctx, got); err != nil {
		t.Fatal(err)
	}
	time.Sleep(testLease + 150*time.Millisecond)
	if rest := claim(t, a, 10, 50*time.Millisecond); len(rest) != 0 {
		t.Fatalf("delivery survived its ack: %d", len(rest))
	}
}

func testConcurrent(t *testing.T, f factory) {
	a, b := f(t)
	const n = 60
	enqueue(t, a, 0, n)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, q := range []ingest.Queue{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idle := 0; idle < 3; {
				ds, err := q.Claim(ctx, 7, 50*time.Millisecond)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					idle++
					continue
				}
				mu.Lock()
				for _, d := range ds {
					seen[string(d.Body)]++
				}
				mu.Unlock()
				if err := q.Ack(ctx, ds); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct deliveries claimed, want %d", len(seen), n)
	}
	for body, c := range seen {
		if c != 1 {
			t.Fatalf("delivery %q claimed %d times within its lease", body, c)
		}
	}
}

func testWakeUp(t *testing.T, f factory) {
	a, _ := f(t)
	// Start the group (Redis) so the claim below waits on an existing stream.
	claim(t, a, 1, 10*time.Millisecond)
	got := make(chan []ingest.Delivery, 1)
	start := time.Now()
	go func() {
		ds, _ := a.Claim(ctx, 5, 3*time.Second)
		got <- ds
	}()
	time.Sleep(100 * time.Millisecond)
	enqueue(t, a, 0, 1)
	ds := <-got
	if len(ds) != 1 {
		t.Fatalf("claim returned %d", len(ds))
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("claim woke after %v", waited)
	}
}
