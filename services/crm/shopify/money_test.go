package shopify

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"
)

func TestParseMinor(t *testing.T) {
	ok := []struct {
		in, cur string
		want    int64
	}{
		{"1450000.00", "ARS", 145_000_000},
		{"388.00", "USD", 38_800},
		{"12.3", "USD", 1230},
		{"0.05", "EUR", 5},
		{"007.50", "GBP", 750},
		{"-12.34", "USD", -1234},
		{"-0.00", "USD", 0},
		{"100", "JPY", 100},
		{"100.00", "JPY", 100},
		{"1000", "ISK", 1000},
		{"1.234", "KWD", 1234},
		{"1.2340", "KWD", 1234},
		{"0.5", "BHD", 500},
		{"1.0000", "CLF", 10_000},
		{"7", "USD", 700},
		{"92233720368547758.07", "USD", math.MaxInt64},
		{"9223372036854775807", "JPY", math.MaxInt64},
	}
	for _, c := range ok {
		got, err := ParseMinor(c.in, c.cur)
		if err != nil || got != c.want {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want %d", c.in, c.cur, got, err, c.want)
		}
	}
	bad := []struct {
		in, cur string
		want    error
	}{
		{"100.5", "JPY", ErrBadAmount},
		{"1.2345", "KWD", ErrBadAmount},
		{"0.001", "USD", ErrBadAmount},
		{"92233720368547758.08", "USD", ErrBadAmount},
		{"99999999999999999999", "JPY", ErrBadAmount},
		{".5", "USD", ErrBadAmount},
		{"5.", "USD", ErrBadAmount},
		{"1e3", "USD", ErrBadAmount},
		{"+1.00", "USD", ErrBadAmount},
		{" 1.00", "USD", ErrBadAmount},
		{"1,00", "EUR", ErrBadAmount},
		{"--1", "USD", ErrBadAmount},
		{"-", "USD", ErrBadAmount},
		{"", "USD", ErrBadAmount},
		{"1.00", "usd", ErrBadCurrency},
		{"1.00", "US", ErrBadCurrency},
		{"1.00", "", ErrBadCurrency},
		{"0.0", "XXX", ErrBadCurrency},
	}
	for _, c := range bad {
		if got, err := ParseMinor(c.in, c.cur); !errors.Is(err, c.want) {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want %v", c.in, c.cur, got, err, c.want)
		}
	}
}

var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// FuzzParseMinor checks ParseMinor against exact rational arithmetic: any
// result must equal decimal × 10^exponent, and a plain decimal that is a
// whole number of minor units within int64 must be accepted.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"1450000.00", "388.00", "0.00", "100", "1.234", "-5.5", "92233720368547758.07", "1e3", ".5"} {
		for _, c := range []string{"ARS", "USD", "JPY", "KWD", "CLF"} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		got, err := ParseMinor(s, cur)
		exp, expErr := Exponent(cur)
		if expErr != nil {
			if !errors.Is(err, ErrBadCurrency) {
				t.Fatalf("currency %q: err = %v", cur, err)
			}
			return
		}
		want, valid := new(big.Rat), plainDecimal.MatchString(s)
		if valid {
			want.SetString(s)
			want.Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		}
		fits := valid && want.IsInt() && want.Num().IsInt64() && want.Num().Int64() != math.MinInt64
		if err != nil {
			if !errors.Is(err, ErrBadAmount) {
				t.Fatalf("ParseMinor(%q, %s): unexpected error kind %v", s, cur, err)
			}
			if fits {
				t.Fatalf("ParseMinor(%q, %s) refused an exact amount %s: %v", s, cur, want.Num(), err)
			}
			return
		}
		if !fits || want.Num().Int64() != got {
			t.Fatalf("ParseMinor(%q, %s) = %d, exact value %s", s, cur, got, want.RatString())
		}
	})
}
