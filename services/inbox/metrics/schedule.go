package metrics

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day in minutes after midnight; 24:00 is 1440.
type Clock int

// At returns the Clock of hour:minute.
func At(hour, minute int) Clock { return Clock(hour*60 + minute) }

// ParseClock reads "HH:MM" (00:00 to 24:00).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 1440 {
		return 0, fmt.Errorf("metrics: %q is not a time of day (HH:MM)", s)
	}
	return At(hh, mm), nil
}

// String renders the clock as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Span is an opening period of one weekday. A Span whose To is not after its
// From runs past midnight into the next day (22:00–06:00 is a night shift).
type Span struct {
	From, To Clock
}

// Schedule is a channel's business hours in its IANA timezone. Spans are
// wall-clock times, so 09:00–17:00 stays 09:00–17:00 across DST changes; a
// span that contains a DST change is an hour shorter or longer, as it really
// is. Holidays are not modelled.
type Schedule struct {
	loc  *time.Location
	week [7][]Span
}

// NewSchedule builds a Schedule for the IANA zone tz. Days missing from week
// are closed. Spans may not overlap, also across midnight.
func NewSchedule(tz string, week map[time.Weekday][]Span) (*Schedule, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("metrics: timezone %q: %w", tz, err)
	}
	s := &Schedule{loc: loc}
	type iv struct{ from, to int } // minutes in the week from Sunday 00:00
	var ivs []iv
	for d, spans := range week {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("metrics: weekday %d", d)
		}
		for _, sp := range spans {
			if sp.From < 0 || sp.From >= 1440 || sp.To < 0 || sp.To > 1440 {
				return nil, fmt.Errorf("metrics: span %s–%s on %s is out of range", sp.From, sp.To, d)
			}
			from := int(d)*1440 + int(sp.From)
			to := int(d)*1440 + int(sp.To)
			if sp.To <= sp.From {
				to += 1440
			}
			// A Saturday night shift wraps into Sunday at the start of the week.
			if to > 7*1440 {
				ivs = append(ivs, iv{from, 7 * 1440}, iv{0, to - 7*1440})
			} else {
				ivs = append(ivs, iv{from, to})
			}
			s.week[d] = append(s.week[d], sp)
		}
	}
	slices.SortFunc(ivs, func(a, b iv) int { return a.from - b.from })
	for i := 1; i < len(ivs); i++ {
		if ivs[i].from < ivs[i-1].to {
			return nil, errors.New("metrics: business hour spans overlap")
		}
	}
	return s, nil
}

// Weekdays returns the same spans for Monday to Friday.
func Weekdays(spans ...Span) map[time.Weekday][]Span {
	w := map[time.Weekday][]Span{}
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = spans
	}
	return w
}

// Location returns the schedule's timezone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Duration returns the business time between a and b.
func (s *Schedule) Duration(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	la, lb := a.In(s.loc), b.In(s.loc)
	// Calendar days are walked in UTC so AddDate never meets a DST gap; each
	// span is then placed on that date in the schedule's zone. The walk
	// starts a day early for night shifts spilling into a's day.
	day := time.Date(la.Year(), la.Month(), la.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	last := time.Date(lb.Year(), lb.Month(), lb.Day(), 0, 0, 0, 0, time.UTC)
	var total time.Duration
	for ; !day.After(last); day = day.AddDate(0, 0, 1) {
		for _, sp := range s.week[day.Weekday()] {
			start := time.Date(day.Year(), day.Month(), day.Day(), 0, int(sp.From), 0, 0, s.loc)
			end := time.Date(day.Year(), day.Month(), day.Day(), 0, int(sp.To), 0, 0, s.loc)
			if sp.To <= sp.From {
				next := day.AddDate(0, 0, 1)
				end = time.Date(next.Year(), next.Month(), next.Day(), 0, int(sp.To), 0, 0, s.loc)
			}
			if start.Before(a) {
				start = a
			}
			if end.After(b) {
				end = b
			}
			if end.After(start) {
				total += end.Sub(start)
			}
		}
	}
	return total
}
