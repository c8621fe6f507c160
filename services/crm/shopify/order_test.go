package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseOrderDevStoreARS(t *testing.T) {
	o, err := ParseOrder(fixture(t, "orders_create_dev_store_ars.json"))
	if err != nil {
		t.Fatal(err)
	}
	art := time.FixedZone("", -3*3600)
	want := Order{
		ID:                    "18922194698473",
		GID:                   "gid://shopify/Order/18922194698473",
		Name:                  "#1001",
		Currency:              "ARS",
		TotalMinor:            145_000_000,
		PresentmentCurrency:   "ARS",
		PresentmentTotalMinor: 145_000_000,
		CreatedAt:             time.Date(2026, 10, 1, 23, 37, 26, 0, art),
		FinancialStatus:       "paid",
		Test:                  true,
		Email:                 "cliente@example.com",
		Customer: Customer{
			ID:        "31257143804137",
			GID:       "gid://shopify/Customer/31257143804137",
			Email:     "cliente@example.com",
			FirstName: "Juana",
			LastName:  "Pérez",
		},
	}
	if !o.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", o.CreatedAt, want.CreatedAt)
	}
	o.CreatedAt = want.CreatedAt
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
}

func TestParseOrderSample2025(t *testing.T) {
	o, err := ParseOrder(fixture(t, "orders_create_sample_2025-01.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The sample's numeric id was rounded before it reached us; the parser
	// keeps it verbatim rather than rounding it again, and the GID has the
	// true value.
	if o.ID != "820982911946154500" || o.GID != "gid://shopify/Order/820982911946154508" {
		t.Errorf("ID=%s GID=%s", o.ID, o.GID)
	}
	if o.Name != "#9999" || o.Currency != "USD" || o.TotalMinor != 38_800 || o.PresentmentTotalMinor != 38_800 {
		t.Errorf("Name=%s Currency=%s TotalMinor=%d Presentment=%d", o.Name, o.Currency, o.TotalMinor, o.PresentmentTotalMinor)
	}
	if o.Email != "jon@example.com" || o.Customer.Email != "john@example.com" || o.Customer.ID != "115310627314723950" ||
		o.Customer.FirstName != "John" || o.Customer.LastName != "Smith" || o.Customer.Phone != "" {
		t.Errorf("contact fields: email=%s customer=%+v", o.Email, o.Customer)
	}
	cancelled := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	if o.FinancialStatus != "voided" || !o.CancelledAt.Equal(cancelled) || !o.Test {
		t.Errorf("status=%s cancelled=%v test=%v", o.FinancialStatus, o.CancelledAt, o.Test)
	}
	if len(o.ReferralCandidates) != 0 {
		t.Errorf("candidates = %v, want none", o.ReferralCandidates)
	}
}

// withFields returns the fixture with top-level fields replaced, decoding
// with UseNumber so the ids survive the round trip.
func withFields(t testing.TB, name string, fields map[string]any) []byte {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(fixture(t, name)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func referralVariant(t testing.TB) []byte {
	return withFields(t, "orders_create_dev_store_ars.json", map[string]any{
		"discount_codes": []any{map[string]any{"code": "JUANA10", "amount": "10.00", "type": "percentage"}},
		"discount_applications": []any{
			map[string]any{"type": "discount_code", "code": "juana10", "value": "10.0"},
			map[string]any{"type": "manual", "title": "staff"},
			map[string]any{"type": "discount_code", "code": "SUMMER"},
		},
		"note_attributes": []any{
			map[string]any{"name": "utm_source", "value": "ig"},
			map[string]any{"name": "Referral_Code", "value": " AMIGO-7 "},
			map[string]any{"name": "ref", "value": json.Number("12345")},
			map[string]any{"name": "ref", "value": map[string]any{"odd": true}},
			map[string]any{"name": "ref", "value": strings.Repeat("x", 300)},
		},
		"landing_site":     "/products/notebook?utm_source=ig&ref=LAND1&bad=%zz",
		"landing_site_ref": "SHOPREF",
		"referring_site":   "https://www.Instagram.com/p/abc",
	})
}

func TestParseOrderReferralCandidates(t *testing.T) {
	o, err := ParseOrder(referralVariant(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []Candidate{
		{SourceNoteAttribute, "AMIGO-7"},
		{SourceNoteAttribute, "12345"},
		{SourceDiscountCode, "JUANA10"},
		{SourceDiscountApplication, "SUMMER"},
		{SourceLandingSite, "LAND1"},
		{SourceLandingSiteRef, "SHOPREF"},
		{SourceReferringSite, "instagram.com"},
	}
	if !reflect.DeepEqual(o.ReferralCandidates, want) {
		t.Errorf("got  %v\nwant %v", o.ReferralCandidates, want)
	}
	if o.ID != "18922194698473" || o.TotalMinor != 145_000_000 {
		t.Errorf("round trip changed the order: %s %d", o.ID, o.TotalMinor)
	}

	o, err = ParseOrder(withFields(t, "orders_create_dev_store_ars.json", map[string]any{
		"landing_site":     "https://shop.example/?ref=",
		"landing_site_ref": "/collections/all?ref=abc#top",
		"referring_site":   "https://partner.example/blog?ref=P42",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want = []Candidate{{SourceLandingSiteRef, "abc"}, {SourceReferringSite, "P42"}}
	if !reflect.DeepEqual(o.ReferralCandidates, want) {
		t.Errorf("got  %v\nwant %v", o.ReferralCandidates, want)
	}
}

func TestParseOrderKeepsLargeIDs(t *testing.T) {
	// float64 would turn this id into 820982911946154496.
	o, err := ParseOrder([]byte(`{"id": 820982911946154508, "currency": "USD", "total_price": "1.00",
		"customer": {"id": 115310627314723954}}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "820982911946154508" || o.Customer.ID != "115310627314723954" || o.TotalMinor != 100 {
		t.Errorf("ID=%s customer=%s total=%d", o.ID, o.Customer.ID, o.TotalMinor)
	}
	o, err = ParseOrder([]byte(`{"id": "42", "currency": "JPY", "total_price": 1500, "customer": null}`))
	if err != nil || o.ID != "42" || o.TotalMinor != 1500 || o.Customer != (Customer{}) {
		t.Errorf("string id, number total: %+v, %v", o, err)
	}
}

func TestParseOrderRejects(t *testing.T) {
	cases := map[string]string{
		"not json":          `nope`,
		"array":             `[]`,
		"trailing data":     `{"id": 1, "currency": "USD", "total_price": "1.00"} {}`,
		"no id":             `{"currency": "USD", "total_price": "1.00"}`,
		"rounded id":        `{"id": 8.2e17, "currency": "USD", "total_price": "1.00"}`,
		"negative id":       `{"id": -5, "currency": "USD", "total_price": "1.00"}`,
		"fractional id":     `{"id": 5.5, "currency": "USD", "total_price": "1.00"}`,
		"no total":          `{"id": 1, "currency": "USD"}`,
		"too precise total": `{"id": 1, "currency": "USD", "total_price": "1.001"}`,
		"bad currency":      `{"id": 1, "currency": "usd", "total_price": "1.00"}`,
		"bad customer id":   `{"id": 1, "currency": "USD", "total_price": "1.00", "customer": {"id": "x"}}`,
		"bad created_at":    `{"id": 1, "currency": "USD", "total_price": "1.00", "created_at": "yesterday"}`,
	}
	for name, body := range cases {
		if o, err := ParseOrder([]byte(body)); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: got %+v, %v; want ErrBadPayload", name, o, err)
		}
	}
}

var sourceRank = map[string]int{
	SourceNoteAttribute: 0, SourceDiscountCode: 1, SourceDiscountApplication: 2,
	SourceLandingSite: 3, SourceLandingSiteRef: 4, SourceReferringSite: 5,
}

func FuzzParseOrder(f *testing.F) {
	f.Add(fixture(f, "orders_create_dev_store_ars.json"))
	f.Add(fixture(f, "orders_create_sample_2025-01.json"))
	f.Add(referralVariant(f))
	f.Add([]byte(`{"id": 820982911946154508, "currency": "KWD", "total_price": "1.234", "landing_site": "/?ref=a&ref=b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOrder(body)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error does not wrap ErrBadPayload: %v", err)
			}
			return
		}
		if o.ID == "" || !digits(o.ID) {
			t.Fatalf("ID %q", o.ID)
		}
		if _, err := Exponent(o.Currency); err != nil {
			t.Fatalf("accepted currency %q: %v", o.Currency, err)
		}
		seen, last := map[string]bool{}, -1
		for _, c := range o.ReferralCandidates {
			rank, ok := sourceRank[c.Source]
			key := strings.ToLower(c.Code)
			if !ok || rank < last || c.Code == "" || len(c.Code) > maxCodeLen || seen[key] || strings.TrimSpace(c.Code) != c.Code {
				t.Fatalf("bad candidate list %v", o.ReferralCandidates)
			}
			seen[key], last = true, rank
		}
		again, err := ParseOrder(body)
		if err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("second parse differs: %+v, %v", again, err)
		}
	})
}
