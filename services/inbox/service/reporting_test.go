package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// startReporting runs the service's reporting consumer for the test and
// returns once it receives events.
func (h *harness) startReporting(ws string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.svc.Reports.Run(ctx, h.bus)
	}()
	h.t.Cleanup(func() { cancel(); <-done })
	// A memory-bus group sees only events published after it joined: probe
	// until one arrives.
	h.flushReporting(ws)
}

var sentinels int

// flushReporting publishes a sentinel message and waits until the consumer
// stored it: the group handles events in order, so everything published
// before has been handled too.
func (h *harness) flushReporting(ws string) {
	h.t.Helper()
	sentinels++
	conv := fmt.Sprintf("sentinel-%d", sentinels)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h.publishMessage(ws, agentMessage{Message: conversation.Message{ID: conv, WorkspaceID: ws, ConversationID: conv,
			Direction: conversation.DirectionIn, PlatformTime: time.Now()}})
		wait := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(wait) {
			if h.count("timeline", bson.D{{Key: "conversation_id", Value: conv}}) > 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	h.t.Fatal("the reporting consumer handled nothing within 20s")
}

// agentMessage is a message.created payload as the agents' workflow
// publishes it: the stored message plus who sent it and whether it is a note.
type agentMessage struct {
	conversation.Message
	Private   bool   `json:"private,omitempty"`
	AgentID   string `json:"agent_id,omitempty"`
	Automated bool   `json:"automated,omitempty"`
}

func (h *harness) publishMessage(ws string, m agentMessage) {
	h.t.Helper()
	e, err := event.New(ws, event.StreamInbox, event.MessageCreated, m)
	if err != nil {
		h.t.Fatal(err)
	}
	e.ConversationID = m.ConversationID
	if _, err := h.bus.Publish(context.Background(), e); err != nil {
		h.t.Fatal(err)
	}
}

// reply publishes an agent's outgoing message (a note when private).
func (h *harness) agentReply(ws string, cv conversation.Conversation, id, agent string, at time.Time, private, automated bool) {
	h.publishMessage(ws, agentMessage{Message: conversation.Message{ID: id, WorkspaceID: ws, ConversationID: cv.ID,
		ChannelID: cv.ChannelID, Platform: cv.Platform, Kind: cv.Kind, Direction: conversation.DirectionOut, Text: "hello",
		PlatformTime: at, CreatedAt: at}, Private: private, AgentID: agent, Automated: automated})
}

// setStatus publishes conversation.updated as the workflow does on a status change.
func (h *harness) publishStatus(ws string, cv conversation.Conversation, status conversation.Status, at time.Time) {
	h.t.Helper()
	cv.Status, cv.UpdatedAt = status, at
	e, err := event.New(ws, event.StreamInbox, event.ConversationUpdated, cv)
	if err != nil {
		h.t.Fatal(err)
	}
	e.ConversationID = cv.ID
	if _, err := h.bus.Publish(context.Background(), e); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) customerSays(ch channelJSON, id, customer string, at time.Time) {
	h.t.Helper()
	h.postAPI(ch, apiMessage(id, "", customer, "help", at.Format(time.RFC3339)))
	h.drain()
}

type reportRow struct {
	Group         string   `json:"group"`
	Count         int      `json:"count"`
	MedianSeconds float64  `json:"median_seconds"`
	P90Seconds    float64  `json:"p90_seconds"`
	ResponseRate  *float64 `json:"response_rate"`
}

type reportBody struct {
	GroupBy string                 `json:"group_by"`
	Kinds   map[string][]reportRow `json:"kinds"`
}

func (h *harness) report(ws, query string) reportBody {
	h.t.Helper()
	rec := h.do(http.MethodGet, "/api/v1/reports/responses?"+query, nil,
		map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleManager)})
	if rec.Code != http.StatusOK {
		h.t.Fatalf("report: %d %s", rec.Code, rec.Body)
	}
	var r reportBody
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) putAs(ws string, role auth.Role, path, body string) int {
	h.t.Helper()
	rec := h.do(http.MethodPut, path, []byte(body), map[string]string{"Authorization": "Bearer " + h.token(ws, role)})
	return rec.Code
}

func ratio(f float64) *float64 { return &f }

func checkRows(t *testing.T, kind string, got []reportRow, want []reportRow) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s rows:\n got %s\nwant %s", kind, g, w)
	}
}

// TestResponseReportReopenNotesEchoes follows one DM through two
// open→resolved segments. Notes, an echo and an automated message never
// answer the customer; the reopen starts a new first response.
func TestResponseReportReopenNotesEchoes(t *testing.T) {
	t.Run("memory bus", func(t *testing.T) { testResponseReportReopen(t, false) })
	t.Run("redis bus", func(t *testing.T) { testResponseReportReopen(t, true) })
}

func testResponseReportReopen(t *testing.T, withRedis bool) {
	h := newHarness(t, withRedis, nil)
	const ws = "ws-report"
	h.startReporting(ws)
	ch := h.createChannel(ws, "api", nil)
	if code := h.putAs(ws, auth.RoleManager, "/api/v1/reports/settings", `{"first_response_target":"1h","reply_target":"1h"}`); code != http.StatusOK {
		t.Fatalf("put settings: %d", code)
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	at := func(hh, mm int) time.Time {
		return day.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	}

	h.customerSays(ch, "m1", "cust1", at(9, 0))
	cv := h.conversation(ws, ch.ID, conversation.KindDM, "cust1")
	h.agentReply(ws, cv, "note1", "a1", at(9, 10), true, false)
	// An echo: the business answered from the platform's own app.
	h.postAPI(ch, []byte(fmt.Sprintf(`{"id":"e1","echo":true,"author":{"id":"page"},"customer":{"id":"cust1"},"text":"on it","timestamp":%q}`,
		at(9, 20).Format(time.RFC3339))))
	h.drain()
	h.agentReply(ws, cv, "r1", "a1", at(9, 30), false, false)
	h.customerSays(ch, "m2", "cust1", at(9, 40))
	h.agentReply(ws, cv, "r2", "a2", at(10, 40), false, false)
	h.publishStatus(ws, cv, conversation.StatusResolved, at(11, 0))
	h.customerSays(ch, "m3", "cust1", at(12, 0)) // reopens
	h.agentReply(ws, cv, "auto1", "", at(14, 0), false, true)
	h.agentReply(ws, cv, "r3", "a1", at(14, 30), false, false)
	h.publishStatus(ws, cv, conversation.StatusResolved, at(15, 0))
	h.flushReporting(ws)

	if n := h.count("timeline", bson.D{{Key: "conversation_id", Value: cv.ID}, {Key: "kind", Value: "echo"}}); n != 1 {
		t.Fatalf("echo entries: %d", n)
	}
	check := func() {
		t.Helper()
		r := h.report(ws, "from=2026-03-01&to=2026-03-03&group_by=agent")
		// First responses: a1 after 30 m, then a1 2 h 30 m after the reopen.
		checkRows(t, "first_response", r.Kinds["first_response"], []reportRow{
			{Group: "a1", Count: 2, MedianSeconds: 1800, P90Seconds: 9000, ResponseRate: ratio(0.5)}})
		checkRows(t, "reply", r.Kinds["reply"], []reportRow{
			{Group: "a1", Count: 2, MedianSeconds: 1800, P90Seconds: 9000, ResponseRate: ratio(0.5)},
			{Group: "a2", Count: 1, MedianSeconds: 3600, P90Seconds: 3600, ResponseRate: ratio(1)}})
		// Resolutions: 09:00→11:00 credited to the last replier a2, 12:00→15:00 to a1; no target, no rate.
		checkRows(t, "resolution", r.Kinds["resolution"], []reportRow{
			{Group: "a1", Count: 1, MedianSeconds: 10800, P90Seconds: 10800},
			{Group: "a2", Count: 1, MedianSeconds: 7200, P90Seconds: 7200}})
	}
	check()
	if n := h.count("report_records", bson.D{{Key: "conversation_id", Value: cv.ID}}); n != 7 {
		t.Fatalf("records: %d, want 2 first responses + 3 replies + 2 resolutions", n)
	}

	// At-least-once: every event delivered again changes nothing.
	for _, e := range h.events(ws, event.StreamInbox) {
		e.ID, e.Seq = "", 0
		if _, err := h.bus.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	h.flushReporting(ws)
	check()
	if n := h.count("report_records", bson.D{{Key: "conversation_id", Value: cv.ID}}); n != 7 {
		t.Fatalf("records after redelivery: %d", n)
	}

	// The period is [from, to): records ending on 2 March are outside [3 March, 4 March).
	if r := h.report(ws, "from=2026-03-03&to=2026-03-04&group_by=agent"); len(r.Kinds["reply"]) != 0 {
		t.Fatalf("report outside the period: %+v", r)
	}
	// Another workspace sees nothing.
	if r := h.report("ws-other", "from=2026-03-01&to=2026-03-03&group_by=channel"); len(r.Kinds["reply"]) != 0 {
		t.Fatalf("other workspace: %+v", r)
	}
}

// TestResponseReportBusinessHoursAndSnooze counts business time in the
// channel's zone only, and leaves snoozed time out of the resolution.
func TestResponseReportBusinessHoursAndSnooze(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-hours"
	h.startReporting(ws)
	ch := h.createChannel(ws, "api", nil)
	hours := `{"timezone":"Europe/Berlin","hours":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],` +
		`"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}}`
	if code := h.putAs(ws, auth.RoleManager, "/api/v1/channels/"+ch.ID+"/business-hours", hours); code != http.StatusOK {
		t.Fatalf("put hours: %d", code)
	}
	if code := h.putAs(ws, auth.RoleManager, "/api/v1/reports/settings", `{"resolution_target":"3h"}`); code != http.StatusOK {
		t.Fatalf("put settings: %d", code)
	}
	// Berlin is UTC+1 in early March.
	fri := time.Date(2026, 3, 6, 16, 0, 0, 0, time.UTC) // 17:00 Berlin: just closed
	mon := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	monAt := func(hh, mm int) time.Time {
		return mon.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	}

	h.customerSays(ch, "m1", "cust", fri)
	cv := h.conversation(ws, ch.ID, conversation.KindDM, "cust")
	h.agentReply(ws, cv, "r1", "a1", monAt(8, 30), false, false) // 09:30 Berlin: 30 business minutes
	h.publishStatus(ws, cv, conversation.StatusSnoozed, monAt(9, 0))
	h.customerSays(ch, "m2", "cust", monAt(11, 0)) // ends the snooze after 2 h
	h.agentReply(ws, cv, "r2", "a1", monAt(11, 15), false, false)
	h.publishStatus(ws, cv, conversation.StatusResolved, monAt(12, 0)) // 13:00 Berlin
	h.flushReporting(ws)

	r := h.report(ws, "from=2026-03-01T00:00:00Z&to=2026-03-10T00:00:00Z&group_by=day")
	checkRows(t, "first_response", r.Kinds["first_response"], []reportRow{{Group: "2026-03-09", Count: 1, MedianSeconds: 1800, P90Seconds: 1800}})
	checkRows(t, "reply", r.Kinds["reply"], []reportRow{{Group: "2026-03-09", Count: 2, MedianSeconds: 900, P90Seconds: 1800}})
	// 09:00–13:00 Berlin on Monday is 4 business hours, minus 2 snoozed: 2 h, within the 3 h target.
	checkRows(t, "resolution", r.Kinds["resolution"], []reportRow{{Group: "2026-03-09", Count: 1, MedianSeconds: 7200, P90Seconds: 7200, ResponseRate: ratio(1)}})

	byChannel := h.report(ws, "from=2026-03-01T00:00:00Z&to=2026-03-10T00:00:00Z&group_by=channel")
	checkRows(t, "reply", byChannel.Kinds["reply"], []reportRow{{Group: ch.ID, Count: 2, MedianSeconds: 900, P90Seconds: 1800}})
}

func TestReportSettingsAndHoursValidation(t *testing.T) {
	h := newHarness(t, false, nil)
	ch := h.createChannel("ws-a", "api", nil)
	path := "/api/v1/channels/" + ch.ID + "/business-hours"
	good := `{"timezone":"Europe/Berlin","hours":{"mon":[["09:00","17:00"]]}}`
	for _, c := range []struct {
		name, ws, path, body string
		role                 auth.Role
		want                 int
	}{
		{"another workspace's channel", "ws-b", path, good, auth.RoleManager, http.StatusNotFound},
		{"agent may not set hours", "ws-a", path, good, auth.RoleAgent, http.StatusForbidden},
		{"unknown zone", "ws-a", path, `{"timezone":"Mars/Olympus","hours":{}}`, auth.RoleManager, http.StatusBadRequest},
		{"bad day", "ws-a", path, `{"timezone":"UTC","hours":{"xyz":[["09:00","17:00"]]}}`, auth.RoleManager, http.StatusBadRequest},
		{"bad clock", "ws-a", path, `{"timezone":"UTC","hours":{"mon":[["9","17:00"]]}}`, auth.RoleManager, http.StatusBadRequest},
		{"overlap", "ws-a", path, `{"timezone":"UTC","hours":{"mon":[["09:00","17:00"],["16:00","18:00"]]}}`, auth.RoleManager, http.StatusBadRequest},
		{"bad target", "ws-a", "/api/v1/reports/settings", `{"reply_target":"soon"}`, auth.RoleManager, http.StatusBadRequest},
		{"hours ok", "ws-a", path, good, auth.RoleManager, http.StatusOK},
	} {
		if got := h.putAs(c.ws, c.role, c.path, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	rec := h.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer " + h.token("ws-a", auth.RoleAgent)})
	var got struct {
		Timezone string                 `json:"timezone"`
		Hours    map[string][][2]string `json:"hours"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK ||
		got.Timezone != "Europe/Berlin" || got.Hours["mon"][0] != [2]string{"09:00", "17:00"} {
		t.Fatalf("get hours: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(http.MethodGet, "/api/v1/reports/responses?group_by=week", nil, map[string]string{"Authorization": "Bearer " + h.token("ws-a", auth.RoleManager)})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("group_by=week: %d", rec.Code)
	}
	rec = h.do(http.MethodGet, "/api/v1/reports/responses", nil, map[string]string{"Authorization": "Bearer " + h.token("ws-a", auth.RoleAgent)})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("agent report: %d", rec.Code)
	}
}
