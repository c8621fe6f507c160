package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/store"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

type fixedParams struct{ p ledger.Params }

func (f fixedParams) Params(context.Context, string) (ledger.Params, error) { return f.p, nil }

// clock hands out strictly increasing times, one second apart.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type fixture struct {
	db  *mongo.Database
	st  *store.Ledger
	svc *ledger.Service
	ws  string
}

func newFixture(t *testing.T, p ledger.Params) *fixture {
	db := mongotest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	st := store.NewLedger(db)
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := ledger.New(st, store.NewLease(db, 30*time.Second, 50*time.Millisecond), fixedParams{p}, nil, c.Now)
	return &fixture{db: db, st: st, svc: svc, ws: "ws1"}
}

func (f *fixture) addContacts(t *testing.T, ids ...string) {
	for _, id := range ids {
		_, err := f.db.Collection("crm_contacts").InsertOne(context.Background(),
			bson.M{"_id": id, "ws": f.ws, "alias": "", "canonical": id, "val": bson.M{"ver": int64(0), "total": int64(0)}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) order(t *testing.T, ext, contact string, amount int64, referrer string) ledger.BookResult {
	t.Helper()
	o := ledger.Order{Key: ledger.OrderKey(f.ws, "api", ext), WorkspaceID: f.ws, Source: "api", ExternalID: ext, ContactID: contact,
		Currency: "USD", TotalMinor: amount, BaseCurrency: "USD", BaseMinor: amount, Rate: "1"}
	res, err := f.svc.BookOrder(context.Background(), o, referrer)
	if err != nil {
		t.Fatalf("book %s: %v", ext, err)
	}
	return res
}

func (f *fixture) node(t *testing.T, id string) ledger.Node {
	t.Helper()
	ns, err := f.st.Nodes(context.Background(), f.ws, []string{id})
	if err != nil || len(ns) != 1 {
		t.Fatalf("node %s: %v %d", id, err, len(ns))
	}
	return ns[0]
}

func defaultParams() ledger.Params {
	return ledger.Params{Currency: "USD", Value: value.DefaultConfig(), VIPTotal: 100_000}
}

func TestOrdersFlowUpTheReferralChain(t *testing.T) {
	f := newFixture(t, defaultParams())
	ctx := context.Background()
	f.addContacts(t, "a", "b", "c", "d")
	// d → c → b → a: a sees b at depth 1, c at 2, d at 3.
	for _, l := range [][2]string{{"b", "a"}, {"c", "b"}, {"d", "c"}} {
		if _, err := f.svc.Link(ctx, f.ws, l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	f.order(t, "o1", "d", 1000, "")
	f.order(t, "o2", "b", 333, "")
	if r := f.order(t, "o1", "d", 1000, ""); !r.Duplicate {
		t.Fatal("duplicate order not detected")
	}
	a := f.node(t, "a")
	if !slices.Equal(a.Sum, []int64{333, 0, 1000}) || !slices.Equal(a.Buyers, []int{1, 0, 1}) || !slices.Equal(a.Count, []int{1, 1, 1}) {
		t.Fatalf("a levels: %+v", a)
	}
	// 1.0×333 + 0.25×1000 = 583
	if a.Referral != 583 || a.Total != 583 || a.Direct != 0 {
		t.Fatalf("a value: referral %d total %d", a.Referral, a.Total)
	}
	if _, err := f.svc.BookRefund(ctx, ledger.RefundRequest{WorkspaceID: f.ws, OrderKey: ledger.OrderKey(f.ws, "api", "o1"), RefundID: "r1", AmountMinor: 400}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.BookRefund(ctx, ledger.RefundRequest{WorkspaceID: f.ws, OrderKey: ledger.OrderKey(f.ws, "api", "o1"), RefundID: "r2", AmountMinor: 601})
	if !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("over-refund: %v", err)
	}
	if d := f.node(t, "d"); d.Direct != 600 || d.Tier != ledger.TierRegular {
		t.Fatalf("d after refund: %+v", d)
	}
	if a := f.node(t, "a"); a.Sum[2] != 600 || a.Referral != 483 {
		t.Fatalf("a after refund: %+v", a)
	}
	// Cycle and self refused, with nothing stored.
	if _, err := f.svc.Link(ctx, f.ws, "a", "d"); !errors.Is(err, value.ErrCycle) {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := f.svc.Link(ctx, f.ws, "a", "a"); !errors.Is(err, value.ErrSelfReferral) {
		t.Fatalf("self: %v", err)
	}
	if n := f.node(t, "a"); n.Link != nil || n.Eff != nil {
		t.Fatalf("refused link stored: %+v", n)
	}
}

// TestLedgerMatchesEngineAndRecompute throws random operations at the
// store-backed ledger and at value.Engine, and checks after every step that
// the stored values equal the engine's, and at the end that a full recompute
// changes nothing.
func TestLedgerMatchesEngineAndRecompute(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runRandom(t, seed, 150) })
	}
}

func runRandom(t *testing.T, seed uint64, steps int) {
	p := defaultParams()
	f := newFixture(t, p)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	f.addContacts(t, ids...)
	eng, err := value.NewEngine(p.Value)
	if err != nil {
		t.Fatal(err)
	}
	type ord struct {
		key, contact  string
		total, refund int64
	}
	var orders []ord
	pick := func() string { return ids[rng.IntN(len(ids))] }
	ok := map[string]int{}
	sameErr := func(op string, got, want error) {
		t.Helper()
		if (got == nil) != (want == nil) || (want != nil && !errors.Is(got, want)) {
			t.Fatalf("%s: store error %v, engine error %v", op, got, want)
		}
	}
	for step := 0; step < steps; step++ {
		var op string
		err = nil
		switch k := rng.IntN(10); {
		case k < 4:
			c, amt := pick(), int64(rng.IntN(5000))
			ext := fmt.Sprint("o", len(orders))
			if len(orders) > 0 && rng.IntN(6) == 0 { // duplicate delivery
				ext = orders[rng.IntN(len(orders))].key
			}
			op = "order " + ext + " " + c
			res := f.order(t, ext, c, amt, "")
			if !res.Duplicate {
				orders = append(orders, ord{key: ext, contact: c, total: amt})
				_, err := eng.Apply(value.AddOrder{ID: res.Order.Key, Contact: c, Amount: amt})
				sameErr(op, nil, err)
			}
		case k < 6 && len(orders) > 0:
			o := &orders[rng.IntN(len(orders))]
			amt := int64(rng.IntN(int(o.total/2+2))) + 1
			op = "refund " + o.key
			res, err := f.svc.BookRefund(ctx, ledger.RefundRequest{WorkspaceID: f.ws, OrderKey: ledger.OrderKey(f.ws, "api", o.key),
				RefundID: fmt.Sprint("r", step), AmountMinor: amt})
			if amt > o.total-o.refund {
				if !errors.Is(err, apperr.ErrConflict) {
					t.Fatalf("%s: over-refund gave %v", op, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			o.refund += amt
			if _, err := eng.Apply(value.AddRefund{ID: res.Refund.Key, Contact: o.contact, Amount: res.Refund.BaseMinor}); err != nil {
				t.Fatal(err)
			}
		case k < 8:
			c, par := pick(), pick()
			op = "link " + c + "→" + par
			var l value.Link
			l, err = f.svc.Link(ctx, f.ws, c, par)
			_, eerr := eng.Apply(value.LinkReferral(l))
			sameErr(op, err, eerr)
		case k < 9:
			a, b := pick(), pick()
			op = "merge " + a + "→" + b
			err = f.svc.Merge(ctx, f.ws, a, b)
			_, eerr := eng.Apply(value.Merge{From: a, Into: b})
			sameErr(op, err, eerr)
		default:
			a := pick()
			op = "unmerge " + a
			err = f.svc.Unmerge(ctx, f.ws, a)
			_, eerr := eng.Apply(value.Unmerge{Alias: a})
			sameErr(op, err, eerr)
		}
		if err == nil {
			ok[op[:4]]++
		}
		compare(t, f, eng, ids, fmt.Sprintf("step %d (%s)", step, op))
	}
	for _, kind := range []string{"orde", "refu", "link", "merg", "unme"} {
		if ok[kind] == 0 {
			t.Fatalf("no successful %s operation in %d steps: %v", kind, steps, ok)
		}
	}
	t.Logf("successful operations: %v", ok)
	st, err := f.svc.Recompute(ctx, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 0 {
		t.Fatalf("recompute changed %d documents the incremental path left different", st.Changed)
	}
}

func compare(t *testing.T, f *fixture, eng *value.Engine, ids []string, at string) {
	t.Helper()
	ns, err := f.st.Nodes(context.Background(), f.ws, ids)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ledger.Node{}
	for _, n := range ns {
		byID[n.ID] = n
	}
	for _, id := range ids {
		want, ok := eng.Value(id)
		if !ok {
			continue
		}
		n := byID[id]
		canon := n.Canonical
		if canon == "" {
			canon = id
		}
		if canon != eng.Canonical(id) {
			t.Fatalf("%s: %s canonical %s, engine %s", at, id, canon, eng.Canonical(id))
		}
		g := byID[canon]
		got := g.Value()
		if got.Direct != want.Direct || got.Orders != want.Orders || got.Referral != want.Referral || got.Total != want.Total ||
			!slices.Equal(got.ReferralByLevel, want.ReferralByLevel) || !slices.Equal(got.ReferredCount, want.ReferredCount) ||
			!slices.Equal(got.ReferredBuyers, want.ReferredBuyers) {
			t.Fatalf("%s: %s (canonical %s)\n store  %+v\n engine %+v", at, id, canon, got, want)
		}
		ep, eok := eng.Parent(id)
		var sp string
		if g.Eff != nil {
			sp = byID[g.Eff.Parent].Canonical
		}
		if eok != (g.Eff != nil) || (eok && sp != ep) {
			t.Fatalf("%s: %s parent store %q engine %q (%v)", at, id, sp, ep, eok)
		}
	}
}

// TestUncleanLeaseTriggersRecompute simulates a writer that died half way:
// the next writer finds the lease dirty and rebuilds values from the ledger
// before applying its own change.
func TestUncleanLeaseTriggersRecompute(t *testing.T) {
	f := newFixture(t, defaultParams())
	ctx := context.Background()
	f.addContacts(t, "a", "b")
	if _, err := f.svc.Link(ctx, f.ws, "b", "a"); err != nil {
		t.Fatal(err)
	}
	f.order(t, "o1", "b", 700, "")
	// A crash after the ledger insert but before the value update: the order
	// exists, a's counters never saw it, and the lease was not released cleanly.
	_, err := f.db.Collection("crm_orders").InsertOne(ctx, bson.M{"_id": ledger.OrderKey(f.ws, "api", "o2"), "ws": f.ws,
		"source": "api", "external_id": "o2", "contact": "b", "currency": "USD", "total": int64(300), "base": int64(300)})
	if err != nil {
		t.Fatal(err)
	}
	lease := store.NewLease(f.db, 30*time.Second, 0)
	release, dirty, err := lease.Acquire(ctx, f.ws)
	if err != nil || dirty {
		t.Fatalf("acquire: %v dirty=%v", err, dirty)
	}
	release(true)
	f.order(t, "o3", "b", 5, "")
	b, a := f.node(t, "b"), f.node(t, "a")
	if b.Direct != 1005 || b.Orders != 3 || a.Sum[0] != 1005 || a.Buyers[0] != 1 {
		t.Fatalf("after recovery: b %+v a %+v", b, a)
	}
	// Clean again: the following acquire is not dirty.
	release, dirty, err = lease.Acquire(ctx, f.ws)
	if err != nil || dirty {
		t.Fatalf("lease still dirty: %v", err)
	}
	release(false)
}

func TestTrendByMonth(t *testing.T) {
	d := func(m time.Month, day int) time.Time { return time.Date(2025, m, day, 12, 0, 0, 0, time.UTC) }
	orders := []ledger.Order{{BaseMinor: 100, CreatedAt: d(1, 5)}, {BaseMinor: 50, CreatedAt: d(1, 31)}, {BaseMinor: 10, CreatedAt: d(3, 1)}}
	refunds := []ledger.Refund{{BaseMinor: 30, At: d(2, 2)}}
	got := ledger.Trend(orders, refunds)
	want := []ledger.TrendPoint{{Month: "2025-01", Orders: 150, Net: 150, Running: 150}, {Month: "2025-02", Refunds: 30, Net: -30, Running: 120},
		{Month: "2025-03", Orders: 10, Net: 10, Running: 130}}
	if !slices.Equal(got, want) {
		t.Fatalf("trend %+v", got)
	}
}
