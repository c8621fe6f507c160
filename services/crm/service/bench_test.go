package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// seedLedger writes n contacts (about 70% referred by an earlier one, so the
// links form a forest), one or two orders for two buyers in three and a
// partial refund for one order in ten straight into the store, as the
// stores write them. With consistent=true the contacts carry the values a
// recompute derives (computed here with ledger.Rebuild), as after
// incremental updates. Documents are built in batches by a few goroutines
// and written with unordered InsertMany, so a million contacts seed in
// minutes rather than hours. It returns the number of documents written.
func seedLedger(tb testing.TB, db *mongo.Database, ws string, n int, consistent bool) int {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 1))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var led value.Ledger
	nodes := make([]ledger.Node, n)
	var orders, refunds []any
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("c%07d", i)
		nodes[i] = ledger.Node{ID: id, Canonical: id}
		if i > 0 && rng.IntN(10) < 7 {
			l := value.Link{Child: id, Parent: fmt.Sprintf("c%07d", rng.IntN(i)), At: now.Add(time.Duration(i) * time.Second)}
			nodes[i].Link = &l
			led.Links = append(led.Links, l)
		}
		if rng.IntN(3) == 0 {
			continue
		}
		for k := 0; k < 1+rng.IntN(2); k++ {
			ext := fmt.Sprintf("%s-%d", id, k)
			amt := int64(100 + rng.IntN(100000))
			key := ledger.OrderKey(ws, "api", ext)
			var refunded int64
			if rng.IntN(10) == 0 {
				refunded = amt / 4
				rkey := ledger.RefundKey(key, "r1")
				led.Refunds = append(led.Refunds, value.Entry{ID: rkey, Contact: id, Amount: refunded})
				refunds = append(refunds, bson.M{"_id": rkey, "ws": ws, "order": key, "refund_id": "r1", "contact": id,
					"currency": "USD", "amount": refunded, "base": refunded, "state": ledger.RefundApplied, "at": now})
			}
			led.Orders = append(led.Orders, value.Entry{ID: key, Contact: id, Amount: amt})
			orders = append(orders, bson.M{"_id": key, "ws": ws, "source": "api", "external_id": ext, "contact": id,
				"currency": "USD", "total": amt, "base_currency": "USD", "base": amt, "rate": "1", "refunded": refunded, "base_refunded": refunded,
				"created_at": now, "booked_at": now})
		}
	}
	if consistent {
		fresh, err := ledger.Rebuild(settings.Defaults().Params(), led, nodes)
		if err != nil {
			tb.Fatal(err)
		}
		nodes = fresh
	}
	link := func(l *value.Link) any {
		if l == nil {
			return nil
		}
		return bson.M{"child": l.Child, "parent": l.Parent, "at": l.At}
	}
	contact := func(i int) any {
		nd := nodes[i]
		tier := nd.Tier
		if tier == "" {
			tier = "new"
		}
		return bson.M{"_id": nd.ID, "ws": ws, "name": nd.ID, "names": bson.A{nd.ID}, "emails": bson.A{nd.ID + "@bench.test"},
			"phones": bson.A{}, "handles": bson.A{}, "platforms": bson.A{}, "channel_ids": bson.A{}, "labels": bson.A{},
			"attrs": bson.M{"interests": bson.A{}}, "custom": bson.M{}, "created_at": now, "updated_at": now, "last_activity": now,
			"ver": int64(0), "alias": "", "canonical": nd.ID, "link": link(nd.Link), "eff": link(nd.Eff),
			"val": bson.M{"ver": int64(0), "own_direct": nd.OwnDirect, "own_orders": nd.OwnOrders, "direct": nd.Direct, "orders": nd.Orders,
				"sum": nonNil64(nd.Sum), "count": nonNilInt(nd.Count), "buyers": nonNilInt(nd.Buyers),
				"referral": nd.Referral, "total": nd.Total, "tier": tier}}
	}
	type batch struct {
		col  string
		docs func() []any
	}
	const size = 2000
	work := make(chan batch)
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if _, err := db.Collection(b.col).InsertMany(ctx, b.docs(), options.InsertMany().SetOrdered(false)); err != nil {
					once.Do(func() { failed = fmt.Errorf("seed %s: %w", b.col, err) })
				}
			}
		}()
	}
	for start := 0; start < n; start += size {
		work <- batch{"crm_contacts", func() []any {
			docs := make([]any, 0, size)
			for i := start; i < min(start+size, n); i++ {
				docs = append(docs, contact(i))
			}
			return docs
		}}
	}
	for _, part := range []struct {
		col  string
		docs []any
	}{{"crm_orders", orders}, {"crm_refunds", refunds}} {
		for start := 0; start < len(part.docs); start += size {
			docs := part.docs[start:min(start+size, len(part.docs))]
			work <- batch{part.col, func() []any { return docs }}
		}
	}
	close(work)
	wg.Wait()
	if failed != nil {
		tb.Fatal(failed)
	}
	return n + len(orders) + len(refunds)
}

func nonNil64(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func nonNilInt(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// envInt reads a positive integer from the first of names that is set.
func envInt(def int, names ...string) int {
	for _, name := range names {
		if s := os.Getenv(name); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n > 0 {
				return n
			}
		}
	}
	return def
}

// BenchmarkRecomputeFromStore seeds N contacts with their orders, refunds
// and links, then loads the whole workspace from the store, recomputes every
// value and writes back what differs. The store is seeded consistent (as
// incremental updates leave it), so a run writes nothing unless
// CRM_BENCH_DIRTY=1 seeds zero values, making the first run write every
// document. Seeding, load, compute and write time are reported separately,
// with the documents read per second of load. N comes from
// CRM_BENCH_CONTACTS (CRM_BENCH_N is the older name; default 20,000;
// scripts/bench.sh sets 1,000,000). CRM_BENCH_SCANS=1 also times a scan of
// the contacts alone and of the orders alone, to show which dominates.
func BenchmarkRecomputeFromStore(b *testing.B) {
	e := newEnv(b)
	n := envInt(20_000, "CRM_BENCH_CONTACTS", "CRM_BENCH_N")
	t0 := time.Now()
	seeded := seedLedger(b, e.db, ws, n, os.Getenv("CRM_BENCH_DIRTY") == "")
	seed := time.Since(t0)
	ctx := context.Background()
	var load, compute, write time.Duration
	var changed, links, orders, refunds int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := e.svc.Recompute(ctx, ws)
		if err != nil {
			b.Fatal(err)
		}
		load += st.Load
		compute += st.Compute
		write += st.Write
		changed += st.Changed
		links, orders, refunds = st.Links, st.Orders, st.Refunds
		if st.Contacts != n {
			b.Fatalf("recomputed %d contacts, want %d", st.Contacts, n)
		}
	}
	b.StopTimer()
	if os.Getenv("CRM_BENCH_DIRTY") == "" && changed != 0 {
		b.Fatalf("a recompute of a consistent store wrote %d documents", changed)
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(float64(n), "contacts")
	b.ReportMetric(float64(orders), "orders")
	b.ReportMetric(float64(refunds), "refunds")
	b.ReportMetric(float64(links), "links")
	b.ReportMetric(seed.Seconds(), "seed-s")
	b.ReportMetric(float64(seeded)/seed.Seconds(), "seed-docs/s")
	b.ReportMetric(per(load), "load-s/op")
	b.ReportMetric(float64(n+orders+refunds)/per(load), "load-docs/s")
	b.ReportMetric(per(compute)*1000, "compute-ms/op")
	b.ReportMetric(per(write)*1000, "write-ms/op")
	b.ReportMetric(float64(changed)/float64(b.N), "written-docs/op")
	if os.Getenv("CRM_BENCH_SCANS") != "" {
		for _, sc := range []struct {
			col, unit string
			proj      bson.M
		}{
			{"crm_contacts", "contacts-scan-s", bson.M{"_id": 1, "alias": 1, "canonical": 1, "link": 1, "eff": 1, "val": 1}},
			{"crm_orders", "orders-scan-s", bson.M{"_id": 1, "contact": 1, "base": 1, "booked_at": 1}},
		} {
			t0 := time.Now()
			cur, err := e.db.Collection(sc.col).Find(ctx, bson.M{"ws": ws}, options.Find().SetProjection(sc.proj).SetBatchSize(10_000))
			if err != nil {
				b.Fatal(err)
			}
			k := 0
			for cur.Next(ctx) {
				k++
			}
			if err := cur.Err(); err != nil || k == 0 {
				b.Fatalf("scan %s: %d docs, %v", sc.col, k, err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), sc.unit)
		}
	}
}

// TestConcurrentOrdersLoseNothing posts orders for one buyer and one
// referrer from many goroutines at once; every amount must arrive.
func TestConcurrentOrdersLoseNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ref := e.newContact(ws, "ref@conc.test")
	code := e.code(ws, ref)
	var wg sync.WaitGroup
	const workers, each = 8, 5
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < each; k++ {
				_, err := e.svc.Orders.Ingest(ctx, ws, order.Input{Source: order.SourceAPI, ExternalID: fmt.Sprintf("w%d-%d", w, k),
					Customer: order.Customer{Email: fmt.Sprintf("buyer%d@conc.test", k%2)}, Currency: "USD", TotalMinor: 100, ReferralCodes: []string{code}})
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r := e.contact(ws, ref)
	if r.Value.ReferralByLevel[0] != workers*each*100 || r.Referrals.ReferredCount[0] != 2 || r.Referrals.ReferredBuyers[0] != 2 {
		t.Fatalf("referrer after concurrent orders: %+v %+v", r.Value, r.Referrals)
	}
	st, err := e.svc.Recompute(ctx, ws)
	if err != nil || st.Changed != 0 {
		t.Fatalf("recompute after concurrent orders: %+v %v", st, err)
	}
}

// monitoredEnv is newEnv on its own client whose command monitor counts the
// commands sent, so a benchmark can report round trips per operation. With
// CRM_TRACE=1 it also prints every command and its duration.
func monitoredEnv(b *testing.B) (*env, *atomic.Int64) {
	var sent atomic.Int64
	trace := os.Getenv("CRM_TRACE") != ""
	var mu sync.Mutex
	names := map[int64]string{}
	mon := &event.CommandMonitor{
		Started: func(_ context.Context, ev *event.CommandStartedEvent) {
			sent.Add(1)
			if trace {
				mu.Lock()
				names[ev.RequestID] = ev.CommandName + " " + ev.Command.Lookup(ev.CommandName).StringValue()
				mu.Unlock()
			}
		},
		Succeeded: func(_ context.Context, ev *event.CommandSucceededEvent) {
			if trace {
				mu.Lock()
				fmt.Printf("CMD %-40s %6.2f ms\n", names[ev.RequestID], float64(ev.Duration.Microseconds())/1000)
				mu.Unlock()
			}
		},
	}
	client, err := mongo.Connect(options.Client().ApplyURI(mongotest.URI(b)).SetMonitor(mon))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return newEnvOn(b, client.Database(mongotest.DB(b).Name())), &sent
}

// BenchmarkOrderLatency books CRM_BENCH_ORDERS orders (default 200;
// scripts/bench.sh sets 2,000) one after another through the order service,
// each by an existing buyer at the end of a referral chain, so that every
// order resolves the buyer, converts, inserts into the ledger and updates
// the buyer and three ancestors under the workspace lease. One order in ten
// is a redelivery of an earlier one (a duplicate webhook), which must change
// nothing. It reports p50/p99 latency of new orders and of duplicates, and
// the MongoDB commands sent per new order.
func BenchmarkOrderLatency(b *testing.B) {
	e, sent := monitoredEnv(b)
	ctx := context.Background()
	const chains = 20
	var buyers, roots []string
	for c := 0; c < chains; c++ {
		var prev string
		for d := 0; d < 4; d++ {
			email := fmt.Sprintf("chain%d-%d@bench.test", c, d)
			id := e.newContact(ws, email)
			if prev != "" {
				if _, err := e.svc.Ledger.Link(ctx, ws, id, prev); err != nil {
					b.Fatal(err)
				}
			} else {
				roots = append(roots, id)
			}
			prev = id
		}
		buyers = append(buyers, fmt.Sprintf("chain%d-3@bench.test", c))
	}
	count := envInt(200, "CRM_BENCH_ORDERS")
	rng := rand.New(rand.NewPCG(3, 4))
	var fresh, dups []time.Duration
	var freshCmds int64
	var booked []order.Input
	var want int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := 0; k < count; k++ {
			in := order.Input{Source: order.SourceAPI, ExternalID: fmt.Sprintf("o%d-%d", i, k),
				Customer: order.Customer{Email: buyers[rng.IntN(len(buyers))]}, Currency: "USD", TotalMinor: int64(100 + rng.IntN(10_000))}
			dup := k%10 == 9
			if dup {
				in = booked[rng.IntN(len(booked))]
			}
			before := sent.Load()
			t0 := time.Now()
			res, err := e.svc.Orders.Ingest(ctx, ws, in)
			took := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if res.Duplicate != dup {
				b.Fatalf("order %s: duplicate=%v, want %v", in.ExternalID, res.Duplicate, dup)
			}
			if dup {
				dups = append(dups, took)
				continue
			}
			freshCmds += sent.Load() - before
			fresh = append(fresh, took)
			booked = append(booked, in)
			want += in.TotalMinor
		}
	}
	b.StopTimer()
	// Every new order reached the roots' level-3 referral sums exactly once.
	var got int64
	for _, root := range roots {
		got += e.contact(ws, root).Value.ReferralByLevel[2]
	}
	if got != want {
		b.Fatalf("roots hold %d at level 3, want %d", got, want)
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(fresh, 0.50), "p50-ms")
	b.ReportMetric(pct(fresh, 0.99), "p99-ms")
	b.ReportMetric(pct(dups, 0.50), "dup-p50-ms")
	b.ReportMetric(pct(dups, 0.99), "dup-p99-ms")
	b.ReportMetric(float64(freshCmds)/float64(len(fresh)), "commands/order")
	b.ReportMetric(float64(len(fresh)), "orders")
}
