package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/store"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/auth"
)

// TestStoreMatchesEngineUnderRandomStreams throws random streams at the
// service through its HTTP API and webhooks: orders (some repeated), Shopify
// orders delivered twice, refunds (some too large, some repeated, some
// arriving before their order), referral codes, manual links, merges and
// unmerges. It feeds the accepted changes to the pure value.Engine and checks
// at checkpoints that every stored value equals the engine's, and that a full
// recompute from the stored ledger finds nothing to change.
func TestStoreMatchesEngineUnderRandomStreams(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomStream(t, seed, 300) })
	}
}

type shopOrder struct {
	id       int
	email    string
	total    int64
	code     string
	arrived  bool
	refunds  []string // refund ids posted before the order arrived
	refunded int64
}

func randomStream(t *testing.T, seed uint64, steps int) {
	e := newEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	st := store.NewLedger(e.db)
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"base_currency": "USD", "rates": map[string]string{"EUR": "1.08"}}, nil)
	secret := "shpss_0123456789abcdef0123"
	integ := e.connectShopify(ws, secret)
	eng, err := value.NewEngine(value.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(ch value.Change) error {
		_, err := eng.Apply(ch)
		return err
	}

	emails := []string{}
	ids := []string{}
	codes := []string{}
	for i := 0; i < 8; i++ {
		em := fmt.Sprintf("p%d@prop.test", i)
		id := e.newContact(ws, em)
		emails, ids, codes = append(emails, em), append(ids, id), append(codes, e.code(ws, id))
	}
	type apiOrder struct {
		ext      string
		contact  string
		total    int64
		refunded int64
	}
	var orders []apiOrder
	var shop []*shopOrder
	counts := map[string]int{}
	pickCode := func() string {
		if rng.IntN(3) == 0 {
			return codes[rng.IntN(len(codes))]
		}
		return ""
	}
	// feedShopifyOrder reads what the webhook booked and feeds the engine the same.
	feedShopifyOrder := func(so *shopOrder) {
		o, err := e.svc.Ledger.Order(ctx, ws, ledger.OrderKey(ws, "shopify:dev-store.myshopify.com", fmt.Sprint(so.id)))
		if err != nil {
			t.Fatalf("shopify order %d not stored: %v", so.id, err)
		}
		ns, err := st.Nodes(ctx, ws, []string{o.ContactID})
		if err != nil || len(ns) != 1 {
			t.Fatal(err)
		}
		if l := ns[0].Link; l != nil && l.At.Equal(o.BookedAt) {
			if err := apply(value.LinkReferral(*l)); err != nil {
				t.Fatalf("engine refused a link the store accepted: %v", err)
			}
		}
		if err := apply(value.AddOrder{ID: o.Key, Contact: o.ContactID, Amount: o.BaseMinor}); err != nil {
			t.Fatal(err)
		}
		for _, rid := range so.refunds {
			r, err := st.Refund(ctx, ws, ledger.RefundKey(o.Key, rid))
			if err != nil {
				t.Fatal(err)
			}
			if r.State == ledger.RefundApplied {
				so.refunded += r.AmountMinor
				if err := apply(value.AddRefund{ID: r.Key, Contact: r.ContactID, Amount: r.BaseMinor}); err != nil {
					t.Fatal(err)
				}
			}
		}
		so.arrived = true
	}
	shopBody := func(so *shopOrder) []byte {
		f := map[string]any{"id": so.id, "admin_graphql_api_id": "", "currency": "USD", "total_price": fmt.Sprintf("%d.%02d", so.total/100, so.total%100),
			"total_price_set": nil, "email": so.email, "customer": map[string]any{"id": 900 + int(so.email[1]-'0'), "email": so.email}}
		if so.code != "" {
			f["discount_codes"] = []any{map[string]any{"code": so.code}}
		}
		return variant(t, "orders_create_dev_store_ars.json", f)
	}
	refundBody := func(so *shopOrder, rid int, amount int64) []byte {
		return []byte(fmt.Sprintf(`{"id":%d,"order_id":%d,"created_at":"2025-03-01T10:00:00Z","transactions":[{"kind":"refund","status":"success","amount":"%d.%02d","currency":"USD"}]}`,
			rid, so.id, amount/100, amount%100))
	}

	for step := 0; step < steps; step++ {
		var op string
		switch k := rng.IntN(100); {
		case k < 30: // generic order, sometimes a repeat, sometimes in EUR, sometimes with a code
			ext := fmt.Sprint("o", len(orders))
			if len(orders) > 0 && rng.IntN(6) == 0 {
				ext = orders[rng.IntN(len(orders))].ext
			}
			email := emails[rng.IntN(len(emails))]
			cur := []string{"USD", "EUR"}[rng.IntN(2)]
			total := int64(rng.IntN(20000))
			op = "order " + ext
			r := e.order(ws, ext, email, total, cur, pickCode())
			if r.Duplicate {
				counts["dup-order"]++
				break
			}
			if r.Referral == string(ledger.ReferralLinked) {
				counts["attributed"]++
				if err := apply(value.LinkReferral{Child: r.Order.ContactID, Parent: r.ReferrerID, At: r.Order.BookedAt}); err != nil {
					t.Fatalf("%s: engine refused the attribution: %v", op, err)
				}
			}
			if err := apply(value.AddOrder{ID: ledger.OrderKey(ws, "api", ext), Contact: r.Order.ContactID, Amount: r.Order.BaseMinor}); err != nil {
				t.Fatal(err)
			}
			orders = append(orders, apiOrder{ext: ext, contact: r.Order.ContactID, total: r.Order.TotalMinor})
		case k < 42: // Shopify order delivery, new or delivered again
			var so *shopOrder
			if len(shop) > 0 && rng.IntN(3) == 0 {
				so = shop[rng.IntN(len(shop))]
			} else {
				so = &shopOrder{id: 7000 + len(shop), email: fmt.Sprintf("s%d@prop.test", len(shop)%4), total: int64(100 + rng.IntN(9000)), code: pickCode()}
				shop = append(shop, so)
			}
			op = fmt.Sprint("shopify order ", so.id)
			wid := fmt.Sprint("wo-", so.id)
			if rng.IntN(2) == 0 {
				wid += fmt.Sprint("-", step) // same order under a new delivery id
			}
			if code, b := e.webhook(integ, "orders/create", wid, secret, shopBody(so)); code != 200 {
				t.Fatalf("%s: %d %s", op, code, b)
			}
			if !so.arrived {
				feedShopifyOrder(so)
				counts["shop-order"]++
			} else {
				counts["dup-order"]++
			}
		case k < 52: // Shopify refund, possibly before its order
			if len(shop) == 0 || rng.IntN(2) == 0 {
				so := &shopOrder{id: 7000 + len(shop), email: fmt.Sprintf("s%d@prop.test", len(shop)%4), total: int64(100 + rng.IntN(9000)), code: pickCode()}
				shop = append(shop, so)
			}
			so := shop[len(shop)-1-rng.IntN(min(3, len(shop)))]
			amount := int64(1 + rng.IntN(int(so.total)/2+1))
			rid := 50000 + step
			op = fmt.Sprint("shopify refund ", rid, " of ", so.id)
			code, b := e.webhook(integ, "refunds/create", fmt.Sprint("wr-", rid), secret, refundBody(so, rid, amount))
			if !so.arrived {
				if code != 200 {
					t.Fatalf("%s: %d %s", op, code, b)
				}
				so.refunds = append(so.refunds, fmt.Sprint(rid))
				counts["parked"]++
				break
			}
			if amount > so.total-so.refunded {
				if code != 409 {
					t.Fatalf("%s: over-refund answered %d", op, code)
				}
				break
			}
			if code != 200 {
				t.Fatalf("%s: %d %s", op, code, b)
			}
			r, err := st.Refund(ctx, ws, ledger.RefundKey(ledger.OrderKey(ws, "shopify:dev-store.myshopify.com", fmt.Sprint(so.id)), fmt.Sprint(rid)))
			if err != nil {
				t.Fatal(err)
			}
			so.refunded += amount
			if err := apply(value.AddRefund{ID: r.Key, Contact: r.ContactID, Amount: r.BaseMinor}); err != nil {
				t.Fatal(err)
			}
			counts["shop-refund"]++
		case k < 64 && len(orders) > 0: // generic refund, sometimes too large or repeated
			o := &orders[rng.IntN(len(orders))]
			amount := int64(1 + rng.IntN(int(o.total*3/4)+2))
			rid := fmt.Sprint("r", rng.IntN(40))
			op = "refund " + rid + " of " + o.ext
			var rr struct {
				Refund struct {
					BaseMinor int64 `json:"base_minor"`
				} `json:"refund"`
				Duplicate bool `json:"duplicate"`
			}
			status := e.call(ws, auth.RoleManager, "POST", "/api/v1/orders/"+o.ext+"/refunds", map[string]any{"amount_minor": amount, "refund_id": rid}, &rr)
			switch {
			case status == 200 && rr.Duplicate:
				counts["dup-refund"]++
			case status == 201:
				if amount > o.total-o.refunded {
					t.Fatalf("%s: accepted beyond the remaining amount", op)
				}
				o.refunded += amount
				if err := apply(value.AddRefund{ID: ledger.RefundKey(ledger.OrderKey(ws, "api", o.ext), rid), Contact: o.contact, Amount: rr.Refund.BaseMinor}); err != nil {
					t.Fatal(err)
				}
				counts["refund"]++
			case status == 409 && amount > o.total-o.refunded:
				counts["over-refund"]++
			default:
				t.Fatalf("%s: status %d (remaining %d)", op, status, o.total-o.refunded)
			}
		case k < 78: // manual link
			c, p := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
			op = "link " + c + " → " + p
			var l struct {
				ContactID  string `json:"contact_id"`
				ReferrerID string `json:"referrer_id"`
				At         string `json:"at"`
			}
			status := e.call(ws, auth.RoleAgent, "PUT", "/api/v1/contacts/"+c+"/referrer", map[string]string{"referrer_id": p}, &l)
			ns, _ := st.Nodes(ctx, ws, []string{c})
			var eerr error
			if status == 200 && ns[0].Link != nil && ns[0].Link.Parent == p {
				eerr = apply(value.LinkReferral(*ns[0].Link))
				counts["link"]++
			} else if status == 200 {
				eerr = apply(value.LinkReferral{Child: c, Parent: p}) // a repeat of the existing link: a no-op for both
			} else {
				eerr = apply(value.LinkReferral{Child: c, Parent: p, At: eng.Ledger().Orders[0].At})
				if eerr == nil {
					t.Fatalf("%s: store refused (%d) what the engine accepted", op, status)
				}
				eerr = nil
			}
			if eerr != nil {
				t.Fatalf("%s: store accepted, engine refused: %v", op, eerr)
			}
		case k < 90: // merge
			a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
			if a == b {
				break
			}
			op = "merge " + b + " into " + a
			status := e.call(ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+a+"/merge", map[string]string{"contact_id": b}, nil)
			eerr := apply(value.Merge{From: b, Into: a})
			if (status == 200) != (eerr == nil) {
				t.Fatalf("%s: store %d, engine %v", op, status, eerr)
			}
			if status == 200 {
				counts["merge"]++
			}
		default: // unmerge
			a := ids[rng.IntN(len(ids))]
			op = "unmerge " + a
			status := e.call(ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+a+"/unmerge", nil, nil)
			eerr := apply(value.Unmerge{Alias: a})
			if (status == 200) != (eerr == nil) {
				t.Fatalf("%s: store %d, engine %v", op, status, eerr)
			}
			if status == 200 {
				counts["unmerge"]++
			}
		}
		if step%50 == 49 || step == steps-1 {
			checkAgainstEngine(t, e, st, eng, fmt.Sprintf("step %d (%s)", step, op))
		}
	}
	for _, k := range []string{"attributed", "dup-order", "shop-order", "parked", "shop-refund", "refund", "over-refund", "link", "merge", "unmerge"} {
		if counts[k] == 0 {
			t.Fatalf("the stream never exercised %q: %v", k, counts)
		}
	}
	t.Logf("operations: %v", counts)
	var rs ledger.RecomputeStats
	e.must(200, ws, auth.RoleAdmin, "POST", "/api/v1/crm/recompute", nil, &rs)
	if rs.Changed != 0 || rs.Orders == 0 {
		t.Fatalf("full recompute disagrees with the incremental values on %d documents (%+v)", rs.Changed, rs)
	}
}

// checkAgainstEngine compares every stored node with the engine and with a
// rebuild from the stored ledger.
func checkAgainstEngine(t *testing.T, e *env, st *store.Ledger, eng *value.Engine, at string) {
	t.Helper()
	ctx := context.Background()
	led, nodes, err := st.Ledger(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Settings.Params(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ledger.Rebuild(p, led, nodes)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ledger.Node{}
	for i, n := range nodes {
		byID[n.ID] = n
		f := fresh[i]
		if n.Direct != f.Direct || n.Referral != f.Referral || n.Total != f.Total || !slices.Equal(n.Sum, f.Sum) || n.OwnDirect != f.OwnDirect {
			t.Fatalf("%s: %s stored %+v, rebuilt %+v", at, n.ID, n, f)
		}
	}
	for _, id := range eng.Contacts() {
		want, _ := eng.Value(id)
		n, ok := byID[id]
		if !ok {
			t.Fatalf("%s: engine knows %s, store does not", at, id)
		}
		canon := n.Canonical
		if canon == "" {
			canon = id
		}
		if canon != eng.Canonical(id) {
			t.Fatalf("%s: %s canonical %s, engine %s", at, id, canon, eng.Canonical(id))
		}
		var got contactOut
		e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts/"+id, nil, &got)
		if got.Value.Direct != want.Direct || got.Value.Referral != want.Referral || got.Value.Total != want.Total ||
			!slices.Equal(got.Value.ReferralByLevel, want.ReferralByLevel) || got.OrderCount != want.Orders ||
			!slices.Equal(got.Referrals.ReferredCount, want.ReferredCount) || !slices.Equal(got.Referrals.ReferredBuyers, want.ReferredBuyers) {
			t.Fatalf("%s: %s via API %+v %+v, engine %+v", at, id, *got.Value, got.Referrals, want)
		}
	}
}
