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
	type own struct {
		direct int64
		orders int
	}
	owns := make(map[string]own, len(nodes))
	for _, e := range led.Orders {
		o := owns[e.Contact]
		o.direct += e.Amount
		o.orders++
		owns[e.Contact] = o
	}
	for _, e := range led.Refunds {
		o := owns[e.Contact]
		o.direct -= e.Amount
		owns[e.Contact] = o
	}
	canon := func(id string) string {
		if c, ok := snap.Canonical(id); ok {
			return c
		}
		return id
	}
	// cand[g] is the earliest link of g's ids that leaves g.
	cand := map[string]value.Link{}
	for i := range nodes {
		l := nodes[i].Link
		if l == nil {
			continue
		}
		g := canon(l.Child)
		if g == canon(l.Parent) {
			continue
		}
		if cur, ok := cand[g]; !ok || LinkBefore(*l, cur) {
			cand[g] = *l
		}
	}
	out := make([]Node, len(nodes))
	for i := range nodes {
		n := Node{ID: nodes[i].ID, Version: nodes[i].Version, Link: nodes[i].Link, Alias: nodes[i].Alias}
		o := owns[n.ID]
		n.OwnDirect, n.OwnOrders = o.direct, o.orders
		n.Canonical = canon(n.ID)
		n.Sum, n.Count, n.Buyers = make([]int64, depth), make([]int, depth), make([]int, depth)
		if n.Alias == "" {
			if v, ok := snap.Value(n.ID); ok {
				n.Direct, n.Orders, n.Referral, n.Total = v.Direct, v.Orders, v.Referral, v.Total
				copy(n.Sum, v.ReferralByLevel)
				copy(n.Count, v.ReferredCount)
				copy(n.Buyers, v.ReferredBuyers)
			}
			if parent, ok := snap.Parent(n.ID); ok {
				l, found := cand[n.ID]
				if !found || canon(l.Parent) != parent {
					return nil, fmt.Errorf("recompute: contact %s has parent %s but no matching candidate link", n.ID, parent)
				}
				n.Eff = &l
			}
			n.Tier = p.Tier(&n)
		}
		out[i] = n
	}
	return out, nil
}
