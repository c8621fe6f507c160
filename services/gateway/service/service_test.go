package service

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/communityinbox/gateway/account"
	"github.com/communityinbox/gateway/accountstore"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/event"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	infra    *boot.Infra
	upstream *httptest.Server
	seen     chan *http.Request
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := mongotest.DB(t)
	tokens, _ := auth.NewTokens("test-signing-key-0123456789", 15*time.Minute)
	in := &boot.Infra{Log: logging.Discard(), Mongo: db.Client(), DB: db, Bus: event.NewMemoryBus(100), Tokens: tokens}
	f := &fixture{t: t, infra: in, seen: make(chan *http.Request, 10)}
	// upstream stands in for the inbox service only to observe what the proxy forwards.
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.seen <- r.Clone(context.Background())
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(f.upstream.Close)
	cfg := Config{AdminEmail: "admin@example.com", AdminPassword: "admin-password", WorkspaceName: "Acme",
		LoginPerMinute: 10, InboxURL: f.upstream.URL, CRMURL: f.upstream.URL}
	cfg.BodyLimit = "1M"
	svc, err := New(context.Background(), cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) call(method, path, token string, body any) (int, map[string]any) {
	f.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (f *fixture) login(email, pw string) string {
	f.t.Helper()
	st, out := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": pw})
	if st != 200 {
		f.t.Fatalf("login %s: %d %v", email, st, out)
	}
	return out["token"].(string)
}

func TestLoginAndMe(t *testing.T) {
	f := newFixture(t)
	st, out := f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "wrong-password"})
	if st != 401 || out["error"].(map[string]any)["code"] != "unauthorized" {
		t.Fatalf("wrong password: %d %v", st, out)
	}
	st, _ = f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "whatever1"})
	if st != 401 {
		t.Fatalf("unknown email: %d", st)
	}
	tok := f.login("Admin@Example.com", "admin-password")
	st, out = f.call("GET", "/api/v1/me", tok, nil)
	if st != 200 {
		t.Fatalf("me: %d %v", st, out)
	}
	user := out["user"].(map[string]any)
	ws := out["workspace"].(map[string]any)
	if user["email"] != "admin@example.com" || user["role"] != "admin" || ws["name"] != "Acme" || user["workspace_id"] != ws["id"] {
		t.Fatalf("me body: %v", out)
	}
	if _, ok := user["password_hash"]; ok {
		t.Fatal("password hash leaked")
	}
}

func TestBootstrapRunsOnce(t *testing.T) {
	f := newFixture(t)
	store := accountstore.New(f.infra.DB)
	core := account.NewCore(store, f.infra.Tokens)
	created, err := core.Bootstrap(context.Background(), "Other", "second@example.com", "password-2")
	if err != nil || created {
		t.Fatalf("second bootstrap created=%v err=%v", created, err)
	}
	if n, _ := store.CountWorkspaces(context.Background()); n != 1 {
		t.Fatalf("workspaces = %d", n)
	}
}

func TestTokensRejected(t *testing.T) {
	f := newFixture(t)
	other, _ := auth.NewTokens("some-other-key-0123456789", time.Minute)
	forged, _, _ := other.Issue(auth.Principal{UserID: "x", WorkspaceID: "y", Role: auth.RoleAdmin})
	expired, _, _ := f.infra.Tokens.IssueFor(auth.Principal{UserID: "x", WorkspaceID: "y", Role: auth.RoleAdmin}, -time.Minute)
	for name, tok := range map[string]string{"none": "", "forged": forged, "expired": expired, "garbage": "abc.def.ghi"} {
		if st, _ := f.call("GET", "/api/v1/me", tok, nil); st != 401 {
			t.Errorf("%s token: status %d", name, st)
		}
	}
}

func TestRolesAndTenantIsolation(t *testing.T) {
	f := newFixture(t)
	admin := f.login("admin@example.com", "admin-password")
	st, out := f.call("POST", "/api/v1/users", admin, map[string]string{"email": "agent@example.com", "name": "Ann", "role": "agent", "password": "agent-password"})
	if st != 201 || out["role"] != "agent" {
		t.Fatalf("create agent: %d %v", st, out)
	}
	if st, _ := f.call("POST", "/api/v1/users", admin, map[string]string{"email": "agent@example.com", "role": "agent", "password": "agent-password"}); st != 409 {
		t.Fatalf("duplicate email: %d", st)
	}
	if st, _ := f.call("POST", "/api/v1/users", admin, map[string]string{"email": "x@example.com", "role": "root", "password": "agent-password"}); st != 400 {
		t.Fatalf("bad role: %d", st)
	}
	agent := f.login("agent@example.com", "agent-password")
	if st, _ := f.call("POST", "/api/v1/users", agent, map[string]string{"email": "y@example.com", "role": "admin", "password": "password-y"}); st != 403 {
		t.Fatalf("agent created a user: %d", st)
	}

	// A second workspace with its own admin.
	core := account.NewCore(accountstore.New(f.infra.DB), f.infra.Tokens)
	wsB, err := core.CreateWorkspace(context.Background(), "Beta")
	if err != nil {
		t.Fatal(err)
	}
	userB, err := core.CreateUser(context.Background(), wsB.ID, account.NewUser{Email: "b@example.com", Role: auth.RoleAdmin, Password: "password-b"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.call("GET", "/api/v1/users/"+userB.ID, admin, nil); st != 404 {
		t.Fatalf("cross-workspace user read: %d", st)
	}
	if st, _ := f.call("PATCH", "/api/v1/users/"+userB.ID, admin, map[string]any{"name": "hijack"}); st != 404 {
		t.Fatalf("cross-workspace user update: %d", st)
	}
	st, out = f.call("GET", "/api/v1/users", admin, nil)
	if st != 200 || len(out["users"].([]any)) != 2 {
		t.Fatalf("users list leaks or misses: %v", out)
	}
}

func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t)
	var last int
	for i := 0; i < 8; i++ {
		last, _ = f.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "wrong-password"})
	}
	if last != 429 {
		t.Fatalf("8 rapid failures: last status %d, want 429", last)
	}
}

func TestProxySwapsAPIKeyForToken(t *testing.T) {
	f := newFixture(t)
	admin := f.login("admin@example.com", "admin-password")
	st, out := f.call("POST", "/api/v1/api-keys", admin, map[string]string{"name": "shop"})
	if st != 201 {
		t.Fatalf("create key: %d %v", st, out)
	}
	key := out["key"].(string)
	st, _ = f.call("POST", "/api/v1/orders", key, map[string]string{"external_id": "1"})
	if st != http.StatusTeapot {
		t.Fatalf("proxied status %d", st)
	}
	r := <-f.seen
	if r.URL.Path != "/api/v1/orders" {
		t.Fatalf("path %s", r.URL.Path)
	}
	tok := r.Header.Get("Authorization")[len("Bearer "):]
	p, err := f.infra.Tokens.Verify(tok)
	if err != nil || p.Role != auth.RoleIntegration || p.WorkspaceID == "" {
		t.Fatalf("forwarded principal %+v %v", p, err)
	}
	if st, _ := f.call("POST", "/api/v1/orders", "cik_not-a-real-key", nil); st != 401 {
		t.Fatalf("bad key: %d", st)
	}
	if st, _ := f.call("GET", "/api/v1/api-keys", admin, nil); st != 200 {
		t.Fatalf("list keys %d", st)
	}
}
