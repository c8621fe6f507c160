package value

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// model is the test's own record of the accepted state, kept apart from the
// engine, and the oracle computes everything from it by the definitions.
type model struct {
	cfg     Config
	orders  []Entry // every valid order attempt, duplicates included
	refunds []Entry
	links   map[string]Link // raw child → its link
	alias   map[string]string
}

func (m *model) canon(id string) string {
	for {
		into, ok := m.alias[id]
		if !ok {
			return id
		}
		id = into
	}
}

// effective computes the referral forest by the definition: each merged
// contact takes its earliest link that leaves it; every cycle of those links
// loses its newest one. No incremental cleverness.
func (m *model) effective(ids []string) (parent map[string]string, cand map[string]Link) {
	cand = map[string]Link{}
	for _, l := range m.links {
		g := m.canon(l.Child)
		if g == m.canon(l.Parent) {
			continue
		}
		if cur, ok := cand[g]; !ok || l.before(&cur) {
			cand[g] = l
		}
	}
	parked := map[string]bool{}
	for g := range cand {
		// Is g on a cycle? Walk at most len(ids) steps.
		cycle := []string{g}
		for y, n := m.canon(cand[g].Parent), 0; n <= len(ids); n++ {
			if y == g {
				newest := g
				for _, c := range cycle {
					nl, cl := cand[newest], cand[c]
					if nl.before(&cl) {
						newest = c
					}
				}
				parked[newest] = true
				break
			}
			l, ok := cand[y]
			if !ok {
				break
			}
			cycle = append(cycle, y)
			y = m.canon(l.Parent)
		}
	}
	parent = map[string]string{}
	for g, l := range cand {
		if !parked[g] {
			parent[g] = m.canon(l.Parent)
		}
	}
	return parent, cand
}

func (m *model) ledger() Ledger {
	l := Ledger{Orders: slices.Clone(m.orders), Refunds: slices.Clone(m.refunds)}
	for _, lk := range m.links {
		l.Links = append(l.Links, lk)
	}
	for from, into := range m.alias {
		l.Aliases = append(l.Aliases, Alias{From: from, Into: into})
	}
	return l
}

// values computes every contact's Value by walking, for each contact, every
// other contact up to D steps.
func (m *model) values(ids []string) map[string]Value {
	depth := m.cfg.Depth()
	direct, orders := map[string]int64{}, map[string]int{}
	for _, set := range []struct {
		list []Entry
		sign int64
	}{{m.orders, 1}, {m.refunds, -1}} {
		seen := map[string]bool{}
		for _, en := range set.list {
			if seen[en.ID] {
				continue
			}
			seen[en.ID] = true
			direct[m.canon(en.Contact)] += set.sign * en.Amount
			if set.sign > 0 {
				orders[m.canon(en.Contact)]++
			}
		}
	}
	parent, _ := m.effective(ids)
	out := map[string]Value{}
	for _, x := range ids {
		if m.canon(x) != x {
			continue
		}
		v := zeroValue(depth)
		v.Direct, v.Orders = direct[x], orders[x]
		for _, y := range ids {
			if m.canon(y) != y || y == x {
				continue
			}
			cur := y
			for d := 1; d <= depth; d++ {
				p, ok := parent[cur]
				if !ok {
					break
				}
				if p == x {
					v.ReferralByLevel[d-1] += direct[y]
					v.ReferredCount[d-1]++
					if orders[y] > 0 {
						v.ReferredBuyers[d-1]++
					}
					break
				}
				cur = p
			}
		}
		num := int64(0)
		for d, l := range v.ReferralByLevel {
			num += m.cfg.WeightsBP[d] * l
		}
		// Small amounts in the streams, so the plain formula fits in int64.
		v.Referral = num / WeightScale
		if rem := num % WeightScale; 2*rem >= WeightScale {
			v.Referral++
		} else if 2*rem <= -WeightScale {
			v.Referral--
		}
		v.Total = v.Direct + v.Referral
		out[x] = v
	}
	for _, x := range ids {
		out[x] = out[m.canon(x)]
	}
	return out
}

func zeroValue(depth int) Value {
	return Value{ReferralByLevel: make([]int64, depth), ReferredCount: make([]int, depth), ReferredBuyers: make([]int, depth)}
}

// expect returns the error the rules prescribe for ch and whether ch changes
// the state.
func (m *model) expect(ch Change, ids []string) (error, bool) {
	switch c := ch.(type) {
	case AddOrder, AddRefund:
		var en Entry
		list := m.orders
		if o, ok := c.(AddOrder); ok {
			en = Entry(o)
		} else {
			en, list = Entry(c.(AddRefund)), m.refunds
		}
		if en.ID == "" || en.Contact == "" || en.Amount < 0 {
			return ErrInvalid, false
		}
		for _, old := range list {
			if old.ID == en.ID {
				return nil, false
			}
		}
		return nil, true
	case LinkReferral:
		if c.Child == "" || c.Parent == "" {
			return ErrInvalid, false
		}
		g, p := m.canon(c.Child), m.canon(c.Parent)
		if g == p {
			return ErrSelfReferral, false
		}
		parent, cand := m.effective(ids)
		if q, ok := parent[g]; ok {
			if q == p {
				return nil, false
			}
			return ErrAlreadyReferred, false
		}
		if _, ok := m.links[c.Child]; ok {
			return ErrAlreadyReferred, false
		}
		if _, ok := cand[g]; ok {
			return ErrAlreadyReferred, false
		}
		for y, n := p, 0; n <= len(ids)+1; n++ {
			if y == g {
				return ErrCycle, false
			}
			py, ok := parent[y]
			if !ok {
				break
			}
			y = py
		}
		return nil, true
	case Merge:
		if c.From == "" || c.Into == "" {
			return ErrInvalid, false
		}
		if _, ok := m.alias[c.From]; ok {
			return ErrAlreadyMerged, false
		}
		if m.canon(c.Into) == c.From {
			return ErrSameContact, false
		}
		return nil, true
	case Unmerge:
		if _, ok := m.alias[c.Alias]; !ok {
			return ErrNotMerged, false
		}
		return nil, true
	}
	panic(fmt.Sprintf("unknown change %T", ch))
}

func (m *model) apply(ch Change) {
	switch c := ch.(type) {
	case AddOrder:
		m.orders = append(m.orders, Entry(c))
	case AddRefund:
		m.refunds = append(m.refunds, Entry(c))
	case LinkReferral:
		m.links[c.Child] = Link(c)
	case Merge:
		m.alias[c.From] = c.Into
	case Unmerge:
		delete(m.alias, c.Alias)
	}
}

// randomChange draws the next event, biased towards the awkward ones: self
// links, links to a descendant (cycles), repeated entry ids with other
// fields, refunds for contacts with no order yet, merges of aliases.
func randomChange(r *rand.Rand, m *model, ids []string, seq *int) Change {
	pick := func() string { return ids[r.IntN(len(ids))] }
	when := at(r.IntN(40)) // few distinct minutes, so ties on At happen
	*seq++
	switch k := r.IntN(100); {
	case k < 26:
		return AddOrder{ID: fmt.Sprintf("o%d", *seq), Contact: pick(), Amount: r.Int64N(5000), At: when}
	case k < 38:
		return AddRefund{ID: fmt.Sprintf("r%d", *seq), Contact: pick(), Amount: r.Int64N(3000), At: when}
	case k < 44:
		// A redelivery: an old id, maybe with different fields.
		if len(m.orders) > 0 && r.IntN(2) == 0 {
			en := m.orders[r.IntN(len(m.orders))]
			if r.IntN(2) == 0 {
				en.Contact, en.Amount = pick(), r.Int64N(900)
			}
			return AddOrder(en)
		}
		if len(m.refunds) > 0 {
			return AddRefund(m.refunds[r.IntN(len(m.refunds))])
		}
		return AddRefund{ID: "r-first", Contact: pick(), Amount: 7, At: when}
	case k < 46:
		return AddOrder{ID: fmt.Sprintf("bad%d", *seq), Contact: pick(), Amount: -1 - r.Int64N(10)}
	case k < 50:
		c := pick()
		return LinkReferral{Child: c, Parent: c, At: when}
	case k < 56:
		// Link a contact under one of its own descendants.
		parent, _ := m.effective(ids)
		c := pick()
		var below []string
		for _, y := range ids {
			for p, ok := parent[m.canon(y)]; ok; p, ok = parent[p] {
				if p == m.canon(c) {
					below = append(below, y)
					break
				}
			}
		}
		if len(below) > 0 {
			return LinkReferral{Child: c, Parent: below[r.IntN(len(below))], At: when}
		}
		return LinkReferral{Child: c, Parent: pick(), At: when}
	case k < 75:
		return LinkReferral{Child: pick(), Parent: pick(), At: when}
	case k < 88:
		return Merge{From: pick(), Into: pick()}
	case k < 90:
		return Merge{From: "", Into: pick()}
	default:
		if len(m.alias) > 0 && r.IntN(3) > 0 {
			var aliases []string
			for from := range m.alias {
				aliases = append(aliases, from)
			}
			slices.Sort(aliases)
			return Unmerge{Alias: aliases[r.IntN(len(aliases))]}
		}
		return Unmerge{Alias: pick()}
	}
}

// countSituations records the awkward situations a change meets, so the test
// can insist that the streams reach them.
func countSituations(outcomes map[string]int, m *model, ch Change, ids []string) {
	hasOrder := func(id string) bool {
		for _, o := range m.orders {
			if m.canon(o.Contact) == m.canon(id) {
				return true
			}
		}
		return false
	}
	parked := func() int {
		parent, cand := m.effective(ids)
		n := 0
		for g := range cand {
			if _, ok := parent[g]; !ok {
				n++
			}
		}
		return n
	}
	switch c := ch.(type) {
	case AddRefund:
		if !hasOrder(c.Contact) {
			outcomes["refund before any order"]++
		}
	case LinkReferral:
		if !hasOrder(c.Child) {
			outcomes["link before the child's first order"]++
		}
	case Merge:
		parent, _ := m.effective(ids)
		_, a := parent[m.canon(c.Into)]
		_, b := parent[c.From]
		if a && b {
			outcomes["merge of two referred contacts"]++
		}
		before := parked()
		m.alias[c.From] = c.Into
		if parked() > before {
			outcomes["merge closing a cycle"]++
		}
		delete(m.alias, c.From)
	case Unmerge:
		before := parked()
		into := m.alias[c.Alias]
		delete(m.alias, c.Alias)
		if parked() < before {
			outcomes["unmerge restoring a parked link"]++
		}
		m.alias[c.Alias] = into
	}
}

func randomConfig(r *rand.Rand) Config {
	if r.IntN(2) == 0 {
		return DefaultConfig()
	}
	cfg := Config{WeightsBP: make([]int64, 1+r.IntN(5))}
	for d := range cfg.WeightsBP {
		cfg.WeightsBP[d] = r.Int64N(12_000)
	}
	return cfg
}

// persisted is what a store keeps per id: an alias keeps only the id it
// resolves to, a canonical contact its referrer and value.
type persisted struct {
	canonical, parent string
	v                 Value
}

func engineState(e *Engine, ids []string, depth int) map[string]persisted {
	out := map[string]persisted{}
	for _, id := range ids {
		if c := e.Canonical(id); c != id {
			out[id] = persisted{canonical: c}
			continue
		}
		v, ok := e.Value(id)
		if !ok {
			v = zeroValue(depth)
		}
		p, _ := e.Parent(id)
		out[id] = persisted{id, p, v}
	}
	return out
}

func compareAll(t *testing.T, where string, e *Engine, m *model, ids []string) {
	t.Helper()
	depth := m.cfg.Depth()
	oracle := m.values(ids)
	oparent, _ := m.effective(ids)
	snap, err := Recompute(m.cfg, m.ledger())
	if err != nil {
		t.Fatalf("%s: Recompute: %v", where, err)
	}
	fromEngine, err := Recompute(m.cfg, e.Ledger())
	if err != nil {
		t.Fatalf("%s: Recompute(engine ledger): %v", where, err)
	}
	for _, id := range ids {
		want := oracle[id]
		got, ok := e.Value(id)
		if !ok {
			got = zeroValue(depth)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: engine %s = %+v, oracle %+v", where, id, got, want)
		}
		for name, s := range map[string]*Snapshot{"recompute": snap, "recompute(engine ledger)": fromEngine} {
			sv, ok := s.Value(id)
			if !ok {
				sv = zeroValue(depth)
			}
			if !reflect.DeepEqual(sv, want) {
				t.Fatalf("%s: %s %s = %+v, oracle %+v", where, name, id, sv, want)
			}
			if c, ok := s.Canonical(id); ok && c != m.canon(id) {
				t.Fatalf("%s: %s Canonical(%s) = %s, oracle %s", where, name, id, c, m.canon(id))
			}
			if p, _ := s.Parent(id); p != oparent[m.canon(id)] {
				t.Fatalf("%s: %s Parent(%s) = %q, oracle %q", where, name, id, p, oparent[m.canon(id)])
			}
		}
		if c := e.Canonical(id); c != m.canon(id) {
			t.Fatalf("%s: Canonical(%s) = %s, oracle %s", where, id, c, m.canon(id))
		}
		if p, _ := e.Parent(id); p != oparent[m.canon(id)] {
			t.Fatalf("%s: Parent(%s) = %q, oracle %q", where, id, p, oparent[m.canon(id)])
		}
	}
}

func TestPropertyIncrementalEqualsRecomputeEqualsOracle(t *testing.T) {
	streams, ops := 300, 200
	if testing.Short() {
		streams = 40
	}
	var outcomes = map[string]int{}
	for s := range streams {
		r := rand.New(rand.NewPCG(uint64(s), 0x5eed))
		m := &model{cfg: randomConfig(r), links: map[string]Link{}, alias: map[string]string{}}
		ids := make([]string, 3+r.IntN(20))
		for i := range ids {
			ids[i] = fmt.Sprintf("c%02d", i)
		}
		e := newEngine(t, m.cfg)
		seq := 0
		for op := range ops {
			ch := randomChange(r, m, ids, &seq)
			where := fmt.Sprintf("stream %d op %d (%#v)", s, op, ch)
			wantErr, changes := m.expect(ch, ids)
			before := engineState(e, ids, m.cfg.Depth())
			affected, err := e.Apply(ch)
			if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
				t.Fatalf("%s: err = %v, want %v", where, err, wantErr)
			}
			outcomes[fmt.Sprintf("%T/%v", ch, wantErr)]++
			if wantErr == nil && changes {
				countSituations(outcomes, m, ch, ids)
			}
			if wantErr != nil && len(affected) != 0 {
				t.Fatalf("%s: refused change reported %v", where, affected)
			}
			// Duplicate entries go into the model's ledger too, so that
			// Recompute has to ignore them; a repeated link is not stored.
			_, isLink := ch.(LinkReferral)
			if wantErr == nil && (changes || !isLink) {
				m.apply(ch)
			}
			if !changes && len(affected) != 0 {
				t.Fatalf("%s: no-op reported %v", where, affected)
			}
			// Every id whose persisted state changed must be reported.
			after := engineState(e, ids, m.cfg.Depth())
			for _, id := range ids {
				if !reflect.DeepEqual(before[id], after[id]) && !slices.Contains(affected, id) {
					t.Fatalf("%s: %s changed but affected = %v", where, id, affected)
				}
			}
			if op%20 == 19 {
				compareAll(t, where, e, m, ids)
			}
		}
		compareAll(t, fmt.Sprintf("stream %d end", s), e, m, ids)
	}
	// The generator must actually reach every rule, or the test proves little.
	for _, k := range []string{
		"value.LinkReferral/" + ErrCycle.Error(), "value.LinkReferral/" + ErrSelfReferral.Error(),
		"value.LinkReferral/" + ErrAlreadyReferred.Error(), "value.LinkReferral/<nil>",
		"value.Merge/" + ErrAlreadyMerged.Error(), "value.Merge/" + ErrSameContact.Error(), "value.Merge/<nil>",
		"value.Unmerge/<nil>", "value.Unmerge/" + ErrNotMerged.Error(), "value.AddOrder/" + ErrInvalid.Error(),
		"refund before any order", "link before the child's first order", "merge closing a cycle",
		"unmerge restoring a parked link", "merge of two referred contacts",
	} {
		if outcomes[k] == 0 {
			t.Errorf("stream never produced %s; outcomes: %v", k, outcomes)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
