package metrics

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

// at is day0 + "hh:mm" (+ days).
func at(days int, hm string) time.Time {
	c, err := ParseClock(hm)
	if err != nil {
		panic(err)
	}
	return day0.AddDate(0, 0, days).Add(time.Duration(c) * time.Minute)
}

func ev(k EventKind, t time.Time, agent string) Event { return Event{Kind: k, At: t, AgentID: agent} }
func st(s Status, t time.Time, agent string) Event {
	return Event{Kind: StatusChange, At: t, AgentID: agent, Status: s}
}

// brief renders records compactly: kind/segment/agent/duration.
func brief(rs []Record) string {
	var parts []string
	for _, r := range rs {
		s := fmt.Sprintf("%s/%d/%s/%s", r.Kind, r.Segment, r.AgentID, r.Duration)
		if !r.Answered {
			s += "/waiting"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestComputeRepliesNotesAndReopen(t *testing.T) {
	tl := Timeline{ConversationID: "c1", Channel: "fb", Events: []Event{
		ev(Incoming, at(0, "10:00"), ""),
		ev(Incoming, at(0, "10:02"), ""),
		ev(Note, at(0, "10:05"), "ann"),
		ev(Echo, at(0, "10:07"), ""),
		ev(Automated, at(0, "10:08"), ""),
		ev(AgentReply, at(0, "10:15"), "ann"),
		ev(Incoming, at(0, "10:20"), ""),
		ev(AgentReply, at(0, "10:50"), "bob"),
		ev(AgentReply, at(0, "10:55"), "bob"), // a second reply answers nobody
		st(StatusResolved, at(0, "11:00"), "bob"),
		// next morning the customer writes again: a new segment
		ev(Incoming, at(1, "09:00"), ""),
		ev(Note, at(1, "09:01"), "ann"),
		ev(AgentReply, at(1, "09:10"), "ann"),
		st(StatusResolved, at(1, "09:30"), ""), // resolver unknown: last replying agent
	}}
	got := Compute(tl, Options{})
	want := "first_response/1/ann/15m0s reply/1/ann/15m0s reply/1/bob/30m0s resolution/1/bob/1h0m0s " +
		"first_response/2/ann/10m0s reply/2/ann/10m0s resolution/2/ann/30m0s"
	if brief(got) != want {
		t.Fatalf("got  %s\nwant %s", brief(got), want)
	}
	if r := got[0]; r.Start != at(0, "10:00") || r.End != at(0, "10:15") || r.ConversationID != "c1" || r.Channel != "fb" || r.Day != "2026-03-02" {
		t.Fatalf("first record %+v", r)
	}
	if r := got[6]; r.Start != at(1, "09:00") || r.Elapsed != 30*time.Minute {
		t.Fatalf("second resolution %+v", r)
	}
}

func TestComputeIgnoresNonResponses(t *testing.T) {
	tl := Timeline{Events: []Event{
		ev(Incoming, at(0, "10:00"), ""),
		ev(Automated, at(0, "10:00"), ""),
		ev(Echo, at(0, "10:30"), ""),
		ev(Note, at(0, "10:40"), "ann"),
		st(StatusResolved, at(0, "11:00"), "ann"),
	}}
	if got := brief(Compute(tl, Options{})); got != "resolution/1/ann/1h0m0s" {
		t.Fatalf("got %s", got)
	}
}

func TestComputeExplicitReopenAndOutreach(t *testing.T) {
	tl := Timeline{Events: []Event{
		// outreach in a conversation never opened answers nobody
		ev(AgentReply, at(0, "08:00"), "ann"),
		st(StatusOpen, at(0, "09:00"), "ann"),
		ev(AgentReply, at(0, "09:05"), "ann"), // proactive: nothing waits yet
		ev(Incoming, at(0, "09:30"), ""),
		ev(AgentReply, at(0, "09:40"), "ann"),
		st(StatusResolved, at(0, "10:00"), "ann"),
		st(StatusResolved, at(0, "10:05"), "ann"), // duplicate, ignored
		st(StatusOpen, at(0, "12:00"), "bob"),     // reopened by an agent
		ev(Incoming, at(0, "13:00"), ""),
		ev(AgentReply, at(0, "13:05"), "bob"),
		st(StatusResolved, at(0, "14:00"), "bob"),
	}}
	want := "first_response/1/ann/10m0s reply/1/ann/10m0s resolution/1/ann/1h0m0s " +
		"first_response/2/bob/5m0s reply/2/bob/5m0s resolution/2/bob/2h0m0s"
	if got := brief(Compute(tl, Options{})); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestComputeSnooze: snoozed time leaves resolution time, whether the snooze
// ends by a status change, a customer message or the resolution itself.
func TestComputeSnooze(t *testing.T) {
	tl := Timeline{Events: []Event{
		st(StatusOpen, at(0, "09:00"), ""),
		ev(Incoming, at(0, "09:00"), ""),
		ev(AgentReply, at(0, "09:10"), "ann"),
		st(StatusSnoozed, at(0, "09:15"), "ann"),
		st(StatusSnoozed, at(0, "09:45"), "ann"), // already snoozed: still from 09:15
		st(StatusOpen, at(0, "10:15"), "ann"),    // 1h snoozed
		st(StatusSnoozed, at(0, "10:30"), "ann"),
		ev(Incoming, at(0, "12:30"), ""), // the customer ends the snooze: 2h
		ev(AgentReply, at(0, "13:00"), "ann"),
		st(StatusSnoozed, at(0, "13:15"), "ann"),
		st(StatusResolved, at(0, "16:15"), "ann"), // snoozed until resolved: 3h
	}}
	got := Compute(tl, Options{})
	want := "first_response/1/ann/10m0s reply/1/ann/10m0s reply/1/ann/30m0s resolution/1/ann/1h15m0s"
	if brief(got) != want {
		t.Fatalf("got  %s\nwant %s", brief(got), want)
	}
	if got[3].Elapsed != 7*time.Hour+15*time.Minute {
		t.Fatalf("elapsed %v", got[3].Elapsed)
	}
}

func TestComputeWaitingAndTargets(t *testing.T) {
	tl := Timeline{Events: []Event{
		ev(Incoming, at(0, "10:00"), ""),
		ev(AgentReply, at(0, "10:20"), "ann"),
		ev(Incoming, at(0, "11:00"), ""),
	}}
	opt := Options{Now: at(0, "11:45"), Targets: map[RecordKind]time.Duration{FirstResponse: 15 * time.Minute, Reply: time.Hour}}
	got := Compute(tl, opt)
	if b := brief(got); b != "first_response/1/ann/20m0s reply/1/ann/20m0s reply/1//45m0s/waiting" {
		t.Fatalf("got %s", b)
	}
	if got[0].Met || got[0].Target != 15*time.Minute || !got[1].Met || got[2].Met {
		t.Fatalf("targets: %+v", got)
	}
	if got[2].End != opt.Now || got[2].Answered {
		t.Fatalf("waiting record %+v", got[2])
	}
	// Without Now nothing is reported for the waiting burst.
	if n := len(Compute(tl, Options{})); n != 2 {
		t.Fatalf("%d records without Now", n)
	}
}

func TestComputeSortsEvents(t *testing.T) {
	evs := []Event{
		st(StatusResolved, at(0, "11:00"), "ann"),
		ev(AgentReply, at(0, "10:30"), "ann"),
		ev(Incoming, at(0, "10:00"), ""),
	}
	got := Compute(Timeline{Events: evs}, Options{})
	if b := brief(got); b != "first_response/1/ann/30m0s reply/1/ann/30m0s resolution/1/ann/1h0m0s" {
		t.Fatalf("got %s", b)
	}
	if evs[0].Kind != StatusChange {
		t.Fatal("Compute reordered the caller's slice")
	}
}

func berlinWeekdays(t *testing.T) *Schedule {
	t.Helper()
	s, err := NewSchedule("Europe/Berlin", Weekdays(Span{At(9, 0), At(17, 0)}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBusinessHours uses Mon–Fri 09:00–17:00 Europe/Berlin; each case is
// worked out by hand.
func TestBusinessHours(t *testing.T) {
	s := berlinWeekdays(t)
	cases := []struct {
		name      string
		in, reply string
		business  time.Duration
		wall      time.Duration
		day       string
	}{
		{"same day", "2026-03-04 10:00", "2026-03-04 10:40", 40 * time.Minute, 40 * time.Minute, "2026-03-04"},
		{"overnight Thu→Fri", "2026-03-05 16:50", "2026-03-06 09:20", 30 * time.Minute, 16*time.Hour + 30*time.Minute, "2026-03-06"},
		{"over the weekend", "2026-03-06 16:30", "2026-03-09 09:45", 75 * time.Minute, 65*time.Hour + 15*time.Minute, "2026-03-09"},
		{"written and answered on Saturday", "2026-03-07 10:00", "2026-03-07 11:00", 0, time.Hour, "2026-03-07"},
		{"written at night, answered at opening", "2026-03-10 02:00", "2026-03-10 09:00", 0, 7 * time.Hour, "2026-03-10"},
		// CET→CEST on Sunday 29 March: the weekend is an hour shorter on the
		// wall clock, business time is unchanged.
		{"weekend with DST start", "2026-03-27 16:00", "2026-03-30 10:00", 2 * time.Hour, 65 * time.Hour, "2026-03-30"},
		{"weekend with DST end", "2026-10-23 16:00", "2026-10-26 10:00", 2 * time.Hour, 67 * time.Hour, "2026-10-26"},
		{"a whole week", "2026-03-02 09:00", "2026-03-09 09:00", 40 * time.Hour, 168 * time.Hour, "2026-03-09"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tl := Timeline{Events: []Event{ev(Incoming, berlin(t, tc.in), ""), ev(AgentReply, berlin(t, tc.reply), "ann")}}
			got := Compute(tl, Options{Schedule: s})
			if len(got) != 2 {
				t.Fatalf("records %s", brief(got))
			}
			r := got[1]
			if r.Duration != tc.business || r.Elapsed != tc.wall || r.Day != tc.day {
				t.Fatalf("business %v wall %v day %s; want %v %v %s", r.Duration, r.Elapsed, r.Day, tc.business, tc.wall, tc.day)
			}
		})
	}
}

func TestBusinessHoursResolutionMinusSnooze(t *testing.T) {
	s := berlinWeekdays(t)
	tl := Timeline{Events: []Event{
		ev(Incoming, berlin(t, "2026-03-06 15:00"), ""),          // Friday
		ev(AgentReply, berlin(t, "2026-03-06 15:30"), "ann"),     //
		st(StatusSnoozed, berlin(t, "2026-03-06 16:00"), "ann"),  // snoozed 1h of Friday business time
		st(StatusOpen, berlin(t, "2026-03-09 10:00"), ""),        // + 1h Monday
		st(StatusResolved, berlin(t, "2026-03-09 11:00"), "ann"), //
	}}
	got := Compute(tl, Options{Schedule: s})
	// Friday 15:00–17:00 (2h) + Monday 09:00–11:00 (2h) = 4h, minus 2h snoozed.
	if r := got[len(got)-1]; r.Kind != Resolution || r.Duration != 2*time.Hour {
		t.Fatalf("resolution %+v", r)
	}
}

func TestScheduleDurations(t *testing.T) {
	allSunday, err := NewSchedule("Europe/Berlin", map[time.Weekday][]Span{time.Sunday: {{At(0, 0), At(24, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := allSunday.Duration(berlin(t, "2026-03-28 12:00"), berlin(t, "2026-03-30 12:00")); d != 23*time.Hour {
		t.Fatalf("spring-forward Sunday lasts %v", d)
	}
	if d := allSunday.Duration(berlin(t, "2026-10-24 12:00"), berlin(t, "2026-10-26 12:00")); d != 25*time.Hour {
		t.Fatalf("fall-back Sunday lasts %v", d)
	}
	night, err := NewSchedule("UTC", map[time.Weekday][]Span{
		time.Monday:   {{At(22, 0), At(6, 0)}},
		time.Saturday: {{At(22, 0), At(6, 0)}}, // wraps into Sunday, the start of the week
	})
	if err != nil {
		t.Fatal(err)
	}
	mon := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	sun := mon.AddDate(0, 0, -1)
	sat := mon.AddDate(0, 0, 5)
	for _, tc := range []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"Mon 21:00 → Tue 07:00", mon.Add(21 * time.Hour), mon.Add(31 * time.Hour), 8 * time.Hour},
		{"Tue 03:00 → 05:00, inside Monday's shift", mon.Add(27 * time.Hour), mon.Add(29 * time.Hour), 2 * time.Hour},
		{"Sun 05:00 → 07:00, the end of Saturday's shift", sun.Add(5 * time.Hour), sun.Add(7 * time.Hour), time.Hour},
		{"Sun 21:00 → 23:00, closed", sun.Add(21 * time.Hour), sun.Add(23 * time.Hour), 0},
		{"Sat 23:00 → Sun 05:00", sat.Add(23 * time.Hour), sat.Add(29 * time.Hour), 6 * time.Hour},
	} {
		if got := night.Duration(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if d := night.Duration(mon.Add(time.Hour), mon); d != 0 {
		t.Fatalf("reversed interval %v", d)
	}
}

func TestNewScheduleRejects(t *testing.T) {
	for name, week := range map[string]map[time.Weekday][]Span{
		"overlap":              {time.Monday: {{At(9, 0), At(17, 0)}, {At(16, 0), At(18, 0)}}},
		"night shift overlap":  {time.Monday: {{At(22, 0), At(6, 0)}}, time.Tuesday: {{At(5, 0), At(9, 0)}}},
		"saturday night wraps": {time.Saturday: {{At(22, 0), At(6, 0)}}, time.Sunday: {{At(5, 0), At(9, 0)}}},
		"out of range":         {time.Monday: {{At(9, 0), At(25, 0)}}},
		"starts at 24:00":      {time.Monday: {{At(24, 0), At(1, 0)}}},
	} {
		if _, err := NewSchedule("UTC", week); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewSchedule("Mars/Olympus", nil); err == nil {
		t.Error("unknown zone accepted")
	}
	for _, bad := range []string{"9", "09:5", "24:01", "-1:00", "ab:cd", "10:60"} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) accepted", bad)
		}
	}
	if c, err := ParseClock("24:00"); err != nil || c != 1440 || c.String() != "24:00" {
		t.Errorf("24:00 → %v %v", c, err)
	}
}

func TestPercentile(t *testing.T) {
	m := time.Minute
	ten := []time.Duration{1 * m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m, 7 * m, 8 * m, 9 * m, 10 * m}
	for _, tc := range []struct {
		d    []time.Duration
		p    int
		want time.Duration
	}{
		{ten, 50, 5 * m}, {ten, 90, 9 * m}, {ten, 91, 10 * m}, {ten, 100, 10 * m}, {ten, 1, 1 * m},
		{[]time.Duration{2 * m, 4 * m}, 50, 2 * m}, {[]time.Duration{2 * m, 4 * m}, 90, 4 * m},
		{[]time.Duration{7 * m}, 90, 7 * m}, {nil, 50, 0}, {ten, 0, 0},
	} {
		if got := Percentile(tc.d, tc.p); got != tc.want {
			t.Errorf("p%d of %v: %v, want %v", tc.p, tc.d, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	m := time.Minute
	var rs []Record
	for i, d := range []int{5, 1, 3, 2, 4, 10, 7, 6, 9, 8} {
		rs = append(rs, Record{Kind: Reply, AgentID: "ann", Channel: "fb", Answered: true, Duration: time.Duration(d) * m,
			Day: fmt.Sprintf("2026-03-0%d", 2+i%2)})
	}
	rs = append(rs,
		Record{Kind: Reply, AgentID: "bob", Channel: "wa", Answered: true, Duration: 4 * m, Day: "2026-03-02"},
		Record{Kind: Reply, AgentID: "bob", Channel: "wa", Answered: true, Duration: 2 * m, Day: "2026-03-02"},
		Record{Kind: Reply, Channel: "fb", Duration: 20 * m, Day: "2026-03-03"}, // waiting, overdue
		Record{Kind: Reply, Channel: "fb", Duration: 3 * m, Day: "2026-03-03"},  // waiting, not due yet
		Record{Kind: Resolution, AgentID: "ann", Channel: "fb", Answered: true, Duration: 3 * time.Hour, Day: "2026-03-03"},
	)
	got := Summarize(rs, ByAgent, 5*m)
	want := []Summary{
		{Kind: Reply, Key: "", Overdue: 1},
		{Kind: Reply, Key: "ann", Count: 10, Median: 5 * m, P90: 9 * m, WithinTarget: 5, Rate: 0.5},
		{Kind: Reply, Key: "bob", Count: 2, Median: 2 * m, P90: 4 * m, WithinTarget: 2, Rate: 1},
		{Kind: Resolution, Key: "ann", Count: 1, Median: 3 * time.Hour, P90: 3 * time.Hour, WithinTarget: 0, Rate: 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("by agent\n got %+v\nwant %+v", got, want)
	}
	byChannel := Summarize(rs, ByChannel, 5*m)
	if fb := byChannel[0]; fb.Key != "fb" || fb.Count != 10 || fb.Overdue != 1 || fb.WithinTarget != 5 || fb.Rate != 5.0/11 {
		t.Fatalf("fb %+v", fb)
	}
	byDay := Summarize(rs, ByDay, 0)
	if len(byDay) != 3 || byDay[0].Key != "2026-03-02" || byDay[0].Count != 7 || byDay[0].Rate != 0 || byDay[1].Count != 5 {
		t.Fatalf("by day %+v", byDay)
	}
	// Day 2026-03-02: ann's odd-indexed... durations 5,3,4,7,9 plus bob's 4,2 → sorted 2,3,4,4,5,7,9.
	if byDay[0].Median != 4*m || byDay[0].P90 != 9*m {
		t.Fatalf("day median/p90 %v %v", byDay[0].Median, byDay[0].P90)
	}
}
