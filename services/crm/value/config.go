package value

import (
	"fmt"
	"math"
)

// WeightScale is the basis-point value of a weight of 1.0.
const WeightScale = 10_000

// MaxDepth is the deepest referral level a workspace may configure.
const MaxDepth = 10

// MaxWeightBP is the largest weight one level may have (10.0).
const MaxWeightBP = 10 * WeightScale

// MaxLedgerTotal bounds the sum of the absolute amounts of all ledger entries
// of one workspace. Every direct value and every per-level sum is a sum of
// distinct entries, so each stays within this bound; with at most MaxDepth
// levels of weight at most MaxWeightBP the referral and total values stay
// below math.MaxInt64 as well. That is why no arithmetic below can overflow
// once the ledger respects this bound (about 5.7e17 minor units).
const MaxLedgerTotal int64 = math.MaxInt64 / 16

// Config is a workspace's referral setting: WeightsBP[d-1] is the weight of
// depth d in basis points and len(WeightsBP) is the depth D.
type Config struct {
	WeightsBP []int64
}

// DefaultConfig returns D = 3 with weights 1.0, 0.5 and 0.25.
func DefaultConfig() Config {
	return Config{WeightsBP: []int64{10_000, 5_000, 2_500}}
}

// Depth returns D, the number of referral levels that count.
func (c Config) Depth() int { return len(c.WeightsBP) }

// Validate reports whether the depth is within 1..MaxDepth and every weight
// within 0..MaxWeightBP.
func (c Config) Validate() error {
	if len(c.WeightsBP) < 1 || len(c.WeightsBP) > MaxDepth {
		return fmt.Errorf("%w: depth %d outside 1..%d", ErrInvalid, len(c.WeightsBP), MaxDepth)
	}
	for d, w := range c.WeightsBP {
		if w < 0 || w > MaxWeightBP {
			return fmt.Errorf("%w: weight of level %d is %d bp, outside 0..%d", ErrInvalid, d+1, w, MaxWeightBP)
		}
	}
	return nil
}

// Referral returns round(Σ_d WeightsBP[d]×levels[d] / WeightScale), rounded
// once, half away from zero. levels[d] is the undiscounted sum of direct
// values at depth d+1. It fails with ErrOverflow when Σ|levels| exceeds
// MaxLedgerTotal, which values derived from a valid ledger never do.
func (c Config) Referral(levels []int64) (int64, error) {
	if len(levels) != len(c.WeightsBP) {
		return 0, fmt.Errorf("%w: %d levels for depth %d", ErrInvalid, len(levels), len(c.WeightsBP))
	}
	var abs int64
	for _, l := range levels {
		if l < -MaxLedgerTotal || l > MaxLedgerTotal {
			return 0, ErrOverflow
		}
		if l < 0 {
			l = -l
		}
		abs += l // both terms ≤ MaxLedgerTotal, so this cannot wrap
		if abs > MaxLedgerTotal {
			return 0, ErrOverflow
		}
	}
	return c.referral(levels), nil
}

// referral is Referral without the bound check, for levels already known to
// come from a ledger within MaxLedgerTotal.
func (c Config) referral(levels []int64) int64 {
	// Σ w×l = WeightScale×q + r, split per level so that no product exceeds
	// 10×MaxLedgerTotal; the exact numerator never has to be formed.
	var q, r int64
	for d, l := range levels {
		w := c.WeightsBP[d]
		q += w * (l / WeightScale)
		r += w * (l % WeightScale)
	}
	k := q + r/WeightScale
	b := r % WeightScale
	// Give the remainder the sign of the whole numerator so that rounding
	// away from zero looks at the right side.
	switch {
	case k > 0 && b < 0:
		k--
		b += WeightScale
	case k < 0 && b > 0:
		k++
		b -= WeightScale
	}
	switch {
	case 2*b >= WeightScale:
		k++
	case 2*b <= -WeightScale:
		k--
	}
	return k
}
