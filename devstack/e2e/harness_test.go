package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	crm "github.com/communityinbox/crm/service"
	"github.com/communityinbox/devstack/stack"
	gateway "github.com/communityinbox/gateway/service"
	inbox "github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-1"
	waitFor       = 25 * time.Second
)

// env is a running stack and the fakes around it.
type env struct {
	t     *testing.T
	url   string
	graph *fakeGraph
	http  *http.Client
}

// defaults fills cfg with its declared defaults only, whatever the environment says.
func defaults(t *testing.T, cfg any) {
	t.Helper()
	if err := config.LoadFrom(cfg, nil, io.Discard, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
}

// startStack runs inbox, CRM and gateway on free ports over a fresh database
// and the in-memory bus; the inbox's Graph API calls go to a fake.
func startStack(t *testing.T) *env {
	t.Helper()
	db := mongotest.DB(t)
	graph := newFakeGraph(t)
	var base boot.Base
	var gw gateway.Config
	var ib inbox.Config
	var cr crm.Config
	for _, c := range []any{&base, &gw, &ib, &cr} {
		defaults(t, c)
	}
	base.MongoURI = mongotest.URI(t)
	base.MongoDB = db.Name()
	base.RedisURL = ""
	base.JWTSecret = "e2e-signing-key-0123456789abcdef"
	base.ShutdownTimeout = 5 * time.Second
	gw.AdminEmail, gw.AdminPassword, gw.WorkspaceName = adminEmail, adminPassword, "Acme Shoes"
	gw.LoginPerMinute = 1000
	pointInboxAt(&ib, graph.srv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	log := logging.New(os.Stderr, "e2e", "warn")
	st, err := stack.Start(ctx, log, stack.Config{Base: base, Gateway: gw, Inbox: ib, CRM: cr,
		GatewayAddr: "127.0.0.1:0", InboxAddr: "127.0.0.1:0", CRMAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := st.Wait(); err != nil {
			t.Errorf("stack stopped with: %v", err)
		}
	})
	return &env{t: t, url: st.GatewayURL, graph: graph, http: &http.Client{Timeout: 20 * time.Second}}
}

// call sends a JSON request through the gateway and decodes the JSON answer.
func (e *env) call(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	st, raw := e.raw(method, path, token, body, nil)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: %d, not JSON: %s", method, path, st, raw)
		}
	}
	return st, out
}

func (e *env) raw(method, path, token string, body any, hdr map[string]string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// must calls and fails the test unless the status is want.
func (e *env) must(want int, method, path, token string, body any) map[string]any {
	e.t.Helper()
	st, out := e.call(method, path, token, body)
	if st != want {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, st, want, out)
	}
	return out
}

func (e *env) login(email, password string) string {
	e.t.Helper()
	out := e.must(200, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password})
	return out["token"].(string)
}

// user creates a user as admin and returns its id.
func (e *env) user(admin, email, name, role, password string) string {
	e.t.Helper()
	out := e.must(201, "POST", "/api/v1/users", admin, map[string]string{"email": email, "name": name, "role": role, "password": password})
	return out["id"].(string)
}

// signMeta posts body to the Meta webhook signed with appSecret, as Facebook does.
func (e *env) signMeta(path, appSecret string, body []byte) (int, []byte) {
	e.t.Helper()
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return e.raw("POST", path, "", body, map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil))})
}

// graphCall is one request the inbox made to the Graph API.
type graphCall struct {
	Method, Path, Auth string
	Body               map[string]any
}

// fakeGraph answers the Graph API's send endpoints like Facebook does and
// records every call.
type fakeGraph struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []graphCall
	n     int
}

func newFakeGraph(t *testing.T) *fakeGraph {
	g := &fakeGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		g.mu.Lock()
		g.n++
		n := g.n
		g.calls = append(g.calls, graphCall{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
			rcpt, _ := body["recipient"].(map[string]any)
			_, _ = fmt.Fprintf(w, `{"recipient_id":%q,"message_id":"m_fake_%d"}`, rcpt["id"], n)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/comments"):
			_, _ = fmt.Fprintf(w, `{"id":"fake_comment_%d"}`, n)
		case r.Method == http.MethodGet:
			// Profile lookups: a name for whoever is asked about.
			_, _ = fmt.Fprintf(w, `{"id":%q,"name":"Dana Customer","first_name":"Dana","last_name":"Customer"}`, filepath.Base(r.URL.Path))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"unknown endpoint","type":"OAuthException","code":803}}`)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// all returns the calls so far.
func (g *fakeGraph) all() []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.calls...)
}

// waitCall waits for a recorded call that match accepts.
func (g *fakeGraph) waitCall(t *testing.T, what string, match func(graphCall) bool) graphCall {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		g.mu.Lock()
		for _, c := range g.calls {
			if match(c) {
				g.mu.Unlock()
				return c
			}
		}
		g.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t.Fatalf("the Graph API never received %s; calls: %+v", what, g.calls)
	return graphCall{}
}

// chromiumPath finds the browser; the test fails (never skips) without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM_BIN"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatalf("chromium is not installed: the console's browser tests need it. Run `scripts/install-deps.sh test` (make test does), or set CHROMIUM_BIN")
	return ""
}

// browser is one Chromium process; each tab gets a browser context of its
// own (separate storage), as if each user had their own browser.
type browser struct {
	t    *testing.T
	root context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("LANG=en_US.UTF-8", "TZ=UTC"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	// The first run starts the browser; it must not carry a timeout, or the
	// browser would die with it.
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, root: root}
}

// tab is one user's page.
type tab struct {
	t    *testing.T
	name string
	base string
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

func (b *browser) tab(name, base string, w, h int64) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	tb := &tab{t: b.t, name: name, base: base, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// Network errors are expected (optional endpoints answer 404);
			// exceptions and CSP refusals are bugs.
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") ||
				(m.Type == "error" && m.Source == "") {
				tb.mu.Lock()
				tb.errs = append(tb.errs, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	tb.do(chromedp.EmulateViewport(w, h))
	return tb
}

// do runs actions with a deadline.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v\n%s", tb.name, err, tb.state())
	}
}

// state describes the page for failure messages.
func (tb *tab) state() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ''`))
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return fmt.Sprintf("page %s\nconsole errors: %v\ntext:\n%s", loc, tb.errs, text)
}

// eval evaluates a JavaScript expression (promises are awaited).
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: eval %s: %v\n%s", tb.name, expr, err, tb.state())
	}
	return v
}

// poll waits until expr is truthy and returns its value.
func poll[T any](tb *tab, what, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitFor+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(waitFor), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("%s: waiting for %s: %v\n%s", tb.name, what, err, tb.state())
	}
	return v
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + path))
}

// login signs in through the form, the way a person does.
func (tb *tab) login(email, password string) {
	tb.t.Helper()
	tb.open("/login")
	tb.do(
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS(".login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".topbar")),
	)
}

// press types one key the way a keyboard does: a keyDown that carries the
// key's text, then a keyUp. chromedp's KeyEvent sends the text as a separate
// "char" event, which Chromium delivers even when the page cancelled the
// keydown, something no physical keyboard does.
func press(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range keys {
			var down, up input.DispatchKeyEventParams
			for _, k := range kb.Encode(r) {
				switch k.Type {
				case input.DispatchKeyEventTypeKeyDown:
					down = *k
				case input.DispatchKeyEventTypeChar:
					down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
				case input.DispatchKeyEventTypeKeyUp:
					up = *k
				}
			}
			for _, ev := range []input.DispatchKeyEventParams{down, up} {
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// resize changes the viewport.
func (tb *tab) resize(w, h int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(w, h))
}

// screenshot writes the viewport to screenshots/<name>.png at the repository root.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitFor)
	defer cancel()
	// Let charts and fonts settle.
	_ = chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("%s: screenshot %s: %v", tb.name, name, err)
	}
	dir := screenshotDir(tb.t)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// consoleErrors fails the test if the page logged an exception or a CSP refusal.
func (tb *tab) consoleErrors() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errs {
		tb.t.Errorf("%s: browser console: %s", tb.name, e)
	}
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.work) not found")
		}
		dir = parent
	}
	out := filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}
