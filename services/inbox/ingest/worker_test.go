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
	acked     int
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

func (q *listQueue) Ack(_ context.Context, ds []Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.acked += len(ds)
	return nil
}

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
		ds, _, err := w.claim(context.Background(), time.Millisecond, w.limit())
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
	ds, _, err := w.claim(context.Background(), time.Millisecond, w.limit())
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
	if ds, _, err := w.claim(context.Background(), time.Millisecond, w.limit()); err != nil || len(ds) != 10 {
		t.Fatalf("slow batches: gathered %d, err %v", len(ds), err)
	}
	w.observe(10, 10*time.Millisecond) // (100 + 1) / 2 ms
	if w.perDelivery != 50500*time.Microsecond {
		t.Fatalf("smoothed time per delivery %v", w.perDelivery)
	}
	for range 10 {
		w.observe(100, 10*time.Millisecond) // 100 µs each from now on
	}
	if ds, _, err := w.claim(context.Background(), time.Millisecond, w.limit()); err != nil || len(ds) != 50 {
		t.Fatalf("fast batches: gathered %d, err %v", len(ds), err)
	}
}

// foldRecorder is a processor that records the batches it stages and folds,
// and fails the stages and folds whose numbers (from 1) are listed.
type foldRecorder struct {
	stages, folds       int
	failStage, failFold map[int]bool
	folded              [][]int // per fold, the size of each staged batch
}

func (f *foldRecorder) Prepare(_ context.Context, ds []Delivery) (*Prepared, error) {
	return &Prepared{ignored: len(ds)}, nil
}

func (f *foldRecorder) StagePrepared(_ context.Context, pr *Prepared) (*Staged, error) {
	f.stages++
	if f.failStage[f.stages] {
		return &Staged{}, errors.New("store down")
	}
	return &Staged{res: Result{Created: pr.ignored}}, nil
}

func (f *foldRecorder) Fold(_ context.Context, batches ...*Staged) (Result, error) {
	f.folds++
	if f.failFold[f.folds] {
		return Result{}, errors.New("store down")
	}
	var sizes []int
	for _, b := range batches {
		sizes = append(sizes, b.res.Created)
	}
	f.folded = append(f.folded, sizes)
	return Result{Token: fmt.Sprint("fold", f.folds)}, nil
}

func (f *foldRecorder) Settle(string) {}

func TestWorkerFoldsABacklogTogether(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued int
		o      WorkerOptions
		want   [][]int
	}{
		// Claims of 5 while they come back full, folded once 12 are stored,
		// and the rest as soon as a claim comes back short.
		{"backlog", 23, WorkerOptions{Batch: 5, FoldMax: 12}, [][]int{{5, 5, 5}, {5, 3}}},
		// Without FoldMax every batch is folded alone.
		{"default", 12, WorkerOptions{Batch: 5}, [][]int{{5}, {5}, {2}}},
		// A quiet queue folds at once.
		{"quiet", 3, WorkerOptions{Batch: 5, FoldMax: 100}, [][]int{{3}}},
		// FoldAfter bounds the wait even while claims come back full.
		{"fold after", 12, WorkerOptions{Batch: 4, FoldMax: 100, FoldAfter: time.Nanosecond}, [][]int{{4}, {4}, {4}}},
		// Gathered batches are staged whole.
		{"gathered", 30, WorkerOptions{Batch: 5, MaxBatch: 10, FoldMax: 20}, [][]int{{10, 10}, {10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := queued(tc.queued, 1)
			f := &foldRecorder{}
			n, err := newWorker(q, f, tc.o, logging.Discard()).Drain(context.Background(), time.Millisecond)
			if err != nil || n != tc.queued {
				t.Fatalf("drained %d, %v", n, err)
			}
			if fmt.Sprint(f.folded) != fmt.Sprint(tc.want) {
				t.Fatalf("folds %v, want %v", f.folded, tc.want)
			}
			if q.acked != tc.queued {
				t.Fatalf("acked %d of %d", q.acked, tc.queued)
			}
		})
	}
}

func TestWorkerAcknowledgesOnlyWhatItFolded(t *testing.T) {
	t.Run("fold fails", func(t *testing.T) {
		q := queued(12, 1)
		f := &foldRecorder{failFold: map[int]bool{1: true}}
		w := newWorker(q, f, WorkerOptions{Batch: 4, FoldMax: 8}, logging.Discard())
		if _, err := w.Drain(context.Background(), time.Millisecond); err == nil {
			t.Fatal("a failed fold was not reported")
		}
		if q.acked != 0 || len(w.stagedDs) != 0 {
			t.Fatalf("acked %d, kept %d staged after a failed fold", q.acked, len(w.stagedDs))
		}
	})
	t.Run("stage fails", func(t *testing.T) {
		// The third claim fails to store: the two before it are folded and
		// acknowledged, the failed one is left for redelivery.
		q := queued(20, 1)
		f := &foldRecorder{failStage: map[int]bool{3: true}}
		w := newWorker(q, f, WorkerOptions{Batch: 4, FoldMax: 100}, logging.Discard())
		n, err := w.Drain(context.Background(), time.Millisecond)
		if err == nil {
			t.Fatal("a failed batch was not reported")
		}
		if n != 8 || q.acked != 8 || fmt.Sprint(f.folded) != "[[4 4]]" {
			t.Fatalf("drained %d, acked %d, folds %v; want 8, 8, [[4 4]]", n, q.acked, f.folded)
		}
	})
	t.Run("run stops", func(t *testing.T) {
		// A stop while a backlog waits still folds what was stored.
		q := queued(1000, 1)
		f := &foldRecorder{}
		ctx, cancel := context.WithCancel(context.Background())
		w := newWorker(q, f, WorkerOptions{Batch: 10, FoldMax: 1 << 20, FoldAfter: time.Hour}, logging.Discard())
		done := make(chan struct{})
		go func() { _ = w.Run(ctx); close(done) }()
		for {
			q.mu.Lock()
			left := len(q.left)
			q.mu.Unlock()
			if left < 900 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		q.mu.Lock()
		defer q.mu.Unlock()
		if claimed := 1000 - len(q.left); q.acked != claimed || len(f.folded) != 1 {
			t.Fatalf("claimed %d, acked %d, folds %d", claimed, q.acked, len(f.folded))
		}
	})
}
