package ingest

import (
	"context"
	"log/slog"
	"time"
)

// Worker moves deliveries from the queue through the Processor.
type Worker struct {
	queue     Queue
	proc      batchProcessor
	batch     int
	maxBatch  int
	maxBytes  int
	budget    time.Duration
	foldMax   int
	foldAfter time.Duration
	// perDelivery is the smoothed time a delivery took in the batches
	// stored so far (Run's goroutine only); it sizes gathered batches.
	perDelivery time.Duration
	wait        time.Duration
	grace       time.Duration
	log         *slog.Logger

	// Batches staged and not yet folded, their deliveries, and when the
	// first of them was claimed (Run's or Drain's goroutine only).
	staged      []*Staged
	stagedDs    []Delivery
	stagedSince time.Time
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
	// FoldMax is how many deliveries may be stored, batch after batch while a
	// backlog waits, before they are counted into their conversations,
	// published and acknowledged together (see Processor.Fold): a
	// conversation is then written once for all of them. Default: MaxBatch,
	// so each batch is folded alone.
	FoldMax int
	// FoldAfter bounds how long a stored delivery waits for its fold, from
	// its claim (default: Budget, or one second). A quiet queue never waits:
	// a batch is folded as soon as a claim comes back short.
	FoldAfter time.Duration
	Wait      time.Duration // how long a claim waits for the first delivery
	// Grace bounds how long a claimed batch may still take after Run's context
	// ends: finishing it spares a redelivery.
	Grace time.Duration
}

// batchProcessor is what a Worker needs of a Processor.
type batchProcessor interface {
	Prepare(ctx context.Context, ds []Delivery) (*Prepared, error)
	StagePrepared(ctx context.Context, pr *Prepared) (*Staged, error)
	Fold(ctx context.Context, batches ...*Staged) (Result, error)
	Settle(token string)
}

// NewWorker returns a worker.
func NewWorker(q Queue, p *Processor, o WorkerOptions, log *slog.Logger) *Worker {
	return newWorker(q, p, o, log)
}

func newWorker(q Queue, p batchProcessor, o WorkerOptions, log *slog.Logger) *Worker {
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
	if o.FoldMax < o.MaxBatch {
		o.FoldMax = o.MaxBatch
	}
	if o.FoldAfter <= 0 {
		o.FoldAfter = o.Budget
	}
	if o.FoldAfter <= 0 {
		o.FoldAfter = time.Second
	}
	return &Worker{queue: q, proc: p, batch: o.Batch, maxBatch: o.MaxBatch, maxBytes: o.MaxBytes,
		budget: o.Budget, foldMax: o.FoldMax, foldAfter: o.FoldAfter, wait: o.Wait, grace: o.Grace, log: log}
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
// (a backlog) more claims without waiting, up to limit (see gatherLimit)
// deliveries or maxBytes of bodies. An error after the first claim keeps what was claimed:
// the deliveries are leased to this worker either way. backlog says that
// the last claim came back full: more deliveries are probably waiting.
func (w *Worker) claim(ctx context.Context, wait time.Duration, limit int) (ds []Delivery, backlog bool, err error) {
	ds, err = w.queue.Claim(ctx, w.batch, wait)
	if err != nil || len(ds) < w.batch {
		return ds, false, err
	}
	size := 0
	for _, d := range ds {
		size += len(d.Body)
	}
	backlog = true
	for len(ds) < limit && size < w.maxBytes && ctx.Err() == nil {
		want := min(w.batch, limit-len(ds))
		more, err := w.queue.Claim(ctx, want, time.Millisecond)
		if err != nil {
			w.log.WarnContext(ctx, "ingest: claim failed while gathering a batch", "err", err)
			return ds, false, nil
		}
		for _, d := range more {
			size += len(d.Body)
		}
		ds = append(ds, more...)
		if len(more) < want {
			return ds, false, nil
		}
	}
	return ds, backlog, nil
}

// claimed is a claimed batch, prepared.
type claimed struct {
	ds      []Delivery
	backlog bool
	prep    *Prepared
	err     error // of the claim, or of preparing it
}

// fetch claims the next batch and prepares it. It touches nothing of the
// worker but the queue and the processor, so it may run beside stage.
func (w *Worker) fetch(ctx context.Context, wait time.Duration, limit int) claimed {
	ds, backlog, err := w.claim(ctx, wait, limit)
	c := claimed{ds: ds, backlog: backlog, err: err}
	if err == nil && len(ds) > 0 {
		c.prep, c.err = w.proc.Prepare(ctx, ds)
	}
	return c
}

// ahead fetches the next batch while the caller stores the current one, when
// a backlog says there is one: the claim and the parsing then overlap the
// store's work.
func (w *Worker) ahead(ctx context.Context, cur claimed) <-chan claimed {
	if !cur.backlog || cur.err != nil {
		return nil
	}
	limit := w.limit()
	next := make(chan claimed, 1)
	go func() { next <- w.fetch(ctx, time.Millisecond, limit) }()
	return next
}

func (w *Worker) limit() int { return gatherLimit(w.batch, w.maxBatch, w.budget, w.perDelivery) }

// Run claims, processes and acknowledges batches until ctx ends. A batch that
// fails is not acknowledged: the queue hands it out again after its lease.
// While a backlog waits, the next batch is claimed and parsed while the
// current one is stored, and batches are stored one after another and
// folded together (WorkerOptions.FoldMax); a stop folds what was stored.
func (w *Worker) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	fail := func(what string, n int, err error) {
		w.log.ErrorContext(ctx, "ingest: "+what+" failed, left for redelivery", "deliveries", n, "err", err)
		sleep(ctx, backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
	var next <-chan claimed
	defer func() {
		if next != nil {
			// Claimed while the stop came: store it rather than leave it to the lease.
			if c := <-next; c.err == nil && len(c.ds) > 0 {
				if err := w.stage(ctx, c); err != nil {
					w.log.ErrorContext(ctx, "ingest: batch failed, left for redelivery", "deliveries", len(c.ds), "err", err)
				}
			}
		}
		if n := len(w.stagedDs); n > 0 {
			if err := w.fold(ctx); err != nil {
				w.log.ErrorContext(ctx, "ingest: fold failed, left for redelivery", "deliveries", n, "err", err)
			}
		}
	}()
	for ctx.Err() == nil {
		var cur claimed
		if next != nil {
			cur, next = <-next, nil
		} else {
			wait := w.wait
			if len(w.stagedDs) > 0 {
				wait = time.Millisecond // stored deliveries wait for their fold
			}
			cur = w.fetch(ctx, wait, w.limit())
		}
		if cur.err != nil && len(cur.ds) == 0 {
			if ctx.Err() != nil {
				break
			}
			w.log.WarnContext(ctx, "ingest: claim failed", "err", cur.err)
		}
		next = w.ahead(ctx, cur)
		if len(cur.ds) > 0 {
			if err := w.stage(ctx, cur); err != nil {
				fail("batch", len(cur.ds), err)
				continue
			}
		}
		if n := len(w.stagedDs); n > 0 && (!cur.backlog || w.foldDue()) {
			if err := w.fold(ctx); err != nil {
				fail("fold", n, err)
				continue
			}
		}
		if cur.err != nil {
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

// foldDue says whether the staged deliveries must be folded now although
// more are waiting.
func (w *Worker) foldDue() bool {
	return len(w.stagedDs) >= w.foldMax || time.Since(w.stagedSince) >= w.foldAfter
}

// graceful runs f with a context that outlives a stop of ctx by the grace
// period: finishing a claimed batch spares a redelivery.
func (w *Worker) graceful(ctx context.Context, f func(context.Context) error) error {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(w.grace, cancel)
		context.AfterFunc(bctx, func() { t.Stop() })
	})
	defer stop()
	return f(bctx)
}

// stage stores one claimed batch and keeps it for the next fold.
func (w *Worker) stage(ctx context.Context, c claimed) error {
	if c.err != nil {
		return c.err
	}
	ds := c.ds
	start := time.Now()
	return w.graceful(ctx, func(ctx context.Context) error {
		st, err := w.proc.StagePrepared(ctx, c.prep)
		if err != nil {
			return err
		}
		w.observe(len(ds), time.Since(start))
		if len(w.stagedDs) == 0 {
			w.stagedSince = start
		}
		w.staged = append(w.staged, st)
		w.stagedDs = append(w.stagedDs, ds...)
		return nil
	})
}

// fold finishes the staged batches and acknowledges their deliveries. A
// failure drops them unacknowledged: the queue hands them out again.
func (w *Worker) fold(ctx context.Context) error {
	staged, ds := w.staged, w.stagedDs
	w.staged, w.stagedDs = nil, nil
	return w.graceful(ctx, func(ctx context.Context) error {
		res, err := w.proc.Fold(ctx, staged...)
		if err != nil {
			return err
		}
		if err := w.queue.Ack(ctx, ds); err != nil {
			return err
		}
		w.proc.Settle(res.Token)
		w.log.DebugContext(ctx, "ingest: batch stored", "deliveries", len(ds), "batches", len(staged), "created", res.Created,
			"updated", res.Updated, "duplicates", res.Duplicates, "ignored", res.Ignored)
		return nil
	})
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Drain processes deliveries until a claim waiting idle finds none, and
// returns how many it stored. Tests and benchmarks use it to wait for the
// queue to empty; it stops at the first failed batch or fold.
func (w *Worker) Drain(ctx context.Context, idle time.Duration) (int, error) {
	n := 0
	cur := w.fetch(ctx, idle, w.limit())
	for {
		next := w.ahead(ctx, cur)
		if cur.err == nil && len(cur.ds) > 0 {
			cur.err = w.stage(ctx, cur)
		}
		if cur.err != nil {
			// What was stored before is finished; the failed batch, and
			// the one claimed meanwhile, are redelivered.
			if next != nil {
				<-next
			}
			if k := len(w.stagedDs); k > 0 && w.fold(ctx) == nil {
				n += k
			}
			return n, cur.err
		}
		if k := len(w.stagedDs); k > 0 && (!cur.backlog || w.foldDue()) {
			if err := w.fold(ctx); err != nil {
				if next != nil {
					<-next
				}
				return n, err
			}
			n += k
		}
		if len(cur.ds) == 0 {
			return n, ctx.Err()
		}
		if next != nil {
			cur = <-next
		} else {
			cur = w.fetch(ctx, idle, w.limit())
		}
	}
}
