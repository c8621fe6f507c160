package shopify

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrBadAmount means a decimal amount is malformed, has more precision than
// its currency allows, or does not fit in int64 minor units.
var ErrBadAmount = errors.New("shopify: bad amount")

// ErrBadCurrency means a currency code is not three upper-case letters or
// names a unit without minor units (gold, SDRs, the "XXX" placeholder).
var ErrBadCurrency = errors.New("shopify: bad currency")

// exponents lists the ISO 4217 currencies whose minor unit is not 1/100;
// -1 marks units that have no minor unit at all.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
	"XAG": -1, "XAU": -1, "XBA": -1, "XBB": -1, "XBC": -1, "XBD": -1, "XDR": -1,
	"XPD": -1, "XPT": -1, "XSU": -1, "XTS": -1, "XUA": -1, "XXX": -1,
}

// Exponent returns the number of decimal places of currency's minor unit: 0
// for JPY, 3 for KWD, 2 for USD and for every other well-formed code, which
// is what ISO 4217 assigns to all currencies outside the table above.
func Exponent(currency string) (int, error) {
	if len(currency) != 3 {
		return 0, fmt.Errorf("%w: %q", ErrBadCurrency, currency)
	}
	for i := range 3 {
		if currency[i] < 'A' || currency[i] > 'Z' {
			return 0, fmt.Errorf("%w: %q", ErrBadCurrency, currency)
		}
	}
	e, ok := exponents[currency]
	if !ok {
		return 2, nil
	}
	if e < 0 {
		return 0, fmt.Errorf("%w: %s has no minor unit", ErrBadCurrency, currency)
	}
	return e, nil
}

// ParseMinor converts a decimal string such as "1450000.00" into integer
// minor units of currency ("1450000.00" ARS → 145000000), without floats.
// It accepts an optional leading '-', digits, and an optional '.' followed by
// digits. Digits beyond the currency's exponent must be zeros ("100.00" JPY
// is 100, "100.50" JPY is an error), so no amount is ever rounded.
func ParseMinor(decimal, currency string) (int64, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return 0, err
	}
	s, neg := strings.CutPrefix(decimal, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%w: %q is not a plain decimal", ErrBadAmount, decimal)
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimals for %s", ErrBadAmount, decimal, exp, currency)
		}
		frac = frac[:exp]
	}
	var v uint64
	push := func(c byte) bool {
		d := uint64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return false
		}
		v = v*10 + d
		return true
	}
	for i := range len(whole) {
		if !push(whole[i]) {
			return 0, fmt.Errorf("%w: %q overflows", ErrBadAmount, decimal)
		}
	}
	for i := range exp {
		c := byte('0')
		if i < len(frac) {
			c = frac[i]
		}
		if !push(c) {
			return 0, fmt.Errorf("%w: %q overflows", ErrBadAmount, decimal)
		}
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
