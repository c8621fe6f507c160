package scaleout

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	crm "github.com/communityinbox/crm/service"
	"github.com/communityinbox/devstack/stack"
	gateway "github.com/communityinbox/gateway/service"
	inbox "github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/redistest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

const (
	appSecret = "scaleout-app-secret"
	// fixture is a Messenger text message as Meta sends it: page
	// 1691462197845448, text "hello world".
	fixture = "../../services/inbox/webhook/testdata/facebook/messenger_message_text.json"
	pageID  = "1691462197845448"
)

// TestEventCrossesInstances runs two complete instances of the services (A
// and B: gateway, inbox with its ingest workers, CRM) on one redis-server and
// one database. A webhook posted to gateway A is acknowledged by inbox A;
// whichever inbox worker stores it, the agent connected to gateway B gets its
// message.created exactly once, in seq order, like the agent on gateway A.
// Typing on A shows on B.
func TestEventCrossesInstances(t *testing.T) {
	a, b, token := startInstances(t)

	call(t, a.GatewayURL, "POST", "/api/v1/channels", token, map[string]any{"type": "facebook", "name": "Page",
		"config": map[string]string{"page_id": pageID, "app_secret": appSecret, "verify_token": "v", "access_token": "t"}}, nil)

	onB := dial(t, b.GatewayURL, token)
	onA := dial(t, a.GatewayURL, token)
	seqB := onB.subscribe(t, "inbox")
	seqA := onA.subscribe(t, "inbox")

	first, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	postWebhook(t, a.GatewayURL, first)
	gotB := onB.waitMessage(t, "hello world")
	gotA := onA.waitMessage(t, "hello world")
	if gotB.ConversationID == "" || gotB.ConversationID != gotA.ConversationID || gotB.ID != gotA.ID {
		t.Fatalf("message.created on B %+v, on A %+v: want the same event with a conversation", gotB, gotA)
	}
	if gotB.Data.ConversationID != gotB.ConversationID {
		t.Fatalf("event conversation_id %q, message conversation_id %q", gotB.ConversationID, gotB.Data.ConversationID)
	}

	// A second message from the same customer, posted to B this time, lands
	// in the same conversation; by the time it arrives a duplicate of the
	// first would have too.
	second := bytes.Replace(first, []byte(`"text":"hello world"`), []byte(`"text":"second message"`), 1)
	second = bytes.Replace(second, []byte(`"mid":"mid.1472026867074:cfb5e1d4bde07a2a55"`), []byte(`"mid":"mid.scaleout-second"`), 1)
	if bytes.Equal(second, first) {
		t.Fatal("fixture changed: could not derive a second message")
	}
	postWebhook(t, b.GatewayURL, second)
	nextB := onB.waitMessage(t, "second message")
	onA.waitMessage(t, "second message")
	if nextB.ConversationID != gotB.ConversationID {
		t.Fatalf("second message in conversation %q, first in %q", nextB.ConversationID, gotB.ConversationID)
	}
	for _, c := range []*client{onB, onA} {
		c.checkInboxSeqs(t)
		if n := c.created["hello world"]; n != 1 {
			t.Fatalf("%s: first message.created received %d times, want 1", c.name, n)
		}
		if n := c.created["second message"]; n != 1 {
			t.Fatalf("%s: second message.created received %d times, want 1", c.name, n)
		}
	}
	if onA.events[0].Seq != seqA+1 || onB.events[0].Seq != seqB+1 {
		t.Fatalf("first live seqs %d (A) and %d (B), want %d and %d", onA.events[0].Seq, onB.events[0].Seq, seqA+1, seqB+1)
	}
	if len(onA.events) != len(onB.events) || onA.events[len(onA.events)-1].ID != onB.events[len(onB.events)-1].ID {
		t.Fatalf("A saw %d inbox events, B %d: want the same stream", len(onA.events), len(onB.events))
	}

	for _, e := range onB.events {
		t.Logf("on B: seq %d %s", e.Seq, e.Type)
	}

	// Both inboxes' workers ran; the conversation holds each message once.
	var thread struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	call(t, b.GatewayURL, "GET", "/api/v1/conversations/"+gotB.ConversationID+"/messages", token, nil, &thread)
	var texts []string
	for _, m := range thread.Messages {
		texts = append(texts, m.Text)
	}
	slices.Sort(texts) // both carry the fixture's timestamp: their order is not the point
	if strings.Join(texts, "|") != "hello world|second message" {
		t.Fatalf("conversation holds %q, want the two messages once each", texts)
	}

	// Presence: a typing agent on A shows as typing on B.
	onA.send(t, map[string]any{"type": "typing", "conversation_id": gotB.ConversationID, "typing": true})
	p := onB.waitPresence(t, gotB.ConversationID)
	if len(p.Data.Typing) != 1 || p.Data.Typing[0].Name != "Admin" || p.Data.Typing[0].UserID == "" {
		t.Fatalf("presence on B %+v, want Admin typing", p.Data)
	}
}

// instance is where a test reaches one instance of the services.
type instance struct{ GatewayURL string }

// startInstances starts instance A (gateway, inbox, CRM; its gateway creates
// the first admin), then instance B (gateway and inbox; B's gateway proxies
// CRM calls to A's CRM) on the same database and Redis prefix, and returns an
// admin token. B has no CRM of its own: FerretDB 1.24 panics when a second
// CRM creates its indexes in one createIndexes call, and the CRM is not what
// this test is about.
func startInstances(t *testing.T) (a, b instance, token string) {
	db := mongotest.DB(t)
	rdb, prefix := redistest.Client(t)
	var base boot.Base
	var gw gateway.Config
	var ib inbox.Config
	var cr crm.Config
	for _, c := range []any{&base, &gw, &ib, &cr} {
		if err := config.LoadFrom(c, nil, io.Discard, func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
	}
	base.MongoURI, base.MongoDB = mongotest.URI(t), db.Name()
	base.RedisURL, base.RedisPrefix = "redis://"+rdb.Options().Addr+"/0", prefix
	base.JWTSecret = "scaleout-signing-key-0123456789abcdef"
	base.TokenTTL = time.Hour
	base.ShutdownTimeout = 5 * time.Second
	gw.AdminEmail, gw.AdminPassword = "admin@example.com", "admin-password"
	log := logging.New(io.Discard, "scaleout", "error")

	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Start(ctx, log, stack.Config{Base: base, Gateway: gw, Inbox: ib, CRM: cr,
		GatewayAddr: "127.0.0.1:0", InboxAddr: "127.0.0.1:0", CRMAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatalf("instance a: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = st.Wait() })

	infra, err := boot.Connect(ctx, base, log)
	if err != nil {
		t.Fatalf("instance b: %v", err)
	}
	t.Cleanup(infra.Close) // runs after the services' cleanups below
	inboxLn, gatewayLn := listen(t), listen(t)
	ib.Base, gw.Base = base, base
	ib.PublicURL = st.GatewayURL
	gw.InboxURL, gw.CRMURL = "http://"+inboxLn.Addr().String(), st.CRMURL
	inboxB, err := inbox.New(ctx, ib, infra)
	if err != nil {
		t.Fatalf("instance b: inbox: %v", err)
	}
	serve(t, inboxLn, inboxB)
	gatewayB, err := gateway.New(ctx, gw, infra)
	if err != nil {
		t.Fatalf("instance b: gateway: %v", err)
	}
	serve(t, gatewayLn, gatewayB)

	a, b = instance{st.GatewayURL}, instance{"http://" + gatewayLn.Addr().String()}
	var out struct {
		Token string `json:"token"`
	}
	call(t, b.GatewayURL, "POST", "/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "admin-password"}, &out)
	if out.Token == "" {
		t.Fatal("login on B gave no token")
	}
	return a, b, out.Token
}

func listen(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// serve runs svc's workers and HTTP server on l until the test ends.
func serve(t *testing.T, l net.Listener, svc boot.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ran, served := make(chan error, 1), make(chan error, 1)
	go func() { ran <- svc.Run(ctx) }()
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		<-served
		select {
		case <-ran:
		case <-sctx.Done():
			t.Errorf("workers of %s did not stop", l.Addr())
		}
	})
}

// frame is any server message; Data is filled for message events.
type frame struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	Stream         string `json:"stream"`
	Seq            int64  `json:"seq"`
	ConversationID string `json:"conversation_id"`
	Data           struct {
		ConversationID string `json:"conversation_id"`
		Text           string `json:"text"`
	} `json:"data"`
	raw []byte
}

// presenceFrame is a presence message.
type presenceFrame struct {
	Data struct {
		ConversationID string `json:"conversation_id"`
		Typing         []struct {
			UserID string `json:"user_id"`
			Name   string `json:"name"`
		} `json:"typing"`
	} `json:"data"`
}

// client is an agent's websocket that keeps every inbox event it read.
type client struct {
	name    string
	ws      *websocket.Conn
	events  []frame        // inbox stream events, in arrival order
	created map[string]int // message.created count by text
	other   []frame        // frames that are not inbox events
}

func dial(t *testing.T, gatewayURL, token string) *client {
	url := strings.Replace(gatewayURL, "http", "ws", 1) + "/ws"
	var ws *websocket.Conn
	var err error
	// The hub answers 503 until its Run has started.
	for deadline := time.Now().Add(10 * time.Second); ; {
		ws, _, err = websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &client{name: gatewayURL, ws: ws, created: map[string]int{}}
}

func (c *client) send(t *testing.T, m any) {
	t.Helper()
	if err := c.ws.WriteJSON(m); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
}

// read returns the next frame, recording inbox events.
func (c *client) read(t *testing.T, deadline time.Time) frame {
	t.Helper()
	_ = c.ws.SetReadDeadline(deadline)
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v (inbox events so far: %d, other frames: %d)", c.name, err, len(c.events), len(c.other))
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: frame %s: %v", c.name, data, err)
	}
	f.raw = data
	if f.Stream == "inbox" && f.Seq > 0 && f.Type != "subscribed" && f.Type != "reset" {
		c.events = append(c.events, f)
		if f.Type == "message.created" {
			c.created[f.Data.Text]++
		}
	} else {
		c.other = append(c.other, f)
	}
	return f
}

// subscribe subscribes to stream and returns the seq of the answer.
func (c *client) subscribe(t *testing.T, stream string) int64 {
	t.Helper()
	c.send(t, map[string]any{"type": "subscribe", "stream": stream})
	f := c.read(t, time.Now().Add(10*time.Second))
	if f.Type != "subscribed" || f.Stream != stream {
		t.Fatalf("%s: subscribe answered %s", c.name, f.raw)
	}
	return f.Seq
}

// waitMessage reads until the message.created of text.
func (c *client) waitMessage(t *testing.T, text string) frame {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f := c.read(t, deadline)
		if f.Type == "message.created" && f.Data.Text == text {
			return f
		}
		if f.Type == "reset" || f.Type == "error" {
			t.Fatalf("%s: unexpected %s", c.name, f.raw)
		}
	}
}

// waitPresence reads until a presence frame of conversation id with someone typing.
func (c *client) waitPresence(t *testing.T, id string) presenceFrame {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := c.read(t, deadline)
		if f.Type != "presence" {
			continue
		}
		var p presenceFrame
		if err := json.Unmarshal(f.raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Data.ConversationID == id && len(p.Data.Typing) > 0 {
			return p
		}
	}
}

// checkInboxSeqs fails unless the inbox events read so far have seqs that
// grow by exactly one.
func (c *client) checkInboxSeqs(t *testing.T) {
	t.Helper()
	for i := 1; i < len(c.events); i++ {
		if c.events[i].Seq != c.events[i-1].Seq+1 {
			t.Fatalf("%s: inbox seq %d (%s) followed by %d (%s)", c.name, c.events[i-1].Seq, c.events[i-1].Type, c.events[i].Seq, c.events[i].Type)
		}
	}
}

func postWebhook(t *testing.T, gatewayURL string, body []byte) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	req, err := http.NewRequest("POST", gatewayURL+"/webhooks/meta", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d %s", res.StatusCode, data)
	}
}

func call(t *testing.T, base, method, path, token string, body, out any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
