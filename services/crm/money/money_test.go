package money

import (
	"errors"
	"testing"
)

func TestConvertRoundsHalfUpOnceAcrossExponents(t *testing.T) {
	rate := func(s string) Rate {
		r, err := ParseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		amount   int64
		from, to string
		rate     string
		want     int64
	}{
		{1000, "EUR", "USD", "1.08", 1080},    // 10.00 EUR → 10.80 USD
		{1, "EUR", "USD", "1.5", 2},           // 0.015 → 0.02 (half up)
		{1, "EUR", "USD", "1.49", 1},          // 0.0149 → 0.01
		{1000, "JPY", "USD", "0.0067", 670},   // ¥1000 → $6.70: exponent 0 → 2
		{12345, "USD", "JPY", "149.5", 18456}, // $123.45 → ¥18455.775 → 18456
		{1000, "KWD", "USD", "3.25", 325},     // 1.000 KWD → $3.25: exponent 3 → 2
		{333, "EUR", "USD", "1/3", 111},       // rational rate
		{500, "USD", "USD", "", 500},          // base currency, no rate needed
	}
	for _, c := range cases {
		r := One()
		if c.rate != "" {
			r = rate(c.rate)
		}
		got, err := Convert(c.amount, c.from, c.to, r)
		if err != nil || got != c.want {
			t.Errorf("Convert(%d %s→%s @%s) = %d, %v; want %d", c.amount, c.from, c.to, c.rate, got, err, c.want)
		}
	}
}

func TestConvertRefusesUnknownCurrencyAndBadInput(t *testing.T) {
	if _, err := Convert(100, "XXY", "USD", One()); !errors.Is(err, ErrUnknownCurrency) {
		t.Fatalf("unknown currency: %v", err)
	}
	if _, err := Convert(100, "EUR", "USD", Rate{}); !errors.Is(err, ErrUnknownCurrency) {
		t.Fatalf("missing rate: %v", err)
	}
	if _, err := Convert(-1, "USD", "USD", One()); !errors.Is(err, ErrRange) {
		t.Fatalf("negative: %v", err)
	}
	for _, bad := range []string{"", "0", "-1.2", "1e3", "abc", "1/0", "0/5", "1.0.0"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestRateStringIsExact(t *testing.T) {
	for in, want := range map[string]string{"1.08": "1.08", "27/25": "1.08", "1/3": "1/3", "2": "2", "0.125": "0.125"} {
		r, err := ParseRate(in)
		if err != nil || r.String() != want {
			t.Errorf("%s → %q, %v; want %q", in, r.String(), err, want)
		}
	}
}

func TestRefundBasePartsAddUpToBaseTotal(t *testing.T) {
	// An order of 1000 (order currency) worth 333 base, refunded in uneven parts.
	total, base := int64(1000), int64(333)
	parts := []int64{1, 333, 166, 500}
	var refunded, sum int64
	for _, p := range parts {
		b, err := RefundBase(total, base, refunded, p)
		if err != nil {
			t.Fatal(err)
		}
		if b < 0 {
			t.Fatalf("negative base part %d", b)
		}
		refunded += p
		sum += b
	}
	if sum != base {
		t.Fatalf("full refund nets %d, want %d", sum, base)
	}
	if _, err := RefundBase(total, base, 900, 101); !errors.Is(err, ErrRange) {
		t.Fatalf("over-refund accepted: %v", err)
	}
	half, _ := RefundBase(total, base, 0, 500)
	if half != 167 { // 166.5 rounds up
		t.Fatalf("half refund = %d, want 167", half)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1.08", "27/25", "0.0000001", "1e5", "", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		back, err := ParseRate(r.String())
		if err != nil || back.r.Cmp(r.r) != 0 {
			t.Fatalf("%q → %q does not round-trip: %v", s, r.String(), err)
		}
		if _, err := Convert(MaxAmount, "EUR", "USD", r); err != nil && !errors.Is(err, ErrRange) {
			t.Fatalf("convert: %v", err)
		}
	})
}
