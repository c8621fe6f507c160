package latency

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
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	crm "github.com/communityinbox/crm/service"
	"github.com/communityinbox/devstack/stack"
	gateway "github.com/communityinbox/gateway/service"
	inbox "github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/boot"
	"github.com/communityinbox/shared/config"
	"github.com/communityinbox/shared/logging"
	"github.com/communityinbox/shared/mongotest"
	"github.com/communityinbox/shared/redistest"
	"github.com/gorilla/websocket"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

const appSecret = "bench-app-secret"

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkWebhookToSocket sends signed Messenger webhooks at a fixed rate
// (LATENCY_RATE, default 1000/s, for LATENCY_SECONDS, default 5) through the
// gateway while LATENCY_AGENTS (default 1000) agents hold websockets subscribed
// to the inbox, and reports the webhook → socket latency over every delivery.
// The bus is a real redis-server; the store is FerretDB (PostgreSQL backend
// under `make bench`).
func BenchmarkWebhookToSocket(b *testing.B) {
	rate, seconds, agents := envInt("LATENCY_RATE", 1000), envInt("LATENCY_SECONDS", 5), envInt("LATENCY_AGENTS", 1000)
	raiseFileLimit(b)
	st, token := startStack(b)

	var created map[string]any
	call(b, st.GatewayURL, "POST", "/api/v1/channels", token, map[string]any{"type": "facebook", "name": "Page",
		"config": map[string]string{"page_id": "777", "app_secret": appSecret, "verify_token": "v", "access_token": "t"}}, &created)

	var mu sync.Mutex
	var lat []time.Duration
	var delivered, disconnected atomic.Int64
	var closing atomic.Bool
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	wsURL := strings.Replace(st.GatewayURL, "http", "ws", 1) + "/ws"
	conns := make([]*websocket.Conn, 0, agents)
	for i := 0; i < agents; i++ {
		c, _, err := dialer.Dial(wsURL, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		if err := c.WriteJSON(map[string]any{"type": "subscribe", "stream": "inbox"}); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		go func() {
			local := make([]time.Duration, 0, rate*seconds)
			defer func() { mu.Lock(); lat = append(lat, local...); mu.Unlock() }()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					if !closing.Load() {
						disconnected.Add(1) // the server closed it: a slow consumer
					}
					return
				}
				now := time.Now()
				// The agents share the two cores with the whole stack, so
				// they pick the send time out of the frame without decoding
				// all of it: a browser decodes on its own machine.
				ns, ok := sentAt(msg)
				if !ok {
					continue
				}
				local = append(local, now.Sub(time.Unix(0, ns)))
				delivered.Add(1)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // subscriptions answered

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	// Warm-up, not measured: LATENCY_WARMUP (default 100) webhooks from
	// other customers, 10 ms apart, then 2 s of quiet, as a running inbox
	// has served before. Without it the first two seconds of a stack just
	// started (0.3-0.9 s each webhook) made the p99 at 100/s 0.7-1 s.
	for i := range envInt("LATENCY_WARMUP", 100) {
		body := fmt.Appendf(nil, `{"object":"page","entry":[{"id":"777","time":1,"messaging":[{"sender":{"id":"warm%d"},"recipient":{"id":"777"},"timestamp":1,"message":{"mid":"m_warm_%d","text":"warm-up"}}]}]}`, i, i)
		if !post(client, st.GatewayURL, body) {
			b.Fatalf("warm-up webhook %d failed", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	total := rate * seconds
	var acked, failed atomic.Int64
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if post(client, st.GatewayURL, messengerBody(i, time.Now())) {
				acked.Add(1)
			} else {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	sendDur := time.Since(start)
	want := int64(total) * int64(agents)
	deadline := time.Now().Add(60 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	closing.Store(true)
	for _, c := range conns {
		_ = c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p int) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[(len(lat)*p-1)/100].Microseconds()) / 1000
	}
	b.ReportMetric(float64(acked.Load())/sendDur.Seconds(), "webhooks/s")
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(float64(len(lat))/float64(want)*100, "%delivered")
	b.ReportMetric(pct(50), "p50_ms")
	b.ReportMetric(pct(99), "p99_ms")
	b.ReportMetric(float64(agents), "agents")
	b.ReportMetric(float64(disconnected.Load()), "disconnected")
}

var (
	createdType = []byte(`"type":"message.created"`)
	textMark    = []byte(`"text":"t=`)
)

// sentAt returns the send time a message.created frame of the benchmark
// carries in its text ("t=<unix ns>").
func sentAt(frame []byte) (int64, bool) {
	if !bytes.Contains(frame, createdType) {
		return 0, false
	}
	i := bytes.Index(frame, textMark)
	if i < 0 {
		return 0, false
	}
	rest := frame[i+len(textMark):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return ns, err == nil
}

// post sends a signed Meta webhook through the gateway and says whether it
// was acknowledged.
func post(client *http.Client, gateway string, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	req, _ := http.NewRequest("POST", gateway+"/webhooks/meta", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// messengerBody is a Messenger text webhook from one of 200 customers whose text
// carries the send time.
func messengerBody(i int, sent time.Time) []byte {
	ms := sent.UnixMilli()
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":"777","time":%d,"messaging":[{"sender":{"id":"cust%d"},"recipient":{"id":"777"},"timestamp":%d,"message":{"mid":"m_bench_%d_%d","text":"t=%d"}}]}]}`,
		ms, i%200, ms, sent.UnixNano(), i, sent.UnixNano()))
}

func startStack(b *testing.B) (*stack.Stack, string) {
	b.Helper()
	db := mongotest.DB(b)
	rdb, prefix := redistest.Client(b)
	var base boot.Base
	var gw gateway.Config
	var ib inbox.Config
	var cr crm.Config
	for _, c := range []any{&base, &gw, &ib, &cr} {
		if err := config.LoadFrom(c, nil, io.Discard, func(string) (string, bool) { return "", false }); err != nil {
			b.Fatal(err)
		}
	}
	ib.IngestMaxBatch = envInt("LATENCY_MAX_BATCH", ib.IngestMaxBatch)
	base.MongoURI, base.MongoDB = mongotest.URI(b), db.Name()
	base.RedisURL, base.RedisPrefix = "redis://"+rdb.Options().Addr+"/0", prefix
	base.JWTSecret = "bench-signing-key-0123456789abcdef"
	base.TokenTTL = time.Hour
	gw.AdminEmail, gw.AdminPassword, gw.LoginPerMinute = "admin@example.com", "admin-password", 1000
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Start(ctx, logging.New(os.Stderr, "bench", "warn"), stack.Config{Base: base, Gateway: gw, Inbox: ib, CRM: cr,
		GatewayAddr: "127.0.0.1:0", InboxAddr: "127.0.0.1:0", CRMAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = st.Wait() })
	var out map[string]any
	call(b, st.GatewayURL, "POST", "/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "admin-password"}, &out)
	return st, out["token"].(string)
}

func call(b *testing.B, base, method, path, token string, body any, out any) {
	b.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
}

func raiseFileLimit(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
