package triage

import (
	"fmt"
	"slices"
	"time"
)

// Priority is a conversation's priority; the values match assign.Priority.
type Priority string

// Priorities.
const (
	Normal Priority = "normal"
	High   Priority = "high"
	Urgent Priority = "urgent"
)

func (p Priority) rank() int {
	switch p {
	case Urgent:
		return 2
	case High:
		return 1
	}
	return 0
}

// Tier is the CRM's standing of the customer behind a conversation.
type Tier string

// Tiers that raise priority; any other value (or "") does not.
const (
	TierVIP         Tier = "vip"
	TierTopReferrer Tier = "top_referrer"
)

// Comment is one comment of a thread.
type Comment struct {
	At   time.Time
	Text string
}

// Thread is what Assess looks at. For a DM conversation leave Comments and
// Reactions empty: only the tier counts.
type Thread struct {
	Now       time.Time
	Comments  []Comment   // the thread's recent comments, any order; older than the baseline window they are ignored
	Reactions []time.Time // when reactions (likes, emoji) were added to the post or its comments
	Tier      Tier
}

// Config tunes Assess; zero fields take DefaultConfig's values.
type Config struct {
	Recent   time.Duration // the window whose engagement is compared, 15 minutes
	Baseline time.Duration // the window before it, 60 minutes
	// Acceleration: engagement grows fast when the recent rate (comments and
	// reactions per minute) is at least this multiple of the baseline rate,
	Acceleration float64
	// and at least MinRecent interactions happened in the recent window, so
	// three likes on a quiet post are not a storm.
	MinRecent int
	// NegativeShare: a thread is negative when at least this share of its
	// latest comments (up to SampleComments, within both windows) is
	// negative, counted over at least MinComments comments.
	NegativeShare  float64
	MinComments    int
	SampleComments int
}

// DefaultConfig is a starting point for a brand page: tune per workspace.
func DefaultConfig() Config {
	return Config{Recent: 15 * time.Minute, Baseline: time.Hour, Acceleration: 3, MinRecent: 20,
		NegativeShare: 0.4, MinComments: 5, SampleComments: 30}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Recent <= 0 {
		c.Recent = d.Recent
	}
	if c.Baseline <= 0 {
		c.Baseline = d.Baseline
	}
	if c.Acceleration <= 0 {
		c.Acceleration = d.Acceleration
	}
	if c.MinRecent <= 0 {
		c.MinRecent = d.MinRecent
	}
	if c.NegativeShare <= 0 {
		c.NegativeShare = d.NegativeShare
	}
	if c.MinComments <= 0 {
		c.MinComments = d.MinComments
	}
	if c.SampleComments <= 0 {
		c.SampleComments = d.SampleComments
	}
	return c
}

// Assess returns a thread's priority and the reasons for it, for agents to
// read:
//   - urgent: the thread is negative and its engagement accelerates, the
//     shape of a complaint going viral;
//   - high: the thread is negative but calm, or the customer is VIP or a top
//     referrer (a tier never lowers a higher priority);
//   - normal otherwise, including a fast-growing positive thread (reported in
//     the reasons, it is an opportunity rather than a risk).
func Assess(t Thread, cfg Config) (Priority, []string) {
	cfg = cfg.withDefaults()
	recentFrom := t.Now.Add(-cfg.Recent)
	baseFrom := recentFrom.Add(-cfg.Baseline)

	var recent, base int
	count := func(at time.Time) {
		switch {
		case at.After(t.Now):
		case !at.Before(recentFrom):
			recent++
		case !at.Before(baseFrom):
			base++
		}
	}
	var sample []Comment
	for _, c := range t.Comments {
		count(c.At)
		if !c.At.Before(baseFrom) && !c.At.After(t.Now) {
			sample = append(sample, c)
		}
	}
	for _, at := range t.Reactions {
		count(at)
	}

	var reasons []string
	negative := false
	if len(sample) >= cfg.MinComments {
		slices.SortStableFunc(sample, func(a, b Comment) int { return b.At.Compare(a.At) })
		sample = sample[:min(len(sample), cfg.SampleComments)]
		neg := 0
		for _, c := range sample {
			if Score(c.Text).Label == Negative {
				neg++
			}
		}
		share := float64(neg) / float64(len(sample))
		if share >= cfg.NegativeShare {
			negative = true
			reasons = append(reasons, fmt.Sprintf("negative: %d of the latest %d comments (%.0f%%) are negative", neg, len(sample), share*100))
		}
	}

	// Rates per minute: recent/Recent ≥ k · base/Baseline, compared without
	// dividing by a possibly empty baseline.
	accelerating := recent >= cfg.MinRecent &&
		float64(recent)*cfg.Baseline.Minutes() >= cfg.Acceleration*float64(base)*cfg.Recent.Minutes()
	if accelerating {
		reasons = append(reasons, fmt.Sprintf("accelerating: %d comments and reactions in the last %s against %d in the %s before",
			recent, minutes(cfg.Recent), base, minutes(cfg.Baseline)))
	}

	p := Normal
	switch {
	case negative && accelerating:
		p = Urgent
	case negative:
		p = High
	}
	if t.Tier == TierVIP || t.Tier == TierTopReferrer {
		reasons = append(reasons, fmt.Sprintf("customer tier: %s", t.Tier))
		if p.rank() < High.rank() {
			p = High
		}
	}
	return p, reasons
}

func minutes(d time.Duration) string { return fmt.Sprintf("%.0f min", d.Minutes()) }
