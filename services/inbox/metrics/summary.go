package metrics

import (
	"cmp"
	"slices"
	"time"
)

// GroupBy names the dimension of a report.
type GroupBy string

// Report dimensions.
const (
	ByAgent   GroupBy = "agent"   // Record.AgentID; unanswered records have none and group under ""
	ByChannel GroupBy = "channel" // Record.Channel
	ByDay     GroupBy = "day"     // Record.Day, the channel's local date
)

// Summary aggregates the records of one kind and group.
type Summary struct {
	Kind RecordKind
	Key  string
	// Count is the number of answered records; Median and P90 are over
	// their Durations.
	Count       int
	Median, P90 time.Duration
	// Overdue counts unanswered records already past the target: they are
	// misses, so they join the rate's denominator. Unanswered records still
	// within the target are not due yet and count nowhere.
	Overdue      int
	WithinTarget int     // answered records with Duration ≤ target
	Rate         float64 // WithinTarget / (Count + Overdue); 0 without a target or records
}

// Summarize groups records by kind and the by dimension and computes each
// group's statistics against target (zero: no target, no rate). Groups come
// out sorted by kind, then key.
func Summarize(records []Record, by GroupBy, target time.Duration) []Summary {
	type groupKey struct {
		kind RecordKind
		key  string
	}
	durations := map[groupKey][]time.Duration{}
	sums := map[groupKey]*Summary{}
	for _, r := range records {
		k := groupKey{r.Kind, key(r, by)}
		s := sums[k]
		if s == nil {
			s = &Summary{Kind: r.Kind, Key: k.key}
			sums[k] = s
		}
		switch {
		case r.Answered:
			s.Count++
			durations[k] = append(durations[k], r.Duration)
			if target > 0 && r.Duration <= target {
				s.WithinTarget++
			}
		case target > 0 && r.Duration > target:
			s.Overdue++
		}
	}
	out := make([]Summary, 0, len(sums))
	for k, s := range sums {
		d := durations[k]
		slices.Sort(d)
		s.Median, s.P90 = Percentile(d, 50), Percentile(d, 90)
		if n := s.Count + s.Overdue; target > 0 && n > 0 {
			s.Rate = float64(s.WithinTarget) / float64(n)
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return out
}

func key(r Record, by GroupBy) string {
	switch by {
	case ByAgent:
		return r.AgentID
	case ByChannel:
		return r.Channel
	case ByDay:
		return r.Day
	}
	return ""
}

// Percentile returns the p-th percentile (1 ≤ p ≤ 100) of sorted durations by
// the nearest-rank method: the value at rank ⌈p·n/100⌉, computed in integers.
// It is always one of the observed values (no interpolation), so the median
// of two values is the lower one. Empty input or p < 1 gives 0.
func Percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 || p < 1 {
		return 0
	}
	rank := (min(p, 100)*n + 99) / 100
	return sorted[rank-1]
}
