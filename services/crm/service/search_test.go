package service

import (
	"context"
	"testing"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/shared/auth"
)

// TestRepeatBuyerKeepsSearchFieldsCurrent: a repeat buyer's order skips the
// search-field write when it brings nothing new, so the skip must not lose
// what is new: a first name for a nameless contact, a second name, a phone.
func TestRepeatBuyerKeepsSearchFieldsCurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := e.svc.Contacts.Resolve(ctx, ws, contact.Profile{Email: "dana@search.test"})
	if err != nil || !r.Created {
		t.Fatalf("resolve: %+v %v", r, err)
	}
	if c := e.contact(ws, r.ID); c.Name != "" {
		t.Fatalf("contact created without a name is named %q", c.Name)
	}
	ingest := func(ext, name, phone string) {
		t.Helper()
		res, err := e.svc.Orders.Ingest(ctx, ws, order.Input{Source: order.SourceAPI, ExternalID: ext, Currency: "USD", TotalMinor: 500,
			Customer: order.Customer{Email: "dana@search.test", Name: name, Phone: phone}})
		if err != nil || res.ContactID != r.ID || res.Duplicate {
			t.Fatalf("order %s: %+v %v", ext, res, err)
		}
	}
	search := func(q string) []string {
		t.Helper()
		var list struct{ Items []contactOut }
		e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts?q="+q, nil, &list)
		var ids []string
		for _, c := range list.Items {
			ids = append(ids, c.ID)
		}
		return ids
	}
	ingest("s1", "Dana Quill", "")
	if c := e.contact(ws, r.ID); c.Name != "Dana Quill" {
		t.Fatalf("after the first named order the name is %q", c.Name)
	}
	ingest("s2", "Dana Quill", "")                    // nothing new
	ingest("s3", "Dana Otherwise", "+1 555 010 9999") // a second name and a phone
	if c := e.contact(ws, r.ID); c.Name != "Dana Quill" {
		t.Fatalf("a later name replaced the first: %q", c.Name)
	}
	for _, q := range []string{"Otherwise", "Quill", "5550109999"} {
		if got := search(q); len(got) != 1 || got[0] != r.ID {
			t.Fatalf("search %q found %v, want [%s]", q, got, r.ID)
		}
	}
	if c := e.contact(ws, r.ID); c.OrderCount != 3 || c.Value.Direct != 1500 {
		t.Fatalf("after three orders: %d orders, direct %d", c.OrderCount, c.Value.Direct)
	}
}
