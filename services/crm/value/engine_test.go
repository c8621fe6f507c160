package value

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustApply(t *testing.T, e *Engine, ch Change) []string {
	t.Helper()
	ids, err := e.Apply(ch)
	if err != nil {
		t.Fatalf("Apply(%#v): %v", ch, err)
	}
	return ids
}

func mustValue(t *testing.T, e *Engine, id string) Value {
	t.Helper()
	v, ok := e.Value(id)
	if !ok {
		t.Fatalf("Value(%q): unknown contact", id)
	}
	return v
}

type want struct {
	direct, referral, total int64
	levels                  []int64
	count, buyers           []int
}

func check(t *testing.T, e *Engine, id string, w want) {
	t.Helper()
	v := mustValue(t, e, id)
	got := want{v.Direct, v.Referral, v.Total, v.ReferralByLevel, v.ReferredCount, v.ReferredBuyers}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("%s: got %+v, want %+v", id, got, w)
	}
}

// chain builds A refers B refers C refers D refers E, each with one order.
func chain(t *testing.T) *Engine {
	t.Helper()
	e := newEngine(t, DefaultConfig())
	for i, p := range [][2]string{{"B", "A"}, {"C", "B"}, {"D", "C"}, {"E", "D"}} {
		mustApply(t, e, LinkReferral{Child: p[0], Parent: p[1], At: at(i)})
	}
	for i, o := range []struct {
		c string
		a int64
	}{{"A", 50}, {"B", 100}, {"C", 200}, {"D", 400}, {"E", 800}} {
		mustApply(t, e, AddOrder{ID: "o" + o.c, Contact: o.c, Amount: o.a, At: at(10 + i)})
	}
	return e
}

func TestChainDepthLimit(t *testing.T) {
	e := chain(t)
	// E is at depth 4 below A, so with D=3 its 800 does not reach A:
	// 100×1 + 200×0.5 + 400×0.25 = 300.
	check(t, e, "A", want{50, 300, 350, []int64{100, 200, 400}, []int{1, 1, 1}, []int{1, 1, 1}})
	// 200 + 400×0.5 + 800×0.25 = 600.
	check(t, e, "B", want{100, 600, 700, []int64{200, 400, 800}, []int{1, 1, 1}, []int{1, 1, 1}})
	check(t, e, "D", want{400, 800, 1200, []int64{800, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "E", want{800, 0, 800, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})

	// An order of E touches E and its three ancestors, not A.
	ids := mustApply(t, e, AddOrder{ID: "o2", Contact: "E", Amount: 8, At: at(30)})
	if want := []string{"B", "C", "D", "E"}; !slices.Equal(ids, want) {
		t.Errorf("affected = %v, want %v", ids, want)
	}
	check(t, e, "B", want{100, 602, 702, []int64{200, 400, 808}, []int{1, 1, 1}, []int{1, 1, 1}})
}

func TestRefundKeepsBuyerAndLowersValue(t *testing.T) {
	e := chain(t)
	mustApply(t, e, AddRefund{ID: "r1", Contact: "E", Amount: 800, At: at(40)})
	// E refunded everything: direct 0 but it still bought, so B keeps a buyer.
	check(t, e, "E", want{0, 0, 0, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
	check(t, e, "B", want{100, 400, 500, []int64{200, 400, 0}, []int{1, 1, 1}, []int{1, 1, 1}})
	if v := mustValue(t, e, "E"); !v.Buyer() || v.Orders != 1 {
		t.Errorf("E: Orders=%d Buyer=%v, want 1 true", v.Orders, v.Buyer())
	}
}

func TestRefundBeforeOrderAndLinkBeforeFirstOrder(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	// Everything arrives out of order: the link, then the refund, then the order.
	mustApply(t, e, LinkReferral{Child: "kid", Parent: "mum", At: at(5)})
	check(t, e, "mum", want{0, 0, 0, []int64{0, 0, 0}, []int{1, 0, 0}, []int{0, 0, 0}})
	mustApply(t, e, AddRefund{ID: "r1", Contact: "kid", Amount: 30, At: at(9)})
	check(t, e, "mum", want{0, -30, -30, []int64{-30, 0, 0}, []int{1, 0, 0}, []int{0, 0, 0}})
	mustApply(t, e, AddOrder{ID: "o1", Contact: "kid", Amount: 130, At: at(1)})
	check(t, e, "mum", want{0, 100, 100, []int64{100, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "kid", want{100, 0, 100, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
}

func TestDuplicateEntriesAreIgnored(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, LinkReferral{Child: "b", Parent: "a", At: at(0)})
	mustApply(t, e, AddOrder{ID: "1", Contact: "b", Amount: 500})
	if ids := mustApply(t, e, AddOrder{ID: "1", Contact: "b", Amount: 500}); len(ids) != 0 {
		t.Errorf("duplicate order affected %v", ids)
	}
	// Same id, different fields: still the same entry, still ignored.
	mustApply(t, e, AddOrder{ID: "1", Contact: "a", Amount: 9999})
	// Refund ids live in their own namespace: refund "1" is a new entry.
	mustApply(t, e, AddRefund{ID: "1", Contact: "b", Amount: 200})
	mustApply(t, e, AddRefund{ID: "1", Contact: "b", Amount: 200})
	check(t, e, "b", want{300, 0, 300, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
	check(t, e, "a", want{0, 300, 300, []int64{300, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	if _, ok := e.Value("nobody"); ok {
		t.Error("Value of an unseen id reported ok")
	}
}

func TestLinkRules(t *testing.T) {
	e := chain(t)
	cases := []struct {
		name          string
		child, parent string
		want          error
	}{
		{"self", "A", "A", ErrSelfReferral},
		{"second referrer", "C", "A", ErrAlreadyReferred},
		{"direct cycle", "A", "B", ErrCycle},
		{"long cycle", "A", "E", ErrCycle},
		{"empty id", "", "A", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := mustValue(t, e, "A")
			_, err := e.Apply(LinkReferral{Child: c.child, Parent: c.parent, At: at(99)})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if after := mustValue(t, e, "A"); !reflect.DeepEqual(before, after) {
				t.Errorf("refused link changed A: %+v → %+v", before, after)
			}
		})
	}
	// The same parent again is a no-op, not an error.
	ids, err := e.Apply(LinkReferral{Child: "C", Parent: "B", At: at(99)})
	if err != nil || len(ids) != 0 {
		t.Errorf("repeat link: ids=%v err=%v, want none", ids, err)
	}
	if p, _ := e.Parent("E"); p != "D" {
		t.Errorf("Parent(E) = %q, want D", p)
	}
}

func TestMergeKeepsEarlierReferrer(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, LinkReferral{Child: "A", Parent: "Q", At: at(1)})
	mustApply(t, e, LinkReferral{Child: "B", Parent: "P", At: at(2)})
	mustApply(t, e, LinkReferral{Child: "C", Parent: "B", At: at(3)})
	mustApply(t, e, AddOrder{ID: "a", Contact: "A", Amount: 100})
	mustApply(t, e, AddOrder{ID: "b", Contact: "B", Amount: 50})
	mustApply(t, e, AddOrder{ID: "c", Contact: "C", Amount: 20})
	check(t, e, "P", want{0, 60, 60, []int64{50, 20, 0}, []int{1, 1, 0}, []int{1, 1, 0}})

	ids := mustApply(t, e, Merge{From: "B", Into: "A"})
	for _, id := range []string{"A", "B", "P", "Q"} {
		if !slices.Contains(ids, id) {
			t.Errorf("affected %v lacks %s", ids, id)
		}
	}
	// A's link (minute 1) beats B's (minute 2): the merged contact stays with Q,
	// and B's referred customer C now hangs under A.
	check(t, e, "A", want{150, 20, 170, []int64{20, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "B", want{150, 20, 170, []int64{20, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "Q", want{0, 160, 160, []int64{150, 20, 0}, []int{1, 1, 0}, []int{1, 1, 0}})
	check(t, e, "P", want{0, 0, 0, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
	if p, _ := e.Parent("B"); p != "Q" || e.Canonical("B") != "A" {
		t.Errorf("Parent(B)=%q Canonical(B)=%q, want Q and A", p, e.Canonical("B"))
	}

	if _, err := e.Apply(Merge{From: "B", Into: "Q"}); !errors.Is(err, ErrAlreadyMerged) {
		t.Errorf("merging an alias: %v, want ErrAlreadyMerged", err)
	}
	if _, err := e.Apply(Merge{From: "A", Into: "B"}); !errors.Is(err, ErrSameContact) {
		t.Errorf("merging into own alias: %v, want ErrSameContact", err)
	}
	if _, err := e.Apply(LinkReferral{Child: "B", Parent: "A"}); !errors.Is(err, ErrSelfReferral) {
		t.Errorf("linking to own alias: %v, want ErrSelfReferral", err)
	}

	mustApply(t, e, Unmerge{Alias: "B"})
	check(t, e, "P", want{0, 60, 60, []int64{50, 20, 0}, []int{1, 1, 0}, []int{1, 1, 0}})
	check(t, e, "Q", want{0, 100, 100, []int64{100, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "B", want{50, 20, 70, []int64{20, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	if _, err := e.Apply(Unmerge{Alias: "B"}); !errors.Is(err, ErrNotMerged) {
		t.Errorf("second unmerge: %v, want ErrNotMerged", err)
	}
}

func TestMergeLaterLinkLoses(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, LinkReferral{Child: "A", Parent: "Q", At: at(7)})
	mustApply(t, e, LinkReferral{Child: "B", Parent: "P", At: at(2)})
	mustApply(t, e, AddOrder{ID: "a", Contact: "A", Amount: 100})
	mustApply(t, e, Merge{From: "B", Into: "A"})
	// B's link is older, so after the merge A belongs to P.
	if p, _ := e.Parent("A"); p != "P" {
		t.Errorf("Parent(A) = %q, want P", p)
	}
	check(t, e, "P", want{0, 100, 100, []int64{100, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "Q", want{0, 0, 0, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
}

func TestMergeDropsLinkBetweenTheTwo(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, LinkReferral{Child: "B", Parent: "A", At: at(1)})
	mustApply(t, e, LinkReferral{Child: "C", Parent: "B", At: at(2)})
	mustApply(t, e, AddOrder{ID: "a", Contact: "A", Amount: 1000})
	mustApply(t, e, AddOrder{ID: "b", Contact: "B", Amount: 300})
	mustApply(t, e, AddOrder{ID: "c", Contact: "C", Amount: 40})
	check(t, e, "A", want{1000, 320, 1320, []int64{300, 40, 0}, []int{1, 1, 0}, []int{1, 1, 0}})
	mustApply(t, e, Merge{From: "B", Into: "A"})
	// B is A now: its order is direct value and C moves up to depth 1.
	check(t, e, "A", want{1300, 40, 1340, []int64{40, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	if _, ok := e.Parent("A"); ok {
		t.Error("A gained a referrer from its own alias")
	}
	mustApply(t, e, Unmerge{Alias: "B"})
	check(t, e, "A", want{1000, 320, 1320, []int64{300, 40, 0}, []int{1, 1, 0}, []int{1, 1, 0}})
}

func TestMergeThatClosesCycleDropsNewestLink(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, LinkReferral{Child: "B", Parent: "A", At: at(1)})
	mustApply(t, e, LinkReferral{Child: "C", Parent: "B", At: at(2)})
	mustApply(t, e, AddOrder{ID: "a", Contact: "A", Amount: 1})
	mustApply(t, e, AddOrder{ID: "b", Contact: "B", Amount: 10})
	mustApply(t, e, AddOrder{ID: "c", Contact: "C", Amount: 100})
	// A into C would give C→B (minute 2) and B→C (minute 1, B's link to A):
	// a cycle. The newer C→B is parked, so C (with A) is the root over B.
	mustApply(t, e, Merge{From: "A", Into: "C"})
	if _, ok := e.Parent("C"); ok {
		t.Error("C kept its parked link")
	}
	if p, _ := e.Parent("B"); p != "C" {
		t.Errorf("Parent(B) = %q, want C", p)
	}
	check(t, e, "C", want{101, 10, 111, []int64{10, 0, 0}, []int{1, 0, 0}, []int{1, 0, 0}})
	check(t, e, "B", want{10, 0, 10, []int64{0, 0, 0}, []int{0, 0, 0}, []int{0, 0, 0}})
	// The parked link still counts as C's first touch.
	if _, err := e.Apply(LinkReferral{Child: "C", Parent: "Z"}); !errors.Is(err, ErrAlreadyReferred) {
		t.Errorf("relinking C: %v, want ErrAlreadyReferred", err)
	}
	// Unmerge brings the parked link back.
	mustApply(t, e, Unmerge{Alias: "A"})
	if p, _ := e.Parent("C"); p != "B" {
		t.Errorf("after unmerge Parent(C) = %q, want B", p)
	}
	check(t, e, "A", want{1, 60, 61, []int64{10, 100, 0}, []int{1, 1, 0}, []int{1, 1, 0}})
}

func TestOverflowGuard(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	mustApply(t, e, AddOrder{ID: "big", Contact: "x", Amount: MaxLedgerTotal - 5})
	if _, err := e.Apply(AddRefund{ID: "r", Contact: "x", Amount: 6}); !errors.Is(err, ErrOverflow) {
		t.Errorf("err = %v, want ErrOverflow", err)
	}
	mustApply(t, e, AddRefund{ID: "r", Contact: "x", Amount: 5})
	if _, err := e.Apply(AddOrder{ID: "neg", Contact: "x", Amount: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative amount: %v, want ErrInvalid", err)
	}
	l := Ledger{Orders: []Entry{{ID: "1", Contact: "x", Amount: MaxLedgerTotal}, {ID: "2", Contact: "y", Amount: 1}}}
	if _, err := Recompute(DefaultConfig(), l); !errors.Is(err, ErrOverflow) {
		t.Errorf("Recompute: %v, want ErrOverflow", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {WeightsBP: make([]int64, MaxDepth+1)}, {WeightsBP: []int64{-1}}, {WeightsBP: []int64{MaxWeightBP + 1}}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%v) = %v, want ErrInvalid", c.WeightsBP, err)
		}
		if _, err := NewEngine(c); err == nil {
			t.Errorf("NewEngine(%v) accepted", c.WeightsBP)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestRecomputeMatchesChain(t *testing.T) {
	e := chain(t)
	s, err := Recompute(DefaultConfig(), e.Ledger())
	if err != nil {
		t.Fatal(err)
	}
	v, ok := s.Value("A")
	if !ok || v.Referral != 300 || v.Total != 350 || !slices.Equal(v.ReferralByLevel, []int64{100, 200, 400}) {
		t.Errorf("A = %+v", v)
	}
	if p, _ := s.Parent("E"); p != "D" {
		t.Errorf("Parent(E) = %q, want D", p)
	}
}

func TestForestCompute(t *testing.T) {
	// 0 ← 1 ← 2, 0 ← 3; 4 alone.
	f := Forest{
		IDs:    []string{"r", "a", "b", "c", "z"},
		Parent: []int32{-1, 0, 1, 0, -1},
		Direct: []int64{1, 10, 100, 1000, 7},
		Orders: []int32{1, 1, 0, 2, 1},
	}
	s, err := f.Compute(Config{WeightsBP: []int64{10_000, 3_333}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Value("r")
	// 1010 + round(100 × 0.3333 = 33.33) = 1043.
	if v.Referral != 1043 || !slices.Equal(v.ReferralByLevel, []int64{1010, 100}) ||
		!slices.Equal(v.ReferredCount, []int{2, 1}) || !slices.Equal(v.ReferredBuyers, []int{2, 0}) {
		t.Errorf("r = %+v", v)
	}
	f.Parent[0] = 2
	if _, err := f.Compute(DefaultConfig()); !errors.Is(err, ErrCycle) {
		t.Errorf("cyclic forest: %v, want ErrCycle", err)
	}
	f.Parent[0] = 9
	if _, err := f.Compute(DefaultConfig()); !errors.Is(err, ErrInvalid) {
		t.Errorf("out of range parent: %v, want ErrInvalid", err)
	}
}
