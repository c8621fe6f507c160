package ingest

import (
	"context"
	"log/slog"
	"time"
)

// Worker moves deliveries from the queue through the Processor.
type Worker struct {
	queue    Queue
	proc     *Processor
	batch    int
	maxBatch int
	maxBytes int
	budget   time.Duration
	// perDelivery is the smoothed time a delivery took in the batches
	// stored so far (Run's goroutine only); it sizes gathered batches.
	perDelivery time.Duration
	wait        time.Duration
	grace       time.Duration
	log         *slog.Logger
}

// WorkerOptions tune a Worker.
type WorkerOptions struct {
	Batch int // deliveries per claim
	// MaxBatch is how many deliveries one batch may gather, claim after
	// claim, while the queue has a backlog (a claim comes back full). A batch
	// costs one write per conversation it touches however many of its
	// messages go there, so a backlog drains faster in larger batches, while
	// a quiet queue still sees each delivery at once. Default: Batch.
	MaxBatch int
	// MaxBytes bounds the bodies a gathered batch holds (default 16 MiB).
	MaxBytes int
	// Budget is how long a gathered batch should take to store, judged by
	// the batches before it: a slow store (FerretDB on SQLite scans whole
	// collections) gets smaller batches, so none outlives its lease and is
	// handed to a second worker. Zero: no bound but MaxBatch.
	Budget time.Duration
	Wait   time.Duration // how long a claim waits for the first delivery
	// Grace bounds how long a claimed batch may still take after Run's context
	// ends: finishing it spares a redelivery.
	Grace time.Duration
}

// NewWorker returns a worker.
func NewWorker(q Queue, p *Processor, o WorkerOptions, log *slog.Logger) *Worker {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.MaxBatch < o.Batch {
		o.MaxBatch = o.Batch
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 16 << 20
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	return &Worker{queue: q, proc: p, batch: o.Batch, maxBatch: o.MaxBatch, maxBytes: o.MaxBytes,
		budget: o.Budget, wait: o.Wait, grace: o.Grace, log: log}
}

// gatherLimit is how many deliveries the next batch may gather: what the
// budget holds at the time deliveries have been taking, between one claim
// and maxBatch.
func gatherLimit(batch, maxBatch int, budget, perDelivery time.Duration) int {
	if budget <= 0 || perDelivery <= 0 {
		return maxBatch
	}
	return max(batch, min(maxBatch, int(budget/perDelivery)))
}

// observe folds a stored batch's time per delivery into perDelivery, giving
// the newest batch half the weight. Batches smaller than one claim are left
// out: their fixed cost per batch would make deliveries look slow.
func (w *Worker) observe(n int, took time.Duration) {
	if n < w.batch {
		return
	}
	d := took / time.Duration(n)
	if w.perDelivery == 0 {
		w.perDelivery = d
		return
	}
	w.perDelivery = (w.perDelivery + d) / 2
}

// claim returns the next batch: one claim, and while claims come back full
// (a backlog) more claims without waiting, up to gatherLimit deliveries or
// maxBytes of bodies. An error after the first claim keeps what was claimed:
// the deliveries are leased to this worker either way.
func (w *Worker) claim(ctx context.Context, wait time.Duration) ([]Delivery, error) {
	ds, err := w.queue.Claim(ctx, w.batch, wait)
	if err != nil || len(ds) < w.batch {
		return ds, err
	}
	size := 0
	for _, d := range ds {
		size += len(d.Body)
	}
	limit := gatherLimit(w.batch, w.maxBatch, w.budget, w.perDelivery)
	for len(ds) < limit && size < w.maxBytes && ctx.Err() == nil {
		more, err := w.queue.Claim(ctx, min(w.batch, limit-len(ds)), time.Millisecond)
		if err != nil {
			w.log.WarnContext(ctx, "ingest: claim failed while gathering a batch", "err", err)
			break
		}
		for _, d := range more {
			size += len(d.Body)
		}
		ds = append(ds, more...)
		if len(more) < w.batch {
			break
		}
	}
	return ds, nil
}

// Run claims, processes and acknowledges batches until ctx ends. A batch that
// fails is not acknowledged: the queue hands it out again after its lease.
func (w *Worker) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		ds, err := w.claim(ctx, w.wait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.log.WarnContext(ctx, "ingest: claim failed", "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		if len(ds) == 0 {
			continue
		}
		if err := w.handle(ctx, ds); err != nil {
			w.log.ErrorContext(ctx, "ingest: batch failed, left for redelivery", "deliveries", len(ds), "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

// handle processes and acknowledges one batch; a stop in the middle gets a
// grace period rather than leaving the batch for redelivery.
func (w *Worker) handle(ctx context.Context, ds []Delivery) error {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.grace, cancel)
		context.AfterFunc(bctx, func() { t.Stop() })
	})
	defer stop()
	start := time.Now()
	res, err := w.proc.Process(bctx, ds)
	if err != nil {
		return err
	}
	w.observe(len(ds), time.Since(start))
	if err := w.queue.Ack(bctx, ds); err != nil {
		return err
	}
	w.proc.Settle(res.Token)
	w.log.DebugContext(ctx, "ingest: batch stored", "deliveries", len(ds), "created", res.Created,
		"updated", res.Updated, "duplicates", res.Duplicates, "ignored", res.Ignored)
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Drain processes deliveries until a claim waiting idle finds none, and
// returns how many it stored. Tests and benchmarks use it to wait for the
// queue to empty; it stops at the first failed batch.
func (w *Worker) Drain(ctx context.Context, idle time.Duration) (int, error) {
	n := 0
	for {
		ds, err := w.claim(ctx, idle)
		if err != nil {
			return n, err
		}
		if len(ds) == 0 {
			return n, ctx.Err()
		}
		if err := w.handle(ctx, ds); err != nil {
			return n, err
		}
		n += len(ds)
	}
}
