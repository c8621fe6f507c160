package service

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/crm/shopify"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// testClock hands out strictly increasing times, one second apart, so link
// times (which decide competing referrals) are distinct and known.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type env struct {
	t      testing.TB
	svc    *Service
	bus    *event.MemoryBus
	tokens *auth.Tokens
	h      http.Handler
	db     *mongo.Database
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, mongotest.DB(t))
}

// newEnvOn is newEnv on a given database (a benchmark's monitored client).
func newEnvOn(t testing.TB, db *mongo.Database) *env {
	t.Helper()
	tokens, err := auth.NewTokens("test-secret-0123456789abcdef", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bus := event.NewMemoryBus(10000)
	in := &boot.Infra{Log: logging.Discard(), Mongo: db.Client(), DB: db, Bus: bus, Tokens: tokens}
	cfg := Config{PublicURL: "https://crm.example.test", LeaseTTL: 30 * time.Second, LeaseLinger: 50 * time.Millisecond, WebhookBodyLimit: 1 << 20}
	cfg.BodyLimit = "1M"
	cfg.JWTSecret = "test-secret-0123456789abcdef"
	clk := &testClock{t: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	svc, err := NewWith(context.Background(), cfg, in, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, svc: svc, bus: bus, tokens: tokens, h: svc.Handler(), db: db}
}

func (e *env) token(ws string, role auth.Role) string {
	tok, _, err := e.tokens.Issue(auth.Principal{UserID: "u-" + string(role), WorkspaceID: ws, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call sends a JSON request as role in ws and decodes the answer into out (if non-nil).
func (e *env) call(ws string, role auth.Role, method, path string, body any, out any) int {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(ws, role))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %d, undecodable %q: %v", method, path, rec.Code, rec.Body.String(), err)
		}
	}
	return rec.Code
}

// must is call that fails the test unless the status is want.
func (e *env) must(want int, ws string, role auth.Role, method, path string, body any, out any) {
	e.t.Helper()
	var raw json.RawMessage
	got := e.call(ws, role, method, path, body, &raw)
	if got != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

// webhook posts a raw Shopify delivery.
func (e *env) webhook(id, topic, webhookID, secret string, body []byte) (int, string) {
	req := httptest.NewRequest("POST", "/webhooks/shopify/"+id, bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Webhook-Id", webhookID)
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(secret, body))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func fixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant re-serialises a fixture order with fields replaced.
func variant(t testing.TB, name string, fields map[string]any) []byte {
	var m map[string]any
	if err := json.Unmarshal(fixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Response shapes the tests read.
type valueOut struct {
	Currency        string  `json:"currency"`
	Direct          int64   `json:"direct"`
	Referral        int64   `json:"referral"`
	ReferralByLevel []int64 `json:"referral_by_level"`
	Total           int64   `json:"total"`
}

type contactOut struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Emails       []string        `json:"emails"`
	Tier         string          `json:"tier"`
	OrderCount   int             `json:"order_count"`
	Value        *valueOut       `json:"value"`
	ReferralCode string          `json:"referral_code"`
	ResolvedFrom string          `json:"resolved_from"`
	Members      []string        `json:"members"`
	Identities   []identityOut   `json:"identities"`
	ReferredBy   *briefOut       `json:"referred_by"`
	Referred     []briefOut      `json:"referred"`
	Orders       []orderOut      `json:"orders"`
	Trend        []trendOut      `json:"trend"`
	Conversation []convOut       `json:"conversations"`
	MergeHistory []auditOut      `json:"merge_history"`
	Influence    influenceOut    `json:"influence"`
	Referrals    referralsOut    `json:"referrals"`
	Attributes   map[string]any  `json:"attributes"`
	Custom       map[string]any  `json:"custom"`
	Raw          json.RawMessage `json:"-"`
}

type referralsOut struct {
	ReferredCount  []int `json:"referred_count"`
	ReferredBuyers []int `json:"referred_buyers"`
}

type identityOut struct {
	Platform, UserID, Handle, ContactID string
}

func (i *identityOut) UnmarshalJSON(b []byte) error {
	var m struct {
		Platform  string `json:"platform"`
		UserID    string `json:"user_id"`
		Handle    string `json:"handle"`
		ContactID string `json:"contact_id"`
	}
	err := json.Unmarshal(b, &m)
	*i = identityOut{m.Platform, m.UserID, m.Handle, m.ContactID}
	return err
}

type briefOut struct {
	ID    string    `json:"id"`
	Tier  string    `json:"tier"`
	Value *valueOut `json:"value"`
}

type orderOut struct {
	ExternalID    string    `json:"external_id"`
	ContactID     string    `json:"contact_id"`
	Currency      string    `json:"currency"`
	TotalMinor    int64     `json:"total_minor"`
	BaseMinor     int64     `json:"base_minor"`
	BaseCurrency  string    `json:"base_currency"`
	RefundedMinor int64     `json:"refunded_minor"`
	Rate          string    `json:"rate"`
	BookedAt      time.Time `json:"booked_at"`
}

type trendOut struct {
	Month   string `json:"month"`
	Net     int64  `json:"net_minor"`
	Running int64  `json:"cumulative_minor"`
}

type convOut struct {
	ConversationID string `json:"conversation_id"`
	ContactID      string `json:"contact_id"`
	Messages       int64  `json:"messages"`
}

type auditOut struct {
	Action, From, Into, Actor string
}

func (a *auditOut) UnmarshalJSON(b []byte) error {
	var m struct {
		Action string `json:"action"`
		From   string `json:"from"`
		Into   string `json:"into"`
		Actor  string `json:"actor"`
	}
	err := json.Unmarshal(b, &m)
	*a = auditOut{m.Action, m.From, m.Into, m.Actor}
	return err
}

type influenceOut struct {
	Comments int64 `json:"comments"`
	Mentions int64 `json:"mentions"`
	Shares   int64 `json:"shares"`
	Score    int64 `json:"score"`
}

type orderResult struct {
	Order      orderOut `json:"order"`
	Duplicate  bool     `json:"duplicate"`
	ContactID  string   `json:"contact_id"`
	Referral   string   `json:"referral"`
	ReferrerID string   `json:"referrer_id"`
}

func (e *env) contact(ws, id string) contactOut {
	e.t.Helper()
	var c contactOut
	e.must(200, ws, auth.RoleManager, "GET", "/api/v1/contacts/"+id, nil, &c)
	return c
}

func (e *env) order(ws, ext, email string, total int64, currency, code string) orderResult {
	e.t.Helper()
	var r orderResult
	body := map[string]any{"external_id": ext, "customer": map[string]any{"email": email, "name": "Buyer " + ext},
		"currency": currency, "total_minor": total, "referral_code": code}
	got := e.call(ws, auth.RoleIntegration, "POST", "/api/v1/orders", body, &r)
	if got != 201 && got != 200 {
		e.t.Fatalf("order %s: status %d", ext, got)
	}
	return r
}

func (e *env) code(ws, id string) string {
	e.t.Helper()
	var out struct {
		Code string `json:"referral_code"`
	}
	e.must(200, ws, auth.RoleAgent, "POST", "/api/v1/contacts/"+id+"/referral-code", nil, &out)
	return out.Code
}

// newContact creates a contact by email and returns its id.
func (e *env) newContact(ws, email string) string {
	e.t.Helper()
	var c contactOut
	e.must(201, ws, auth.RoleAgent, "POST", "/api/v1/contacts", map[string]any{"email": email, "name": email}, &c)
	return c.ID
}
