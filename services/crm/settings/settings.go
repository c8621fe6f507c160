// Package settings holds a workspace's CRM settings: base currency and
// exchange rates, referral depth and weights, and the vip thresholds.
package settings

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/money"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
)

// Settings are one workspace's CRM settings.
type Settings struct {
	BaseCurrency string
	Rates        map[string]money.Rate // units of base currency per unit of the key currency
	WeightsBP    []int64               // weight of depth d at index d-1, basis points
	VIPTotal     int64                 // minor units of base currency; 0 disables
	VIPReferral  int64
	Version      int64
	UpdatedAt    time.Time
}

// Defaults returns the settings of a workspace that never saved any.
func Defaults() Settings {
	return Settings{BaseCurrency: "USD", Rates: map[string]money.Rate{}, WeightsBP: value.DefaultConfig().WeightsBP,
		VIPTotal: 100_000, VIPReferral: 50_000}
}

// Params returns the ledger's view of s.
func (s Settings) Params() ledger.Params {
	return ledger.Params{Currency: s.BaseCurrency, Value: value.Config{WeightsBP: slices.Clone(s.WeightsBP)}, VIPTotal: s.VIPTotal, VIPReferral: s.VIPReferral}
}

// Rate returns the rate of currency into the base currency.
func (s Settings) Rate(currency string) (money.Rate, error) {
	if currency == s.BaseCurrency {
		return money.One(), nil
	}
	if !money.ValidCurrency(currency) {
		return money.Rate{}, apperr.Invalid("unknown currency %q: want an ISO 4217 code", currency)
	}
	r, ok := s.Rates[currency]
	if !ok {
		return money.Rate{}, apperr.Invalid("no exchange rate for %s configured (base currency %s); add one in the CRM settings", currency, s.BaseCurrency)
	}
	return r, nil
}

// Input is the JSON body of PUT /crm/settings. Omitted fields keep their value.
type Input struct {
	BaseCurrency  *string            `json:"base_currency,omitempty"`
	Rates         *map[string]string `json:"rates,omitempty"`
	ReferralDepth *int               `json:"referral_depth,omitempty"`
	Weights       *[]json.Number     `json:"weights,omitempty"` // decimals like 0.5 or "0.5", at most 4 decimals
	VIPTotal      *int64             `json:"vip_total_minor,omitempty"`
	VIPReferral   *int64             `json:"vip_referral_minor,omitempty"`
}

// ParseWeight reads a decimal weight exactly into basis points.
func ParseWeight(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "eE/") {
		return 0, apperr.Invalid("weight %q: want a decimal like 0.5", s)
	}
	r.Mul(r, big.NewRat(value.WeightScale, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, apperr.Invalid("weight %q: at most 4 decimals", s)
	}
	return r.Num().Int64(), nil
}

// FormatWeight renders basis points as a decimal.
func FormatWeight(bp int64) string {
	return strings.TrimRight(strings.TrimRight(big.NewRat(bp, value.WeightScale).FloatString(4), "0"), ".")
}

// Apply validates in and applies it to s.
func (in Input) Apply(s Settings) (Settings, error) {
	out := s
	out.Rates = maps.Clone(s.Rates)
	if in.BaseCurrency != nil {
		c := strings.ToUpper(*in.BaseCurrency)
		if !money.ValidCurrency(c) {
			return s, apperr.Invalid("base_currency %q is not an ISO 4217 code", *in.BaseCurrency)
		}
		out.BaseCurrency = c
	}
	if in.Rates != nil {
		out.Rates = map[string]money.Rate{}
		for cur, txt := range *in.Rates {
			c := strings.ToUpper(cur)
			if !money.ValidCurrency(c) {
				return s, apperr.Invalid("rates: %q is not an ISO 4217 code", cur)
			}
			r, err := money.ParseRate(txt)
			if err != nil {
				return s, apperr.Invalid("rates.%s: %v", c, err)
			}
			out.Rates[c] = r
		}
	}
	delete(out.Rates, out.BaseCurrency)
	if in.Weights != nil {
		out.WeightsBP = nil
		for _, w := range *in.Weights {
			bp, err := ParseWeight(w.String())
			if err != nil {
				return s, err
			}
			out.WeightsBP = append(out.WeightsBP, bp)
		}
	}
	if d := in.ReferralDepth; d != nil {
		switch {
		case in.Weights != nil && *d != len(out.WeightsBP):
			return s, apperr.Invalid("referral_depth %d does not match %d weights", *d, len(out.WeightsBP))
		case in.Weights == nil:
			out.WeightsBP = defaultWeights(*d)
		}
	}
	if err := (value.Config{WeightsBP: out.WeightsBP}).Validate(); err != nil {
		return s, apperr.Invalid("referral depth 1..%d and weights 0..%d each: %v", value.MaxDepth, value.MaxWeightBP/value.WeightScale, err)
	}
	if in.VIPTotal != nil {
		out.VIPTotal = *in.VIPTotal
	}
	if in.VIPReferral != nil {
		out.VIPReferral = *in.VIPReferral
	}
	if out.VIPTotal < 0 || out.VIPReferral < 0 {
		return s, apperr.Invalid("vip thresholds must not be negative")
	}
	return out, nil
}

// defaultWeights returns the first d weights of 1, 0.5, 0.25, … (halving, in bp).
func defaultWeights(d int) []int64 {
	if d < 1 || d > value.MaxDepth {
		return nil
	}
	out := make([]int64, d)
	w := int64(value.WeightScale)
	for i := range out {
		out[i] = w
		w /= 2
	}
	return out
}

// Storer keeps settings.
type Storer interface {
	Get(ctx context.Context, ws string) (Settings, bool, error)
	// Put saves s if the stored version is still s.Version-1 (0 = none stored).
	Put(ctx context.Context, ws string, s Settings) error
}

// LedgerInfo is what settings need from the ledger.
type LedgerInfo interface {
	HasOrders(ctx context.Context, ws string) (bool, error)
	Recompute(ctx context.Context, ws string) (ledger.RecomputeStats, error)
}

// Service reads and changes settings.
type Service struct {
	store  Storer
	ledger LedgerInfo
	now    func() time.Time
}

// New returns a settings service.
func New(store Storer, l LedgerInfo, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ledger: l, now: now}
}

// Get returns the settings of ws, or the defaults.
func (s *Service) Get(ctx context.Context, ws string) (Settings, error) {
	st, ok, err := s.store.Get(ctx, ws)
	if err != nil {
		return Settings{}, err
	}
	if !ok {
		return Defaults(), nil
	}
	return st, nil
}

// Params implements ledger.ParamsSource.
func (s *Service) Params(ctx context.Context, ws string) (ledger.Params, error) {
	st, err := s.Get(ctx, ws)
	if err != nil {
		return ledger.Params{}, err
	}
	return st.Params(), nil
}

// Put changes the settings. The base currency cannot change once orders
// exist, since their base amounts are fixed; a change of depth, weights or
// thresholds recomputes every value.
func (s *Service) Put(ctx context.Context, ws string, in Input) (Settings, error) {
	cur, err := s.Get(ctx, ws)
	if err != nil {
		return Settings{}, err
	}
	next, err := in.Apply(cur)
	if err != nil {
		return Settings{}, err
	}
	if next.BaseCurrency != cur.BaseCurrency {
		has, err := s.ledger.HasOrders(ctx, ws)
		if err != nil {
			return Settings{}, err
		}
		if has {
			return Settings{}, apperr.Conflict("base_currency cannot change once orders exist: their base amounts are fixed at ingestion")
		}
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.Put(ctx, ws, next); err != nil {
		return Settings{}, err
	}
	if !slices.Equal(next.WeightsBP, cur.WeightsBP) || next.VIPTotal != cur.VIPTotal || next.VIPReferral != cur.VIPReferral {
		if _, err := s.ledger.Recompute(ctx, ws); err != nil && !errors.Is(err, context.Canceled) {
			return next, err
		}
	}
	return next, nil
}
