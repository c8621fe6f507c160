package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

const ws = "ws-a"

func (e *env) connectShopify(ws, secret string) string {
	e.t.Helper()
	var out struct {
		ID         string `json:"id"`
		WebhookURL string `json:"webhook_url"`
		Secret     string `json:"secret"`
	}
	e.must(201, ws, auth.RoleAdmin, "POST", "/api/v1/crm/integrations/shopify", map[string]any{"shop_domain": "dev-store.myshopify.com", "secret": secret}, &out)
	if out.WebhookURL != "https://crm.example.test/webhooks/shopify/"+out.ID || out.Secret != "" {
		e.t.Fatalf("integration answer: %+v", out)
	}
	return out.ID
}

func TestShopifyWebhookSignatureDedupeAndRefund(t *testing.T) {
	e := newEnv(t)
	secret := "shpss_0123456789abcdef0123"
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"base_currency": "USD", "rates": map[string]string{"ARS": "1/1000"}}, nil)
	id := e.connectShopify(ws, secret)
	body := fixture(t, "orders_create_dev_store_ars.json")

	// Forged: signed with another secret → 401 and nothing stored.
	if code, _ := e.webhook(id, "orders/create", "wh-1", "not-the-secret-0000000", body); code != 401 {
		t.Fatalf("forged webhook: %d", code)
	}
	var list struct{ Items []contactOut }
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("forged webhook stored %d contacts", len(list.Items))
	}
	// Valid, then the same delivery again and the same order under a new delivery id.
	for _, wid := range []string{"wh-1", "wh-1", "wh-2"} {
		if code, b := e.webhook(id, "orders/create", wid, secret, body); code != 200 {
			t.Fatalf("webhook %s: %d %s", wid, code, b)
		}
	}
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts?q=cliente@example", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("contacts after webhooks: %d", len(list.Items))
	}
	c := e.contact(ws, list.Items[0].ID)
	// 1 450 000.00 ARS at 1/1000 USD = 1 450.00 USD, booked once.
	if len(c.Orders) != 1 || c.Orders[0].TotalMinor != 145000000 || c.Orders[0].BaseMinor != 145000 || c.Value.Direct != 145000 || c.Value.Currency != "USD" {
		t.Fatalf("after order: orders %+v value %+v", c.Orders, c.Value)
	}
	if c.Orders[0].ExternalID != "18922194698473" {
		t.Fatalf("external id %q", c.Orders[0].ExternalID)
	}
	// Refund of half (725 000.00 ARS) via refunds/create.
	if code, b := e.webhook(id, "refunds/create", "wh-r1", secret, fixture(t, "refunds_create_constructed_ars.json")); code != 200 {
		t.Fatalf("refund webhook: %d %s", code, b)
	}
	e.webhook(id, "refunds/create", "wh-r1", secret, fixture(t, "refunds_create_constructed_ars.json"))
	c = e.contact(ws, c.ID)
	if c.Value.Direct != 72500 || c.Orders[0].RefundedMinor != 72500000 {
		t.Fatalf("after refund: direct %d refunded %d", c.Value.Direct, c.Orders[0].RefundedMinor)
	}
	// Shopify's own sample order: its numeric id lost precision upstream, so
	// the order is keyed by the GraphQL id.
	if code, b := e.webhook(id, "orders/create", "wh-sample", secret, fixture(t, "orders_create_sample_2025-01.json")); code != 200 {
		t.Fatalf("sample order: %d %s", code, b)
	}
	o, err := e.svc.Ledger.Order(context.Background(), ws, "ws-a|shopify:dev-store.myshopify.com|820982911946154508")
	if err != nil || o.Currency != "USD" || o.BaseMinor != o.TotalMinor || o.TotalMinor != 38800 {
		t.Fatalf("sample order stored: %+v %v", o, err)
	}
	// Unknown integration → 404.
	if code, _ := e.webhook("nope", "orders/create", "x", secret, body); code != 404 {
		t.Fatalf("unknown integration: %d", code)
	}
}

func TestShopifyRefundBeforeOrderIsParked(t *testing.T) {
	e := newEnv(t)
	secret := "shpss_0123456789abcdef0123"
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"base_currency": "ARS"}, nil)
	id := e.connectShopify(ws, secret)
	if code, b := e.webhook(id, "refunds/create", "r1", secret, fixture(t, "refunds_create_constructed_ars.json")); code != 200 || !strings.Contains(b, "pending") {
		t.Fatalf("early refund: %d %s", code, b)
	}
	if code, _ := e.webhook(id, "orders/create", "o1", secret, fixture(t, "orders_create_dev_store_ars.json")); code != 200 {
		t.Fatal(code)
	}
	var list struct{ Items []contactOut }
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Value.Direct != 72500000 {
		t.Fatalf("parked refund not applied: %+v", list.Items)
	}
}

func TestReferralAttributionFromEverySource(t *testing.T) {
	e := newEnv(t)
	secret := "shpss_0123456789abcdef0123"
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"base_currency": "ARS"}, nil)
	id := e.connectShopify(ws, secret)
	referrer := e.newContact(ws, "ref@example.com")
	code := e.code(ws, referrer)
	if again := e.code(ws, referrer); again != code || len(code) != 8 {
		t.Fatalf("referral code not idempotent: %q %q", code, again)
	}
	cases := []struct {
		name   string
		fields map[string]any
	}{
		{"discount", map[string]any{"discount_codes": []any{map[string]any{"code": strings.ToLower(code), "amount": "0.00", "type": "fixed_amount"}}}},
		{"note", map[string]any{"note_attributes": []any{map[string]any{"name": "ref", "value": code}}}},
		{"landing", map[string]any{"landing_site": "/products/x?utm=1&ref=" + code}},
	}
	for i, c := range cases {
		email := c.name + "@buyer.test"
		f := map[string]any{"id": 1000 + i, "admin_graphql_api_id": "", "email": email, "contact_email": email,
			"customer": map[string]any{"id": 5000 + i, "email": email, "first_name": c.name}}
		for k, v := range c.fields {
			f[k] = v
		}
		if st, b := e.webhook(id, "orders/create", c.name, secret, variant(t, "orders_create_dev_store_ars.json", f)); st != 200 {
			t.Fatalf("%s: %d %s", c.name, st, b)
		}
	}
	r := e.contact(ws, referrer)
	// Three buyers of 1 450 000.00 ARS each at depth 1, weight 1.0.
	if len(r.Referred) != 3 || r.Value.ReferralByLevel[0] != 3*145000000 || r.Value.Referral != 3*145000000 || r.Referrals.ReferredBuyers[0] != 3 {
		t.Fatalf("referrer after three attributed orders: referred %d value %+v refs %+v", len(r.Referred), r.Value, r.Referrals)
	}
	// First touch wins: a later order of a referred buyer with another code changes nothing.
	other := e.newContact(ws, "other@example.com")
	oc := e.code(ws, other)
	res := e.order(ws, "api-1", "discount@buyer.test", 100, "ARS", oc)
	if res.Referral != "already_referred" {
		t.Fatalf("second touch: %+v", res)
	}
	// Manual link, then cycle and self refusals.
	buyer := res.ContactID
	var link struct {
		ReferrerID string `json:"referrer_id"`
	}
	e.must(200, ws, auth.RoleAgent, "PUT", "/api/v1/contacts/"+referrer+"/referrer", map[string]string{"referrer_id": other}, &link)
	if link.ReferrerID != other {
		t.Fatalf("manual link: %+v", link)
	}
	var errBody struct {
		Error struct{ Code, Message string }
	}
	if st := e.call(ws, auth.RoleAgent, "PUT", "/api/v1/contacts/"+other+"/referrer", map[string]string{"referrer_id": buyer}, &errBody); st != 409 || !strings.Contains(errBody.Error.Message, "cycle") {
		t.Fatalf("cycle: %d %+v", st, errBody)
	}
	if st := e.call(ws, auth.RoleAgent, "PUT", "/api/v1/contacts/"+other+"/referrer", map[string]string{"referrer_id": other}, &errBody); st != 400 || !strings.Contains(errBody.Error.Message, "refer itself") {
		t.Fatalf("self: %d %+v", st, errBody)
	}
	o := e.contact(ws, other)
	// other ← referrer ← 3 buyers (one with an extra 100): depth 2 at weight 0.5.
	if o.Value.ReferralByLevel[1] != 3*145000000+100 || o.Value.Referral != (3*145000000+100)/2 {
		t.Fatalf("grand-referrer: %+v", o.Value)
	}
}

func TestOrdersAPIRefundsAndCurrencies(t *testing.T) {
	e := newEnv(t)
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings",
		map[string]any{"base_currency": "EUR", "rates": map[string]string{"USD": "0.9", "JPY": "0.0061"}, "weights": []string{"1", "0.5"}}, nil)
	r := e.order(ws, "o1", "Ann@Example.com", 12345, "USD", "")
	if r.Order.BaseMinor != 11111 || r.Order.BaseCurrency != "EUR" || r.Order.Rate != "0.9" { // 123.45 × 0.9 = 111.105 → 111.11
		t.Fatalf("USD order: %+v", r.Order)
	}
	r2 := e.order(ws, "o2", "ann@example.com", 1000, "JPY", "")
	if r2.Order.BaseMinor != 610 || r2.ContactID != r.ContactID {
		t.Fatalf("JPY order: %+v (contact %s vs %s)", r2.Order, r2.ContactID, r.ContactID)
	}
	// Rates change later: booked base amounts stay.
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"rates": map[string]string{"USD": "2", "JPY": "1"}}, nil)
	if dup := e.order(ws, "o1", "ann@example.com", 12345, "USD", ""); !dup.Duplicate || dup.Order.BaseMinor != 11111 {
		t.Fatalf("duplicate order: %+v", dup)
	}
	c := e.contact(ws, r.ContactID)
	if c.Value.Direct != 11721 || c.OrderCount != 2 || c.Value.Currency != "EUR" {
		t.Fatalf("value: %+v orders %d", c.Value, c.OrderCount)
	}
	var errBody struct {
		Error struct{ Code, Message string }
	}
	if st := e.call(ws, auth.RoleIntegration, "POST", "/api/v1/orders", map[string]any{"external_id": "o3", "customer": map[string]any{"email": "x@y.z"}, "currency": "GBP", "total_minor": 5}, &errBody); st != 400 || !strings.Contains(errBody.Error.Message, "GBP") {
		t.Fatalf("unknown currency: %d %+v", st, errBody)
	}
	if st := e.call(ws, auth.RoleIntegration, "POST", "/api/v1/orders", map[string]any{"external_id": "o4", "customer": map[string]any{"email": "x@y.z"}, "currency": "XYZ", "total_minor": 5}, &errBody); st != 400 {
		t.Fatalf("non-ISO currency: %d", st)
	}
	// Refunds: idempotent by refund_id, never above the remaining amount.
	var rr struct {
		Refund struct {
			BaseMinor int64 `json:"base_minor"`
		} `json:"refund"`
		Duplicate bool `json:"duplicate"`
	}
	e.must(201, ws, auth.RoleManager, "POST", "/api/v1/orders/o1/refunds", map[string]any{"amount_minor": 2345, "refund_id": "r1"}, &rr)
	if rr.Refund.BaseMinor != 2111 { // cumulative: round(11111×2345/12345) = 2111
		t.Fatalf("refund base %d", rr.Refund.BaseMinor)
	}
	e.must(200, ws, auth.RoleManager, "POST", "/api/v1/orders/o1/refunds", map[string]any{"amount_minor": 2345, "refund_id": "r1"}, &rr)
	if !rr.Duplicate {
		t.Fatal("refund retry not detected")
	}
	if st := e.call(ws, auth.RoleManager, "POST", "/api/v1/orders/o1/refunds", map[string]any{"amount_minor": 10001}, &errBody); st != 409 || !strings.Contains(errBody.Error.Message, "remaining amount of 10000") {
		t.Fatalf("over-refund: %d %+v", st, errBody)
	}
	e.must(201, ws, auth.RoleManager, "POST", "/api/v1/orders/o1/refunds", map[string]any{"amount_minor": 10000}, nil)
	c = e.contact(ws, r.ContactID)
	if c.Value.Direct != 610 { // fully refunded USD order nets exactly 0
		t.Fatalf("after full refund: %+v", c.Value)
	}
	if st := e.call(ws, auth.RoleManager, "POST", "/api/v1/orders/nope/refunds", map[string]any{"amount_minor": 1}, nil); st != 404 {
		t.Fatalf("refund of unknown order: %d", st)
	}
	if st := e.call(ws, auth.RoleAgent, "POST", "/api/v1/orders", map[string]any{"external_id": "o9"}, nil); st != 403 {
		t.Fatalf("agent posting an order: %d", st)
	}
	if len(c.Trend) != 1 || c.Trend[0].Net != 610 {
		t.Fatalf("trend: %+v", c.Trend)
	}
}

func TestAgentsSeeTierButNoMoneyAndTenantsAreIsolated(t *testing.T) {
	e := newEnv(t)
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"vip_total_minor": 5000}, nil)
	r := e.order(ws, "o1", "vip@example.com", 6000, "USD", "")
	var raw map[string]any
	e.must(200, ws, auth.RoleAgent, "GET", "/api/v1/contacts/"+r.ContactID, nil, &raw)
	for _, k := range []string{"value", "orders", "trend"} {
		if _, ok := raw[k]; ok {
			t.Fatalf("agent sees %q: %v", k, raw[k])
		}
	}
	if raw["tier"] != "vip" {
		t.Fatalf("agent tier: %v", raw["tier"])
	}
	var list map[string]any
	e.must(200, ws, auth.RoleAgent, "GET", "/api/v1/contacts", nil, &list)
	if strings.Contains(mustJSON(t, list), `"total"`) || strings.Contains(mustJSON(t, list), `"direct"`) {
		t.Fatalf("agent list leaks money: %s", mustJSON(t, list))
	}
	if st := e.call(ws, auth.RoleAgent, "GET", "/api/v1/contacts?total_min=1", nil, nil); st != 403 {
		t.Fatalf("agent money filter: %d", st)
	}
	if st := e.call(ws, auth.RoleAgent, "GET", "/api/v1/contacts?sort=-total", nil, nil); st != 403 {
		t.Fatalf("agent money sort: %d", st)
	}
	m := e.contact(ws, r.ContactID)
	if m.Value == nil || m.Value.Total != 6000 {
		t.Fatalf("manager value: %+v", m.Value)
	}
	// Another workspace: 404 on read, write, link and merge.
	other := "ws-b"
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/contacts/" + r.ContactID},
		{"PATCH", "/api/v1/contacts/" + r.ContactID},
		{"POST", "/api/v1/contacts/" + r.ContactID + "/referral-code"},
	} {
		if st := e.call(other, auth.RoleAdmin, rq.method, rq.path, map[string]any{}, nil); st != 404 {
			t.Fatalf("%s %s from another workspace: %d", rq.method, rq.path, st)
		}
	}
	mine := e.newContact(other, "b@example.com")
	if st := e.call(other, auth.RoleAdmin, "PUT", "/api/v1/contacts/"+mine+"/referrer", map[string]string{"referrer_id": r.ContactID}, nil); st != 404 {
		t.Fatalf("cross-workspace link: %d", st)
	}
	if st := e.call(other, auth.RoleAdmin, "POST", "/api/v1/contacts/"+mine+"/merge", map[string]string{"contact_id": r.ContactID}, nil); st != 404 {
		t.Fatalf("cross-workspace merge: %d", st)
	}
	if st := e.call(ws, "", "GET", "/api/v1/contacts", nil, nil); st != 401 {
		t.Fatalf("anonymous: %d", st)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMergeAndUnmergeMoveValuesOrdersAndBack(t *testing.T) {
	e := newEnv(t)
	ref := e.newContact(ws, "ref@example.com")
	code := e.code(ws, ref)
	a := e.order(ws, "a1", "a@example.com", 1000, "USD", code).ContactID
	b := e.order(ws, "b1", "b@example.com", 300, "USD", "").ContactID
	e.order(ws, "b2", "b@example.com", 200, "USD", "")
	// Merge b into a: a now has both people's orders, and ref sees them at depth 1.
	var merged contactOut
	e.must(200, ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+a+"/merge", map[string]any{"contact_id": b, "reason": "same person"}, &merged)
	got := e.contact(ws, a)
	if got.Value.Direct != 1500 || len(got.Orders) != 3 || !slices.Contains(got.Members, b) || !slices.Contains(got.Emails, "b@example.com") {
		t.Fatalf("after merge: value %+v orders %d members %v emails %v", got.Value, len(got.Orders), got.Members, got.Emails)
	}
	if r := e.contact(ws, ref); r.Value.ReferralByLevel[0] != 1500 {
		t.Fatalf("referrer after merge: %+v", r.Value)
	}
	if viaB := e.contact(ws, b); viaB.ID != a || viaB.ResolvedFrom != b {
		t.Fatalf("reading the alias: %+v", viaB)
	}
	// Listing shows one contact for the two.
	var list struct{ Items []contactOut }
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts?q=example.com", nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("list after merge: %d", len(list.Items))
	}
	if st := e.call(ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+a+"/merge", map[string]any{"contact_id": b}, nil); st != 409 {
		t.Fatalf("merging twice: %d", st)
	}
	// Unmerge: everything moves back.
	e.must(200, ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+b+"/unmerge", nil, nil)
	ga, gb := e.contact(ws, a), e.contact(ws, b)
	if ga.Value.Direct != 1000 || len(ga.Orders) != 1 || gb.Value.Direct != 500 || len(gb.Orders) != 2 || gb.ID != b {
		t.Fatalf("after unmerge: a %+v (%d orders) b %+v (%d orders)", ga.Value, len(ga.Orders), gb.Value, len(gb.Orders))
	}
	if r := e.contact(ws, ref); r.Value.ReferralByLevel[0] != 1000 {
		t.Fatalf("referrer after unmerge: %+v", r.Value)
	}
	if len(ga.MergeHistory) != 2 || ga.MergeHistory[0].Action != "unmerge" || ga.MergeHistory[1].Actor != "u-agent" {
		t.Fatalf("audit: %+v", ga.MergeHistory)
	}
}

func TestIdentitySeenLinksByEmailAndConversationsAndInfluence(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(20 * time.Millisecond) // let the consumer group register before publishing

	shopper := e.order(ws, "o1", "fan@example.com", 700, "USD", "").ContactID
	pub := func(stream, typ, conv string, data any) {
		ev, err := event.New(ws, stream, typ, data)
		if err != nil {
			t.Fatal(err)
		}
		ev.ConversationID = conv
		if _, err := e.bus.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	pub(event.StreamSystem, event.IdentitySeen, "", map[string]any{"platform": "instagram", "user_id": "ig-1", "handle": "fanpage",
		"name": "Fan", "channel_id": "ch-ig", "conversation_id": "conv-1", "email": "FAN@example.com"})
	pub(event.StreamSystem, event.IdentitySeen, "", map[string]any{"platform": "x", "user_id": "x-9", "handle": "fan_x", "channel_id": "ch-x", "phone": "+49 170 1234567"})
	pub(event.StreamSystem, event.IdentitySeen, "", map[string]any{"platform": "whatsapp", "user_id": "4917012", "channel_id": "ch-wa", "phone": "+491701234567", "email": "fan@example.com"})
	msg := map[string]any{"message": map[string]any{"id": "m1", "conversation_id": "conv-1", "kind": "comment", "direction": "in",
		"author": map[string]any{"platform": "instagram", "user_id": "ig-1", "handle": "fanpage"}}}
	pub(event.StreamInbox, event.MessageCreated, "conv-1", msg)
	pub(event.StreamInbox, event.MessageCreated, "conv-1", msg) // redelivered copy: counted once
	pub(event.StreamInbox, event.MessageCreated, "conv-1", map[string]any{"id": "m2", "conversation_id": "conv-1", "kind": "share", "direction": "in",
		"author": map[string]any{"platform": "instagram", "user_id": "ig-1"}})

	deadline := time.Now().Add(5 * time.Second)
	var c contactOut
	for time.Now().Before(deadline) {
		c = e.contact(ws, shopper)
		if len(c.Identities) == 3 && c.Influence.Score == 6 && len(c.Conversation) == 1 && c.Conversation[0].Messages == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ig-1 (by email) and whatsapp (by email and phone) join the shopper; x-9
	// got its own contact by phone, which the whatsapp identity then ties in.
	plats := []string{}
	for _, i := range c.Identities {
		plats = append(plats, i.Platform)
	}
	slices.Sort(plats)
	if !slices.Equal(plats, []string{"instagram", "whatsapp", "x"}) {
		t.Fatalf("identities: %+v (contact %+v)", c.Identities, c.Members)
	}
	if c.Influence.Comments != 1 || c.Influence.Shares != 1 || c.Influence.Score != 6 {
		t.Fatalf("influence: %+v", c.Influence)
	}
	if len(c.Conversation) != 1 || c.Conversation[0].ConversationID != "conv-1" || c.Conversation[0].Messages != 2 {
		t.Fatalf("conversations: %+v", c.Conversation)
	}
	if c.Value.Direct != 700 {
		t.Fatalf("value after auto-merge: %+v", c.Value)
	}
	var list struct{ Items []contactOut }
	e.must(200, ws, auth.RoleAgent, "GET", "/api/v1/contacts?platform=x", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != shopper {
		t.Fatalf("platform filter: %+v", list.Items)
	}
}

func TestSegmentsCountListCSVAndFilters(t *testing.T) {
	e := newEnv(t)
	e.must(201, ws, auth.RoleManager, "POST", "/api/v1/crm/attributes", map[string]any{"name": "plan", "type": "enum", "options": []string{"free", "pro"}}, nil)
	var ids []string
	for i, spec := range []struct {
		email, country, plan string
		total                int64
		age                  int
	}{{"a@x.test", "DE", "pro", 5000, 30}, {"b@x.test", "DE", "free", 100, 40}, {"c@x.test", "FR", "pro", 9000, 25}, {"d@x.test", "DE", "pro", 0, 50}} {
		id := e.newContact(ws, spec.email)
		ids = append(ids, id)
		e.must(200, ws, auth.RoleAgent, "PATCH", "/api/v1/contacts/"+id, map[string]any{
			"attributes": map[string]any{"country": strings.ToLower(spec.country), "age": spec.age, "interests": []string{"Running"}},
			"custom":     map[string]any{"plan": spec.plan}}, nil)
		if spec.total > 0 {
			e.order(ws, "o"+string(rune('a'+i)), spec.email, spec.total, "USD", "")
		}
	}
	if st := e.call(ws, auth.RoleAgent, "PATCH", "/api/v1/contacts/"+ids[0], map[string]any{"custom": map[string]any{"plan": "gold"}}, nil); st != 400 {
		t.Fatalf("enum validation: %d", st)
	}
	if st := e.call(ws, auth.RoleAgent, "PATCH", "/api/v1/contacts/"+ids[0], map[string]any{"custom": map[string]any{"unknown": 1}}, nil); st != 400 {
		t.Fatalf("undefined attribute: %d", st)
	}
	var seg struct{ ID string }
	e.must(201, ws, auth.RoleManager, "POST", "/api/v1/segments", map[string]any{"name": "German pros over 10 USD",
		"filter": map[string]any{"country": "DE", "custom": map[string]string{"plan": "pro"}, "total_min": 1000, "age_max": 45}}, &seg)
	var cnt struct{ Count int64 }
	e.must(200, ws, auth.RoleAgent, "GET", "/api/v1/segments/"+seg.ID+"/count", nil, &cnt)
	if cnt.Count != 1 {
		t.Fatalf("segment count %d", cnt.Count)
	}
	var list struct {
		Items      []contactOut
		NextCursor string `json:"next_cursor"`
	}
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/segments/"+seg.ID+"/contacts", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != ids[0] {
		t.Fatalf("segment contacts: %+v", list.Items)
	}
	if st := e.call(ws, auth.RoleAgent, "POST", "/api/v1/segments", map[string]any{"name": "x", "filter": map[string]any{}}, nil); st != 403 {
		t.Fatalf("agent creating segment: %d", st)
	}
	// CSV, streamed: header plus one row per contact; money columns for managers only.
	rq := httptest.NewRequest("GET", "/api/v1/segments/"+seg.ID+"/export.csv", nil)
	rq.Header.Set("Authorization", "Bearer "+e.token(ws, auth.RoleManager))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, rq)
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || rec.Code != 200 || len(rows) != 2 || rows[0][len(rows[0])-1] != "total_minor" || rows[1][0] != ids[0] || rows[1][len(rows[1])-1] != "5000" {
		t.Fatalf("csv: %d %v %v", rec.Code, rows, err)
	}
	// List filters, sort and cursor pagination.
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts?sort=-total&limit=2", nil, &list)
	if len(list.Items) != 2 || list.Items[0].ID != ids[2] || list.Items[1].ID != ids[0] || list.NextCursor == "" {
		t.Fatalf("page 1: %+v", list)
	}
	cur := list.NextCursor
	list.NextCursor = ""
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts?sort=-total&limit=2&cursor="+cur, nil, &list)
	if len(list.Items) != 2 || list.Items[0].ID != ids[1] || list.Items[1].ID != ids[3] || list.NextCursor != "" {
		t.Fatalf("page 2: %+v", list)
	}
	e.must(200, ws, auth.RoleAgent, "GET", "/api/v1/contacts?interest=running&age_min=35&country=DE", nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("attribute filters: %d", len(list.Items))
	}
	var top struct{ Items []contactOut }
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/referrers/top", nil, &top)
	if len(top.Items) != 0 {
		t.Fatalf("top referrers without referrals: %d", len(top.Items))
	}
}

func TestTierAndValueEventsArePublished(t *testing.T) {
	e := newEnv(t)
	e.must(200, ws, auth.RoleAdmin, "PUT", "/api/v1/crm/settings", map[string]any{"vip_total_minor": 1000}, nil)
	var mu = make(chan event.Event, 100)
	cancel, err := e.bus.Subscribe(context.Background(), func(ev event.Event) { mu <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	e.order(ws, "o1", "t@example.com", 400, "USD", "")
	e.order(ws, "o2", "t@example.com", 700, "USD", "")
	seen := map[string][]string{}
	timeout := time.After(2 * time.Second)
	for len(seen[event.ContactTierChanged]) < 4 {
		select {
		case ev := <-mu:
			var d struct {
				Tier  string `json:"tier"`
				Total int64  `json:"total"`
			}
			_ = json.Unmarshal(ev.Data, &d)
			seen[ev.Type] = append(seen[ev.Type], ev.Stream+":"+d.Tier)
		case <-timeout:
			t.Fatalf("events: %v", seen)
		}
	}
	if !slices.Equal(seen[event.ContactTierChanged], []string{"crm:regular", "system:regular", "crm:vip", "system:vip"}) || len(seen[event.ContactValueChanged]) != 2 {
		t.Fatalf("events: %v", seen)
	}
}
