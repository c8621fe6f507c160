package value

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

const benchN = 1_000_000

// randomForest has 80% of contacts referred by a uniformly random earlier
// contact, so parents land all over memory, as they would after an import.
func randomForest(n int) *Forest {
	r := rand.New(rand.NewPCG(7, 7))
	f := &Forest{Parent: make([]int32, n), Direct: make([]int64, n), Orders: make([]int32, n)}
	for i := range n {
		f.Parent[i] = -1
		if i > 0 && r.IntN(5) > 0 {
			f.Parent[i] = int32(r.IntN(i))
		}
		if r.IntN(3) > 0 {
			f.Orders[i] = int32(1 + r.IntN(3))
			f.Direct[i] = r.Int64N(100_000)
		}
	}
	// Shuffle the indices so that a parent's index says nothing about order.
	perm := r.Perm(n)
	g := &Forest{Parent: make([]int32, n), Direct: make([]int64, n), Orders: make([]int32, n)}
	for i, p := range perm {
		g.Direct[p], g.Orders[p] = f.Direct[i], f.Orders[i]
		g.Parent[p] = -1
		if f.Parent[i] >= 0 {
			g.Parent[p] = int32(perm[f.Parent[i]])
		}
	}
	return g
}

func randomLedger(n int) Ledger {
	f := randomForest(n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "contact-" + strconv.Itoa(i)
	}
	var l Ledger
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if f.Parent[i] >= 0 {
			l.Links = append(l.Links, Link{Child: ids[i], Parent: ids[f.Parent[i]], At: base.Add(time.Duration(i) * time.Second)})
		}
		if f.Orders[i] > 0 {
			l.Orders = append(l.Orders, Entry{ID: "o" + strconv.Itoa(i), Contact: ids[i], Amount: f.Direct[i]})
		}
		if i%10 == 0 {
			l.Refunds = append(l.Refunds, Entry{ID: "r" + strconv.Itoa(i), Contact: ids[i], Amount: 100})
		}
	}
	for i := 0; i+1 < n; i += 1000 {
		l.Aliases = append(l.Aliases, Alias{From: ids[i], Into: ids[i+1]})
	}
	return l
}

// BenchmarkRecompute1M measures a full recompute of 1,000,000 contacts with
// the default depth: "forest" is the O(N×D) array kernel on a forest already
// in index form (what a store scan yields), "ledger" the whole path from
// string ids, entries, links and merges.
func BenchmarkRecompute1M(b *testing.B) {
	cfg := DefaultConfig()
	b.Run("forest", func(b *testing.B) {
		f := randomForest(benchN)
		b.ResetTimer()
		for b.Loop() {
			if _, err := f.Compute(cfg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
	b.Run("ledger", func(b *testing.B) {
		l := randomLedger(benchN)
		b.ResetTimer()
		for b.Loop() {
			if _, err := Recompute(cfg, l); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
}
