package shopify

import (
	"errors"
	"testing"
	"time"
)

// The refund fixtures are constructed (see testdata/README.md): no real
// refunds/create capture was available to copy.

func TestParseRefundARS(t *testing.T) {
	r, err := ParseRefund(fixture(t, "refunds_create_constructed_ars.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the successful transaction counts, not the failed attempt before it.
	if r.ID != "1029384756102" || r.GID != "gid://shopify/Refund/1029384756102" || r.OrderID != "18922194698473" ||
		r.Currency != "ARS" || r.AmountMinor != 72_500_000 {
		t.Errorf("got %+v", r)
	}
	if want := time.Date(2026, 10, 3, 13, 15, 2, 0, time.UTC); !r.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", r.CreatedAt, want)
	}
}

func TestParseRefundNullCurrency(t *testing.T) {
	r, err := ParseRefund(fixture(t, "refunds_create_constructed_usd_null_currency.json"))
	if err != nil {
		t.Fatal(err)
	}
	// 75.00 + 10.00 from the two refunds; the suggested_refund of 199.00 is
	// not money that moved. USD comes from the refunded line's presentment money.
	if r.Currency != "USD" || r.AmountMinor != 8_500 || r.OrderID != "820982911946154508" || r.ID != "890088186047892319" {
		t.Errorf("got %+v", r)
	}
}

func TestParseRefundCurrencyFallbacks(t *testing.T) {
	bare := []byte(`{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "1500", "currency": null}]}`)
	if _, err := ParseRefund(bare); !errors.Is(err, ErrBadPayload) {
		t.Errorf("no currency anywhere: %v, want ErrBadPayload", err)
	}
	r, err := ParseRefundFor(bare, "JPY")
	if err != nil || r.Currency != "JPY" || r.AmountMinor != 1500 {
		t.Errorf("with order currency: %+v, %v", r, err)
	}
	shipping := []byte(`{"id": 7, "order_id": 8,
		"refund_shipping_lines": [{"subtotal_amount_set": {"presentment_money": {"amount": "5.000", "currency_code": "KWD"}}}],
		"transactions": [{"kind": "refund", "status": "success", "amount": "5.000"}]}`)
	if r, err := ParseRefundFor(shipping, "USD"); err != nil || r.Currency != "KWD" || r.AmountMinor != 5000 {
		t.Errorf("currency from shipping: %+v, %v", r, err)
	}
}

func TestParseRefundWithoutMoney(t *testing.T) {
	r, err := ParseRefund([]byte(`{"id": 7, "order_id": 8, "restock": true, "transactions": [
		{"kind": "refund", "status": "pending", "amount": "3.00", "currency": "USD"}]}`))
	if err != nil || r.AmountMinor != 0 || r.Currency != "" || r.ID != "7" {
		t.Errorf("restock only: %+v, %v", r, err)
	}
}

func TestParseRefundRejects(t *testing.T) {
	cases := map[string]string{
		"not json":        `{`,
		"no id":           `{"order_id": 8}`,
		"no order":        `{"id": 7}`,
		"mixed":           `{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "1.00", "currency": "USD"}, {"kind": "refund", "status": "success", "amount": "1.00", "currency": "EUR"}]}`,
		"negative":        `{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "-1.00", "currency": "USD"}]}`,
		"too precise":     `{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "1.005", "currency": "USD"}]}`,
		"sum overflows":   `{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "9223372036854775807", "currency": "JPY"}, {"kind": "refund", "status": "success", "amount": "1", "currency": "JPY"}]}`,
		"amount not text": `{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": true, "currency": "USD"}]}`,
	}
	for name, body := range cases {
		if r, err := ParseRefund([]byte(body)); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: got %+v, %v; want ErrBadPayload", name, r, err)
		}
	}
}

func FuzzParseRefund(f *testing.F) {
	f.Add(fixture(f, "refunds_create_constructed_ars.json"))
	f.Add(fixture(f, "refunds_create_constructed_usd_null_currency.json"))
	f.Add([]byte(`{"id": 7, "order_id": 8, "transactions": [{"kind": "refund", "status": "success", "amount": "1500"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRefundFor(body, "USD")
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error does not wrap ErrBadPayload: %v", err)
			}
			return
		}
		if !digits(r.ID) || r.ID == "" || !digits(r.OrderID) || r.OrderID == "" || r.AmountMinor < 0 {
			t.Fatalf("got %+v", r)
		}
		if r.AmountMinor > 0 {
			if _, err := Exponent(r.Currency); err != nil {
				t.Fatalf("amount %d in currency %q", r.AmountMinor, r.Currency)
			}
		}
	})
}
