// Package metrics turns conversation timelines into response-time records
// (first response, reply, resolution) and aggregates them into reports.
//
// Rules, in the order a timeline is read:
//   - A segment runs from the conversation being opened to being resolved.
//     It opens on a status change to open, pending or snoozed, or implicitly
//     on a customer message while the conversation is resolved or new. A
//     reopen therefore starts a new segment with its own first response.
//   - A burst is the customer's consecutive messages before an agent reply;
//     its reply time runs from its first message to the next agent reply.
//     The first burst answered in a segment also yields the segment's first
//     response record.
//   - Only agent replies answer. Notes, echoes (messages the business sent
//     from the platform's own app, which we cannot attribute to an agent)
//     and automated messages never do, and do not end a burst.
//   - Resolving ends the segment and its waiting burst: a customer's "thanks"
//     closed without a reply is no breach.
//   - Snoozed time does not count toward resolution time: the team parked the
//     conversation on purpose (waiting for the customer or a date), and
//     counting it would punish using snooze instead of leaving it open. It
//     does count toward reply time, so snoozing cannot hide an unanswered
//     customer. A customer message ends a snooze.
//   - With a Schedule, durations count business time only.
package metrics

import (
	"slices"
	"time"
)

// EventKind says what happened in a conversation.
type EventKind string

// Event kinds.
const (
	Incoming     EventKind = "incoming"      // a customer message
	AgentReply   EventKind = "agent_reply"   // a public or private reply by an agent
	Note         EventKind = "note"          // an internal note
	Echo         EventKind = "echo"          // sent by the business outside the inbox
	Automated    EventKind = "automated"     // bot, auto-reply, canned auto-response
	StatusChange EventKind = "status_change" // the conversation's status became Event.Status
)

// Status is a conversation status.
type Status string

// Conversation statuses.
const (
	StatusOpen     Status = "open"
	StatusPending  Status = "pending"
	StatusSnoozed  Status = "snoozed"
	StatusResolved Status = "resolved"
)

// Event is one entry of a timeline.
type Event struct {
	Kind    EventKind
	At      time.Time
	AgentID string // agent_reply: the author; status_change: who changed it
	Status  Status // status_change only
}

// Timeline is a conversation's history.
type Timeline struct {
	ConversationID string
	Channel        string
	Events         []Event // in time order; Compute sorts stably by At
}

// RecordKind names a measured interval.
type RecordKind string

// Record kinds.
const (
	FirstResponse RecordKind = "first_response"
	Reply         RecordKind = "reply"
	Resolution    RecordKind = "resolution"
)

// Record is one measured interval of a conversation.
type Record struct {
	Kind           RecordKind
	ConversationID string
	Channel        string
	AgentID        string // who replied, or who resolved (the last replying agent when the status change names none)
	Segment        int    // 1-based open→resolved segment
	Start, End     time.Time
	// Duration is what reports use: business time when a Schedule is set,
	// minus snoozed time for resolutions.
	Duration time.Duration
	Elapsed  time.Duration // wall clock, End − Start
	// Answered is false for a burst still waiting at Options.Now; End is then
	// Now and AgentID empty.
	Answered bool
	Day      string        // End's date in the schedule's zone (UTC without one), YYYY-MM-DD
	Target   time.Duration // from Options.Targets; zero when none
	Met      bool          // answered with Duration ≤ Target; false when unanswered or without a target
}

// Options shape Compute.
type Options struct {
	Schedule *Schedule                    // nil: every hour counts
	Targets  map[RecordKind]time.Duration // response targets per kind
	// Now, when set, turns a burst still waiting at the end of the timeline
	// into an unanswered record running until Now.
	Now time.Time
}

func (o Options) duration(a, b time.Time) time.Duration {
	if o.Schedule == nil {
		return max(b.Sub(a), 0)
	}
	return o.Schedule.Duration(a, b)
}

func (o Options) day(t time.Time) string {
	loc := time.UTC
	if o.Schedule != nil {
		loc = o.Schedule.loc
	}
	return t.In(loc).Format(time.DateOnly)
}

// interval is a span of wall time.
type interval struct{ from, to time.Time }

// Compute measures a timeline. Records come out in the order their intervals
// end.
func Compute(tl Timeline, opt Options) []Record {
	evs := slices.Clone(tl.Events)
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })

	c := computer{tl: tl, opt: opt}
	for _, e := range evs {
		switch e.Kind {
		case Incoming:
			if !c.open {
				c.startSegment(e.At)
			}
			c.unsnooze(e.At)
			if c.burst.IsZero() {
				c.burst = e.At
			}
		case AgentReply:
			if !c.open {
				continue // outreach in a closed conversation answers nobody
			}
			c.lastAgent = e.AgentID
			if c.burst.IsZero() {
				continue
			}
			if !c.answeredFirst {
				c.emit(FirstResponse, e.AgentID, c.burst, e.At, true)
				c.answeredFirst = true
			}
			c.emit(Reply, e.AgentID, c.burst, e.At, true)
			c.burst = time.Time{}
		case StatusChange:
			c.status(e)
		}
	}
	if c.open && !c.burst.IsZero() && opt.Now.After(c.burst) {
		if !c.answeredFirst {
			c.emit(FirstResponse, "", c.burst, opt.Now, false)
		}
		c.emit(Reply, "", c.burst, opt.Now, false)
	}
	return c.out
}

type computer struct {
	tl  Timeline
	opt Options
	out []Record

	open          bool // inside a segment
	segment       int
	segStart      time.Time
	answeredFirst bool
	burst         time.Time // first unanswered customer message; zero when none waits
	snoozedAt     time.Time // zero when not snoozed
	snoozes       []interval
	lastAgent     string
}

func (c *computer) startSegment(at time.Time) {
	c.open, c.segment, c.segStart = true, c.segment+1, at
	c.answeredFirst, c.burst, c.snoozedAt, c.snoozes, c.lastAgent = false, time.Time{}, time.Time{}, nil, ""
}

func (c *computer) unsnooze(at time.Time) {
	if !c.snoozedAt.IsZero() {
		c.snoozes = append(c.snoozes, interval{c.snoozedAt, at})
		c.snoozedAt = time.Time{}
	}
}

func (c *computer) status(e Event) {
	switch e.Status {
	case StatusOpen, StatusPending:
		if !c.open {
			c.startSegment(e.At)
		}
		c.unsnooze(e.At)
	case StatusSnoozed:
		if !c.open {
			c.startSegment(e.At)
		}
		if c.snoozedAt.IsZero() {
			c.snoozedAt = e.At
		}
	case StatusResolved:
		if !c.open {
			return // resolving twice measures nothing new
		}
		c.unsnooze(e.At)
		agent := e.AgentID
		if agent == "" {
			agent = c.lastAgent
		}
		c.emit(Resolution, agent, c.segStart, e.At, true)
		c.open, c.burst = false, time.Time{}
	}
}

func (c *computer) emit(kind RecordKind, agent string, start, end time.Time, answered bool) {
	d := c.opt.duration(start, end)
	if kind == Resolution {
		for _, s := range c.snoozes {
			d -= c.opt.duration(s.from, s.to)
		}
		d = max(d, 0)
	}
	r := Record{
		Kind: kind, ConversationID: c.tl.ConversationID, Channel: c.tl.Channel, AgentID: agent,
		Segment: c.segment, Start: start, End: end, Duration: d, Elapsed: end.Sub(start),
		Answered: answered, Day: c.opt.day(end), Target: c.opt.Targets[kind],
	}
	r.Met = answered && r.Target > 0 && r.Duration <= r.Target
	c.out = append(c.out, r)
}
