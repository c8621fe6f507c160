package settings

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/communityinbox/shared/apperr"
)

func TestWeightsAreExact(t *testing.T) {
	for in, want := range map[string]int64{"1": 10000, "0.5": 5000, "0.25": 2500, "0.0001": 1, "2.5": 25000} {
		got, err := ParseWeight(in)
		if err != nil || got != want {
			t.Errorf("%s → %d %v", in, got, err)
		}
		if back := FormatWeight(got); back != in {
			t.Errorf("%d renders %q, want %q", got, back, in)
		}
	}
	for _, bad := range []string{"0.00001", "1e2", "x", "1/3"} {
		if _, err := ParseWeight(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestInputApply(t *testing.T) {
	var in Input
	if err := json.Unmarshal([]byte(`{"base_currency":"eur","rates":{"usd":"0.92","EUR":"1"},"weights":[1,"0.5",0.2],"vip_total_minor":500}`), &in); err != nil {
		t.Fatal(err)
	}
	s, err := in.Apply(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if s.BaseCurrency != "EUR" || len(s.Rates) != 1 || s.Rates["USD"].String() != "0.92" || !slices.Equal(s.WeightsBP, []int64{10000, 5000, 2000}) || s.VIPTotal != 500 {
		t.Fatalf("applied: %+v", s)
	}
	if _, err := s.Rate("GBP"); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("missing rate: %v", err)
	}
	depth := 5
	s2, err := Input{ReferralDepth: &depth}.Apply(Defaults())
	if err != nil || !slices.Equal(s2.WeightsBP, []int64{10000, 5000, 2500, 1250, 625}) {
		t.Fatalf("depth 5: %v %v", s2.WeightsBP, err)
	}
	for _, bad := range []string{`{"base_currency":"EURO"}`, `{"referral_depth":11}`, `{"referral_depth":2,"weights":[1]}`, `{"weights":[11]}`, `{"rates":{"USD":"-1"}}`, `{"vip_total_minor":-1}`} {
		var in Input
		if err := json.Unmarshal([]byte(bad), &in); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Apply(Defaults()); !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
