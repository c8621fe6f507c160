package value

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestReferralRounding(t *testing.T) {
	def := DefaultConfig()
	third := Config{WeightsBP: []int64{3_333}}
	cases := []struct {
		cfg    Config
		levels []int64
		want   int64
	}{
		{def, []int64{0, 3, 0}, 2},   // 1.5 → 2
		{def, []int64{0, -3, 0}, -2}, // -1.5 → -2
		{def, []int64{0, 1, 1}, 1},   // 0.75
		{def, []int64{0, 0, 1}, 0},   // 0.25
		{def, []int64{0, 0, 2}, 1},   // 0.5 → 1
		{def, []int64{0, 0, -2}, -1}, // -0.5 → -1
		{def, []int64{1, -3, 0}, -1}, // 1 - 1.5 = -0.5 → -1
		{def, []int64{7, 0, -2}, 7},  // 7 - 0.5 = 6.5 → 7
		{def, []int64{3, -1, -1}, 2}, // 3 - 0.75 = 2.25
		{def, []int64{-3, 1, 1}, -2}, // -2.25
		{def, []int64{2, -3, -2}, 0}, // 2 - 1.5 - 0.5 = 0
		{third, []int64{3}, 1},       // 0.9999
		{third, []int64{1}, 0},       // 0.3333
		{third, []int64{-2}, -1},     // -0.6666
		{def, []int64{MaxLedgerTotal, 0, 0}, MaxLedgerTotal},
	}
	for _, c := range cases {
		got, err := c.cfg.Referral(c.levels)
		if err != nil || got != c.want {
			t.Errorf("Referral(%v, %v) = %d, %v; want %d", c.cfg.WeightsBP, c.levels, got, err, c.want)
		}
	}
	if _, err := def.Referral([]int64{MaxLedgerTotal, 1, 0}); !errors.Is(err, ErrOverflow) {
		t.Errorf("over the bound: %v, want ErrOverflow", err)
	}
	if _, err := def.Referral([]int64{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong length: %v, want ErrInvalid", err)
	}
}

// bigReferral is the definition computed with arbitrary precision.
func bigReferral(weights, levels []int64) int64 {
	num := new(big.Int)
	for d, l := range levels {
		num.Add(num, new(big.Int).Mul(big.NewInt(weights[d]), big.NewInt(l)))
	}
	q, r := new(big.Int).QuoRem(num, big.NewInt(WeightScale), new(big.Int))
	twice := new(big.Int).Abs(r)
	twice.Mul(twice, big.NewInt(2))
	if twice.Cmp(big.NewInt(WeightScale)) >= 0 {
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	return q.Int64()
}

func TestReferralMatchesBigArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		depth := 1 + r.IntN(MaxDepth)
		cfg := Config{WeightsBP: make([]int64, depth)}
		levels := make([]int64, depth)
		budget := MaxLedgerTotal
		for d := range depth {
			cfg.WeightsBP[d] = r.Int64N(MaxWeightBP + 1)
			scale := []int64{10, 10_000, 1 << 40, budget}[r.IntN(4)]
			l := r.Int64N(min(scale, budget) + 1)
			budget -= l
			if r.IntN(2) == 0 {
				l = -l
			}
			levels[d] = l
		}
		got, err := cfg.Referral(levels)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want := bigReferral(cfg.WeightsBP, levels); got != want {
			t.Fatalf("Referral(%v, %v) = %d, want %d", cfg.WeightsBP, levels, got, want)
		}
	}
}
