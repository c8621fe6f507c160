package triage

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScore(t *testing.T) {
	cases := []struct {
		text  string
		label Label
		hits  []string
	}{
		{"I love this, thank you!", Positive, []string{"love", "thank"}},
		{"This is a SCAM 😡", Negative, []string{"scam", "😡"}},
		{"not bad at all", Positive, []string{"not bad"}},
		{"not very good", Negative, []string{"not good"}},
		{"I don’t hate it", Positive, []string{"not hate"}},
		{"Pésimo servicio, quiero un reembolso", Negative, []string{"pesimo", "reembolso"}},
		{"Não é bom", Negative, []string{"not bom"}},
		{"Das ist nicht gut", Negative, []string{"not gut"}},
		{"Sehr enttäuscht 👎👎", Negative, []string{"enttauscht", "👎", "👎"}},
		{"Obrigada, ótimo atendimento ❤️", Positive, []string{"obrigada", "otimo", "❤"}},
		{"👍🏽", Positive, []string{"👍"}},
		{"Ordered on Tuesday, tracking 12345", Neutral, nil},
		{"", Neutral, nil},
	}
	for _, tc := range cases {
		s := Score(tc.text)
		if s.Label != tc.label || !reflect.DeepEqual(s.Hits, tc.hits) {
			t.Errorf("%q: %s %v (%.3f), want %s %v", tc.text, s.Label, s.Hits, s.Score, tc.label, tc.hits)
		}
	}
}

func TestScoreValues(t *testing.T) {
	for text, want := range map[string]float64{
		"bad":         -2 / math.Sqrt(4+15),
		"not bad":     1.5 / math.Sqrt(1.5*1.5+15),
		"very bad":    -3 / math.Sqrt(9+15),
		"never again": -0.5 / math.Sqrt(0.25+15),
		"great great": 6 / math.Sqrt(36+15),
		"no refund 😡": (1.125 - 3.5) / math.Sqrt((1.125-3.5)*(1.125-3.5)+15),
	} {
		if got := Score(text).Score; math.Abs(got-want) > 1e-12 {
			t.Errorf("%q: %.6f, want %.6f", text, got, want)
		}
	}
}

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// comments spreads texts evenly over [now-from, now-to).
func comments(from, to time.Duration, texts ...string) []Comment {
	var out []Comment
	step := (from - to) / time.Duration(len(texts))
	for i, s := range texts {
		out = append(out, Comment{At: now.Add(-from + time.Duration(i)*step), Text: s})
	}
	return out
}

func reactions(n int, from, to time.Duration) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, now.Add(-from+time.Duration(i)*(from-to)/time.Duration(n)))
	}
	return out
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestAssessCalmPositiveThread(t *testing.T) {
	th := Thread{Now: now,
		Comments:  comments(2*time.Hour, 0, repeat("love it, great product", 10)...),
		Reactions: reactions(5, 2*time.Hour, 0)}
	p, reasons := Assess(th, Config{})
	if p != Normal || len(reasons) != 0 {
		t.Fatalf("%s %v", p, reasons)
	}
}

func TestAssessViralComplaintIsUrgent(t *testing.T) {
	// The hour before: 6 comments (2 negative) and 4 reactions = 10.
	base := comments(75*time.Minute, 15*time.Minute, "nice", "great", "thanks", "good", "this is a scam", "worst service")
	// The last 15 minutes: 12 comments (8 negative) and 20 reactions = 32.
	recent := comments(15*time.Minute, 0, append(repeat("terrible, I want a refund 😡", 8), "ok", "when?", "love it", "hm")...)
	th := Thread{Now: now, Comments: append(base, recent...),
		Reactions: append(reactions(4, 75*time.Minute, 15*time.Minute), reactions(20, 15*time.Minute, 0)...)}
	p, reasons := Assess(th, Config{})
	want := []string{
		"negative: 10 of the latest 18 comments (56%) are negative",
		"accelerating: 32 comments and reactions in the last 15 min against 10 in the 60 min before",
	}
	if p != Urgent || !reflect.DeepEqual(reasons, want) {
		t.Fatalf("%s %q", p, reasons)
	}
}

func TestAssessSlowNegativeIsHigh(t *testing.T) {
	th := Thread{Now: now, Comments: comments(70*time.Minute, 5*time.Minute,
		"awful", "never again", "scam", "terrible support", "broken on arrival", "ok", "fine", "disappointed")}
	p, reasons := Assess(th, Config{})
	if p != High || len(reasons) != 1 || !strings.HasPrefix(reasons[0], "negative: 6 of the latest 8 comments (75%)") {
		t.Fatalf("%s %q", p, reasons)
	}
}

func TestAssessFastPositiveStaysNormal(t *testing.T) {
	th := Thread{Now: now, Comments: comments(10*time.Minute, 0, repeat("amazing 😍", 25)...)}
	p, reasons := Assess(th, Config{})
	if p != Normal || len(reasons) != 1 || !strings.HasPrefix(reasons[0], "accelerating: 25 comments") {
		t.Fatalf("%s %q", p, reasons)
	}
}

func TestAssessThresholds(t *testing.T) {
	// Negative but too few comments to say anything.
	few := Thread{Now: now, Comments: comments(30*time.Minute, 0, "scam", "fraud", "awful", "worst")}
	if p, r := Assess(few, Config{}); p != Normal || len(r) != 0 {
		t.Fatalf("few comments: %s %q", p, r)
	}
	// Negative and growing from nothing, but under the absolute floor.
	small := Thread{Now: now, Comments: comments(10*time.Minute, 0, repeat("terrible", 10)...)}
	if p, r := Assess(small, Config{}); p != High || len(r) != 1 {
		t.Fatalf("under the floor: %s %q", p, r)
	}
	// Busy all along: 29 interactions in 15 min after 81 in the hour is
	// above the floor but only 1.4× the rate, not 3×.
	steady := Thread{Now: now,
		Comments:  comments(75*time.Minute, 0, repeat("awful", 20)...), // 16 before, 4 recent
		Reactions: append(reactions(65, 75*time.Minute, 15*time.Minute), reactions(25, 15*time.Minute, 0)...)}
	if p, r := Assess(steady, Config{}); p != High || len(r) != 1 {
		t.Fatalf("steady: %s %q", p, r)
	}
	// The same thread with a lower bar for acceleration is urgent.
	if p, r := Assess(steady, Config{Acceleration: 1.4}); p != Urgent {
		t.Fatalf("steady at 1.4×: %s %q", p, r)
	}
	// Old and future activity is ignored.
	stale := Thread{Now: now, Comments: append(comments(5*time.Hour, 2*time.Hour, repeat("scam", 30)...), Comment{At: now.Add(time.Hour), Text: "scam"})}
	if p, r := Assess(stale, Config{}); p != Normal || len(r) != 0 {
		t.Fatalf("stale: %s %q", p, r)
	}
	// A stricter config turns the slow negative thread back to normal.
	slow := Thread{Now: now, Comments: comments(70*time.Minute, 5*time.Minute, "awful", "scam", "ok", "fine", "nice", "good")}
	if p, _ := Assess(slow, Config{NegativeShare: 0.5}); p != Normal {
		t.Fatalf("strict share: %s", p)
	}
}

func TestAssessTier(t *testing.T) {
	p, reasons := Assess(Thread{Now: now, Tier: TierVIP}, Config{})
	if p != High || !reflect.DeepEqual(reasons, []string{"customer tier: vip"}) {
		t.Fatalf("vip DM: %s %q", p, reasons)
	}
	if p, _ := Assess(Thread{Now: now, Tier: TierTopReferrer}, Config{}); p != High {
		t.Fatalf("top referrer: %s", p)
	}
	if p, _ := Assess(Thread{Now: now, Tier: "regular"}, Config{}); p != Normal {
		t.Fatalf("regular: %s", p)
	}
	viral := Thread{Now: now, Tier: TierVIP, Comments: comments(15*time.Minute, 0, repeat("worst company ever 🤬", 25)...)}
	if p, reasons := Assess(viral, Config{}); p != Urgent || len(reasons) != 3 {
		t.Fatalf("vip never lowers urgent: %s %q", p, reasons)
	}
}

// FuzzScore: any text scores within [-1, 1] with a label that matches, the
// same every time.
func FuzzScore(f *testing.F) {
	for _, s := range []string{"not bad", "Pésimo 😡😡", "sehr gut 👍🏽", "don't", "''''", "no no no no", "❤️‍🔥", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s := Score(text)
		if math.IsNaN(s.Score) || s.Score < -1 || s.Score > 1 {
			t.Fatalf("score %v", s.Score)
		}
		if (s.Label == Negative) != (s.Score <= -labelThreshold) || (s.Label == Positive) != (s.Score >= labelThreshold) {
			t.Fatalf("label %s for %v", s.Label, s.Score)
		}
		if again := Score(text); !reflect.DeepEqual(s, again) {
			t.Fatal("not deterministic")
		}
	})
}
