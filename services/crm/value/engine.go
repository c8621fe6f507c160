package value

import (
	"fmt"
	"slices"
)

// Change is one event for Engine.Apply: AddOrder, AddRefund, LinkReferral,
// Merge or Unmerge.
type Change interface{ isChange() }

// AddOrder books an order on the ledger; a repeated ID is ignored.
type AddOrder Entry

// AddRefund books a refund on the ledger; a repeated ID is ignored. A refund
// may arrive before its order: it simply lowers the direct value first.
type AddRefund Entry

// LinkReferral records that Child was referred by Parent.
type LinkReferral Link

// Merge makes From an alias of Into.
type Merge Alias

// Unmerge makes Alias its own contact again.
type Unmerge struct{ Alias string }

func (AddOrder) isChange()     {}
func (AddRefund) isChange()    {}
func (LinkReferral) isChange() {}
func (Merge) isChange()        {}
func (Unmerge) isChange()      {}

// contact is one contact id as it appears on the ledger.
type contact struct {
	direct  int64 // this id's own entries only
	orders  int
	link    *Link // this id's own referral link, if any
	alias   string
	aliases map[string]struct{} // ids merged directly into this one
	group   *group              // set only while the contact is canonical
}

// group is the merged view of a canonical contact and its aliases.
type group struct {
	direct int64
	orders int
	link   *Link // effective referral link; nil for a root
	sum    []int64
	count  []int
	buyers []int
}

// Engine keeps every contact's Value up to date as changes arrive. It is not
// safe for concurrent use.
//
// Costs, with D the configured depth: an order or refund touches the contact
// and its ≤ D ancestors (O(D)); a link touches the ≤ D new ancestors (O(D²)
// counter updates) after an O(depth) walk up from the parent to refuse
// cycles. A merge or unmerge walks both ancestor chains to their roots,
// detaches and re-attaches at most three subtrees (O(D²) each, using the
// subtrees' per-level sums rather than visiting them) and, for an unmerge,
// visits the direct children of the split contact once.
type Engine struct {
	cfg       Config
	contacts  map[string]*contact
	orderIDs  map[string]struct{}
	refundIDs map[string]struct{}
	orders    []Entry
	refunds   []Entry
	children  map[string][]*Link // parent id as linked → links naming it
	abs       int64
	touched   map[string]struct{}
}

// NewEngine returns an empty engine for cfg.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg:       Config{WeightsBP: slices.Clone(cfg.WeightsBP)},
		contacts:  make(map[string]*contact),
		orderIDs:  make(map[string]struct{}),
		refundIDs: make(map[string]struct{}),
		children:  make(map[string][]*Link),
	}, nil
}

// Apply applies one change and returns, sorted, every canonical contact whose
// Value or referrer may have changed (the contact itself and its ancestors),
// plus, for a merge or unmerge, every id whose canonical contact changed. An
// alias that is not listed still resolves to a listed contact. A refused
// change returns an error and leaves the engine untouched; a duplicate entry
// or a repeated identical link returns no ids and no error.
func (e *Engine) Apply(ch Change) ([]string, error) {
	e.touched = make(map[string]struct{})
	var err error
	switch c := ch.(type) {
	case AddOrder:
		err = e.addEntry(Entry(c), true)
	case AddRefund:
		err = e.addEntry(Entry(c), false)
	case LinkReferral:
		err = e.link(Link(c))
	case Merge:
		err = e.merge(Alias(c))
	case Unmerge:
		err = e.unmerge(c.Alias)
	default:
		err = fmt.Errorf("%w: unknown change %T", ErrInvalid, ch)
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(e.touched))
	for id := range e.touched {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// Value returns the value of id's canonical contact; ok is false for an id
// the engine has never seen.
func (e *Engine) Value(id string) (v Value, ok bool) {
	if _, ok := e.contacts[id]; !ok {
		return Value{}, false
	}
	return e.valueOf(e.group(e.canon(id))), true
}

// Canonical returns the contact id merges resolve id to (id itself when it
// is not an alias).
func (e *Engine) Canonical(id string) string { return e.canon(id) }

// Parent returns the effective referrer of id's canonical contact.
func (e *Engine) Parent(id string) (string, bool) { return e.parentOf(e.canon(id)) }

// Contacts returns every id the engine has seen, aliases included, sorted.
func (e *Engine) Contacts() []string {
	out := make([]string, 0, len(e.contacts))
	for id := range e.contacts {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Ledger returns the engine's state in the form Recompute takes: accepted
// entries in arrival order, every stored link and every alias.
func (e *Engine) Ledger() Ledger {
	l := Ledger{Orders: slices.Clone(e.orders), Refunds: slices.Clone(e.refunds)}
	for _, id := range e.Contacts() {
		c := e.contacts[id]
		if c.link != nil {
			l.Links = append(l.Links, *c.link)
		}
		if c.alias != "" {
			l.Aliases = append(l.Aliases, Alias{From: id, Into: c.alias})
		}
	}
	return l
}

func (e *Engine) addEntry(en Entry, order bool) error {
	if en.ID == "" || en.Contact == "" {
		return fmt.Errorf("%w: entry needs an id and a contact", ErrInvalid)
	}
	if en.Amount < 0 {
		return fmt.Errorf("%w: entry %q has negative amount %d", ErrInvalid, en.ID, en.Amount)
	}
	seen := e.refundIDs
	if order {
		seen = e.orderIDs
	}
	if _, dup := seen[en.ID]; dup {
		return nil
	}
	if en.Amount > MaxLedgerTotal-e.abs {
		return ErrOverflow
	}
	seen[en.ID] = struct{}{}
	e.abs += en.Amount
	amount := en.Amount
	if order {
		e.orders = append(e.orders, en)
	} else {
		e.refunds = append(e.refunds, en)
		amount = -amount
	}
	c := e.ensure(en.Contact)
	c.direct += amount
	id := e.canon(en.Contact)
	g := e.group(id)
	first := false
	if order {
		c.orders++
		first = g.orders == 0
		g.orders++
	}
	g.direct += amount
	e.touch(id)
	e.apply(EntryDeltas(e.ancestors(id), amount, first))
	return nil
}

func (e *Engine) link(l Link) error {
	if l.Child == "" || l.Parent == "" {
		return fmt.Errorf("%w: link needs a child and a parent", ErrInvalid)
	}
	g, p := e.canon(l.Child), e.canon(l.Parent)
	if g == p {
		return ErrSelfReferral
	}
	if cur, ok := e.parentOf(g); ok {
		if cur == p {
			return nil
		}
		return ErrAlreadyReferred
	}
	// A link parked by the cycle rule or dropped as internal to a merge
	// still counts as the contact's first touch.
	if c := e.contacts[l.Child]; (c != nil && c.link != nil) || e.cand(g) != nil {
		return ErrAlreadyReferred
	}
	if e.isAncestorOrSelf(g, p) {
		return ErrCycle
	}
	lk := &Link{Child: l.Child, Parent: l.Parent, At: l.At}
	e.ensure(l.Child).link = lk
	e.ensure(l.Parent)
	e.children[l.Parent] = append(e.children[l.Parent], lk)
	e.attach(g, lk)
	return nil
}

func (e *Engine) merge(m Alias) error {
	if m.From == "" || m.Into == "" {
		return fmt.Errorf("%w: merge needs two contacts", ErrInvalid)
	}
	if c := e.contacts[m.From]; c != nil && c.alias != "" {
		return ErrAlreadyMerged
	}
	if e.canon(m.Into) == m.From {
		return ErrSameContact
	}
	e.ensure(m.From)
	e.ensure(m.Into)
	a, b := e.canon(m.Into), m.From
	// Only the trees holding a and b can change: their roots may hold links
	// parked by the cycle rule that the merge frees or re-parks.
	ra, rb := e.rootOf(a), e.rootOf(b)
	e.detach(b)
	e.detach(a)

	cb := e.contacts[b]
	ga, gb := e.group(a), cb.group
	cb.alias = m.Into
	into := e.contacts[m.Into]
	if into.aliases == nil {
		into.aliases = make(map[string]struct{})
	}
	into.aliases[b] = struct{}{}
	cb.group = nil
	ga.direct += gb.direct
	ga.orders += gb.orders
	for d := range ga.sum {
		ga.sum[d] += gb.sum[d]
		ga.count[d] += gb.count[d]
		ga.buyers[d] += gb.buyers[d]
	}
	// b's ids now resolve to a, and so do the referrers of b's children.
	for _, id := range e.members(b) {
		e.touch(id)
		e.touchChildren(id)
	}
	e.touch(a)
	if ra == b {
		ra = a
	}
	if rb == b {
		rb = a
	}
	e.reattach(a, ra, rb)
	return nil
}

func (e *Engine) unmerge(b string) error {
	cb := e.contacts[b]
	if cb == nil || cb.alias == "" {
		return ErrNotMerged
	}
	g := e.canon(b)
	rg := e.rootOf(g)
	e.detach(g)

	delete(e.contacts[cb.alias].aliases, b)
	cb.alias = ""
	gg := e.group(g)
	gb := e.newGroup()
	cb.group = gb
	members := e.members(b)
	for _, id := range members {
		c := e.contacts[id]
		gb.direct += c.direct
		gb.orders += c.orders
		e.touch(id)
	}
	gg.direct -= gb.direct
	gg.orders -= gb.orders
	// Children whose effective link names one of b's ids move with b.
	for _, id := range members {
		for _, child := range e.childrenOf(id) {
			cg := e.group(child)
			e.shift(gg, cg, -1)
			e.shift(gb, cg, +1)
			e.touch(child)
		}
	}
	e.touch(g)
	e.reattach(g, b, rg)
	return nil
}

// reattach gives each listed root its candidate link back, once each.
// Adding the links one by one and breaking any cycle at its newest link
// yields the same forest in any order, because a component of the
// candidate graph holds at most one cycle.
func (e *Engine) reattach(ids ...string) {
	done := make(map[string]bool, len(ids))
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		if e.group(id).link == nil {
			e.attachCand(id)
		}
	}
}

// attachCand attaches root x by its candidate link; if that closes a cycle,
// the newest link on the cycle is the one left out.
func (e *Engine) attachCand(x string) {
	l := e.cand(x)
	if l == nil {
		return
	}
	var path []string
	cycle := false
	for y, n := e.canon(l.Parent), 0; ; n++ {
		e.guard(n)
		if y == x {
			cycle = true
			break
		}
		path = append(path, y)
		py, ok := e.parentOf(y)
		if !ok {
			break
		}
		y = py
	}
	if !cycle {
		e.attach(x, l)
		return
	}
	newest, owner := l, x
	for _, y := range path {
		if ly := e.group(y).link; newest.before(ly) {
			newest, owner = ly, y
		}
	}
	if owner == x {
		return
	}
	e.detach(owner)
	e.attach(x, l)
}

// cand returns the earliest link of any of x's ids that leaves x's group:
// the link x would be attached by if no cycle stood in the way.
func (e *Engine) cand(x string) *Link {
	if _, ok := e.contacts[x]; !ok {
		return nil
	}
	var best *Link
	for _, id := range e.members(x) {
		l := e.contacts[id].link
		if l == nil || e.canon(l.Parent) == x {
			continue
		}
		if best == nil || l.before(best) {
			best = l
		}
	}
	return best
}

func (e *Engine) attach(x string, l *Link) {
	g := e.group(x)
	g.link = l
	e.touch(x)
	e.apply(MoveDeltas(e.ancestors(x), e.valueOf(g), +1))
}

func (e *Engine) detach(x string) {
	g := e.group(x)
	if g.link == nil {
		return
	}
	e.apply(MoveDeltas(e.ancestors(x), e.valueOf(g), -1))
	g.link = nil
	e.touch(x)
}

// shift adds (sign +1) or removes (-1) child sub's subtree one level below
// dst, without touching dst's ancestors.
func (e *Engine) shift(dst, sub *group, sign int) {
	s := int64(sign)
	dst.sum[0] += s * sub.direct
	dst.count[0] += sign
	if sub.orders > 0 {
		dst.buyers[0] += sign
	}
	for j := 1; j < len(dst.sum); j++ {
		dst.sum[j] += s * sub.sum[j-1]
		dst.count[j] += sign * sub.count[j-1]
		dst.buyers[j] += sign * sub.buyers[j-1]
	}
}

func (e *Engine) apply(ds []Delta) {
	for _, d := range ds {
		g := e.group(d.Contact)
		g.sum[d.Level-1] += d.Sum
		g.count[d.Level-1] += d.Count
		g.buyers[d.Level-1] += d.Buyers
		e.touch(d.Contact)
	}
}

func (e *Engine) valueOf(g *group) Value {
	return Value{
		Direct:          g.direct,
		Orders:          g.orders,
		Referral:        e.cfg.referral(g.sum),
		ReferralByLevel: slices.Clone(g.sum),
		Total:           g.direct + e.cfg.referral(g.sum),
		ReferredCount:   slices.Clone(g.count),
		ReferredBuyers:  slices.Clone(g.buyers),
	}
}

func (e *Engine) ancestors(x string) []string {
	return Ancestors(e.parentOf, x, e.cfg.Depth())
}

// parentOf returns the effective referrer of canonical contact x.
func (e *Engine) parentOf(x string) (string, bool) {
	c := e.contacts[x]
	if c == nil || c.group == nil || c.group.link == nil {
		return "", false
	}
	return e.canon(c.group.link.Parent), true
}

func (e *Engine) rootOf(x string) string {
	for n := 0; ; n++ {
		e.guard(n)
		p, ok := e.parentOf(x)
		if !ok {
			return x
		}
		x = p
	}
}

func (e *Engine) isAncestorOrSelf(a, x string) bool {
	for n := 0; ; n++ {
		e.guard(n)
		if x == a {
			return true
		}
		p, ok := e.parentOf(x)
		if !ok {
			return false
		}
		x = p
	}
}

// guard stops a walk that has visited more contacts than exist, which only a
// broken invariant can cause.
func (e *Engine) guard(n int) {
	if n > len(e.contacts)+1 {
		panic("value: referral forest invariant broken: walk does not end")
	}
}

func (e *Engine) canon(id string) string {
	for {
		c := e.contacts[id]
		if c == nil || c.alias == "" {
			return id
		}
		id = c.alias
	}
}

func (e *Engine) group(canonical string) *group {
	return e.contacts[canonical].group
}

// members returns x and every id merged into it, directly or not.
func (e *Engine) members(x string) []string {
	out := []string{x}
	for i := 0; i < len(out); i++ {
		for id := range e.contacts[out[i]].aliases {
			out = append(out, id)
		}
	}
	return out
}

func (e *Engine) ensure(id string) *contact {
	c := e.contacts[id]
	if c == nil {
		c = &contact{group: e.newGroup()}
		e.contacts[id] = c
	}
	return c
}

func (e *Engine) newGroup() *group {
	d := e.cfg.Depth()
	return &group{sum: make([]int64, d), count: make([]int, d), buyers: make([]int, d)}
}

func (e *Engine) touch(id string) { e.touched[id] = struct{}{} }

// childrenOf returns the canonical contacts whose effective link names id.
func (e *Engine) childrenOf(id string) []string {
	var out []string
	for _, l := range e.children[id] {
		child := e.canon(l.Child)
		if e.group(child).link == l {
			out = append(out, child)
		}
	}
	return out
}

func (e *Engine) touchChildren(id string) {
	for _, child := range e.childrenOf(id) {
		e.touch(child)
	}
}
