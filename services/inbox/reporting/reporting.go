// Package reporting measures how fast the team answers: it keeps each
// conversation's timeline from bus events, recomputes the conversation's
// response records (metrics.Compute) on every change, and summarises the
// records of a period per agent, channel or day (metrics.Summarize).
//
// Statistics are computed in Go, never in the database: median and p90 use
// metrics.Percentile (exact nearest rank), and the rate is the share of
// answered records within the workspace's target for their kind. Records are
// stored answered only (no "now" is fixed at compute time), so a customer
// still waiting is not a miss in the rate until someone answers.
package reporting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/shared/apperr"
)

// Entry is one event of a conversation's timeline. ID is natural (the message
// id or the status change's conversation, status and time), so a redelivered
// event rewrites the same entry.
type Entry struct {
	ID             string
	WorkspaceID    string
	ConversationID string
	ChannelID      string
	Kind           metrics.EventKind
	At             time.Time
	AgentID        string
	Status         metrics.Status
}

// Settings are a workspace's response targets; zero means no target.
type Settings struct {
	FirstResponseTarget time.Duration
	ReplyTarget         time.Duration
	ResolutionTarget    time.Duration
}

// Target returns the target for records of kind.
func (s Settings) Target(kind metrics.RecordKind) time.Duration {
	switch kind {
	case metrics.FirstResponse:
		return s.FirstResponseTarget
	case metrics.Reply:
		return s.ReplyTarget
	case metrics.Resolution:
		return s.ResolutionTarget
	}
	return 0
}

// Hours are a channel's business hours: an IANA timezone and, per weekday
// ("mon".."sun"), opening spans as ["HH:MM","HH:MM"] pairs.
type Hours struct {
	ChannelID string
	Timezone  string
	Week      map[string][][2]string
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Schedule validates h and turns it into a metrics.Schedule.
func (h Hours) Schedule() (*metrics.Schedule, error) {
	week := map[time.Weekday][]metrics.Span{}
	for day, spans := range h.Week {
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			return nil, apperr.Invalid("unknown weekday %q (use mon..sun)", day)
		}
		for _, sp := range spans {
			from, err := metrics.ParseClock(sp[0])
			if err != nil {
				return nil, apperr.Invalid("%s: %v", day, err)
			}
			to, err := metrics.ParseClock(sp[1])
			if err != nil {
				return nil, apperr.Invalid("%s: %v", day, err)
			}
			week[wd] = append(week[wd], metrics.Span{From: from, To: to})
		}
	}
	s, err := metrics.NewSchedule(h.Timezone, week)
	if err != nil {
		return nil, apperr.Invalid("%v", err)
	}
	return s, nil
}

// Storer keeps timelines, records, settings and business hours.
type Storer interface {
	// PutEntry stores e under its ID; storing it again changes nothing.
	PutEntry(ctx context.Context, e Entry) error
	// Timeline returns a conversation's entries in time order.
	Timeline(ctx context.Context, ws, conversationID string) ([]Entry, error)
	// ReplaceRecords makes records the conversation's whole set of records.
	ReplaceRecords(ctx context.Context, ws, conversationID string, records []metrics.Record) error
	// Records returns the records of ws whose interval ends in [from, to).
	Records(ctx context.Context, ws string, from, to time.Time) ([]metrics.Record, error)
	Settings(ctx context.Context, ws string) (Settings, error) // zero Settings when none are stored
	PutSettings(ctx context.Context, ws string, s Settings) error
	Hours(ctx context.Context, ws, channelID string) (Hours, error) // apperr not found when none are stored
	PutHours(ctx context.Context, ws string, h Hours) error
}

// ChannelGetter finds a workspace's channel (not found for another workspace's).
type ChannelGetter interface {
	Get(ctx context.Context, ws, id string) (channel.Channel, error)
}

// Service is the reporting domain.
type Service struct {
	store    Storer
	channels ChannelGetter
}

// NewService returns the reporting service on store.
func NewService(store Storer, channels ChannelGetter) *Service {
	return &Service{store: store, channels: channels}
}

// Record stores e in its conversation's timeline and recomputes the
// conversation's records. Recording the same entry twice gives the same
// records, which makes at-least-once delivery harmless.
func (s *Service) Record(ctx context.Context, e Entry) error {
	if err := s.store.PutEntry(ctx, e); err != nil {
		return err
	}
	return s.Recompute(ctx, e.WorkspaceID, e.ConversationID)
}

// Recompute rebuilds a conversation's records from its timeline with its
// channel's business hours and the workspace's targets.
func (s *Service) Recompute(ctx context.Context, ws, conversationID string) error {
	entries, err := s.store.Timeline(ctx, ws, conversationID)
	if err != nil || len(entries) == 0 {
		return err
	}
	tl := metrics.Timeline{ConversationID: conversationID}
	for _, e := range entries {
		if e.ChannelID != "" {
			tl.Channel = e.ChannelID
		}
		tl.Events = append(tl.Events, metrics.Event{Kind: e.Kind, At: e.At, AgentID: e.AgentID, Status: e.Status})
	}
	opt, err := s.options(ctx, ws, tl.Channel)
	if err != nil {
		return err
	}
	return s.store.ReplaceRecords(ctx, ws, conversationID, metrics.Compute(tl, opt))
}

func (s *Service) options(ctx context.Context, ws, channelID string) (metrics.Options, error) {
	set, err := s.store.Settings(ctx, ws)
	if err != nil {
		return metrics.Options{}, err
	}
	opt := metrics.Options{Targets: map[metrics.RecordKind]time.Duration{
		metrics.FirstResponse: set.FirstResponseTarget, metrics.Reply: set.ReplyTarget, metrics.Resolution: set.ResolutionTarget}}
	if channelID == "" {
		return opt, nil
	}
	h, err := s.store.Hours(ctx, ws, channelID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return opt, nil
	case err != nil:
		return opt, err
	}
	if opt.Schedule, err = h.Schedule(); err != nil {
		return opt, fmt.Errorf("stored business hours of %s: %w", channelID, err)
	}
	return opt, nil
}

// Settings returns the workspace's response targets.
func (s *Service) Settings(ctx context.Context, ws string) (Settings, error) {
	return s.store.Settings(ctx, ws)
}

// PutSettings replaces the workspace's response targets. Records keep the
// durations they were computed with; reports judge them against the targets
// in force when the report is asked for.
func (s *Service) PutSettings(ctx context.Context, ws string, set Settings) error {
	if set.FirstResponseTarget < 0 || set.ReplyTarget < 0 || set.ResolutionTarget < 0 {
		return apperr.Invalid("targets must not be negative")
	}
	return s.store.PutSettings(ctx, ws, set)
}

// Hours returns a channel's business hours.
func (s *Service) Hours(ctx context.Context, ws, channelID string) (Hours, error) {
	if _, err := s.channels.Get(ctx, ws, channelID); err != nil {
		return Hours{}, err
	}
	return s.store.Hours(ctx, ws, channelID)
}

// PutHours validates and stores a channel's business hours. They apply to
// records computed from then on (each conversation's next change).
func (s *Service) PutHours(ctx context.Context, ws string, h Hours) error {
	if _, err := s.channels.Get(ctx, ws, h.ChannelID); err != nil {
		return err
	}
	if _, err := h.Schedule(); err != nil {
		return err
	}
	return s.store.PutHours(ctx, ws, h)
}

// Row is one group of a report.
type Row struct {
	Key    string
	Count  int
	Median time.Duration
	P90    time.Duration
	// Rate is the share of answered records within the target; nil without a target.
	Rate *float64
}

// Report holds, per record kind, the rows of a period.
type Report struct {
	From, To time.Time
	GroupBy  metrics.GroupBy
	Kinds    map[metrics.RecordKind][]Row
}

// Kinds are the record kinds every report has, even when empty.
var Kinds = []metrics.RecordKind{metrics.FirstResponse, metrics.Reply, metrics.Resolution}

// Responses summarises the records whose interval ends in [from, to).
func (s *Service) Responses(ctx context.Context, ws string, from, to time.Time, by metrics.GroupBy) (Report, error) {
	switch by {
	case metrics.ByAgent, metrics.ByChannel, metrics.ByDay:
	default:
		return Report{}, apperr.Invalid("group_by must be agent, channel or day")
	}
	if !to.After(from) {
		return Report{}, apperr.Invalid("to must be after from")
	}
	records, err := s.store.Records(ctx, ws, from, to)
	if err != nil {
		return Report{}, err
	}
	set, err := s.store.Settings(ctx, ws)
	if err != nil {
		return Report{}, err
	}
	rep := Report{From: from, To: to, GroupBy: by, Kinds: map[metrics.RecordKind][]Row{}}
	for _, kind := range Kinds {
		of := slices.DeleteFunc(slices.Clone(records), func(r metrics.Record) bool { return r.Kind != kind })
		target := set.Target(kind)
		rows := []Row{}
		for _, sum := range metrics.Summarize(of, by, target) {
			row := Row{Key: sum.Key, Count: sum.Count, Median: sum.Median, P90: sum.P90}
			if target > 0 {
				rate := sum.Rate
				row.Rate = &rate
			}
			rows = append(rows, row)
		}
		rep.Kinds[kind] = rows
	}
	return rep, nil
}
