package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
	mevent "go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The benchmarks run on the test server: the embedded FerretDB on SQLite, or
// on PostgreSQL when FERRETDB_POSTGRES_URL is set, or MONGO_TEST_URI. Each run
// handles max(b.N, BENCH_N) webhooks or documents, so -benchtime=1x still
// measures a meaningful load; the figures are per webhook or document. Knobs:
// BENCH_N (default 5000), BENCH_RATE (webhooks per second, default 5000),
// BENCH_CUSTOMERS (distinct DM threads, default 500), BENCH_BATCH (deliveries
// per ingest batch, default 500).

// benchSize is the number of webhooks or documents a benchmark run handles.
func benchSize(b *testing.B) int { return max(b.N, envInt("BENCH_N", 5000)) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// commandCounter counts the commands (round trips) sent to one database.
type commandCounter struct {
	db    atomic.Value // string
	total atomic.Int64
	mu    sync.Mutex
	by    map[string]int64
	took  map[string]time.Duration // total time per command name
}

func (c *commandCounter) monitor() *mevent.CommandMonitor {
	var watched sync.Map // request id → command name/collection, for commands on the database
	return &mevent.CommandMonitor{Started: func(_ context.Context, e *mevent.CommandStartedEvent) {
		if db, _ := c.db.Load().(string); db == "" || e.DatabaseName != db {
			return
		}
		name := e.CommandName
		if coll, ok := e.Command.Index(0).Value().StringValueOK(); ok && name != "getMore" {
			name += "/" + coll
		}
		watched.Store(e.RequestID, name)
		c.total.Add(1)
		c.mu.Lock()
		c.by[name]++
		c.mu.Unlock()
	}, Succeeded: func(_ context.Context, e *mevent.CommandSucceededEvent) {
		c.finished(&watched, e.RequestID, e.Duration)
	}, Failed: func(_ context.Context, e *mevent.CommandFailedEvent) {
		c.finished(&watched, e.RequestID, e.Duration)
	}}
}

func (c *commandCounter) finished(watched *sync.Map, id int64, d time.Duration) {
	name, ok := watched.LoadAndDelete(id)
	if !ok {
		return
	}
	c.mu.Lock()
	c.took[name.(string)] += d
	c.mu.Unlock()
}

func (c *commandCounter) reset() {
	c.total.Store(0)
	c.mu.Lock()
	c.by = map[string]int64{}
	c.took = map[string]time.Duration{}
	c.mu.Unlock()
}

func (c *commandCounter) breakdown() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for name, n := range c.by {
		parts = append(parts, fmt.Sprintf("%s:%d (%v)", name, n, c.took[name].Round(time.Millisecond)))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func monitoredClient(b *testing.B, c *commandCounter) *mongo.Client {
	client, err := mongo.Connect(options.Client().ApplyURI(mongotest.URI(b)).SetMonitor(c.monitor()).SetMaxPoolSize(64))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// messengerBody is a one-message Messenger webhook from one of customers.
func messengerBody(page string, i, customers int) []byte {
	ms := int64(1700000000000) + int64(i)
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":"cust%d"},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"mid.bench.%d","text":"Hello, is order #%d on its way? \u00e4"}}]}]}`,
		page, ms, i%customers, page, ms, i, i))
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkWebhookAck posts b.N signed Messenger webhooks over HTTP at a fixed
// rate to an inbox with the Redis queue and bus, with no worker running: the
// cost of verifying and queueing alone. The rate is open loop: each request's
// latency is measured from its scheduled time, so a stall shows up as latency
// rather than as a slower rate. Then one worker stores the queue.
func BenchmarkWebhookAck(b *testing.B) { benchWebhooks(b, false) }

// BenchmarkWebhookIngest is BenchmarkWebhookAck with the ingest workers
// storing while the webhooks arrive: the acks compete with storage for
// the CPU, and stored/s is end to end, from the first webhook to the last
// message stored.
func BenchmarkWebhookIngest(b *testing.B) { benchWebhooks(b, true) }

func benchWebhooks(b *testing.B, concurrent bool) {
	n := benchSize(b)
	rate, customers := envInt("BENCH_RATE", 5000), envInt("BENCH_CUSTOMERS", 500)
	counter := &commandCounter{by: map[string]int64{}, took: map[string]time.Duration{}}
	h := newHarnessOn(b, monitoredClient(b, counter), true, func(c *Config) {
		benchBatches(c)
		c.IngestWorkers = envInt("BENCH_WORKERS", c.IngestWorkers)
	})
	counter.db.Store(h.db.Name())
	// Progress is watched through a client the counter does not see, by
	// exact counts: FerretDB answers an estimated count from PostgreSQL's
	// table statistics, which lag by seconds.
	watch := mongotest.Client(b).Database(h.db.Name()).Collection("messages")
	stored := func() int64 {
		n, err := watch.CountDocuments(context.Background(), bson.D{})
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	const page, secret = "1691462197845448", "bench-app-secret"
	h.createChannel("ws-bench", "facebook", metaConfig("page_id", page, secret))
	// A second of webhooks at the rate first, not measured: the client's
	// connections, the channel cache and the Redis pool are then warm, as
	// in a running inbox. Its p99 is reported apart (cold-ack-p99-ms): on
	// these two cores the benchmark's client dials hundreds of connections
	// while the first requests queue.
	warm := envInt("BENCH_ACK_WARMUP", rate)
	total := warm + n
	bodies, sigs := make([][]byte, total), make([]string, total)
	for i := range total {
		bodies[i] = messengerBody(page, i, customers)
		sigs[i] = metaSignature(secret, bodies[i])
	}
	srv := httptest.NewServer(h.svc.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The ingest workers alone: other consumers Run starts (reports) would
	// compete for the database and blur the figures.
	var running sync.WaitGroup
	startWorkers := func() {
		for range max(h.cfg.IngestWorkers, 1) {
			running.Add(1)
			go func() { defer running.Done(); _ = h.svc.NewWorker().Run(ctx) }()
		}
	}
	if concurrent {
		startWorkers()
	}

	// send posts bodies[from:to] at the rate, open loop, and returns each
	// one's latency from its scheduled time.
	sem := make(chan struct{}, 512)
	interval := time.Second / time.Duration(rate)
	send := func(from, to int) []time.Duration {
		latencies := make([]time.Duration, to-from)
		var failed atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			due := start.Add(time.Duration(i-from) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/meta", bytes.NewReader(bodies[i]))
				req.Header.Set("X-Hub-Signature-256", sigs[i])
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies[i-from] = time.Since(due)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d webhooks failed", failed.Load())
		}
		slices.Sort(latencies)
		return latencies
	}
	cold := send(0, warm)

	counter.reset()
	before := stored()
	b.ResetTimer()
	start := time.Now()
	latencies := send(warm, total)
	acked := time.Since(start)
	drainStart := time.Now()
	if !concurrent {
		startWorkers()
	}
	// Every webhook is queued by now, and a delivery leaves the queue once
	// its message is stored and its conversation counted (Worker folds).
	queued := func() int64 { return h.rdb.XLen(context.Background(), h.prefix+"inbox:inbound").Val() }
	deadline := time.Now().Add(15 * time.Minute)
	for queued() > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries still queued", queued(), total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := time.Now()
	b.StopTimer()
	cancel()
	running.Wait()
	if got := stored(); got != int64(total) {
		b.Fatalf("stored %d messages of %d webhooks", got, total)
	}
	rts := counter.total.Load()
	// Stored here: while measured (with workers running throughout, the
	// warm-up's messages stored before that are not counted).
	measured := int64(total) - before
	b.ReportMetric(float64(n)/acked.Seconds(), "acked/s")
	b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds())/1000, "ack-p99-ms")
	b.ReportMetric(float64(percentile(cold, 0.99).Microseconds())/1000, "cold-ack-p99-ms")
	if concurrent {
		b.ReportMetric(float64(measured)/done.Sub(start).Seconds(), "stored/s")
	} else {
		b.ReportMetric(float64(measured)/done.Sub(drainStart).Seconds(), "stored/s")
	}
	b.ReportMetric(float64(rts)/float64(measured), "mongo-rt/msg")
	if n >= 1000 {
		b.Logf("N=%d rate=%d/s customers=%d claim=%d max batch=%d: acked in %v, stored after %v more; %d Mongo commands %s",
			n, rate, customers, h.cfg.IngestBatch, h.cfg.IngestMaxBatch, acked.Round(time.Millisecond), done.Sub(drainStart).Round(time.Millisecond), rts, counter.breakdown())
	}
}

// BenchmarkIngestDrain measures the store path alone: b.N webhooks are queued
// first, then one worker stores them. cold: every conversation is new to the
// first batch; warm: every customer's conversation already holds a message,
// so each batch updates each conversation it touches (the steady state of a
// busy inbox).
func BenchmarkIngestDrain(b *testing.B) {
	b.Run("cold", func(b *testing.B) { benchDrain(b, false) })
	b.Run("warm", func(b *testing.B) { benchDrain(b, true) })
}

// benchBatches sets the ingest batch knobs of the benchmarks: BENCH_BATCH
// deliveries per claim (default 500), BENCH_MAX_BATCH per gathered batch
// (default: the service's), and the service's default lease rather than the
// test harness's short one, since a gathered batch's time budget is a
// quarter of the lease.
func benchBatches(c *Config) {
	c.IngestBatch = envInt("BENCH_BATCH", 500)
	c.IngestMaxBatch = envInt("BENCH_MAX_BATCH", c.IngestMaxBatch)
	c.IngestLease = 30 * time.Second
}

func benchDrain(b *testing.B, warm bool) {
	n := benchSize(b)
	customers := envInt("BENCH_CUSTOMERS", 500)
	counter := &commandCounter{by: map[string]int64{}, took: map[string]time.Duration{}}
	h := newHarnessOn(b, monitoredClient(b, counter), true, benchBatches)
	counter.db.Store(h.db.Name())
	const page, secret = "1691462197845448", "bench-app-secret"
	h.createChannel("ws-bench", "facebook", metaConfig("page_id", page, secret))
	post := func(from, to int) {
		for i := from; i < to; i++ {
			if rec := h.postMeta(messengerBody(page, i, customers), secret); rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	}
	first := 0
	if warm {
		// Two rounds: the first opens the conversations, the second updates
		// each, as the measured drain will; the database server's
		// connections are then open already, as in a running inbox.
		for range 2 {
			post(first, first+customers)
			if got := h.drainWithin(10 * time.Minute); got != customers {
				b.Fatalf("warm-up drained %d of %d", got, customers)
			}
			first += customers
		}
	}
	post(first, first+n)
	counter.reset()
	if f := os.Getenv("BENCH_DRAIN_PROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	start := time.Now()
	if got := h.drainWithin(30 * time.Minute); got != n {
		b.Fatalf("drained %d of %d", got, n)
	}
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/took.Seconds(), "stored/s")
	b.ReportMetric(float64(counter.total.Load())/float64(n), "mongo-rt/msg")
	if n >= 1000 {
		b.Logf("N=%d customers=%d claim=%d max batch=%d: %d Mongo commands %s", n, customers, h.cfg.IngestBatch,
			h.cfg.IngestMaxBatch, counter.total.Load(), counter.breakdown())
	}
}

// BenchmarkBaselineInsertMany is the floor to compare ingest with: the same
// number of message-sized documents inserted with InsertMany in batches as
// large as the largest ingest batch, on the same server. streams=1 sends one
// batch at a time, as ingest does (the target's reference); streams=2 keeps
// two half-size commands in flight, to show what the server reaches when
// both cores insert.
func BenchmarkBaselineInsertMany(b *testing.B) {
	b.Run("streams=1", func(b *testing.B) { benchInsertMany(b, 1) })
	b.Run("streams=2", func(b *testing.B) { benchInsertMany(b, 2) })
}

func benchInsertMany(b *testing.B, streams int) {
	n := benchSize(b)
	cfg := defaultConfig(b)
	benchBatches(&cfg)
	batch := max(cfg.IngestBatch, cfg.IngestMaxBatch)
	counter := &commandCounter{by: map[string]int64{}, took: map[string]time.Duration{}}
	client := monitoredClient(b, counter)
	db := client.Database(mongotest.DB(b).Name())
	counter.db.Store(db.Name())
	coll := db.Collection("baseline")
	docs := make([]any, n)
	now := time.Now().UTC()
	for i := range n {
		docs[i] = map[string]any{
			"_id": fmt.Sprintf("%032x", i), "workspace_id": "ws-bench", "conversation_id": fmt.Sprintf("%032x", i%500),
			"channel_id": "0123456789abcdef0123456789abcdef", "platform": "facebook", "kind": "dm", "direction": "in",
			"author": map[string]string{"platform": "facebook", "user_id": fmt.Sprintf("cust%d", i%500)},
			"text":   fmt.Sprintf("Hello, is order #%d on its way? ä", i), "text_at": now, "external_id": fmt.Sprintf("mid.bench.%d", i),
			"platform_time": now, "received_at": now, "placeholder": false, "counted": true, "rev": 1,
			"seen": map[string]string{"k0123456789abcdef01234567": "0123456789abcdef"}, "created_at": now, "updated_at": now,
		}
	}
	counter.reset()
	b.ResetTimer()
	start := time.Now()
	step := batch / streams
	sem := make(chan struct{}, streams)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i := 0; i < n; i += step {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := coll.InsertMany(context.Background(), docs[i:min(i+step, n)]); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/took.Seconds(), "docs/s")
	b.ReportMetric(float64(counter.total.Load())/float64(n), "mongo-rt/doc")
}
