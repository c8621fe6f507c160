package ledger_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/value"
)

// BenchmarkRebuild1M measures the compute step of a recompute from the
// store in memory: 1,000,000 nodes as the store scan returns them (70%
// linked to an earlier contact), about a million orders and 100,000
// refunds, through value.Recompute and back into nodes.
func BenchmarkRebuild1M(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(42, 1))
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var led value.Ledger
	nodes := make([]ledger.Node, n)
	for i := range nodes {
		id := fmt.Sprintf("c%07d", i)
		nodes[i] = ledger.Node{ID: id, Canonical: id}
		if i > 0 && rng.IntN(10) < 7 {
			l := value.Link{Child: id, Parent: fmt.Sprintf("c%07d", rng.IntN(i)), At: at.Add(time.Duration(i) * time.Second)}
			nodes[i].Link = &l
			led.Links = append(led.Links, l)
		}
		if rng.IntN(3) == 0 {
			continue
		}
		for k := 0; k < 1+rng.IntN(2); k++ {
			key := fmt.Sprintf("%s-%d", id, k)
			led.Orders = append(led.Orders, value.Entry{ID: key, Contact: id, Amount: int64(100 + rng.IntN(100000))})
			if rng.IntN(10) == 0 {
				led.Refunds = append(led.Refunds, value.Entry{ID: key + "|r", Contact: id, Amount: 25})
			}
		}
	}
	p := defaultParams()
	b.ResetTimer()
	for b.Loop() {
		out, err := ledger.Rebuild(p, led, nodes)
		if err != nil || len(out) != n {
			b.Fatalf("rebuild: %d nodes, %v", len(out), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}
