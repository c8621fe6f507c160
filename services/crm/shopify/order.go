package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrBadPayload means a webhook body is not the JSON shape expected for its
// topic or lacks a field the CRM cannot do without.
var ErrBadPayload = errors.New("shopify: bad payload")

// maxCodeLen caps a referral code; anything longer is noise, not a code.
const maxCodeLen = 255

// Referral sources, in the priority order ParseOrder returns them.
const (
	// SourceNoteAttribute is a cart attribute named "ref" or
	// "referral_code", set on purpose by the storefront to carry a referral.
	SourceNoteAttribute = "note_attribute"
	// SourceDiscountCode is a code from discount_codes[]; referral programmes
	// usually hand out codes, but a code may also be a plain promotion.
	SourceDiscountCode = "discount_code"
	// SourceDiscountApplication is a code from discount_applications[] that
	// discount_codes[] did not already give.
	SourceDiscountApplication = "discount_application"
	// SourceLandingSite is the ref= parameter of the first page visited.
	SourceLandingSite = "landing_site"
	// SourceLandingSiteRef is Shopify's own copy of the landing page's
	// referral parameter.
	SourceLandingSiteRef = "landing_site_ref"
	// SourceReferringSite is the ref= parameter of the referring page or,
	// without one, its host: evidence of where the buyer came from rather
	// than a code.
	SourceReferringSite = "referring_site"
)

// Candidate is one possible referral code found in an order.
type Candidate struct {
	Source string
	Code   string
}

// Customer is the buyer as Shopify knows it.
type Customer struct {
	ID        string // decimal digits, exactly as sent
	GID       string
	Email     string
	Phone     string
	FirstName string
	LastName  string
}

// Order is what the CRM keeps of an orders/create or orders/updated body.
type Order struct {
	// ID is the numeric id as sent, kept as text so no precision is lost
	// here. GID is admin_graphql_api_id; if the two ever disagree (payloads
	// that went through JavaScript numbers, such as Shopify's own sample),
	// the GID is the one to trust.
	ID   string
	GID  string
	Name string
	// Currency and TotalMinor are in the shop currency; the presentment pair
	// is what the buyer saw, when total_price_set carries it.
	Currency              string
	TotalMinor            int64
	PresentmentCurrency   string
	PresentmentTotalMinor int64
	CreatedAt             time.Time
	CancelledAt           time.Time // zero unless cancelled
	FinancialStatus       string
	Test                  bool
	Email                 string
	Phone                 string
	Customer              Customer // zero ID when the order has no customer
	// ReferralCandidates lists every referral code found, highest priority
	// first, in the order of the Source constants; within one source, in
	// payload order. A code repeated (case-insensitively) by a
	// lower-priority source is left out, as are empty codes and codes longer
	// than 255 bytes.
	ReferralCandidates []Candidate
}

// text decodes a JSON string, number or null into its text, and any other
// JSON value into "", so one odd attribute cannot fail a whole order.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*t = text(b)
	default:
		*t = ""
	}
	return nil
}

type money struct {
	Amount       text `json:"amount"`
	CurrencyCode text `json:"currency_code"`
}

type moneySet struct {
	ShopMoney        *money `json:"shop_money"`
	PresentmentMoney *money `json:"presentment_money"`
}

type orderJSON struct {
	ID              json.Number `json:"id"`
	GID             string      `json:"admin_graphql_api_id"`
	Name            string      `json:"name"`
	Currency        string      `json:"currency"`
	TotalPrice      *text       `json:"total_price"`
	TotalPriceSet   *moneySet   `json:"total_price_set"`
	CreatedAt       time.Time   `json:"created_at"`
	CancelledAt     time.Time   `json:"cancelled_at"`
	FinancialStatus string      `json:"financial_status"`
	Test            bool        `json:"test"`
	Email           string      `json:"email"`
	Phone           string      `json:"phone"`
	Customer        *struct {
		ID        json.Number `json:"id"`
		GID       string      `json:"admin_graphql_api_id"`
		Email     string      `json:"email"`
		Phone     string      `json:"phone"`
		FirstName string      `json:"first_name"`
		LastName  string      `json:"last_name"`
	} `json:"customer"`
	DiscountCodes []struct {
		Code text `json:"code"`
	} `json:"discount_codes"`
	DiscountApplications []struct {
		Code text `json:"code"`
	} `json:"discount_applications"`
	NoteAttributes []struct {
		Name  text `json:"name"`
		Value text `json:"value"`
	} `json:"note_attributes"`
	LandingSite    string `json:"landing_site"`
	LandingSiteRef string `json:"landing_site_ref"`
	ReferringSite  string `json:"referring_site"`
}

// ParseOrder reads an orders/create (or orders/updated) body. It needs an
// integer id, a currency and a total_price that is exact in that currency;
// everything else may be missing or null.
func ParseOrder(body []byte) (Order, error) {
	var j orderJSON
	if err := decode(body, &j); err != nil {
		return Order{}, err
	}
	id, err := integerID(j.ID, "id")
	if err != nil {
		return Order{}, err
	}
	if j.TotalPrice == nil {
		return Order{}, fmt.Errorf("%w: order %s has no total_price", ErrBadPayload, id)
	}
	total, err := ParseMinor(string(*j.TotalPrice), j.Currency)
	if err != nil {
		return Order{}, fmt.Errorf("%w: order %s total_price: %w", ErrBadPayload, id, err)
	}
	o := Order{
		ID: id, GID: j.GID, Name: j.Name,
		Currency: j.Currency, TotalMinor: total,
		CreatedAt: j.CreatedAt, CancelledAt: j.CancelledAt,
		FinancialStatus: j.FinancialStatus, Test: j.Test,
		Email: j.Email, Phone: j.Phone,
	}
	if s := j.TotalPriceSet; s != nil && s.PresentmentMoney != nil && s.PresentmentMoney.CurrencyCode != "" {
		pm := s.PresentmentMoney
		v, err := ParseMinor(string(pm.Amount), string(pm.CurrencyCode))
		if err != nil {
			return Order{}, fmt.Errorf("%w: order %s presentment total: %w", ErrBadPayload, id, err)
		}
		o.PresentmentCurrency, o.PresentmentTotalMinor = string(pm.CurrencyCode), v
	}
	if c := j.Customer; c != nil {
		cid := ""
		if c.ID != "" {
			if cid, err = integerID(c.ID, "customer.id"); err != nil {
				return Order{}, err
			}
		}
		o.Customer = Customer{ID: cid, GID: c.GID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName}
	}
	o.ReferralCandidates = candidates(&j)
	return o, nil
}

func candidates(j *orderJSON) []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	add := func(source, code string) {
		code = strings.TrimSpace(code)
		key := strings.ToLower(code)
		if code == "" || len(code) > maxCodeLen || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Candidate{Source: source, Code: code})
	}
	for _, a := range j.NoteAttributes {
		switch strings.ToLower(strings.TrimSpace(string(a.Name))) {
		case "ref", "referral_code":
			add(SourceNoteAttribute, string(a.Value))
		}
	}
	for _, d := range j.DiscountCodes {
		add(SourceDiscountCode, string(d.Code))
	}
	for _, d := range j.DiscountApplications {
		add(SourceDiscountApplication, string(d.Code))
	}
	add(SourceLandingSite, refParam(j.LandingSite))
	if r := j.LandingSiteRef; strings.ContainsAny(r, "?=") {
		add(SourceLandingSiteRef, refParam(r))
	} else {
		add(SourceLandingSiteRef, r)
	}
	if code := refParam(j.ReferringSite); code != "" {
		add(SourceReferringSite, code)
	} else if u, err := url.Parse(strings.TrimSpace(j.ReferringSite)); err == nil && u.Hostname() != "" {
		add(SourceReferringSite, strings.TrimPrefix(strings.ToLower(u.Hostname()), "www."))
	}
	return out
}

// refParam returns the first non-empty ref= value in the query of a URL or
// path such as "/products/x?ref=abc". A malformed escape elsewhere in the
// query does not hide a well-formed ref.
func refParam(s string) string {
	_, query, ok := strings.Cut(s, "?")
	if !ok {
		if !strings.Contains(s, "=") {
			return ""
		}
		query = s
	}
	query, _, _ = strings.Cut(query, "#")
	values, _ := url.ParseQuery(query)
	for _, v := range values["ref"] {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// decode parses body strictly enough for one JSON object and keeps numbers
// as json.Number, so ids never pass through float64.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	if d.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrBadPayload)
	}
	return nil
}

// integerID checks that n is a plain non-negative integer ("8.2e17" would be
// a rounded id) and returns its text.
func integerID(n json.Number, field string) (string, error) {
	s := n.String()
	if s == "" || len(s) > 20 || !digits(s) {
		return "", fmt.Errorf("%w: %s %q is not an integer id", ErrBadPayload, field, s)
	}
	return s, nil
}
