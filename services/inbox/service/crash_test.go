package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/inbound"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// countlessStore dies after storing messages and before counting them.
type countlessStore struct{ ingest.Storer }

func (countlessStore) AddToConversationsWith(context.Context, string, []conversation.Count, func(conversation.Counted)) (conversation.Counted, error) {
	return conversation.Counted{}, errors.New("process killed")
}

// dyingQueue is a consumer that dies after storing a batch and before
// acknowledging it: its acks never reach the queue.
type dyingQueue struct{ ingest.Queue }

func (dyingQueue) Ack(context.Context, []ingest.Delivery) error { return errors.New("process killed") }

// TestCrashedWorkersLoseAndDoubleNothing queues 60 acknowledged messages;
// worker D stores a batch and dies before counting it into conversations,
// worker A stores three batches and dies before acknowledging each, worker C
// is stopped in the middle of its run, and worker B, started afterwards as a
// new consumer, finishes. Every acknowledged message must be stored exactly
// once and counted once.
func TestCrashedWorkersLoseAndDoubleNothing(t *testing.T) {
	for _, mode := range []struct {
		name    string
		redis   bool
		guarded bool // the MongoDB write mode; safe here since the workers run one at a time
		gather  bool // A and B gather batches from several claims
		fold    bool // A and B store claim after claim and fold them together
	}{{"redis", true, false, false, false}, {"mongo", false, false, false, false}, {"redis guarded updates", true, true, false, false},
		{"redis gathered batches", true, false, true, false}, {"redis folded batches", true, false, false, true}} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHarness(t, mode.redis, func(c *Config) {
				// Long enough that no batch is reclaimed before worker B starts.
				c.IngestLease = 1500 * time.Millisecond
				if mode.guarded {
					c.SerializeWrites = "false"
				}
			})
			const ws = "ws-crash"
			const total = 60
			api := h.createChannel(ws, "api", nil)
			for i := range total {
				h.postAPI(api, apiMessage(fmt.Sprintf("m%02d", i), "", fmt.Sprintf("cust%d", i%6), fmt.Sprintf("message %d", i),
					time.Date(2024, 5, 1, 10, 0, i, 0, time.UTC).Format(time.RFC3339)))
			}
			proc, log := h.svc.Processor(), logging.Discard()
			ctx := context.Background()

			// D: stores messages and dies before counting them.
			dproc := ingest.NewProcessor(countlessStore{h.svc.Store}, h.svc.Channels, h.bus, log, ingest.ProcessorOptions{})
			d := ingest.NewWorker(h.svc.Queue(), dproc, ingest.WorkerOptions{Batch: 7}, log)
			if _, err := d.Drain(ctx, 50*time.Millisecond); err == nil {
				t.Fatal("worker D finished its batch")
			}
			if n, c := h.count("messages", nil), h.count("conversations", nil); n != 7 || c != 0 {
				t.Fatalf("worker D stored %d messages and %d conversations, want 7 and 0", n, c)
			}

			// A: stores and dies before each ack.
			aOpts, bOpts := ingest.WorkerOptions{Batch: 7}, ingest.WorkerOptions{Batch: 10}
			if mode.gather {
				// A gathers its 7 from claims of 3, 3 and 1; B takes the rest in one batch.
				aOpts, bOpts = ingest.WorkerOptions{Batch: 3, MaxBatch: 7}, ingest.WorkerOptions{Batch: 4, MaxBatch: total}
			}
			if mode.fold {
				// A stores seven claims of one and dies acknowledging them
				// together; B folds claims of four.
				aOpts, bOpts = ingest.WorkerOptions{Batch: 1, FoldMax: 7}, ingest.WorkerOptions{Batch: 4, FoldMax: total}
			}
			a := ingest.NewWorker(dyingQueue{h.svc.Queue()}, proc, aOpts, log)
			for range 3 {
				if _, err := a.Drain(ctx, 50*time.Millisecond); err == nil {
					t.Fatal("dying worker acknowledged")
				}
			}
			if n := h.count("messages", nil); n != 28 {
				t.Fatalf("workers D and A stored %d messages, want 28", n)
			}

			// C: a healthy worker stopped mid-stream.
			cctx, stop := context.WithCancel(ctx)
			c := ingest.NewWorker(h.svc.Queue(), proc, ingest.WorkerOptions{Batch: 5, Wait: 20 * time.Millisecond}, log)
			done := make(chan struct{})
			go func() { _ = c.Run(cctx); close(done) }()
			for h.count("messages", nil) < 35 {
				time.Sleep(2 * time.Millisecond)
			}
			stop()
			<-done
			if n := h.count("messages", nil); n >= total {
				t.Fatalf("worker C was not stopped mid-stream (%d stored)", n)
			}

			// B: a new process, after A's lease ran out.
			var q ingest.Queue
			if mode.redis {
				q = inbound.NewRedis(h.rdb, inbound.RedisOptions{Prefix: h.prefix, Lease: h.cfg.IngestLease, Consumer: "process-b"})
			} else {
				var err error
				if q, err = inbound.NewMongo(ctx, h.db, inbound.MongoOptions{Lease: h.cfg.IngestLease}); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(h.cfg.IngestLease + 100*time.Millisecond)
			b := ingest.NewWorker(q, proc, bOpts, log)
			if _, err := b.Drain(ctx, time.Second); err != nil {
				t.Fatal(err)
			}

			if n := h.count("messages", nil); n != total {
				t.Fatalf("%d messages stored, want %d", n, total)
			}
			if n := h.count("messages", bson.D{{Key: "counted", Value: true}}); n != total {
				t.Fatalf("%d messages counted, want %d", n, total)
			}
			var sum int64
			for i := range 6 {
				cv := h.conversation(ws, api.ID, conversation.KindDM, fmt.Sprintf("cust%d", i))
				if cv.MessageCount != 10 || cv.IncomingCount != 10 {
					t.Fatalf("conversation cust%d counts %d", i, cv.MessageCount)
				}
				sum += cv.MessageCount
			}
			for i := range total {
				m := h.message(ws, api.ID, fmt.Sprintf("m%02d", i))
				if m.Text != fmt.Sprintf("message %d", i) || m.Placeholder {
					t.Fatalf("message %d: %+v", i, m)
				}
			}
			if mode.redis {
				if n := h.rdb.XLen(ctx, h.prefix+"inbox:inbound").Val(); n != 0 {
					t.Fatalf("%d deliveries left in the stream", n)
				}
			} else if n := h.count("inbound", nil); n != 0 {
				t.Fatalf("%d deliveries left in the queue", n)
			}
			// Live events are at least once across crashes: every message announced.
			created := map[string]bool{}
			for _, e := range h.events(ws, event.StreamInbox) {
				var m conversation.Message
				if e.Type == event.MessageCreated && json.Unmarshal(e.Data, &m) == nil && m.ConversationID == e.ConversationID {
					created[m.ID] = true
				}
			}
			if len(created) < total {
				t.Fatalf("%d distinct message.created events, want at least %d", len(created), total)
			}
			seen := map[string]bool{}
			for _, e := range h.events(ws, event.StreamSystem) {
				var id ingest.IdentitySeen
				if e.Type == event.IdentitySeen && json.Unmarshal(e.Data, &id) == nil {
					seen[id.UserID] = true
				}
			}
			if len(seen) != 6 {
				t.Fatalf("identity.seen announced %d of the 6 customers", len(seen))
			}
		})
	}
}

// TestRetriedEventInARedeliveredBatchIsCountedOnce: a platform retry of an
// event stored and counted long ago arrives in a batch whose worker dies
// before acknowledging it. By then the conversation has dropped the counting
// record of the original (its batch settled), so the redelivered batch must
// not take the message for one its own first attempt stored uncounted.
func TestRetriedEventInARedeliveredBatchIsCountedOnce(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.IngestLease = 300 * time.Millisecond })
	const ws = "ws-retry"
	api := h.createChannel(ws, "api", nil)
	ts := func(s int) string { return time.Date(2024, 5, 1, 10, 0, s, 0, time.UTC).Format(time.RFC3339) }
	first := apiMessage("r1", "", "cust", "first", ts(1))
	h.postAPI(api, first)
	h.drain()
	h.postAPI(api, apiMessage("r2", "", "cust", "second", ts(2)))
	h.drain() // counts r2 and drops r1's record: r1's batch settled

	h.postAPI(api, first) // the platform retries r1
	proc, log, ctx := h.svc.Processor(), logging.Discard(), context.Background()
	dying := ingest.NewWorker(dyingQueue{h.svc.Queue()}, proc, ingest.WorkerOptions{Batch: 10}, log)
	if _, err := dying.Drain(ctx, 50*time.Millisecond); err == nil {
		t.Fatal("dying worker acknowledged")
	}
	time.Sleep(h.cfg.IngestLease + 100*time.Millisecond)
	q := inbound.NewRedis(h.rdb, inbound.RedisOptions{Prefix: h.prefix, Lease: h.cfg.IngestLease, Consumer: "process-b"})
	n, err := ingest.NewWorker(q, proc, ingest.WorkerOptions{Batch: 10}, log).Drain(ctx, 200*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("redelivery drained %d deliveries, err %v; want 1", n, err)
	}
	cv := h.conversation(ws, api.ID, conversation.KindDM, "cust")
	if cv.MessageCount != 2 || cv.IncomingCount != 2 {
		t.Fatalf("conversation counts %d/%d after the retry, want 2/2", cv.MessageCount, cv.IncomingCount)
	}
	if n := h.count("messages", nil); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}
