package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/redistest"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// harness is one inbox on its own database (and Redis key prefix), driven
// through its HTTP handler; workers are run explicitly with drain.
type harness struct {
	t      testing.TB
	cfg    Config
	svc    *Service
	db     *mongo.Database
	rdb    *redis.Client
	prefix string
	bus    event.Bus
	tokens *auth.Tokens
	worker *ingest.Worker
}

const publicURL = "https://inbox.example.test"

func defaultConfig(t testing.TB) Config {
	var cfg Config
	if err := config.LoadFrom(&cfg, nil, io.Discard, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = publicURL
	cfg.IngestLease = 300 * time.Millisecond
	cfg.ChannelCacheTTL = time.Minute
	return cfg
}

// newHarness builds an inbox; withRedis selects the Redis queue and bus, else
// the dev mode's Mongo queue and in-memory bus.
func newHarness(t testing.TB, withRedis bool, tweak func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, nil, withRedis, tweak)
}

// newHarnessOn is newHarness with the service on client (e.g. one with a
// command monitor); nil means the test server's shared client.
func newHarnessOn(t testing.TB, client *mongo.Client, withRedis bool, tweak func(*Config)) *harness {
	t.Helper()
	cfg := defaultConfig(t)
	if tweak != nil {
		tweak(&cfg)
	}
	db := mongotest.DB(t)
	if client != nil {
		db = client.Database(db.Name())
	} else {
		client = mongotest.Client(t)
	}
	tokens, err := auth.NewTokens("inbox-test-secret-0123456789", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, db: db, tokens: tokens}
	in := &boot.Infra{Log: logging.Discard(), Mongo: client, DB: db, Tokens: tokens}
	if withRedis {
		h.rdb, h.prefix = redistest.Client(t)
		cfg.RedisPrefix = h.prefix
		in.Redis = h.rdb
		in.Bus = event.NewRedisBus(h.rdb, event.RedisOptions{Prefix: h.prefix})
	} else {
		in.Bus = event.NewMemoryBus(100000)
	}
	h.cfg, h.bus = cfg, in.Bus
	h.svc, err = New(context.Background(), cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	h.worker = h.svc.NewWorker()
	return h
}

func (h *harness) token(ws string, role auth.Role) string {
	tok, _, err := h.tokens.Issue(auth.Principal{UserID: "u-" + string(role), WorkspaceID: ws, Role: role})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) do(method, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.svc.Handler().ServeHTTP(rec, req)
	return rec
}

type channelJSON struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Name          string         `json:"name"`
	Config        map[string]any `json:"config"`
	Secrets       []string       `json:"secrets"`
	WebhookURL    string         `json:"webhook_url"`
	WebhookSecret string         `json:"webhook_secret"`
}

// createChannel creates a channel as an admin of ws and returns it.
func (h *harness) createChannel(ws, typ string, cfg map[string]any) channelJSON {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"type": typ, "name": typ + " channel", "config": cfg})
	rec := h.do(http.MethodPost, "/api/v1/channels", body, map[string]string{"Authorization": "Bearer " + h.token(ws, auth.RoleAdmin)})
	if rec.Code != http.StatusCreated {
		h.t.Fatalf("create %s channel: %d %s", typ, rec.Code, rec.Body)
	}
	var ch channelJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &ch); err != nil {
		h.t.Fatal(err)
	}
	return ch
}

// drain stores everything queued.
func (h *harness) drain() int {
	h.t.Helper()
	return h.drainWithin(time.Minute)
}

func (h *harness) drainWithin(limit time.Duration) int {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	n, err := h.worker.Drain(ctx, 100*time.Millisecond)
	if err != nil {
		h.t.Fatalf("drain: %v", err)
	}
	return n
}

func (h *harness) count(coll string, filter bson.D) int64 {
	h.t.Helper()
	if filter == nil {
		filter = bson.D{}
	}
	n, err := h.db.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// snapshot counts the documents of every collection and the queued deliveries.
func (h *harness) snapshot() map[string]int64 {
	h.t.Helper()
	ctx := context.Background()
	names, err := h.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		out[n] = h.count(n, nil)
	}
	if h.rdb != nil {
		out["redis:inbound"] = h.rdb.XLen(ctx, h.prefix+"inbox:inbound").Val()
	}
	return out
}

// events returns the events of a workspace stream, oldest first.
func (h *harness) events(ws, stream string) []event.Event {
	h.t.Helper()
	evs, err := h.bus.History(context.Background(), ws, stream, 0, 100000)
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func countType(evs []event.Event, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (h *harness) message(ws, channelID, externalID string) conversation.Message {
	h.t.Helper()
	m, err := h.svc.Store.Message(context.Background(), ws, conversation.MessageID(channelID, externalID))
	if err != nil {
		h.t.Fatalf("message %s: %v", externalID, err)
	}
	return m
}

func (h *harness) conversation(ws, channelID string, kind conversation.Kind, thread string) conversation.Conversation {
	h.t.Helper()
	c, err := h.svc.Store.Conversation(context.Background(), ws, conversation.ConversationID(ws, channelID, kind, thread))
	if err != nil {
		h.t.Fatalf("conversation %s: %v", thread, err)
	}
	return c
}

func fixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func metaSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func xSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// postMeta posts a Meta body signed with secret.
func (h *harness) postMeta(body []byte, secret string) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, "/webhooks/meta", body, map[string]string{"X-Hub-Signature-256": metaSignature(secret, body)})
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
