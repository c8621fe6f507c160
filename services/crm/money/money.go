// Package money converts order amounts between currencies with exact rational
// arithmetic: amounts are integer minor units with an ISO 4217 code, rates are
// exact decimals or fractions, and every conversion rounds once.
//
// Rounding rule: base = round_half_up(amount × rate × 10^e_base / 10^e_cur),
// where e is the number of minor-unit digits of a currency (2 for EUR, 0 for
// JPY, 3 for KWD). Amounts are never negative here, so "half up" and "half
// away from zero" coincide. A refund's base amount is derived from the
// cumulative refunded amount (see RefundBase), so an order refunded in full
// always nets to exactly zero in the base currency.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// ErrUnknownCurrency reports a currency code that is not ISO 4217 or has no rate.
var ErrUnknownCurrency = errors.New("money: unknown currency")

// ErrRange reports an amount outside the supported range.
var ErrRange = errors.New("money: amount out of range")

// MaxAmount is the largest amount, in minor units, the CRM accepts for one
// order; it keeps a workspace ledger far below int64 overflow.
const MaxAmount int64 = 1 << 50

// exponents holds the minor-unit digits of ISO 4217 currencies that differ from 2.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// twoDigit lists the active ISO 4217 codes with two minor-unit digits.
var twoDigit = strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL
BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK
PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP
TRY TTD TWD TZS UAH USD USN UYU UZS VES VED WST XCD XCG YER ZAR ZMW ZWG`)

func init() {
	for _, c := range twoDigit {
		exponents[c] = 2
	}
}

// Exponent returns the number of minor-unit digits of an ISO 4217 code.
func Exponent(code string) (int, bool) {
	e, ok := exponents[code]
	return e, ok
}

// ValidCurrency reports whether code is a known ISO 4217 code (upper case).
func ValidCurrency(code string) bool {
	_, ok := exponents[code]
	return ok
}

// Rate is an exact, positive exchange rate: how many units of the base
// currency one unit of another currency buys. The zero Rate is invalid.
type Rate struct{ r *big.Rat }

// One is the rate of the base currency to itself.
func One() Rate { return Rate{r: big.NewRat(1, 1)} }

// ParseRate reads an exact decimal ("1.08") or a fraction ("27/25"). It
// refuses floats with exponents, zero, negatives and absurd sizes.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	// 41 characters hold any rate String renders: two 64-bit terms and a slash.
	if s == "" || len(s) > 41 || strings.ContainsAny(s, "eE+-_ ") {
		return Rate{}, fmt.Errorf("rate %q: want a positive decimal like \"1.08\" or a fraction like \"27/25\"", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want a positive decimal like \"1.08\" or a fraction like \"27/25\"", s)
	}
	if r.Num().BitLen() > 64 || r.Denom().BitLen() > 64 {
		return Rate{}, fmt.Errorf("rate %q: too precise", s)
	}
	return Rate{r: r}, nil
}

// Valid reports whether the rate was built by ParseRate or One.
func (r Rate) Valid() bool { return r.r != nil }

// String renders the rate exactly: a decimal when it has a short one, else a fraction.
func (r Rate) String() string {
	if r.r == nil {
		return ""
	}
	if r.r.IsInt() {
		return r.r.Num().String()
	}
	// A fraction whose denominator divides a power of ten up to 10^18 has an exact decimal form.
	for digits := 1; digits <= 18; digits++ {
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
		if new(big.Int).Mod(scale, r.r.Denom()).Sign() == 0 {
			return r.r.FloatString(digits)
		}
	}
	return r.r.String()
}

// Convert returns amount (minor units of from) in minor units of base, at
// rate, rounded half up once. The same currency converts at exactly 1.
func Convert(amount int64, from, base string, rate Rate) (int64, error) {
	ef, ok := Exponent(from)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownCurrency, from)
	}
	eb, ok := Exponent(base)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownCurrency, base)
	}
	if amount < 0 || amount > MaxAmount {
		return 0, fmt.Errorf("%w: %d", ErrRange, amount)
	}
	if from == base {
		return amount, nil
	}
	if !rate.Valid() {
		return 0, fmt.Errorf("%w: no rate for %s", ErrUnknownCurrency, from)
	}
	num := new(big.Int).Mul(big.NewInt(amount), rate.r.Num())
	num.Mul(num, pow10(eb))
	den := new(big.Int).Mul(rate.r.Denom(), pow10(ef))
	return roundHalfUp(num, den)
}

// RefundBase returns the base-currency amount of a refund that takes an
// order's refunded total from refundedBefore to refundedBefore+amount, all in
// the order's currency. The order's base total is split in proportion to the
// cumulative refunded amount, so the parts always add up to what has been
// refunded and a full refund returns exactly baseTotal.
func RefundBase(total, baseTotal, refundedBefore, amount int64) (int64, error) {
	if total <= 0 || amount < 0 || refundedBefore < 0 || refundedBefore+amount > total || baseTotal < 0 {
		return 0, fmt.Errorf("%w: refund %d after %d of %d", ErrRange, amount, refundedBefore, total)
	}
	share := func(part int64) (int64, error) {
		num := new(big.Int).Mul(big.NewInt(baseTotal), big.NewInt(part))
		return roundHalfUp(num, big.NewInt(total))
	}
	after, err := share(refundedBefore + amount)
	if err != nil {
		return 0, err
	}
	before, err := share(refundedBefore)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}

func pow10(e int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil) }

// roundHalfUp returns floor((2·num + den) / (2·den)) for non-negative num and positive den.
func roundHalfUp(num, den *big.Int) (int64, error) {
	n := new(big.Int).Lsh(num, 1)
	n.Add(n, den)
	d := new(big.Int).Lsh(den, 1)
	q := n.Quo(n, d)
	if !q.IsInt64() || q.Int64() > MaxAmount*1024 || q.Int64() > math.MaxInt64/16 {
		return 0, fmt.Errorf("%w: converted amount too large", ErrRange)
	}
	return q.Int64(), nil
}
