package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
)

// graph is the working set of one operation: the contact nodes it loaded,
// as stored and as they are becoming. Its methods follow value.Engine's
// algorithm step by step (same names: link, merge, unmerge, attach, detach,
// reattach, attachCand, cand, shift), over documents loaded on demand instead
// of in-memory maps, so the store ends in the state the engine would reach.
// The store-level property test holds the two to that.
type graph struct {
	ctx     context.Context
	st      Storer
	ws      string
	p       Params
	depth   int
	nodes   map[string]*Node
	orig    map[string]Node
	touched map[string]bool
	// sideWrites is set once the operation wrote ledger entries outside the
	// graph: a failure after that leaves the values behind the ledger.
	sideWrites bool
}

// maxWalk bounds a walk up the referral forest; only a broken invariant
// (a cycle in stored data) can reach it.
const maxWalk = 1 << 20

// loadFailure carries a storage error out of the algorithm; do turns it back
// into an error. Loads happen deep inside the ported algorithm, and threading
// an error through every step would bury its logic.
type loadFailure struct{ err error }

func newGraph(ctx context.Context, st Storer, ws string, p Params) *graph {
	return &graph{ctx: ctx, st: st, ws: ws, p: p, depth: p.Value.Depth(),
		nodes: map[string]*Node{}, orig: map[string]Node{}, touched: map[string]bool{}}
}

// do runs fn, returning a load failure raised inside it as its error.
func (g *graph) do(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			lf, ok := r.(loadFailure)
			if !ok {
				panic(r)
			}
			err = lf.err
		}
	}()
	return fn()
}

func (g *graph) fail(err error) { panic(loadFailure{err}) }

// adopt adds a loaded node to the working set unless it is already there
// (the working-set copy is newer than anything the store returns).
func (g *graph) adopt(n Node) *Node {
	if cur, ok := g.nodes[n.ID]; ok {
		return cur
	}
	g.orig[n.ID] = n.clone()
	c := n.clone()
	c.Sum = resize(c.Sum, g.depth)
	c.Count = resize(c.Count, g.depth)
	c.Buyers = resize(c.Buyers, g.depth)
	if c.Canonical == "" {
		c.Canonical = c.ID
	}
	g.nodes[n.ID] = &c
	return &c
}

func resize[T int | int64](s []T, n int) []T {
	if len(s) == n {
		return s
	}
	out := make([]T, n)
	copy(out, s)
	return out
}

func (g *graph) node(id string) *Node {
	if n, ok := g.nodes[id]; ok {
		return n
	}
	ns, err := g.st.Nodes(g.ctx, g.ws, []string{id})
	if err != nil {
		g.fail(err)
	}
	if len(ns) == 0 {
		g.fail(apperr.NotFound("contact"))
	}
	return g.adopt(ns[0])
}

func (g *graph) canon(id string) string { return g.node(id).canonical() }

func (g *graph) touch(id string) { g.touched[id] = true }

func (g *graph) guard(n int) {
	if n > maxWalk {
		g.fail(errors.New("ledger: referral forest invariant broken: walk does not end"))
	}
}

// parentOf returns the effective referrer of canonical contact x.
func (g *graph) parentOf(x string) (string, bool) {
	n := g.node(x)
	if n.Eff == nil {
		return "", false
	}
	return g.canon(n.Eff.Parent), true
}

func (g *graph) ancestors(x string) []string { return value.Ancestors(g.parentOf, x, g.depth) }

func (g *graph) rootOf(x string) string {
	for n := 0; ; n++ {
		g.guard(n)
		p, ok := g.parentOf(x)
		if !ok {
			return x
		}
		x = p
	}
}

func (g *graph) isAncestorOrSelf(a, x string) bool {
	for n := 0; ; n++ {
		g.guard(n)
		if x == a {
			return true
		}
		p, ok := g.parentOf(x)
		if !ok {
			return false
		}
		x = p
	}
}

// members returns every id whose canonical contact is x, x included, in the
// working set's current state.
func (g *graph) members(x string) []string {
	ns, err := g.st.Members(g.ctx, g.ws, x)
	if err != nil {
		g.fail(err)
	}
	for _, n := range ns {
		g.adopt(n)
	}
	g.node(x)
	var out []string
	for id, n := range g.nodes {
		if n.canonical() == x {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// aliasTree returns b and every id merged into b, directly or not.
func (g *graph) aliasTree(b string) []string {
	out := []string{b}
	seen := map[string]bool{b: true}
	for i := 0; i < len(out); i++ {
		ns, err := g.st.AliasesOf(g.ctx, g.ws, []string{out[i]})
		if err != nil {
			g.fail(err)
		}
		for _, n := range ns {
			g.adopt(n)
		}
		var next []string
		for id, n := range g.nodes {
			if n.Alias == out[i] && !seen[id] {
				seen[id] = true
				next = append(next, id)
			}
		}
		sort.Strings(next)
		out = append(out, next...)
	}
	return out
}

// linkedTo returns the ids whose own link names one of parents.
func (g *graph) linkedTo(parents []string) []string {
	ns, err := g.st.LinkedTo(g.ctx, g.ws, parents)
	if err != nil {
		g.fail(err)
	}
	for _, n := range ns {
		g.adopt(n)
	}
	var out []string
	for id, n := range g.nodes {
		if n.Link != nil && slices.Contains(parents, n.Link.Parent) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func valueOf(n *Node) value.Value {
	return value.Value{Direct: n.Direct, Orders: n.Orders, ReferralByLevel: n.Sum, ReferredCount: n.Count, ReferredBuyers: n.Buyers}
}

func (g *graph) apply(ds []value.Delta) {
	for _, d := range ds {
		n := g.node(d.Contact)
		n.Sum[d.Level-1] += d.Sum
		n.Count[d.Level-1] += d.Count
		n.Buyers[d.Level-1] += d.Buyers
		g.touch(d.Contact)
	}
}

// addEntry books amount (an order, or a refund when !order) on contact.
func (g *graph) addEntry(contact string, amount int64, order bool) {
	if !order {
		amount = -amount
	}
	c := g.node(contact)
	c.OwnDirect += amount
	id := c.canonical()
	gn := g.node(id)
	first := false
	if order {
		c.OwnOrders++
		first = gn.Orders == 0
		gn.Orders++
	}
	gn.Direct += amount
	g.touch(contact)
	g.touch(id)
	g.apply(value.EntryDeltas(g.ancestors(id), amount, first))
}

// link records l as l.Child's referral link, with the engine's refusals.
func (g *graph) link(l value.Link) error {
	if l.Child == "" || l.Parent == "" {
		return apperr.Invalid("a referral link needs a child and a parent")
	}
	gc, p := g.canon(l.Child), g.canon(l.Parent)
	if gc == p {
		return value.ErrSelfReferral
	}
	if cur, ok := g.parentOf(gc); ok {
		if cur == p {
			return nil
		}
		return value.ErrAlreadyReferred
	}
	if g.node(l.Child).Link != nil || g.cand(gc) != nil {
		return value.ErrAlreadyReferred
	}
	if g.isAncestorOrSelf(gc, p) {
		return value.ErrCycle
	}
	lk := l
	g.node(l.Child).Link = &lk
	g.touch(l.Child)
	g.attach(gc, lk)
	return nil
}

func (g *graph) merge(from, into string) error {
	if from == "" || into == "" {
		return apperr.Invalid("a merge needs two contacts")
	}
	if g.node(from).Alias != "" {
		return value.ErrAlreadyMerged
	}
	if g.canon(into) == from {
		return value.ErrSameContact
	}
	a, b := g.canon(into), from
	ra, rb := g.rootOf(a), g.rootOf(b)
	g.detach(b)
	g.detach(a)
	moving := g.members(b)
	ga, gb := g.node(a), g.node(b)
	gb.Alias = into
	ga.Direct += gb.Direct
	ga.Orders += gb.Orders
	for d := range ga.Sum {
		ga.Sum[d] += gb.Sum[d]
		ga.Count[d] += gb.Count[d]
		ga.Buyers[d] += gb.Buyers[d]
	}
	clearGroup(gb, g.depth)
	for _, id := range moving {
		g.node(id).Canonical = a
		g.touch(id)
	}
	g.touch(a)
	if ra == b {
		ra = a
	}
	if rb == b {
		rb = a
	}
	g.reattach(a, ra, rb)
	return nil
}

func clearGroup(n *Node, depth int) {
	n.Direct, n.Orders, n.Referral, n.Total, n.Tier, n.Eff = 0, 0, 0, 0, "", nil
	n.Sum, n.Count, n.Buyers = make([]int64, depth), make([]int, depth), make([]int, depth)
}

func (g *graph) unmerge(b string) error {
	cb := g.node(b)
	if cb.Alias == "" {
		return value.ErrNotMerged
	}
	gid := g.canon(b)
	rg := g.rootOf(gid)
	g.detach(gid)
	members := g.aliasTree(b)
	cb.Alias = ""
	gg := g.node(gid)
	clearGroup(cb, g.depth)
	for _, id := range members {
		c := g.node(id)
		cb.Direct += c.OwnDirect
		cb.Orders += c.OwnOrders
		c.Canonical = b
		g.touch(id)
	}
	gg.Direct -= cb.Direct
	gg.Orders -= cb.Orders
	// Children whose effective link names one of b's ids move with b.
	for _, id := range g.linkedTo(members) {
		l := g.node(id).Link
		cg := g.node(g.canon(id))
		if !linkEqual(cg.Eff, l) {
			continue
		}
		g.shift(gg, cg, -1)
		g.shift(cb, cg, +1)
		g.touch(cg.ID)
	}
	g.touch(gid)
	g.reattach(gid, b, rg)
	return nil
}

// reattach gives each listed root its candidate link back, once each.
func (g *graph) reattach(ids ...string) {
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		if g.node(id).Eff == nil {
			g.attachCand(id)
		}
	}
}

// attachCand attaches root x by its candidate link; if that closes a cycle,
// the newest link on the cycle is the one left out.
func (g *graph) attachCand(x string) {
	l := g.cand(x)
	if l == nil {
		return
	}
	var path []string
	cycle := false
	for y, n := g.canon(l.Parent), 0; ; n++ {
		g.guard(n)
		if y == x {
			cycle = true
			break
		}
		path = append(path, y)
		py, ok := g.parentOf(y)
		if !ok {
			break
		}
		y = py
	}
	if !cycle {
		g.attach(x, *l)
		return
	}
	newest, owner := *l, x
	for _, y := range path {
		if ly := g.node(y).Eff; LinkBefore(newest, *ly) {
			newest, owner = *ly, y
		}
	}
	if owner == x {
		return
	}
	g.detach(owner)
	g.attach(x, *l)
}

// cand returns the earliest link of any of x's ids that leaves x's group.
func (g *graph) cand(x string) *value.Link {
	var best *value.Link
	for _, id := range g.members(x) {
		l := g.node(id).Link
		if l == nil || g.canon(l.Parent) == x {
			continue
		}
		if best == nil || LinkBefore(*l, *best) {
			best = l
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

func (g *graph) attach(x string, l value.Link) {
	n := g.node(x)
	n.Eff = &l
	g.touch(x)
	g.apply(value.MoveDeltas(g.ancestors(x), valueOf(n), +1))
}

func (g *graph) detach(x string) {
	n := g.node(x)
	if n.Eff == nil {
		return
	}
	g.apply(value.MoveDeltas(g.ancestors(x), valueOf(n), -1))
	n.Eff = nil
	g.touch(x)
}

// shift adds (sign +1) or removes (-1) child sub's subtree one level below
// dst, without touching dst's ancestors.
func (g *graph) shift(dst, sub *Node, sign int) {
	s := int64(sign)
	dst.Sum[0] += s * sub.Direct
	dst.Count[0] += sign
	if sub.Orders > 0 {
		dst.Buyers[0] += sign
	}
	for j := 1; j < len(dst.Sum); j++ {
		dst.Sum[j] += s * sub.Sum[j-1]
		dst.Count[j] += sign * sub.Count[j-1]
		dst.Buyers[j] += sign * sub.Buyers[j-1]
	}
}

// LinkBefore orders links by (At, Child, Parent), the order value uses to
// decide which of two competing links is older.
func LinkBefore(l, m value.Link) bool {
	if c := l.At.Compare(m.At); c != 0 {
		return c < 0
	}
	if l.Child != m.Child {
		return l.Child < m.Child
	}
	return l.Parent < m.Parent
}

// finish derives referral, total and tier of every loaded node.
func (g *graph) finish(n *Node) error {
	if n.Alias != "" {
		clearGroup(n, g.depth)
		return nil
	}
	r, err := g.p.Value.Referral(n.Sum)
	if err != nil {
		return fmt.Errorf("referral of %s: %w", n.ID, err)
	}
	n.Referral, n.Total = r, n.Direct+r
	n.Tier = g.p.Tier(n)
	return nil
}

// save writes every node that changed and returns the canonical contacts
// whose value or tier changed.
func (g *graph) save() ([]Changed, error) {
	ids := make([]string, 0, len(g.nodes))
	for id := range g.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var writes []NodeChange
	var changed []Changed
	for _, id := range ids {
		n := g.nodes[id]
		if err := g.finish(n); err != nil {
			return nil, err
		}
		old := g.orig[id]
		if nodeEqual(old, *n) {
			continue
		}
		writes = append(writes, NodeChange{Old: old, New: n.clone()})
		if (n.Alias == "" || old.Alias == "") && valueDiffers(old, *n) {
			changed = append(changed, Changed{Before: old, After: n.clone(), Currency: g.p.Currency})
		}
	}
	if len(writes) == 0 {
		return nil, nil
	}
	if err := g.st.SaveNodes(g.ctx, g.ws, writes); err != nil {
		return nil, err
	}
	return changed, nil
}

func nodeEqual(a, b Node) bool {
	return a.OwnDirect == b.OwnDirect && a.OwnOrders == b.OwnOrders && linkEqual(a.Link, b.Link) &&
		a.Alias == b.Alias && a.canonical() == b.canonical() && !valueDiffers(a, b) && linkEqual(a.Eff, b.Eff) &&
		len(a.Sum) == len(b.Sum) && len(a.Count) == len(b.Count) && len(a.Buyers) == len(b.Buyers)
}

func valueDiffers(a, b Node) bool {
	return a.Direct != b.Direct || a.Orders != b.Orders || a.Referral != b.Referral || a.Total != b.Total || a.Tier != b.Tier ||
		!slices.Equal(resize(a.Sum, len(b.Sum)), b.Sum) || !slices.Equal(resize(a.Count, len(b.Count)), b.Count) ||
		!slices.Equal(resize(a.Buyers, len(b.Buyers)), b.Buyers)
}

func linkEqual(a, b *value.Link) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Child == b.Child && a.Parent == b.Parent && a.At.Equal(b.At)
}
