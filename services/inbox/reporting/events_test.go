package reporting

import (
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/shared/event"
)

func TestEntryOfMessageClassifies(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	base := conversation.Message{ID: "m1", ConversationID: "c1", ChannelID: "ch", PlatformTime: at}
	with := func(f func(*messageData)) messageData {
		m := messageData{Message: base}
		f(&m)
		return m
	}
	e := event.Event{WorkspaceID: "ws", UserID: "from-event", Time: at.Add(time.Hour)}
	for _, c := range []struct {
		name  string
		m     messageData
		kind  metrics.EventKind
		agent string
		ok    bool
	}{
		{"customer", with(func(m *messageData) { m.Direction = conversation.DirectionIn }), metrics.Incoming, "", true},
		{"agent reply", with(func(m *messageData) { m.Direction, m.AgentID = conversation.DirectionOut, "a1" }), metrics.AgentReply, "a1", true},
		{"agent from sender_id", with(func(m *messageData) { m.Direction, m.SenderID = conversation.DirectionOut, "a2" }), metrics.AgentReply, "a2", true},
		{"agent from event", with(func(m *messageData) { m.Direction = conversation.DirectionOut }), metrics.AgentReply, "from-event", true},
		{"note", with(func(m *messageData) { m.Direction, m.Private, m.AgentID = conversation.DirectionOut, true, "a1" }), metrics.Note, "", true},
		{"echo", with(func(m *messageData) { m.Direction, m.Echo = conversation.DirectionOut, true }), metrics.Echo, "", true},
		{"automated", with(func(m *messageData) { m.Direction, m.Automated = conversation.DirectionOut, true }), metrics.Automated, "", true},
		{"placeholder", with(func(m *messageData) { m.Direction, m.Placeholder = conversation.DirectionIn, true }), "", "", false},
		{"no conversation", with(func(m *messageData) { m.Direction, m.ConversationID = conversation.DirectionIn, "" }), "", "", false},
		{"no direction", with(func(*messageData) {}), "", "", false},
	} {
		got, ok := entryOfMessage(e, c.m)
		if ok != c.ok || got.Kind != c.kind || got.AgentID != c.agent {
			t.Errorf("%s: %+v %v", c.name, got, ok)
			continue
		}
		if ok && (got.ID != "m1:message" || !got.At.Equal(at) || got.WorkspaceID != "ws" || got.ConversationID != "c1") {
			t.Errorf("%s: entry %+v", c.name, got)
		}
	}
	// Without a platform time the entry falls back to the creation, then the event time.
	m := with(func(m *messageData) { m.Direction, m.PlatformTime = conversation.DirectionIn, time.Time{} })
	if got, _ := entryOfMessage(e, m); !got.At.Equal(e.Time) {
		t.Errorf("fallback time %v", got.At)
	}
}

func TestHoursSchedule(t *testing.T) {
	h := Hours{Timezone: "Europe/Berlin", Week: map[string][][2]string{"Mon": {{"09:00", "17:00"}}, "sat": {{"22:00", "02:00"}}}}
	s, err := h.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	// Monday 2 March 2026, 08:00–10:00 UTC is 09:00–11:00 Berlin: two business hours.
	from := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	if got := s.Duration(from, from.Add(2*time.Hour)); got != 2*time.Hour {
		t.Fatalf("business time %v", got)
	}
	for _, bad := range []Hours{
		{Timezone: "Nowhere/Else"},
		{Timezone: "UTC", Week: map[string][][2]string{"funday": {{"09:00", "10:00"}}}},
		{Timezone: "UTC", Week: map[string][][2]string{"mon": {{"25:00", "26:00"}}}},
	} {
		if _, err := bad.Schedule(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
