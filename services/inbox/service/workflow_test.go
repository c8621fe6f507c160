package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/inbox/workflow/workflowdb"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// fakePlatform is a platform API that records every call and answers from a
// script (then with its default answer).
type fakePlatform struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []fakeCall
	script []fakeAnswer
	next   int // ids handed out
}

type fakeCall struct {
	Method, Path, Auth string
	Body               map[string]any
}

type fakeAnswer struct {
	status int
	body   string
}

func newFakePlatform(t *testing.T) *fakePlatform {
	f := &fakePlatform{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.calls = append(f.calls, fakeCall{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
		var a fakeAnswer
		if len(f.script) > 0 {
			a, f.script = f.script[0], f.script[1:]
		} else {
			f.next++
			id := fmt.Sprintf("reply_%d", f.next)
			if strings.HasSuffix(r.URL.Path, "/messages") {
				a = fakeAnswer{200, `{"recipient_id":"r","message_id":"m_` + id + `"}`}
			} else {
				a = fakeAnswer{200, `{"id":"` + id + `"}`}
			}
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePlatform) answer(as ...fakeAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, as...)
}

func (f *fakePlatform) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

const (
	wfPage   = "1691462197845448"
	wfSecret = "wf-secret"
	wfWS     = "ws-wf"
)

type wf struct {
	*harness
	fake *fakePlatform
	ch   channelJSON
}

func newWF(t *testing.T) *wf {
	fake := newFakePlatform(t)
	// The Redis queue and bus, as in production.
	h := newHarness(t, true, func(c *Config) {
		c.GraphURL = fake.srv.URL
		c.SendBackoff = time.Millisecond
		c.OutboxBackoff = time.Millisecond
		c.SendAttempts = 3
	})
	ch := h.createChannel(wfWS, "facebook", metaConfig("page_id", wfPage, wfSecret))
	return &wf{harness: h, fake: fake, ch: ch}
}

func (w *wf) tokenFor(ws, user, name, email string, role auth.Role) string {
	tok, _, err := w.tokens.Issue(auth.Principal{UserID: user, WorkspaceID: ws, Role: role, Name: name, Email: email})
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// call makes an API request as ann (an agent of wfWS) unless tok is given.
func (w *wf) call(method, path string, body any, tok string, wantStatus int, out any) {
	w.t.Helper()
	if tok == "" {
		tok = w.tokenFor(wfWS, "u-ann", "Ann Lee", "ann@example.test", auth.RoleAgent)
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	rec := w.do(method, path, raw, map[string]string{"Authorization": "Bearer " + tok})
	if rec.Code != wantStatus {
		w.t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			w.t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
}

func (w *wf) postMetaBody(body string) {
	w.t.Helper()
	if rec := w.postMeta([]byte(body), wfSecret); rec.Code != http.StatusOK {
		w.t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
	w.drain()
}

// comment posts a Facebook comment on a post; parent "" is a top-level comment.
func (w *wf) comment(post, id, parent, fromID, fromName, text string, at time.Time) {
	w.t.Helper()
	if parent == "" {
		parent = post
	}
	w.postMetaBody(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"changes":[{"field":"feed","value":{
		"from":{"id":%q,"name":%q},"post_id":%q,"comment_id":%q,"parent_id":%q,"message":%q,
		"created_time":%d,"item":"comment","verb":"add"}}]}]}`,
		wfPage, at.Unix(), fromID, fromName, post, id, parent, text, at.Unix()))
}

// dm posts a Messenger message from sender.
func (w *wf) dm(sender, mid, text string, at time.Time) {
	w.t.Helper()
	w.postMetaBody(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},
		"recipient":{"id":%q},"timestamp":%d,"message":{"mid":%q,"text":%q}}]}]}`,
		wfPage, at.UnixMilli(), sender, wfPage, at.UnixMilli(), mid, text))
}

func (w *wf) sendAll() int {
	w.t.Helper()
	n, err := w.svc.Workflow.DrainOutbox(context.Background())
	if err != nil {
		w.t.Fatalf("outbox: %v", err)
	}
	return n
}

type convJSON struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Status       string    `json:"status"`
	ThreadKey    string    `json:"thread_key"`
	AssigneeID   string    `json:"assignee_id"`
	Labels       []string  `json:"labels"`
	WaitingSince time.Time `json:"waiting_since"`
	SnoozedUntil time.Time `json:"snoozed_until"`
	OutgoingCnt  int       `json:"outgoing_count"`
	MessageCount int       `json:"message_count"`
	LastMsgID    string    `json:"last_message_id"`
	LastMsgText  string    `json:"last_message_text"`
	LastMsgDir   string    `json:"last_message_direction"`
	Unread       int       `json:"unread_count"`
	IncomingCnt  int       `json:"incoming_count"`
	Customer     struct {
		Name string `json:"name"`
	} `json:"customer"`
	Assignee *struct {
		UserID string `json:"user_id"`
		Name   string `json:"name"`
	} `json:"assignee"`
}

type pageJSON struct {
	Conversations []convJSON `json:"conversations"`
	NextCursor    string     `json:"next_cursor"`
}

type msgJSON struct {
	ID         string    `json:"id"`
	Text       string    `json:"text"`
	Direction  string    `json:"direction"`
	ExternalID string    `json:"external_id"`
	ParentID   string    `json:"parent_id"`
	Private    bool      `json:"private"`
	Mode       string    `json:"mode"`
	Mentions   []string  `json:"mentions"`
	Replies    []msgJSON `json:"replies"`
	Delivery   *struct {
		State        string `json:"state"`
		ErrorCode    string `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	} `json:"delivery"`
}

type threadJSON struct {
	Kind string `json:"kind"`
	Post *struct {
		ID string `json:"id"`
	} `json:"post"`
	Messages []msgJSON `json:"messages"`
}

func (w *wf) list(query string) pageJSON {
	w.t.Helper()
	var p pageJSON
	w.call(http.MethodGet, "/api/v1/conversations"+query, nil, "", http.StatusOK, &p)
	return p
}

func (w *wf) thread(id string) threadJSON {
	w.t.Helper()
	var th threadJSON
	w.call(http.MethodGet, "/api/v1/conversations/"+id+"/messages", nil, "", http.StatusOK, &th)
	return th
}

func (w *wf) only(query string) convJSON {
	w.t.Helper()
	p := w.list(query)
	if len(p.Conversations) != 1 {
		w.t.Fatalf("list %s: %d conversations, want 1", query, len(p.Conversations))
	}
	return p.Conversations[0]
}

func (w *wf) eventsOf(typ string) []event.Event {
	var out []event.Event
	for _, e := range w.events(wfWS, event.StreamInbox) {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestReplyToFacebookCommentReachesGraphAndEchoIsNotDuplicated(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC().Truncate(time.Second)
	post := wfPage + "_7001"
	w.comment(post, "7001_1", "", "cust-1", "Carla Diaz", "Is this in stock?", now.Add(-time.Hour))
	c := w.only("")
	if c.Kind != "comment" || c.WaitingSince.IsZero() {
		t.Fatalf("conversation %+v", c)
	}

	var m msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "Yes, it is!"}, "", http.StatusAccepted, &m)
	if m.Delivery == nil || m.Delivery.State != "pending" || m.Mode != "public" || m.Direction != "out" {
		t.Fatalf("reply before sending: %+v", m)
	}
	if len(w.fake.Calls()) != 0 {
		t.Fatal("reply sent before the outbox ran")
	}
	if n := w.sendAll(); n != 1 {
		t.Fatalf("outbox handled %d jobs, want 1", n)
	}
	calls := w.fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("graph calls %+v", calls)
	}
	got := calls[0]
	if got.Method != http.MethodPost || got.Path != "/v25.0/7001_1/comments" || got.Auth != "Bearer tok-"+wfPage ||
		got.Body["message"] != "Yes, it is!" {
		t.Fatalf("graph call %+v", got)
	}

	th := w.thread(c.ID)
	if th.Kind != "comment" || th.Post == nil || th.Post.ID != post || len(th.Messages) != 1 {
		t.Fatalf("thread %+v", th)
	}
	top := th.Messages[0]
	if top.ExternalID != "7001_1" || len(top.Replies) != 1 {
		t.Fatalf("top comment %+v", top)
	}
	reply := top.Replies[0]
	if reply.ID != m.ID || reply.ExternalID != "reply_1" || reply.Delivery.State != "sent" {
		t.Fatalf("reply after sending %+v", reply)
	}
	after := w.only("")
	if !after.WaitingSince.IsZero() || after.OutgoingCnt != 1 || after.MessageCount != 2 {
		t.Fatalf("conversation after reply: %+v", after)
	}
	created, updated := w.eventsOf(event.MessageCreated), w.eventsOf(event.MessageUpdated)
	if len(created) == 0 || created[len(created)-1].ConversationID != c.ID || len(updated) != 1 || updated[0].ConversationID != c.ID {
		t.Fatalf("events: created %d updated %d", len(created), len(updated))
	}
	var upd msgJSON
	_ = json.Unmarshal(updated[0].Data, &upd)
	if upd.ID != m.ID || upd.Delivery.State != "sent" || upd.ExternalID != "reply_1" {
		t.Fatalf("message.updated data %+v", upd)
	}

	// The page's own comment comes back as a webhook: no second copy, no second count.
	w.comment(post, "reply_1", "7001_1", wfPage, "Our Page", "Yes, it is!", now)
	// A customer answers our reply: nested under it.
	w.comment(post, "7001_2", "reply_1", "cust-1", "Carla Diaz", "Great, thanks", now.Add(time.Minute))
	th = w.thread(c.ID)
	if len(th.Messages) != 1 || len(th.Messages[0].Replies) != 1 {
		t.Fatalf("thread after echo: %+v", th)
	}
	nested := th.Messages[0].Replies[0]
	if nested.ID != m.ID || len(nested.Replies) != 1 || nested.Replies[0].ExternalID != "7001_2" {
		t.Fatalf("reply tree %+v", nested)
	}
	after = w.only("")
	if after.OutgoingCnt != 1 || after.MessageCount != 3 {
		t.Fatalf("counts after echo: %+v", after)
	}
}

func TestReplyRetriesTransientErrorsAndFailsOnRefusal(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC()
	w.comment(wfPage+"_8001", "8001_1", "", "cust-2", "Dan", "hello?", now.Add(-time.Minute))
	c := w.only("")
	transient := fakeAnswer{500, `{"error":{"message":"An unexpected error has occurred.","type":"OAuthException","code":2,"is_transient":true}}`}

	// Four transient failures: the first claim's three calls, then one more
	// on the outbox's second claim, which then succeeds.
	w.fake.answer(transient, transient, transient, transient)
	var m msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "Hi Dan"}, "", http.StatusAccepted, &m)
	w.sendAll()
	if n := len(w.fake.Calls()); n != 3 {
		t.Fatalf("calls after first claim %d, want 3", n)
	}
	th := w.thread(c.ID)
	if st := th.Messages[0].Replies[0].Delivery.State; st != "pending" {
		t.Fatalf("state after a retryable failure %s, want pending", st)
	}
	time.Sleep(20 * time.Millisecond) // past the outbox backoff
	w.sendAll()
	if n := len(w.fake.Calls()); n != 5 {
		t.Fatalf("calls after second claim %d, want 5", n)
	}
	th = w.thread(c.ID)
	if r := th.Messages[0].Replies[0]; r.Delivery.State != "sent" || r.ExternalID == "" {
		t.Fatalf("reply after retries %+v", r)
	}

	// A refusal is final at once, with the platform's reason.
	w.fake.answer(fakeAnswer{400, `{"error":{"message":"(#100) The comment has been deleted","type":"OAuthException","code":100}}`})
	var m2 msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "Still there?"}, "", http.StatusAccepted, &m2)
	w.sendAll()
	if n := len(w.fake.Calls()); n != 6 {
		t.Fatalf("calls after refusal %d, want 6", n)
	}
	time.Sleep(20 * time.Millisecond)
	if n := w.sendAll(); n != 0 {
		t.Fatalf("a refused send was claimed again (%d)", n)
	}
	th = w.thread(c.ID)
	var failed *msgJSON
	for i, r := range th.Messages[0].Replies {
		if r.ID == m2.ID {
			failed = &th.Messages[0].Replies[i]
		}
	}
	if failed == nil || failed.Delivery.State != "failed" || failed.Delivery.ErrorCode != "100" ||
		!strings.Contains(failed.Delivery.ErrorMessage, "The comment has been deleted") {
		t.Fatalf("refused reply %+v", failed)
	}
	upd := w.eventsOf(event.MessageUpdated)
	if len(upd) != 2 || upd[1].ConversationID != c.ID {
		t.Fatalf("message.updated events %d", len(upd))
	}
}

func TestMessengerWindow(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC()
	w.dm("psid-fresh", "mid.fresh", "hi", now.Add(-time.Hour))
	w.dm("psid-tagged", "mid.tagged", "hi", now.Add(-30*time.Hour))
	w.dm("psid-old", "mid.old", "hi", now.Add(-8*24*time.Hour))
	ids := map[string]string{}
	for _, c := range w.list("?kind=dm").Conversations {
		ids[c.ThreadKey] = c.ID
	}
	if len(ids) != 3 {
		t.Fatalf("dm conversations %v", ids)
	}

	w.call(http.MethodPost, "/api/v1/conversations/"+ids["psid-fresh"]+"/messages", map[string]any{"text": "fresh"}, "", http.StatusAccepted, nil)
	w.call(http.MethodPost, "/api/v1/conversations/"+ids["psid-tagged"]+"/messages", map[string]any{"text": "tagged"}, "", http.StatusAccepted, nil)
	raw, _ := json.Marshal(map[string]any{"text": "too late"})
	rec := w.do(http.MethodPost, "/api/v1/conversations/"+ids["psid-old"]+"/messages", raw,
		map[string]string{"Authorization": "Bearer " + w.tokenFor(wfWS, "u-ann", "Ann", "", auth.RoleAgent)})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "7 days with the human agent tag") {
		t.Fatalf("outside the window: %d %s", rec.Code, rec.Body)
	}
	if th := w.thread(ids["psid-old"]); len(th.Messages) != 1 {
		t.Fatalf("a refused reply was stored: %+v", th.Messages)
	}
	w.sendAll()
	calls := w.fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("graph calls %+v", calls)
	}
	byText := map[string]fakeCall{}
	for _, c := range calls {
		if c.Path != "/v25.0/"+wfPage+"/messages" {
			t.Fatalf("dm path %s", c.Path)
		}
		byText[c.Body["message"].(map[string]any)["text"].(string)] = c
	}
	fresh, tagged := byText["fresh"], byText["tagged"]
	if fresh.Body["messaging_type"] != "RESPONSE" || fresh.Body["tag"] != nil ||
		fresh.Body["recipient"].(map[string]any)["id"] != "psid-fresh" {
		t.Fatalf("fresh dm %+v", fresh.Body)
	}
	if tagged.Body["messaging_type"] != "MESSAGE_TAG" || tagged.Body["tag"] != "HUMAN_AGENT" {
		t.Fatalf("tagged dm %+v", tagged.Body)
	}

	// Messenger echoes our DM: it lands on the reply, not as a second message.
	th := w.thread(ids["psid-fresh"])
	if len(th.Messages) != 2 || th.Messages[1].Delivery.State != "sent" || th.Messages[1].ExternalID == "" {
		t.Fatalf("fresh thread %+v", th.Messages)
	}
	mid := th.Messages[1].ExternalID
	at := time.Now().UTC()
	w.postMetaBody(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},
		"recipient":{"id":"psid-fresh"},"timestamp":%d,"message":{"is_echo":true,"mid":%q,"text":"fresh"}}]}]}`,
		wfPage, at.UnixMilli(), wfPage, at.UnixMilli(), mid))
	th = w.thread(ids["psid-fresh"])
	if len(th.Messages) != 2 || th.Messages[1].ExternalID != mid {
		t.Fatalf("thread after the echo %+v", th.Messages)
	}
	var conv convJSON
	w.call(http.MethodGet, "/api/v1/conversations/"+ids["psid-fresh"], nil, "", http.StatusOK, &conv)
	if conv.OutgoingCnt != 1 || conv.MessageCount != 2 || !conv.WaitingSince.IsZero() {
		t.Fatalf("counts after the echo %+v", conv)
	}
}

func TestNotesAreNotSentAndMentionAgents(t *testing.T) {
	w := newWF(t)
	w.dm("psid-n", "mid.n1", "help", time.Now().UTC().Add(-time.Minute))
	c := w.only("")
	// Bob makes a request, so the inbox learns his name.
	bob := w.tokenFor(wfWS, "u-bob", "Bob Stone", "bob@example.test", auth.RoleAgent)
	w.call(http.MethodGet, "/api/v1/labels", nil, bob, http.StatusOK, nil)
	var agents struct {
		Agents []struct {
			UserID string `json:"user_id"`
			Name   string `json:"name"`
		} `json:"agents"`
	}
	w.call(http.MethodGet, "/api/v1/agents", nil, "", http.StatusOK, &agents)
	if len(agents.Agents) != 2 {
		t.Fatalf("agents %+v", agents)
	}

	var m msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages",
		map[string]any{"text": "@bob can you check the order? cc @nobody", "private": true}, "", http.StatusAccepted, &m)
	if !m.Private || m.Delivery != nil || len(m.Mentions) != 1 || m.Mentions[0] != "u-bob" {
		t.Fatalf("note %+v", m)
	}
	if n := w.sendAll(); n != 0 || len(w.fake.Calls()) != 0 {
		t.Fatalf("a note was sent: %d jobs, %d calls", n, len(w.fake.Calls()))
	}
	mentions := w.eventsOf(event.Mention)
	if len(mentions) != 1 || mentions[0].UserID != "u-bob" || mentions[0].ConversationID != c.ID {
		t.Fatalf("mention events %+v", mentions)
	}
	th := w.thread(c.ID)
	if len(th.Messages) != 2 || !th.Messages[1].Private || th.Messages[1].Text != m.Text {
		t.Fatalf("thread with note %+v", th.Messages)
	}
	if got := w.only(""); got.OutgoingCnt != 0 || got.WaitingSince.IsZero() {
		t.Fatalf("a note counted as an answer: %+v", got)
	}
}

func TestListFiltersPaginationAndTenancy(t *testing.T) {
	w := newWF(t)
	base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Millisecond)
	for i := range 5 {
		w.dm(fmt.Sprintf("psid-%d", i), fmt.Sprintf("mid.%d", i), fmt.Sprintf("question number %d", i), base.Add(time.Duration(i)*time.Hour))
	}
	w.comment(wfPage+"_9001", "9001_1", "", "cust-z", "Zoë Quinn", "nice photo", base.Add(30*time.Minute))

	all := w.list("")
	if len(all.Conversations) != 6 || all.NextCursor != "" {
		t.Fatalf("list all: %d, cursor %q", len(all.Conversations), all.NextCursor)
	}
	// Most recent first: psid-4 (base+4h) ... the comment (base+30m) before psid-0.
	if all.Conversations[0].ThreadKey != "psid-4" || all.Conversations[5].ThreadKey != "psid-0" ||
		all.Conversations[4].Kind != "comment" {
		t.Fatalf("recent order: %v", threadKeys(all.Conversations))
	}

	// Pagination walks the same order without gaps or repeats.
	var walked []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := w.list(q)
		walked = append(walked, threadKeys(p.Conversations)...)
		if p.NextCursor == "" || pages > 5 {
			break
		}
		cursor = p.NextCursor
	}
	if strings.Join(walked, ",") != strings.Join(threadKeys(all.Conversations), ",") {
		t.Fatalf("paged %v, want %v", walked, threadKeys(all.Conversations))
	}
	w.call(http.MethodGet, "/api/v1/conversations?cursor=garbage", nil, "", http.StatusBadRequest, nil)
	w.call(http.MethodGet, "/api/v1/conversations?limit=101", nil, "", http.StatusBadRequest, nil)

	byKey := map[string]string{}
	for _, c := range all.Conversations {
		byKey[c.ThreadKey] = c.ID
	}
	w.call(http.MethodPost, "/api/v1/labels", map[string]any{"name": "vip"},
		w.tokenFor(wfWS, "u-mgr", "Mia", "", auth.RoleManager), http.StatusCreated, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+byKey["psid-1"]+"/assignee", map[string]any{"user_id": "u-ann"}, "", http.StatusOK, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+byKey["psid-2"]+"/labels", map[string]any{"add": []string{"vip"}}, "", http.StatusOK, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+byKey["psid-3"]+"/status", map[string]any{"status": "resolved"}, "", http.StatusOK, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+byKey["psid-4"]+"/status", map[string]any{"status": "pending"}, "", http.StatusOK, nil)

	mine := w.only("?assignee=me")
	if mine.ThreadKey != "psid-1" || mine.Assignee == nil || mine.Assignee.Name != "Ann Lee" {
		t.Fatalf("assignee=me: %+v", mine)
	}
	if n := len(w.list("?assignee=unassigned").Conversations); n != 5 {
		t.Fatalf("unassigned %d, want 5", n)
	}
	if c := w.only("?label=vip"); c.ThreadKey != "psid-2" {
		t.Fatalf("label filter %+v", c)
	}
	if got := threadKeys(w.list("?status=resolved,pending").Conversations); strings.Join(got, ",") != "psid-4,psid-3" {
		t.Fatalf("status filter %v", got)
	}
	if n := len(w.list("?status=open").Conversations); n != 4 {
		t.Fatalf("open %d, want 4", n)
	}
	// Priority is set by triage (another package); set it directly here.
	if _, err := w.db.Collection("conversations").UpdateOne(context.Background(), bson.D{{Key: "_id", Value: byKey["psid-0"]}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "priority", Value: "urgent"}}}}); err != nil {
		t.Fatal(err)
	}
	if c := w.only("?priority=urgent"); c.ThreadKey != "psid-0" {
		t.Fatalf("priority filter %+v", c)
	}
	w.call(http.MethodGet, "/api/v1/conversations?priority=meh", nil, "", http.StatusBadRequest, nil)
	if c := w.only("?kind=comment"); c.ThreadKey != wfPage+"_9001" {
		t.Fatalf("kind filter %+v", c)
	}
	if n := len(w.list("?channel=" + w.ch.ID).Conversations); n != 6 {
		t.Fatalf("channel filter %d", n)
	}
	if n := len(w.list("?channel=other").Conversations); n != 0 {
		t.Fatalf("other channel %d", n)
	}
	// Text search: message text (regex metacharacters are literal) and customer name.
	if c := w.only("?q=" + url.QueryEscape("NUMBER 3")); c.ThreadKey != "psid-3" {
		t.Fatalf("q text %+v", c)
	}
	if c := w.only("?q=zoë"); c.Kind != "comment" {
		t.Fatalf("q name %+v", c)
	}
	if n := len(w.list("?q=" + url.QueryEscape("number .")).Conversations); n != 0 {
		t.Fatalf("q treated as a regex: %d", n)
	}
	// Waiting: oldest wait first; all six are waiting.
	waiting := threadKeys(w.list("?sort=waiting").Conversations)
	if strings.Join(waiting, ",") != "psid-0,"+wfPage+"_9001,psid-1,psid-2,psid-3,psid-4" {
		t.Fatalf("waiting order %v", waiting)
	}
	p := w.list("?sort=waiting&limit=4")
	rest := w.list("?sort=waiting&limit=4&cursor=" + url.QueryEscape(p.NextCursor))
	if got := append(threadKeys(p.Conversations), threadKeys(rest.Conversations)...); strings.Join(got, ",") != strings.Join(waiting, ",") {
		t.Fatalf("waiting pages %v", got)
	}
	w.call(http.MethodGet, "/api/v1/conversations?cursor="+url.QueryEscape(p.NextCursor), nil, "", http.StatusBadRequest, nil)

	// Another workspace sees none of it.
	other := w.tokenFor("ws-other", "u-eve", "Eve", "", auth.RoleAdmin)
	var op pageJSON
	w.call(http.MethodGet, "/api/v1/conversations", nil, other, http.StatusOK, &op)
	if len(op.Conversations) != 0 {
		t.Fatalf("other workspace lists %d", len(op.Conversations))
	}
	id := byKey["psid-0"]
	w.call(http.MethodGet, "/api/v1/conversations/"+id, nil, other, http.StatusNotFound, nil)
	w.call(http.MethodGet, "/api/v1/conversations/"+id+"/messages", nil, other, http.StatusNotFound, nil)
	w.call(http.MethodGet, "/api/v1/conversations/"+id+"/audit", nil, other, http.StatusNotFound, nil)
	w.call(http.MethodPost, "/api/v1/conversations/"+id+"/messages", map[string]any{"text": "x"}, other, http.StatusNotFound, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+id+"/status", map[string]any{"status": "resolved"}, other, http.StatusNotFound, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+id+"/assignee", map[string]any{"user_id": "u-eve"}, other, http.StatusNotFound, nil)
	var got convJSON
	w.call(http.MethodGet, "/api/v1/conversations/"+id, nil, "", http.StatusOK, &got)
	if got.Status != "open" || got.AssigneeID != "" {
		t.Fatalf("another workspace changed the conversation: %+v", got)
	}
}

func threadKeys(cs []convJSON) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ThreadKey
	}
	return out
}

func TestStatusSnoozeAndReopen(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC()
	w.dm("psid-s", "mid.s1", "hi", now.Add(-time.Minute))
	c := w.only("")
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/status",
		map[string]any{"status": "snoozed", "snoozed_until": now.Add(-time.Minute)}, "", http.StatusBadRequest, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/status", map[string]any{"status": "closed"}, "", http.StatusBadRequest, nil)
	until := now.Add(time.Hour).Truncate(time.Second)
	var got convJSON
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/status",
		map[string]any{"status": "snoozed", "snoozed_until": until}, "", http.StatusOK, &got)
	if got.Status != "snoozed" || !got.SnoozedUntil.Equal(until) {
		t.Fatalf("snoozed %+v", got)
	}
	wfs := w.svc.Workflow
	if n, err := wfs.ReopenDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("reopened early: %d %v", n, err)
	}
	wfs.SetClock(func() time.Time { return until.Add(time.Second) })
	if n, err := wfs.ReopenDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("reopen due: %d %v", n, err)
	}
	wfs.SetClock(func() time.Time { return time.Now().UTC() })
	got = w.only("")
	if got.Status != "open" || !got.SnoozedUntil.IsZero() {
		t.Fatalf("after snooze %+v", got)
	}
	upd := w.eventsOf(event.ConversationUpdated)
	if len(upd) < 2 || upd[len(upd)-1].ConversationID != c.ID {
		t.Fatalf("conversation.updated events %d", len(upd))
	}

	// A customer message reopens a snoozed (or resolved) conversation.
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/status",
		map[string]any{"status": "snoozed", "snoozed_until": now.Add(48 * time.Hour)}, "", http.StatusOK, nil)
	w.dm("psid-s", "mid.s2", "still there?", time.Now().UTC())
	if got := w.only(""); got.Status != "open" {
		t.Fatalf("incoming message left status %s", got.Status)
	}

	var audit struct {
		Audit []struct {
			ActorID string            `json:"actor_id"`
			Action  string            `json:"action"`
			Detail  map[string]string `json:"detail"`
		} `json:"audit"`
	}
	w.call(http.MethodGet, "/api/v1/conversations/"+c.ID+"/audit", nil, "", http.StatusOK, &audit)
	if len(audit.Audit) != 3 {
		t.Fatalf("audit %+v", audit)
	}
	// The reopen ran on a clock an hour ahead, so it sorts last.
	a0, a1 := audit.Audit[0], audit.Audit[2]
	if a0.ActorID != "u-ann" || a0.Action != "status" || a0.Detail["to"] != "snoozed" || a0.Detail["from"] != "open" {
		t.Fatalf("audit[0] %+v", a0)
	}
	if a1.ActorID != "system" || a1.Detail["to"] != "open" || a1.Detail["reason"] != "snooze ended" {
		t.Fatalf("audit[1] %+v", a1)
	}
}

func TestBulkActions(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC()
	w.dm("psid-a", "mid.a", "a", now.Add(-2*time.Minute))
	w.dm("psid-b", "mid.b", "b", now.Add(-time.Minute))
	other := w.createChannel("ws-other", "facebook", metaConfig("page_id", "555", "other-secret"))
	_ = other
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":"555","time":%d,"messaging":[{"sender":{"id":"psid-x"},
		"recipient":{"id":"555"},"timestamp":%d,"message":{"mid":"mid.x","text":"x"}}]}]}`, now.UnixMilli(), now.UnixMilli())
	if rec := w.postMeta([]byte(body), "other-secret"); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	w.drain()
	var op pageJSON
	w.call(http.MethodGet, "/api/v1/conversations", nil, w.tokenFor("ws-other", "u-eve", "Eve", "", auth.RoleAgent), http.StatusOK, &op)
	if len(op.Conversations) != 1 {
		t.Fatalf("other workspace conversations %d", len(op.Conversations))
	}
	foreign := op.Conversations[0].ID
	mine := threadKeysToIDs(w.list("").Conversations)

	var res struct {
		Results []struct{ ID, Result, Error string } `json:"results"`
	}
	w.call(http.MethodPost, "/api/v1/conversations/bulk", map[string]any{
		"ids": []string{mine["psid-a"], foreign, mine["psid-b"], "nope"}, "action": "resolve"}, "", http.StatusOK, &res)
	want := []string{"ok", "not_found", "ok", "not_found"}
	for i, r := range res.Results {
		if r.Result != want[i] {
			t.Fatalf("bulk results %+v", res.Results)
		}
	}
	if n := len(w.list("?status=resolved").Conversations); n != 2 {
		t.Fatalf("resolved %d", n)
	}
	var foreignConv convJSON
	w.call(http.MethodGet, "/api/v1/conversations/"+foreign, nil, w.tokenFor("ws-other", "u-eve", "Eve", "", auth.RoleAgent), http.StatusOK, &foreignConv)
	if foreignConv.Status != "open" {
		t.Fatalf("bulk changed another workspace: %+v", foreignConv)
	}

	w.call(http.MethodPost, "/api/v1/conversations/bulk", map[string]any{
		"ids": []string{mine["psid-a"], mine["psid-b"]}, "action": "assign", "user_id": "u-bob"}, "", http.StatusOK, &res)
	if n := len(w.list("?assignee=u-bob").Conversations); n != 2 {
		t.Fatalf("bulk assign: %d", n)
	}
	assigned := w.eventsOf(event.ConversationAssigned)
	if len(assigned) != 2 || assigned[0].UserID != "u-bob" || assigned[0].ConversationID == "" {
		t.Fatalf("assigned events %+v", assigned)
	}
	// Labelling with an unknown label is an error per id, not a failure of the batch.
	w.call(http.MethodPost, "/api/v1/conversations/bulk", map[string]any{
		"ids": []string{mine["psid-a"]}, "action": "label", "labels": []string{"ghost"}}, "", http.StatusOK, &res)
	if res.Results[0].Result != "error" || !strings.Contains(res.Results[0].Error, "ghost") {
		t.Fatalf("bulk unknown label %+v", res.Results)
	}
	w.call(http.MethodPost, "/api/v1/conversations/bulk", map[string]any{"ids": []string{mine["psid-a"]}, "action": "explode"}, "", http.StatusBadRequest, nil)
}

func threadKeysToIDs(cs []convJSON) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		out[c.ThreadKey] = c.ID
	}
	return out
}

func TestLabelsCannedResponsesAndAudit(t *testing.T) {
	w := newWF(t)
	w.comment(wfPage+"_6001", "6001_1", "", "cust-6", "🌸 Carla Diaz", "price?", time.Now().UTC().Add(-time.Minute))
	c := w.only("")
	mgr := w.tokenFor(wfWS, "u-mgr", "Mia Manager", "", auth.RoleManager)
	for _, n := range []string{"vip", "billing"} {
		w.call(http.MethodPost, "/api/v1/labels", map[string]any{"name": n, "color": "#f00"}, mgr, http.StatusCreated, nil)
	}
	w.call(http.MethodPost, "/api/v1/labels", map[string]any{"name": "vip"}, mgr, http.StatusConflict, nil)
	w.call(http.MethodPost, "/api/v1/labels", map[string]any{"name": "x"}, "", http.StatusForbidden, nil)
	var got convJSON
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/labels", map[string]any{"add": []string{"vip", "billing"}}, "", http.StatusOK, &got)
	if strings.Join(got.Labels, ",") != "vip,billing" {
		t.Fatalf("labels %v", got.Labels)
	}
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/labels", map[string]any{"add": []string{"vip"}, "remove": []string{"billing"}}, "", http.StatusOK, &got)
	if strings.Join(got.Labels, ",") != "vip" {
		t.Fatalf("labels after remove %v", got.Labels)
	}
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/labels", map[string]any{"add": []string{"nope"}}, "", http.StatusBadRequest, nil)
	w.call(http.MethodDelete, "/api/v1/labels/billing", nil, mgr, http.StatusNoContent, nil)
	var labels struct {
		Labels []struct{ Name string } `json:"labels"`
	}
	w.call(http.MethodGet, "/api/v1/labels", nil, "", http.StatusOK, &labels)
	if len(labels.Labels) != 1 || labels.Labels[0].Name != "vip" {
		t.Fatalf("labels %+v", labels)
	}

	w.call(http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "bad", "title": "Bad", "text": "Hi {{contact.nmae}}"}, "", http.StatusBadRequest, nil)
	var cr struct{ ID, Shortcut string }
	w.call(http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "/hello", "title": "Hello",
		"text": "Hi {{contact.first_name|there}}, {{agent.first_name}} here."}, "", http.StatusCreated, &cr)
	if cr.Shortcut != "hello" || cr.ID == "" {
		t.Fatalf("canned %+v", cr)
	}
	w.call(http.MethodPost, "/api/v1/canned-responses", map[string]any{"shortcut": "hello", "title": "Dup", "text": "x"}, "", http.StatusConflict, nil)
	var rendered struct {
		Text string `json:"text"`
	}
	w.call(http.MethodPost, "/api/v1/canned-responses/"+cr.ID+"/render", map[string]any{"conversation_id": c.ID}, "", http.StatusOK, &rendered)
	if rendered.Text != "Hi Carla, Ann here." {
		t.Fatalf("rendered %q", rendered.Text)
	}
	w.call(http.MethodPut, "/api/v1/canned-responses/"+cr.ID, map[string]any{"shortcut": "hello", "title": "Hello",
		"text": "Hello {{contact.name}}! — {{agent.name}}"}, "", http.StatusOK, nil)
	var m msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"canned_response_id": cr.ID}, "", http.StatusAccepted, &m)
	if m.Text != "Hello 🌸 Carla Diaz! — Ann Lee" {
		t.Fatalf("canned reply text %q", m.Text)
	}
	w.sendAll()
	if calls := w.fake.Calls(); len(calls) != 1 || calls[0].Body["message"] != m.Text {
		t.Fatalf("canned reply sent as %+v", calls)
	}
	w.call(http.MethodDelete, "/api/v1/canned-responses/"+cr.ID, nil, "", http.StatusNoContent, nil)
	w.call(http.MethodDelete, "/api/v1/canned-responses/"+cr.ID, nil, "", http.StatusNotFound, nil)
	w.call(http.MethodPost, "/api/v1/canned-responses/"+cr.ID+"/render", map[string]any{"conversation_id": c.ID}, "", http.StatusNotFound, nil)

	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/assignee", map[string]any{"user_id": "u-bob"}, "", http.StatusOK, nil)
	w.call(http.MethodPut, "/api/v1/conversations/"+c.ID+"/assignee", map[string]any{"user_id": nil}, "", http.StatusOK, &got)
	if got.AssigneeID != "" {
		t.Fatalf("unassign left %q", got.AssigneeID)
	}
	var audit struct {
		Audit []struct {
			ActorID string            `json:"actor_id"`
			Action  string            `json:"action"`
			Detail  map[string]string `json:"detail"`
		} `json:"audit"`
	}
	w.call(http.MethodGet, "/api/v1/conversations/"+c.ID+"/audit", nil, "", http.StatusOK, &audit)
	var actions []string
	for _, a := range audit.Audit {
		if a.ActorID != "u-ann" {
			t.Fatalf("audit actor %+v", a)
		}
		actions = append(actions, a.Action)
	}
	if strings.Join(actions, ",") != "labels,labels,replied,assigned,assigned" {
		t.Fatalf("audit actions %v", actions)
	}
	if d := audit.Audit[3].Detail; d["to"] != "u-bob" || audit.Audit[4].Detail["from"] != "u-bob" {
		t.Fatalf("assignment audit %+v %+v", d, audit.Audit[4].Detail)
	}
}

// TestOutboxResumesAfterACrash: a send claimed by a worker that died before
// calling the platform is sent once its lease ends; one that died mid-call
// (ledger key still pending) is not resent blindly but marked failed with
// an explanation, since the platform may have posted it.
func TestOutboxResumesAfterACrash(t *testing.T) {
	w := newWF(t)
	ctx := context.Background()
	now := time.Now().UTC()
	w.comment(wfPage+"_5001", "5001_1", "", "cust-5", "Eli", "hello", now.Add(-time.Minute))
	c := w.only("")
	store, err := workflowdb.New(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	var m1 msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "first"}, "", http.StatusAccepted, &m1)
	// A worker claims it and dies.
	if _, ok, err := store.ClaimJob(ctx, time.Now().UTC(), 2*time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if n := w.sendAll(); n != 0 {
		t.Fatalf("a leased job was sent (%d)", n)
	}
	w.svc.Workflow.SetClock(func() time.Time { return time.Now().UTC().Add(3 * time.Minute) })
	if n := w.sendAll(); n != 1 || len(w.fake.Calls()) != 1 {
		t.Fatalf("after the lease: %d jobs, %d calls", n, len(w.fake.Calls()))
	}
	w.svc.Workflow.SetClock(func() time.Time { return time.Now().UTC() })

	var m2 msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "second"}, "", http.StatusAccepted, &m2)
	// A worker died during the platform call: its ledger claim is pending.
	if _, ok, err := store.Ledger().Claim(ctx, m2.ID, time.Now().UTC()); err != nil || !ok {
		t.Fatalf("ledger claim: %v %v", ok, err)
	}
	w.sendAll()
	if n := len(w.fake.Calls()); n != 1 {
		t.Fatalf("an interrupted send was resent: %d calls", n)
	}
	var second *msgJSON
	th := w.thread(c.ID)
	for i, r := range th.Messages[0].Replies {
		if r.ID == m2.ID {
			second = &th.Messages[0].Replies[i]
		}
	}
	if second == nil || second.Delivery.State != "failed" || !strings.Contains(second.Delivery.ErrorMessage, "did not confirm") {
		t.Fatalf("interrupted send %+v", second)
	}
}

func TestPrivateReplyToAComment(t *testing.T) {
	w := newWF(t)
	now := time.Now().UTC()
	w.comment(wfPage+"_4001", "4001_1", "", "cust-4", "Fay", "what's the price?", now.Add(-2*time.Hour))
	w.comment(wfPage+"_4002", "4002_1", "", "cust-4", "Fay", "old question", now.Add(-8*24*time.Hour))
	ids := threadKeysToIDs(w.list("").Conversations)
	var m msgJSON
	w.call(http.MethodPost, "/api/v1/conversations/"+ids[wfPage+"_4001"]+"/messages",
		map[string]any{"text": "Sent you the price in private", "mode": "private_reply"}, "", http.StatusAccepted, &m)
	if m.Mode != "private_reply" {
		t.Fatalf("mode %q", m.Mode)
	}
	w.call(http.MethodPost, "/api/v1/conversations/"+ids[wfPage+"_4002"]+"/messages",
		map[string]any{"text": "too late", "mode": "private_reply"}, "", http.StatusConflict, nil)
	w.call(http.MethodPost, "/api/v1/conversations/"+ids[wfPage+"_4001"]+"/messages",
		map[string]any{"text": "x", "mode": "dm"}, "", http.StatusBadRequest, nil)
	w.sendAll()
	calls := w.fake.Calls()
	if len(calls) != 1 || calls[0].Path != "/v25.0/"+wfPage+"/messages" ||
		calls[0].Body["recipient"].(map[string]any)["comment_id"] != "4001_1" {
		t.Fatalf("private reply call %+v", calls)
	}
}

// TestOutboxWorkerSendsWithoutPolling: the running worker is woken by a reply.
func TestOutboxWorkerSendsWithoutPolling(t *testing.T) {
	w := newWF(t)
	w.comment(wfPage+"_3001", "3001_1", "", "cust-3", "Gus", "hey", time.Now().UTC().Add(-time.Minute))
	c := w.only("")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.svc.Workflow.RunOutbox(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("RunOutbox ended with %v", err)
		}
	}()
	w.call(http.MethodPost, "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "hi Gus"}, "", http.StatusAccepted, nil)
	deadline := time.Now().Add(10 * time.Second)
	for len(w.fake.Calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not send the reply")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := w.fake.Calls()[0]; got.Path != "/v25.0/3001_1/comments" || got.Body["message"] != "hi Gus" {
		t.Fatalf("call %+v", got)
	}
}
