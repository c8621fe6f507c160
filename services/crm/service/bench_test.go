package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/crm/value"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// seedLedger writes n contacts (about 70% referred by an earlier one, so the
// links form a forest) and one or two orders each straight into the store.
// With consistent=true the contacts carry the values a recompute derives
// (computed here with ledger.Rebuild), as after incremental updates.
func seedLedger(tb testing.TB, db *mongo.Database, ws string, n int, consistent bool) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 1))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var led value.Ledger
	nodes := make([]ledger.Node, n)
	var orders []any
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("c%07d", i)
		nodes[i] = ledger.Node{ID: id, Canonical: id}
		if i > 0 && rng.IntN(10) < 7 {
			l := value.Link{Child: id, Parent: fmt.Sprintf("c%07d", rng.IntN(i)), At: now.Add(time.Duration(i) * time.Second)}
			nodes[i].Link = &l
			led.Links = append(led.Links, l)
		}
		for k := 0; k < 1+rng.IntN(2); k++ {
			ext := fmt.Sprintf("%s-%d", id, k)
			amt := int64(100 + rng.IntN(100000))
			key := ledger.OrderKey(ws, "api", ext)
			led.Orders = append(led.Orders, value.Entry{ID: key, Contact: id, Amount: amt})
			orders = append(orders, bson.M{"_id": key, "ws": ws, "source": "api", "external_id": ext, "contact": id,
				"currency": "USD", "total": amt, "base_currency": "USD", "base": amt, "rate": "1", "refunded": int64(0), "base_refunded": int64(0),
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
	contacts := make([]any, 0, n)
	for _, nd := range nodes {
		tier := nd.Tier
		if tier == "" {
			tier = "new"
		}
		contacts = append(contacts, bson.M{"_id": nd.ID, "ws": ws, "name": nd.ID, "names": bson.A{nd.ID}, "emails": bson.A{nd.ID + "@bench.test"},
			"phones": bson.A{}, "handles": bson.A{}, "platforms": bson.A{}, "channel_ids": bson.A{}, "labels": bson.A{},
			"attrs": bson.M{"interests": bson.A{}}, "custom": bson.M{}, "created_at": now, "updated_at": now, "last_activity": now,
			"ver": int64(0), "alias": "", "canonical": nd.ID, "link": link(nd.Link), "eff": link(nd.Eff),
			"val": bson.M{"ver": int64(0), "own_direct": nd.OwnDirect, "own_orders": nd.OwnOrders, "direct": nd.Direct, "orders": nd.Orders,
				"sum": nonNil64(nd.Sum), "count": nonNilInt(nd.Count), "buyers": nonNilInt(nd.Buyers),
				"referral": nd.Referral, "total": nd.Total, "tier": tier}})
	}
	for _, part := range []struct {
		col  string
		docs []any
	}{{"crm_contacts", contacts}, {"crm_orders", orders}} {
		for start := 0; start < len(part.docs); start += 2000 {
			if _, err := db.Collection(part.col).InsertMany(ctx, part.docs[start:min(start+2000, len(part.docs))]); err != nil {
				tb.Fatal(err)
			}
		}
	}
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

func benchN() int {
	if s := os.Getenv("CRM_BENCH_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 20_000
}

// BenchmarkRecomputeFromStore loads N contacts, their orders and links from
// the store, recomputes every value and writes back what differs. The store
// is seeded consistent (as incremental updates leave it), so a run writes
// nothing unless CRM_BENCH_DIRTY=1 seeds zero values, making the first run
// write every document (slow on FerretDB, whose SQLite backend scans per
// update). Load, compute and write time are reported separately. N comes
// from CRM_BENCH_N (default 20 000).
func BenchmarkRecomputeFromStore(b *testing.B) {
	e := newEnv(b)
	n := benchN()
	seedLedger(b, e.db, ws, n, os.Getenv("CRM_BENCH_DIRTY") == "")
	ctx := context.Background()
	var load, compute, write time.Duration
	var changed, links, orders int
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
		links, orders = st.Links, st.Orders
		if st.Contacts != n {
			b.Fatalf("recomputed %d contacts, want %d", st.Contacts, n)
		}
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(float64(n), "contacts")
	b.ReportMetric(float64(orders), "orders")
	b.ReportMetric(float64(links), "links")
	b.ReportMetric(per(load), "load-ms/op")
	b.ReportMetric(per(compute), "compute-ms/op")
	b.ReportMetric(per(write), "write-ms/op")
	b.ReportMetric(float64(changed)/float64(b.N), "written-docs/op")
}

// BenchmarkOrderUpdate measures one order through the service: buyer
// resolution, conversion, the ledger insert and the incremental update of the
// buyer and its three ancestors.
func BenchmarkOrderUpdate(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	var prev string
	for i := 0; i < 4; i++ {
		id := e.newContact(ws, fmt.Sprintf("chain%d@bench.test", i))
		if prev != "" {
			if _, err := e.svc.Ledger.Link(ctx, ws, id, prev); err != nil {
				b.Fatal(err)
			}
		}
		prev = id
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := e.svc.Orders.Ingest(ctx, ws, order.Input{Source: order.SourceAPI, ExternalID: fmt.Sprint("b", i),
			Customer: order.Customer{Email: "chain3@bench.test"}, Currency: "USD", TotalMinor: 1234})
		if err != nil {
			b.Fatal(err)
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
