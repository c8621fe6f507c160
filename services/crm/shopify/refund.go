package shopify

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Refund is what the CRM keeps of a refunds/create body: the money that
// actually went back to the buyer.
type Refund struct {
	ID        string // decimal digits, exactly as sent
	GID       string
	OrderID   string
	CreatedAt time.Time
	// Currency and AmountMinor sum the transactions of kind "refund" with
	// status "success"; pending, failed and other kinds are left out.
	Currency    string
	AmountMinor int64
}

type refundJSON struct {
	ID           json.Number `json:"id"`
	GID          string      `json:"admin_graphql_api_id"`
	OrderID      json.Number `json:"order_id"`
	CreatedAt    time.Time   `json:"created_at"`
	Transactions []struct {
		Kind     string `json:"kind"`
		Status   string `json:"status"`
		Amount   text   `json:"amount"`
		Currency string `json:"currency"`
	} `json:"transactions"`
	RefundLineItems []struct {
		SubtotalSet *moneySet `json:"subtotal_set"`
	} `json:"refund_line_items"`
	RefundShippingLines []struct {
		SubtotalAmountSet *moneySet `json:"subtotal_amount_set"`
	} `json:"refund_shipping_lines"`
	TotalDutiesSet *moneySet `json:"total_duties_set"`
}

// ParseRefund reads a refunds/create body. Transactions often carry
// "currency": null; the currency then comes from the presentment money of
// the refunded lines, shipping or duties, which is the currency the
// transactions were made in. If none of those says, the body is refused.
func ParseRefund(body []byte) (Refund, error) {
	return ParseRefundFor(body, "")
}

// ParseRefundFor is ParseRefund with the order's currency as the last
// fallback, for refunds that name no currency anywhere.
func ParseRefundFor(body []byte, orderCurrency string) (Refund, error) {
	var j refundJSON
	if err := decode(body, &j); err != nil {
		return Refund{}, err
	}
	id, err := integerID(j.ID, "id")
	if err != nil {
		return Refund{}, err
	}
	orderID, err := integerID(j.OrderID, "order_id")
	if err != nil {
		return Refund{}, err
	}
	r := Refund{ID: id, GID: j.GID, OrderID: orderID, CreatedAt: j.CreatedAt}

	var amounts []string
	for _, t := range j.Transactions {
		if t.Kind != "refund" || t.Status != "success" {
			continue
		}
		if t.Currency != "" {
			if r.Currency != "" && r.Currency != t.Currency {
				return Refund{}, fmt.Errorf("%w: refund %s mixes %s and %s", ErrBadPayload, id, r.Currency, t.Currency)
			}
			r.Currency = t.Currency
		}
		amounts = append(amounts, string(t.Amount))
	}
	if len(amounts) == 0 {
		return r, nil
	}
	if r.Currency == "" {
		r.Currency = j.presentmentCurrency()
	}
	if r.Currency == "" {
		r.Currency = orderCurrency
	}
	if r.Currency == "" {
		return Refund{}, fmt.Errorf("%w: refund %s names no currency", ErrBadPayload, id)
	}
	for _, a := range amounts {
		v, err := ParseMinor(a, r.Currency)
		if err != nil {
			return Refund{}, fmt.Errorf("%w: refund %s amount: %w", ErrBadPayload, id, err)
		}
		if v < 0 {
			return Refund{}, fmt.Errorf("%w: refund %s has negative amount %q", ErrBadPayload, id, a)
		}
		if v > math.MaxInt64-r.AmountMinor {
			return Refund{}, fmt.Errorf("%w: refund %s total overflows", ErrBadPayload, id)
		}
		r.AmountMinor += v
	}
	return r, nil
}

func (j *refundJSON) presentmentCurrency() string {
	var sets []*moneySet
	for _, l := range j.RefundLineItems {
		sets = append(sets, l.SubtotalSet)
	}
	for _, l := range j.RefundShippingLines {
		sets = append(sets, l.SubtotalAmountSet)
	}
	sets = append(sets, j.TotalDutiesSet)
	for _, s := range sets {
		if s != nil && s.PresentmentMoney != nil && s.PresentmentMoney.CurrencyCode != "" {
			return string(s.PresentmentMoney.CurrencyCode)
		}
	}
	return ""
}
