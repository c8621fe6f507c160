package value

import (
	"fmt"
	"slices"
	"sync"
)

// Forest is a referral forest in array form, indexed 0..N-1. Parent[i] is the
// index of i's referrer or -1; Direct[i] is i's direct value and Orders[i] its
// order count. IDs, if set, names each index so Snapshot.Value can look
// contacts up by id. A store that keeps direct, orders and referred_by per
// contact can fill it straight from a scan.
type Forest struct {
	IDs    []string
	Parent []int32
	Direct []int64
	Orders []int32
}

// cell is one contact's counters for one level; the three sit together so
// that each update in the hot loop costs one cache miss.
type cell struct {
	sum    int64
	count  int32
	buyers int32
}

// Snapshot holds the values of every contact after a full recompute.
type Snapshot struct {
	cfg    Config
	n      int
	ids    []string
	canon  []int32 // nil when no contact is an alias
	parent []int32
	direct []int64
	orders []int32
	cells  []cell // level-major: level d of contact i at d*n+i

	indexOnce sync.Once
	index     map[string]int32
}

// Compute returns the value of every contact of f in O(N×D): D passes over
// the contacts, pass d adding each contact's level d-1 counters into its
// parent's level d. It refuses a forest with a cycle (ErrCycle), an index out
// of range, mismatched lengths or Σ|Direct| above MaxLedgerTotal.
func (f *Forest) Compute(cfg Config) (*Snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := len(f.Parent)
	if len(f.Direct) != n || len(f.Orders) != n || (f.IDs != nil && len(f.IDs) != n) {
		return nil, fmt.Errorf("%w: forest slices have different lengths", ErrInvalid)
	}
	if n > 1<<31-1 {
		return nil, fmt.Errorf("%w: too many contacts", ErrInvalid)
	}
	var abs int64
	for i, p := range f.Parent {
		if p < -1 || int(p) >= n {
			return nil, fmt.Errorf("%w: parent %d of contact %d out of range", ErrInvalid, p, i)
		}
		d := f.Direct[i]
		if d < -MaxLedgerTotal || d > MaxLedgerTotal {
			return nil, ErrOverflow
		}
		if d < 0 {
			d = -d
		}
		if abs += d; abs > MaxLedgerTotal {
			return nil, ErrOverflow
		}
	}
	if hasCycle(f.Parent) {
		return nil, ErrCycle
	}
	return compute(cfg, f.IDs, nil, nil, f.Parent, f.Direct, f.Orders), nil
}

// hasCycle reports whether following Parent from some index never ends.
func hasCycle(parent []int32) bool {
	state := make([]uint8, len(parent)) // 0 new, 1 on the current walk, 2 done
	for s := range parent {
		v := int32(s)
		for v >= 0 && state[v] == 0 {
			state[v] = 1
			v = parent[v]
		}
		if v >= 0 && state[v] == 1 {
			return true
		}
		for u := int32(s); u >= 0 && state[u] == 1; u = parent[u] {
			state[u] = 2
		}
	}
	return false
}

func compute(cfg Config, ids []string, index map[string]int32, canon []int32, parent []int32, direct []int64, orders []int32) *Snapshot {
	cfg = Config{WeightsBP: slices.Clone(cfg.WeightsBP)}
	n, depth := len(parent), cfg.Depth()
	cells := make([]cell, depth*n)
	lvl := cells[:n]
	for v, p := range parent {
		if p < 0 {
			continue
		}
		c := &lvl[p]
		c.sum += direct[v]
		c.count++
		if orders[v] > 0 {
			c.buyers++
		}
	}
	for d := 1; d < depth; d++ {
		prev, cur := cells[(d-1)*n:d*n], cells[d*n:(d+1)*n]
		for v, p := range parent {
			if p < 0 {
				continue
			}
			src := prev[v]
			if src.count == 0 {
				continue
			}
			c := &cur[p]
			c.sum += src.sum
			c.count += src.count
			c.buyers += src.buyers
		}
	}
	s := &Snapshot{cfg: cfg, n: n, ids: ids, canon: canon, parent: parent, direct: direct, orders: orders, cells: cells}
	if index != nil {
		s.indexOnce.Do(func() { s.index = index })
	}
	return s
}

// Recompute derives every contact's value from the ledger alone: entries
// (first occurrence of an ID wins), links and aliases, following the rules
// in README.md. After one pass that maps string ids to indexes (the costly
// part: a hash lookup per mention), everything is O(N×D) over flat slices;
// links are compared only when they compete for the same merged contact or
// sit on a cycle.
func Recompute(cfg Config, l Ledger) (*Snapshot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A contact worth computing is a link child, a buyer or an alias, so this
	// bounds the distinct ids closely without reserving room for every
	// mention of them.
	size := len(l.Links) + len(l.Orders) + len(l.Aliases)
	index := make(map[string]int32, size)
	ids := make([]string, 0, size)
	idx := func(id string) (int32, error) {
		if id == "" {
			return 0, fmt.Errorf("%w: empty contact id", ErrInvalid)
		}
		if i, ok := index[id]; ok {
			return i, nil
		}
		i := int32(len(ids))
		index[id] = i
		ids = append(ids, id)
		return i, nil
	}

	type alias struct{ from, into int32 }
	aliases := make([]alias, len(l.Aliases))
	for k, a := range l.Aliases {
		f, err := idx(a.From)
		if err != nil {
			return nil, err
		}
		t, err := idx(a.Into)
		if err != nil {
			return nil, err
		}
		aliases[k] = alias{f, t}
	}
	type edge struct{ child, parent int32 }
	edges := make([]edge, len(l.Links))
	for k, lk := range l.Links {
		c, err := idx(lk.Child)
		if err != nil {
			return nil, err
		}
		p, err := idx(lk.Parent)
		if err != nil {
			return nil, err
		}
		edges[k] = edge{c, p}
	}
	type booked struct {
		contact int32
		amount  int64
		order   bool
	}
	entries := make([]booked, 0, len(l.Orders)+len(l.Refunds))
	var abs int64
	for _, set := range []struct {
		list  []Entry
		order bool
	}{{l.Orders, true}, {l.Refunds, false}} {
		seen := make(map[string]struct{}, len(set.list))
		for _, en := range set.list {
			if en.ID == "" || en.Amount < 0 {
				return nil, fmt.Errorf("%w: entry %q needs an id and a non-negative amount", ErrInvalid, en.ID)
			}
			c, err := idx(en.Contact)
			if err != nil {
				return nil, err
			}
			if _, dup := seen[en.ID]; dup {
				continue
			}
			seen[en.ID] = struct{}{}
			if en.Amount > MaxLedgerTotal-abs {
				return nil, ErrOverflow
			}
			abs += en.Amount
			entries = append(entries, booked{c, en.Amount, set.order})
		}
	}

	n := len(ids)
	var canon []int32
	if len(aliases) > 0 {
		var err error
		if canon, err = resolveAliases(n, func(yield func(from, into int32)) {
			for _, a := range aliases {
				yield(a.from, a.into)
			}
		}); err != nil {
			return nil, err
		}
	}
	at := func(i int32) int32 {
		if canon == nil {
			return i
		}
		return canon[i]
	}

	direct := make([]int64, n)
	orders := make([]int32, n)
	for _, b := range entries {
		c := at(b.contact)
		if b.order {
			direct[c] += b.amount
			orders[c]++
		} else {
			direct[c] -= b.amount
		}
	}

	// cand[g] is the earliest link leaving merged contact g.
	cand := make([]int32, n)
	for i := range cand {
		cand[i] = -1
	}
	for k, ed := range edges {
		c, p := at(ed.child), at(ed.parent)
		if c == p {
			continue
		}
		if cur := cand[c]; cur < 0 || l.Links[k].before(&l.Links[cur]) {
			cand[c] = int32(k)
		}
	}
	parent := make([]int32, n)
	for g, k := range cand {
		parent[g] = -1
		if k >= 0 {
			parent[g] = at(edges[k].parent)
		}
	}
	breakCycles(parent, func(a, b int32) bool { return l.Links[cand[a]].before(&l.Links[cand[b]]) })
	return compute(cfg, ids, index, canon, parent, direct, orders), nil
}

// resolveAliases maps every index to its canonical index, refusing an id
// merged twice or a ring of merges.
func resolveAliases(n int, each func(yield func(from, into int32))) ([]int32, error) {
	next := make([]int32, n)
	for i := range next {
		next[i] = -1
	}
	var err error
	each(func(from, into int32) {
		if err != nil {
			return
		}
		if next[from] >= 0 || from == into {
			err = fmt.Errorf("%w: contact merged twice or into itself", ErrInvalid)
			return
		}
		next[from] = into
	})
	if err != nil {
		return nil, err
	}
	if hasCycle(next) {
		return nil, fmt.Errorf("%w: merges form a ring", ErrInvalid)
	}
	canon := make([]int32, n)
	for i := range canon {
		canon[i] = -1
	}
	var stack []int32
	for s := range n {
		v := int32(s)
		for canon[v] < 0 && next[v] >= 0 {
			stack = append(stack, v)
			v = next[v]
		}
		root := canon[v]
		if root < 0 {
			root = v
			canon[v] = v
		}
		for _, u := range stack {
			canon[u] = root
		}
		stack = stack[:0]
	}
	return canon, nil
}

// breakCycles cuts, in every cycle of the functional graph parent, the edge
// whose link is the newest (older(a, b) says a's link is older than b's),
// making its child a root. Each component of such a graph holds at most one
// cycle, so the result is a forest and does not depend on visiting order.
func breakCycles(parent []int32, older func(a, b int32) bool) {
	state := make([]uint8, len(parent)) // 0 new, 1 on the current walk, 2 done
	for s := range parent {
		v := int32(s)
		for v >= 0 && state[v] == 0 {
			state[v] = 1
			v = parent[v]
		}
		if v >= 0 && state[v] == 1 {
			newest := v
			state[v] = 2
			for u := parent[v]; u != v; u = parent[u] {
				state[u] = 2
				if older(newest, u) {
					newest = u
				}
			}
			parent[newest] = -1
		}
		for u := int32(s); u >= 0 && state[u] == 1; u = parent[u] {
			state[u] = 2
		}
	}
}

// Len returns the number of contact ids in the snapshot, aliases included.
func (s *Snapshot) Len() int { return s.n }

// ID returns the id at index i, or "" when the snapshot was computed from a
// Forest without IDs.
func (s *Snapshot) ID(i int) string {
	if s.ids == nil {
		return ""
	}
	return s.ids[i]
}

// Value returns the value of id's canonical contact.
func (s *Snapshot) Value(id string) (Value, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return Value{}, false
	}
	return s.ValueAt(int(i)), true
}

// Canonical returns the id merges resolve id to.
func (s *Snapshot) Canonical(id string) (string, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return "", false
	}
	return s.ids[s.canonOf(i)], true
}

// Parent returns the effective referrer of id's canonical contact.
func (s *Snapshot) Parent(id string) (string, bool) {
	i, ok := s.lookup(id)
	if !ok {
		return "", false
	}
	p := s.parent[s.canonOf(i)]
	if p < 0 {
		return "", false
	}
	return s.ids[p], true
}

// Index returns the index of id for the ...At accessors, which spare a
// caller walking every contact one map lookup per question.
func (s *Snapshot) Index(id string) (int, bool) {
	i, ok := s.lookup(id)
	return int(i), ok
}

// CanonicalAt returns the index of the canonical contact of index i.
func (s *Snapshot) CanonicalAt(i int) int { return int(s.canonOf(int32(i))) }

// ParentAt returns the index of the effective referrer of the canonical
// contact of index i, or -1 for a root.
func (s *Snapshot) ParentAt(i int) int { return int(s.parent[s.canonOf(int32(i))]) }

// ValueAt returns the value of the canonical contact of index i.
func (s *Snapshot) ValueAt(i int) Value {
	c := int(s.canonOf(int32(i)))
	depth := s.cfg.Depth()
	v := Value{
		Direct:          s.direct[c],
		Orders:          int(s.orders[c]),
		ReferralByLevel: make([]int64, depth),
		ReferredCount:   make([]int, depth),
		ReferredBuyers:  make([]int, depth),
	}
	for d := range depth {
		cl := s.cells[d*s.n+c]
		v.ReferralByLevel[d] = cl.sum
		v.ReferredCount[d] = int(cl.count)
		v.ReferredBuyers[d] = int(cl.buyers)
	}
	v.Referral = s.cfg.referral(v.ReferralByLevel)
	v.Total = v.Direct + v.Referral
	return v
}

func (s *Snapshot) canonOf(i int32) int32 {
	if s.canon == nil {
		return i
	}
	return s.canon[i]
}

func (s *Snapshot) lookup(id string) (int32, bool) {
	if s.ids == nil {
		return 0, false
	}
	s.indexOnce.Do(func() {
		s.index = make(map[string]int32, len(s.ids))
		for i, id := range s.ids {
			s.index[id] = int32(i)
		}
	})
	i, ok := s.index[id]
	return i, ok
}
