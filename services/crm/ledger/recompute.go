package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/communityinbox/crm/value"
)

// RecomputeStats describes one full recompute.
type RecomputeStats struct {
	Contacts int           `json:"contacts"`
	Orders   int           `json:"orders"`
	Refunds  int           `json:"refunds"`
	Links    int           `json:"links"`
	Aliases  int           `json:"aliases"`
	Changed  int           `json:"changed"` // documents whose stored values differed
	Load     time.Duration `json:"load_ns"`
	Compute  time.Duration `json:"compute_ns"`
	Write    time.Duration `json:"write_ns"`
}

// Recompute rebuilds every value of ws from the ledger with value.Recompute
// and writes back the documents that differ, in bulk.
func (s *Service) Recompute(ctx context.Context, ws string) (RecomputeStats, error) {
	release, _, err := s.lease.Acquire(ctx, ws)
	if err != nil {
		return RecomputeStats{}, err
	}
	st, changes, err := s.recomputeChanges(ctx, ws)
	release(err != nil)
	if err == nil && s.notify != nil && len(changes) > 0 {
		s.notify.ValuesChanged(context.WithoutCancel(ctx), ws, changes)
	}
	return st, err
}

func (s *Service) recompute(ctx context.Context, ws string) (RecomputeStats, error) {
	st, _, err := s.recomputeChanges(ctx, ws)
	return st, err
}

func (s *Service) recomputeChanges(ctx context.Context, ws string) (RecomputeStats, []Changed, error) {
	var st RecomputeStats
	p, err := s.params.Params(ctx, ws)
	if err != nil {
		return st, nil, err
	}
	t0 := time.Now()
	led, nodes, err := s.store.Ledger(ctx, ws)
	if err != nil {
		return st, nil, err
	}
	t1 := time.Now()
	st.Load = t1.Sub(t0)
	st.Contacts, st.Orders, st.Refunds, st.Links, st.Aliases = len(nodes), len(led.Orders), len(led.Refunds), len(led.Links), len(led.Aliases)
	fresh, err := Rebuild(p, led, nodes)
	if err != nil {
		return st, nil, err
	}
	st.Compute = time.Since(t1)
	var writes []Node
	var changes []Changed
	for i := range nodes {
		if nodeEqual(nodes[i], fresh[i]) {
			continue
		}
		writes = append(writes, fresh[i])
		if (fresh[i].Alias == "" || nodes[i].Alias == "") && valueDiffers(nodes[i], fresh[i]) {
			changes = append(changes, Changed{Before: nodes[i], After: fresh[i], Currency: p.Currency})
		}
	}
	st.Changed = len(writes)
	t2 := time.Now()
	if len(writes) > 0 {
		if err := s.store.ReplaceNodes(ctx, ws, writes); err != nil {
			return st, nil, err
		}
	}
	st.Write = time.Since(t2)
	return st, changes, nil
}

// Rebuild returns, for each of nodes (in the same order), the node with every
// value field derived from the ledger alone: own sums from the entries,
// canonical ids and group values from value.Recompute, and the effective
// link as the earliest link leaving the group when the group has a parent.
// Only ID, Version, Link and Alias of the input nodes are read.
func Rebuild(p Params, led value.Ledger, nodes []Node) ([]Node, error) {
	snap, err := value.Recompute(p.Value, led)
	if err != nil {
		return nil, fmt.Errorf("recompute: %w", err)
	}
	depth := p.Value.Depth()
	// Everything below works on snapshot indexes: one map lookup per node
	// and per entry instead of one per question, which at a million
	// contacts is most of the cost.
	size := snap.Len()
	ownDirect, ownOrders := make([]int64, size), make([]int, size)
	for _, e := range led.Orders {
		if k, ok := snap.Index(e.Contact); ok {
			ownDirect[k] += e.Amount
			ownOrders[k]++
		}
	}
	for _, e := range led.Refunds {
		if k, ok := snap.Index(e.Contact); ok {
			ownDirect[k] -= e.Amount
		}
	}
	idx := make([]int, len(nodes)) // snapshot index of each node, -1 if absent
	for i := range nodes {
		k, ok := snap.Index(nodes[i].ID)
		if !ok {
			k = -1
		}
		idx[i] = k
	}
	// canonAt is the canonical snapshot index of id (node i when id is its own).
	canonAt := func(i int, id string) int {
		k := idx[i]
		if id != nodes[i].ID {
			var ok bool
			if k, ok = snap.Index(id); !ok {
				return -1
			}
		}
		if k < 0 {
			return -1
		}
		return snap.CanonicalAt(k)
	}
	// cand[g] is the node whose link is the earliest of g's ids that leaves
	// g, candTo[g] the canonical index that link points to.
	cand, candTo := make([]int32, size), make([]int32, size)
	for g := range cand {
		cand[g] = -1
	}
	for i := range nodes {
		l := nodes[i].Link
		if l == nil {
			continue
		}
		g := canonAt(i, l.Child)
		if g < 0 {
			continue // not in the ledger's links: no node asks for it
		}
		to := -1
		if pk, ok := snap.Index(l.Parent); ok {
			if to = snap.CanonicalAt(pk); to == g {
				continue // inside the group
			}
		}
		if c := cand[g]; c < 0 || LinkBefore(*l, *nodes[c].Link) {
			cand[g], candTo[g] = int32(i), int32(to)
		}
	}
	out := make([]Node, len(nodes))
	// Zero counters of contacts outside the snapshot share one backing array
	// (capacity-capped sub-slices, so an append copies).
	zeroSums, zeroCounts := make([]int64, len(nodes)*depth), make([]int, 2*len(nodes)*depth)
	for i := range nodes {
		n := Node{ID: nodes[i].ID, Version: nodes[i].Version, Link: nodes[i].Link, Alias: nodes[i].Alias}
		lo, hi := i*depth, (i+1)*depth
		n.Sum, n.Count, n.Buyers = zeroSums[lo:hi:hi], zeroCounts[2*lo:2*lo+depth:2*lo+depth], zeroCounts[2*lo+depth:2*hi:2*hi]
		k := idx[i]
		if k < 0 {
			n.Canonical = n.ID
			if n.Alias == "" {
				n.Tier = p.Tier(&n)
			}
			out[i] = n
			continue
		}
		n.OwnDirect, n.OwnOrders = ownDirect[k], ownOrders[k]
		c := snap.CanonicalAt(k)
		n.Canonical = snap.ID(c)
		if n.Alias == "" {
			// v's slices are fresh copies of the snapshot: take them.
			v := snap.ValueAt(k)
			n.Direct, n.Orders, n.Referral, n.Total = v.Direct, v.Orders, v.Referral, v.Total
			n.Sum, n.Count, n.Buyers = v.ReferralByLevel, v.ReferredCount, v.ReferredBuyers
			if parent := snap.ParentAt(k); parent >= 0 {
				ci := cand[k]
				if ci < 0 || int(candTo[k]) != parent {
					return nil, fmt.Errorf("recompute: contact %s has parent %s but no matching candidate link", n.ID, snap.ID(parent))
				}
				l := *nodes[ci].Link
				n.Eff = &l
			}
			n.Tier = p.Tier(&n)
		}
		out[i] = n
	}
	return out, nil
}
