package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/shared/logging"
)

// listQueue hands out its deliveries in order; it records the limit of every
// claim and can fail the claims after the first failAfter.
type listQueue struct {
	mu        sync.Mutex
	left      []Delivery
	limits    []int
	failAfter int
}

func (q *listQueue) Enqueue(_ context.Context, d Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.left = append(q.left, d)
	return nil
}

func (q *listQueue) Claim(_ context.Context, limit int, _ time.Duration) ([]Delivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limits = append(q.limits, limit)
	if q.failAfter > 0 && len(q.limits) > q.failAfter {
		return nil, errors.New("connection reset")
	}
	n := min(limit, len(q.left))
	out := q.left[:n:n]
	q.left = q.left[n:]
	return out, nil
}

func (q *listQueue) Ack(context.Context, []Delivery) error { return nil }

func queued(n, size int) *listQueue {
	q := &listQueue{}
	for i := range n {
		q.left = append(q.left, Delivery{ID: fmt.Sprint(i), Body: make([]byte, size)})
	}
	return q
}

func batchSizes(t *testing.T, w *Worker) []int {
	t.Helper()
	var sizes []int
	for {
		ds, _, err := w.claim(context.Background(), time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return sizes
		}
		sizes = append(sizes, len(ds))
	}
}

func TestWorkerGathersABacklogIntoLargerBatches(t *testing.T) {
	log := logging.Discard()
	for _, tc := range []struct {
		name     string
		n, size  int
		o        WorkerOptions
		want     []int
		claimsOf []int // the limits of the first claims
	}{
		{"no gathering by default", 25, 10, WorkerOptions{Batch: 4}, []int{4, 4, 4, 4, 4, 4, 1}, nil},
		{"backlog gathered up to MaxBatch", 25, 10, WorkerOptions{Batch: 4, MaxBatch: 10}, []int{10, 10, 5}, []int{4, 4, 2, 4, 4, 2}},
		{"a short claim ends the batch", 6, 10, WorkerOptions{Batch: 4, MaxBatch: 100}, []int{6}, []int{4, 4}},
		{"quiet queue: one claim", 3, 10, WorkerOptions{Batch: 4, MaxBatch: 100}, []int{3}, []int{4}},
		{"bodies bound the batch", 30, 1000, WorkerOptions{Batch: 4, MaxBatch: 100, MaxBytes: 9000}, []int{12, 12, 6}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := queued(tc.n, tc.size)
			got := batchSizes(t, NewWorker(q, nil, tc.o, log))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
			if tc.claimsOf != nil && !slices.Equal(q.limits[:len(tc.claimsOf)], tc.claimsOf) {
				t.Fatalf("claim limits %v, want %v first", q.limits, tc.claimsOf)
			}
		})
	}
}

func TestWorkerKeepsWhatItClaimedWhenGatheringFails(t *testing.T) {
	q := queued(20, 10)
	q.failAfter = 2
	w := NewWorker(q, nil, WorkerOptions{Batch: 4, MaxBatch: 20}, logging.Discard())
	ds, _, err := w.claim(context.Background(), time.Millisecond)
	if err != nil || len(ds) != 8 || ds[0].ID != "0" || ds[7].ID != "7" {
		t.Fatalf("claimed %d deliveries, err %v", len(ds), err)
	}
}

func TestGatherLimitKeepsBatchesWithinTheBudget(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name        string
		budget, per time.Duration
		want        int
	}{
		{"no budget", 0, ms, 4000},
		{"nothing measured yet", 7 * time.Second, 0, 4000},
		{"fast store: MaxBatch", 7 * time.Second, ms / 4, 4000},
		{"slow store: what the budget holds", 7 * time.Second, 10 * ms, 700},
		{"very slow store: one claim", 7 * time.Second, time.Second, 500},
	} {
		if got := gatherLimit(500, 4000, tc.budget, tc.per); got != tc.want {
			t.Errorf("%s: gatherLimit = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestWorkerSizesBatchesByHowLongDeliveriesTook(t *testing.T) {
	q := queued(100, 10)
	w := NewWorker(q, nil, WorkerOptions{Batch: 5, MaxBatch: 50, Budget: time.Second}, logging.Discard())
	w.observe(1, time.Hour) // a small batch says little about large ones
	if w.perDelivery != 0 {
		t.Fatalf("a batch smaller than a claim was observed: %v", w.perDelivery)
	}
	w.observe(10, time.Second) // 100 ms a delivery: 10 fit the budget
	if ds, _, err := w.claim(context.Background(), time.Millisecond); err != nil || len(ds) != 10 {
		t.Fatalf("slow batches: gathered %d, err %v", len(ds), err)
	}
	w.observe(10, 10*time.Millisecond) // (100 + 1) / 2 ms
	if w.perDelivery != 50500*time.Microsecond {
		t.Fatalf("smoothed time per delivery %v", w.perDelivery)
	}
	for range 10 {
		w.observe(100, 10*time.Millisecond) // 100 µs each from now on
	}
	if ds, _, err := w.claim(context.Background(), time.Millisecond); err != nil || len(ds) != 50 {
		t.Fatalf("fast batches: gathered %d, err %v", len(ds), err)
	}
}
