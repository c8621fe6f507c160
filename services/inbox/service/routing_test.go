package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/routing"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// startRouting runs the service's routing consumer and returns once it
// handles events (a memory-bus group only sees events published after it joined).
func (h *harness) startRouting(ws string) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.svc.Routing.Run(ctx, h.bus)
	}()
	stop = func() { cancel(); <-done }
	h.t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for h.svc.Routing.Handled() == 0 {
		if time.Now().After(deadline) {
			h.t.Fatal("routing consumer handled nothing")
		}
		h.publishStatus(ws, conversation.Conversation{ID: "probe", WorkspaceID: ws}, conversation.StatusOpen, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
	return stop
}

// settleRouting waits until the routing consumer has handled every event
// published so far: it handles one event per published event it is given.
func (h *harness) settleRouting(ws string) {
	h.t.Helper()
	before := h.svc.Routing.Handled()
	h.publishStatus(ws, conversation.Conversation{ID: "probe", WorkspaceID: ws}, conversation.StatusOpen, time.Now())
	// The group handles events in order: once the count has passed the
	// probe and stops moving, everything published before was handled.
	deadline := time.Now().Add(20 * time.Second)
	last := int64(-1)
	for time.Now().Before(deadline) {
		n := h.svc.Routing.Handled()
		if n > before && n == last {
			return
		}
		last = n
		time.Sleep(150 * time.Millisecond)
	}
	h.t.Fatal("routing did not settle")
}

func (h *harness) tokenFor(ws, user string, role auth.Role) string {
	tok, _, err := h.tokens.Issue(auth.Principal{UserID: user, WorkspaceID: ws, Role: role, Name: user})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) availability(ws, user, status string) {
	h.t.Helper()
	rec := h.do(http.MethodPut, "/api/v1/agents/me/availability", []byte(fmt.Sprintf(`{"status":%q}`, status)),
		map[string]string{"Authorization": "Bearer " + h.tokenFor(ws, user, auth.RoleAgent)})
	if rec.Code != http.StatusOK {
		h.t.Fatalf("availability: %d %s", rec.Code, rec.Body)
	}
}

func (h *harness) autoAssign(ws, channelID string, capacity int) {
	h.t.Helper()
	if code := h.putAs(ws, auth.RoleManager, "/api/v1/channels/"+channelID+"/assignment",
		fmt.Sprintf(`{"auto":true,"capacity":%d}`, capacity)); code != http.StatusOK {
		h.t.Fatalf("put assignment: %d", code)
	}
}

// newThread has customer write on ch and returns the conversation.
func (h *harness) newThread(ws string, ch channelJSON, customer string, at time.Time) conversation.Conversation {
	h.t.Helper()
	h.customerSays(ch, "m-"+customer, customer, at)
	return h.conversation(ws, ch.ID, conversation.KindDM, customer)
}

func (h *harness) assignee(ws, convID string) string {
	h.t.Helper()
	cv, err := h.svc.Store.Conversation(context.Background(), ws, convID)
	if err != nil {
		h.t.Fatal(err)
	}
	return cv.AssigneeID
}

// setConversation changes stored workflow fields and publishes
// conversation.updated, as the agents' workflow does.
func (h *harness) setConversation(ws, convID string, set bson.D) {
	h.t.Helper()
	if _, err := h.db.Collection("conversations").UpdateOne(context.Background(), bson.D{{Key: "_id", Value: convID}},
		bson.D{{Key: "$set", Value: set}}); err != nil {
		h.t.Fatal(err)
	}
	cv, err := h.svc.Store.Conversation(context.Background(), ws, convID)
	if err != nil {
		h.t.Fatal(err)
	}
	h.publishStatus(ws, cv, cv.Status, time.Now())
}

func (h *harness) agents(ws string) map[string]struct {
	Status string `json:"status"`
	Load   int    `json:"open_load"`
} {
	h.t.Helper()
	rec := h.do(http.MethodGet, "/api/v1/agents/availability", nil, map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleAgent)})
	var body struct {
		Agents []struct {
			UserID string `json:"user_id"`
			Status string `json:"status"`
			Load   int    `json:"open_load"`
		} `json:"agents"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
		h.t.Fatalf("agents: %d %s", rec.Code, rec.Body)
	}
	out := map[string]struct {
		Status string `json:"status"`
		Load   int    `json:"open_load"`
	}{}
	for _, a := range body.Agents {
		out[a.UserID] = struct {
			Status string `json:"status"`
			Load   int    `json:"open_load"`
		}{a.Status, a.Load}
	}
	return out
}

func assignedEvents(evs []event.Event) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		if e.Type == event.ConversationAssigned {
			var d routing.AssignedData
			_ = json.Unmarshal(e.Data, &d)
			if d.AssigneeID != e.UserID || d.ConversationID != e.ConversationID {
				panic(fmt.Sprintf("assignment event %+v addresses %s", d, e.UserID))
			}
			out[e.ConversationID] = e.UserID
		}
	}
	return out
}

func TestAutoAssignCapacityQueueAndRebuild(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-route"
	stopFirst := h.startRouting(ws)
	ch := h.createChannel(ws, "api", nil)
	h.autoAssign(ws, ch.ID, 1)
	h.availability(ws, "a1", "online")
	h.availability(ws, "a2", "online")
	h.availability(ws, "a3", "offline") // never picked

	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c1 := h.newThread(ws, ch, "cust1", t0)
	c2 := h.newThread(ws, ch, "cust2", t0.Add(time.Minute))
	c3 := h.newThread(ws, ch, "cust3", t0.Add(2*time.Minute))
	h.settleRouting(ws)
	if a, b, c := h.assignee(ws, c1.ID), h.assignee(ws, c2.ID), h.assignee(ws, c3.ID); a != "a1" || b != "a2" || c != "" {
		t.Fatalf("assignees %q %q %q: want round-robin a1, a2 and the third queued (capacity 1)", a, b, c)
	}
	if got := assignedEvents(h.events(ws, event.StreamInbox)); len(got) != 2 || got[c1.ID] != "a1" || got[c2.ID] != "a2" {
		t.Fatalf("assignment events %v", got)
	}

	// a1 resolves c1: the queued c3 goes to a1 at once.
	h.setConversation(ws, c1.ID, bson.D{{Key: "status", Value: "resolved"}})
	h.settleRouting(ws)
	if got := h.assignee(ws, c3.ID); got != "a1" {
		t.Fatalf("c3 after c1 resolved: %q", got)
	}
	ag := h.agents(ws)
	if ag["a1"].Load != 1 || ag["a2"].Load != 1 || ag["a3"].Load != 0 || ag["a3"].Status != "offline" || ag["a1"].Status != "online" {
		t.Fatalf("agents %+v", ag)
	}

	// A new instance on the same database rebuilds the loads: a fourth
	// customer waits, then an admin raising a2's capacity lets it through.
	stopFirst()
	svc, err := New(context.Background(), h.cfg, h.svc.in)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	if ag := h.agents(ws); ag["a1"].Load != 1 || ag["a2"].Load != 1 {
		t.Fatalf("rebuilt loads %+v", ag)
	}
	h.startRouting(ws)
	c4 := h.newThread(ws, ch, "cust4", t0.Add(3*time.Minute))
	h.settleRouting(ws)
	if got := h.assignee(ws, c4.ID); got != "" {
		t.Fatalf("c4 assigned past capacity to %q", got)
	}
	rec := h.do(http.MethodPut, "/api/v1/agents/a2", []byte(`{"capacity":2}`), map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleAdmin)})
	if rec.Code != http.StatusOK {
		t.Fatalf("set capacity: %d %s", rec.Code, rec.Body)
	}
	if got := h.assignee(ws, c4.ID); got != "a2" {
		t.Fatalf("c4 after a2's capacity rose: %q", got)
	}
	// Only admins set capacities.
	rec = h.do(http.MethodPut, "/api/v1/agents/a2", []byte(`{"capacity":9}`), map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleManager)})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("manager sets capacity: %d", rec.Code)
	}
}

func TestAutoAssignSkipsOfflineAndServesPriorityFirst(t *testing.T) {
	h := newHarness(t, false, nil)
	const ws = "ws-prio"
	h.startRouting(ws)
	ch := h.createChannel(ws, "api", nil)
	h.autoAssign(ws, ch.ID, 1)
	h.availability(ws, "a1", "online")
	h.availability(ws, "a2", "busy")

	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c0 := h.newThread(ws, ch, "cust0", t0)
	c1 := h.newThread(ws, ch, "cust1", t0.Add(time.Minute))
	c2 := h.newThread(ws, ch, "cust2", t0.Add(2*time.Minute))
	h.settleRouting(ws)
	if a, b, c := h.assignee(ws, c0.ID), h.assignee(ws, c1.ID), h.assignee(ws, c2.ID); a != "a1" || b != "" || c != "" {
		t.Fatalf("assignees %q %q %q: the busy agent must get nothing", a, b, c)
	}
	// c2 waited less but turns urgent: it is served first when a1 frees up.
	h.setConversation(ws, c2.ID, bson.D{{Key: "priority", Value: "urgent"}})
	h.setConversation(ws, c0.ID, bson.D{{Key: "status", Value: "resolved"}})
	h.settleRouting(ws)
	if b, c := h.assignee(ws, c1.ID), h.assignee(ws, c2.ID); b != "" || c != "a1" {
		t.Fatalf("after c0 resolved: c1 %q, c2 %q; want the urgent c2 with a1", b, c)
	}
	// a2 coming online takes the rest of the queue.
	h.availability(ws, "a2", "online")
	if got := h.assignee(ws, c1.ID); got != "a2" {
		t.Fatalf("c1 after a2 came online: %q", got)
	}
	// Unassigning by hand frees a1, and the conversation is queued again:
	// a1 (the only one with room) gets it back.
	h.setConversation(ws, c2.ID, bson.D{{Key: "assignee_id", Value: ""}})
	h.settleRouting(ws)
	if got := h.assignee(ws, c2.ID); got != "a1" {
		t.Fatalf("c2 after unassign: %q", got)
	}
	if code := h.putAs(ws, auth.RoleManager, "/api/v1/channels/"+ch.ID+"/assignment", `{"auto":true,"capacity":-1}`); code != http.StatusBadRequest {
		t.Fatalf("negative capacity: %d", code)
	}
	if code := h.putAs("ws-else", auth.RoleManager, "/api/v1/channels/"+ch.ID+"/assignment", `{"auto":true,"capacity":1}`); code != http.StatusNotFound {
		t.Fatalf("another workspace's channel: %d", code)
	}
	rec := h.do(http.MethodPut, "/api/v1/agents/me/availability", []byte(`{"status":"away"}`), map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleAgent)})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown status: %d", rec.Code)
	}
}
