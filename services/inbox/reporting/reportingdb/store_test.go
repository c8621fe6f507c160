package reportingdb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/inbox/reporting"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(context.Background(), mongotest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHoursAndSettingsPerWorkspace(t *testing.T) {
	s, ctx := newStore(t), context.Background()
	if _, err := s.Hours(ctx, "ws1", "ch1"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("missing hours: %v", err)
	}
	h := reporting.Hours{ChannelID: "ch1", Timezone: "Europe/Berlin", Week: map[string][][2]string{"mon": {{"09:00", "17:00"}}}}
	if err := s.PutHours(ctx, "ws1", h); err != nil {
		t.Fatal(err)
	}
	got, err := s.Hours(ctx, "ws1", "ch1")
	if err != nil || got.Timezone != "Europe/Berlin" || got.Week["mon"][0] != [2]string{"09:00", "17:00"} {
		t.Fatalf("hours %+v %v", got, err)
	}
	if _, err := s.Hours(ctx, "ws2", "ch1"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another workspace's hours: %v", err)
	}
	if set, err := s.Settings(ctx, "ws1"); err != nil || set != (reporting.Settings{}) {
		t.Fatalf("default settings %+v %v", set, err)
	}
	want := reporting.Settings{FirstResponseTarget: time.Hour, ResolutionTarget: 90 * time.Minute}
	if err := s.PutSettings(ctx, "ws1", want); err != nil {
		t.Fatal(err)
	}
	if set, err := s.Settings(ctx, "ws1"); err != nil || set != want {
		t.Fatalf("settings %+v %v", set, err)
	}
}

func TestRecordsReplacedByNaturalKey(t *testing.T) {
	s, ctx := newStore(t), context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rec := func(kind metrics.RecordKind, start, end time.Time) metrics.Record {
		return metrics.Record{Kind: kind, ConversationID: "c1", Channel: "ch", AgentID: "a", Segment: 1, Start: start, End: end,
			Duration: end.Sub(start), Elapsed: end.Sub(start), Answered: true, Day: "2026-03-02"}
	}
	first := []metrics.Record{rec(metrics.Reply, t0, t0.Add(time.Hour)), rec(metrics.FirstResponse, t0, t0.Add(time.Hour))}
	if err := s.ReplaceRecords(ctx, "ws", "c1", first); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecords(ctx, "ws", "c1", first); err != nil { // a redelivery
		t.Fatal(err)
	}
	// A late reply moves the burst's answer earlier: the old record goes.
	second := []metrics.Record{rec(metrics.Reply, t0, t0.Add(time.Minute))}
	if err := s.ReplaceRecords(ctx, "ws", "c1", second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Records(ctx, "ws", t0, t0.Add(2*time.Hour))
	if err != nil || len(got) != 1 || got[0].Duration != time.Minute || got[0].Kind != metrics.Reply || !got[0].End.Equal(t0.Add(time.Minute)) {
		t.Fatalf("records %+v %v", got, err)
	}
	// [from, to): a record ending exactly at to is out.
	if got, _ := s.Records(ctx, "ws", t0, t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("record at to: %+v", got)
	}
	if got, _ := s.Records(ctx, "other", t0, t0.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("other workspace: %+v", got)
	}
}

func TestTimelineEntriesAreIdempotent(t *testing.T) {
	s, ctx := newStore(t), context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := reporting.Entry{ID: "m1:message", WorkspaceID: "ws", ConversationID: "c1", ChannelID: "ch", Kind: metrics.Incoming, At: t0}
	for range 2 {
		if err := s.PutEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	later := reporting.Entry{ID: "r1:message", WorkspaceID: "ws", ConversationID: "c1", Kind: metrics.AgentReply, AgentID: "a", At: t0.Add(time.Minute)}
	if err := s.PutEntry(ctx, later); err != nil {
		t.Fatal(err)
	}
	got, err := s.Timeline(ctx, "ws", "c1")
	if err != nil || len(got) != 2 || got[0].Kind != metrics.Incoming || got[1].AgentID != "a" || !got[1].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("timeline %+v %v", got, err)
	}
	if got, _ := s.Timeline(ctx, "other", "c1"); len(got) != 0 {
		t.Fatalf("other workspace: %+v", got)
	}
}
