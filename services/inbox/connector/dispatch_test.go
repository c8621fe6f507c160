package connector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sleeps records the Dispatcher's waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// halfJitter makes the jitter deterministic: Backoff(n) = 0.75 · base·2^(n-1).
func halfJitter() float64 { return 0.5 }

func newDispatcher(s Sender, l Ledger, rec *sleeps) *Dispatcher {
	return &Dispatcher{Sender: s, Ledger: l, Sleep: rec.sleep,
		Policy: RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: time.Minute, Rand: halfJitter}}
}

var fbComment = Outbound{Platform: Facebook, Kind: KindComment, Credentials: Credentials{AccessToken: pageToken}, ReplyTo: "1_2", Text: "hello", IdempotencyKey: "msg-1"}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	p.Rand = func() float64 { return 0 }
	var lows []time.Duration
	for n := 1; n <= 6; n++ {
		lows = append(lows, p.Backoff(n))
	}
	want := []time.Duration{50, 100, 200, 400, 500, 500}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(lows, want) {
		t.Fatalf("lower bounds %v, want %v", lows, want)
	}
	p.Rand = func() float64 { return 0.999999 }
	if got := p.Backoff(3); got < 399*time.Millisecond || got > 400*time.Millisecond {
		t.Fatalf("upper bound of third backoff %v", got)
	}
}

func TestDispatcherRetries5xxThenSucceeds(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(*graphErr(500, 2, 0, "An unexpected error has occurred. Please retry your request later."),
		*graphErr(500, 1, 0, "An unknown error occurred"))
	rec := &sleeps{}
	l := NewMemoryLedger()
	res, err := newDispatcher(NewFacebook(g.config()), l, rec).Send(context.Background(), fbComment)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExternalID != "1_2_r3" || g.hits() != 3 {
		t.Fatalf("result %q after %d calls", res.ExternalID, g.hits())
	}
	if want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}; !reflect.DeepEqual(rec.got(), want) {
		t.Fatalf("waits %v, want %v", rec.got(), want)
	}
	a, _ := l.Get("msg-1")
	if a.State != StateSent || a.ExternalID != "1_2_r3" || a.Tries != 3 {
		t.Fatalf("ledger %+v", a)
	}
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(reply{status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"is_transient":true}}`})
	rec := &sleeps{}
	if _, err := newDispatcher(NewFacebook(g.config()), nil, rec).Send(context.Background(), fbComment); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{3 * time.Second}; !reflect.DeepEqual(rec.got(), want) || g.hits() != 2 {
		t.Fatalf("waits %v after %d calls", rec.got(), g.hits())
	}
}

func TestDispatcherXRateLimitReset(t *testing.T) {
	x := newX(t, "tok")
	reset := time.Now().Add(40 * time.Second).Unix()
	x.then(reply{status: 429, header: map[string]string{"x-rate-limit-reset": strconv.FormatInt(reset, 10)}, body: `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`})
	rec := &sleeps{}
	out := Outbound{Platform: X, Kind: KindDM, Credentials: Credentials{AccessToken: "tok"}, Recipient: "99", Text: "hi"}
	if _, err := newDispatcher(NewX(x.config()), nil, rec).Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	w := rec.got()
	if len(w) != 1 || w[0] < 38*time.Second || w[0] > 40*time.Second {
		t.Fatalf("waits %v, want ≈40s from x-rate-limit-reset", w)
	}
}

func TestDispatcherGivesUpOnLongRetryAfter(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(reply{status: 429, header: map[string]string{"Retry-After": "3600"}, body: `{}`})
	rec := &sleeps{}
	l := NewMemoryLedger()
	_, err := newDispatcher(NewFacebook(g.config()), l, rec).Send(context.Background(), fbComment)
	var e *Error
	if !errors.As(err, &e) || e.Class != Retryable || e.RetryAfter != time.Hour {
		t.Fatalf("want retryable error with 1h Retry-After, got %v", err)
	}
	if len(rec.got()) != 0 || g.hits() != 1 {
		t.Fatalf("slept %v, %d calls", rec.got(), g.hits())
	}
	// Nothing was posted: the job queue may claim the key again later.
	if a, _ := l.Get("msg-1"); a.State != StateFailed {
		t.Fatalf("ledger %+v", a)
	}
	if _, err := newDispatcher(NewFacebook(g.config()), l, rec).Send(context.Background(), fbComment); err != nil || g.hits() != 2 {
		t.Fatalf("resend after failure: %v (%d calls)", err, g.hits())
	}
}

func TestDispatcherStopsOnPermanent(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(*graphErr(400, 100, 33, "Unsupported post request. Object with ID '1_2' does not exist"))
	rec := &sleeps{}
	_, err := newDispatcher(NewFacebook(g.config()), NewMemoryLedger(), rec).Send(context.Background(), fbComment)
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
	if g.hits() != 1 || len(rec.got()) != 0 {
		t.Fatalf("%d calls, waits %v", g.hits(), rec.got())
	}
}

func TestDispatcherMaxAttempts(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	for range 5 {
		g.then(reply{status: 503, body: ``})
	}
	rec := &sleeps{}
	_, err := newDispatcher(NewFacebook(g.config()), nil, rec).Send(context.Background(), fbComment)
	if !errors.Is(err, ErrRetryable) || g.hits() != 4 || len(rec.got()) != 3 {
		t.Fatalf("err %v after %d calls and %d waits", err, g.hits(), len(rec.got()))
	}
}

// TestDispatcherNeverResendsAfterTimeout: the platform got the request but
// answered too late. Resending could double-post, so the key is parked as
// ambiguous and even a later Send with the same key makes no call.
func TestDispatcherNeverResendsAfterTimeout(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(reply{status: 200, body: `{"id":"1_2_late"}`, delay: 2 * time.Second})
	cfg := g.config()
	cfg.HTTP = &http.Client{Timeout: 100 * time.Millisecond}
	l := NewMemoryLedger()
	rec := &sleeps{}
	d := newDispatcher(NewFacebook(cfg), l, rec)
	_, err := d.Send(context.Background(), fbComment)
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("want ambiguous, got %v", err)
	}
	if g.hits() != 1 || len(rec.got()) != 0 {
		t.Fatalf("%d calls, waits %v", g.hits(), rec.got())
	}
	if a, _ := l.Get("msg-1"); a.State != StateAmbiguous || a.Tries != 1 {
		t.Fatalf("ledger %+v", a)
	}
	_, err = d.Send(context.Background(), fbComment)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "settle it before sending again") || g.hits() != 1 {
		t.Fatalf("second send: %v (%d calls)", err, g.hits())
	}
	// The echo webhook shows the comment was posted: the service settles the key.
	if err := l.Finish(context.Background(), Attempt{Key: "msg-1", State: StateSent, ExternalID: "1_2_late"}); err != nil {
		t.Fatal(err)
	}
	res, err := d.Send(context.Background(), fbComment)
	if err != nil || res.ExternalID != "1_2_late" || g.hits() != 1 {
		t.Fatalf("after settling: %v %q (%d calls)", err, res.ExternalID, g.hits())
	}
}

func TestDispatcherSentKeyIsNotPostedTwice(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	l := NewMemoryLedger()
	d := newDispatcher(NewFacebook(g.config()), l, &sleeps{})
	first, err := d.Send(context.Background(), fbComment)
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.Send(context.Background(), fbComment)
	if err != nil || second != first || g.hits() != 1 {
		t.Fatalf("second send %v %v, %d calls", second, err, g.hits())
	}
	other := fbComment
	other.IdempotencyKey = "msg-2"
	if _, err := d.Send(context.Background(), other); err != nil || g.hits() != 2 {
		t.Fatalf("new key: %v (%d calls)", err, g.hits())
	}
}

// TestDispatcherConcurrentSameKey: two workers picking up the same job post
// once; the loser is told a send is in flight.
func TestDispatcherConcurrentSameKey(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(reply{status: 200, body: `{"id":"1_2_once"}`, delay: 200 * time.Millisecond})
	d := newDispatcher(NewFacebook(g.config()), NewMemoryLedger(), &sleeps{})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = d.Send(context.Background(), fbComment) })
	}
	wg.Wait()
	var ok, inFlight int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrInFlight):
			inFlight++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if g.hits() != 1 || ok+inFlight != 8 || ok < 1 {
		t.Fatalf("%d calls, %d ok, %d in flight", g.hits(), ok, inFlight)
	}
}

func TestDispatcherRetriesConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens: the request never leaves
	rec := &sleeps{}
	l := NewMemoryLedger()
	d := newDispatcher(NewFacebook(Config{BaseURL: base}), l, rec)
	_, err := d.Send(context.Background(), fbComment)
	if !errors.Is(err, ErrRetryable) || len(rec.got()) != 3 {
		t.Fatalf("err %v, waits %v", err, rec.got())
	}
	if a, _ := l.Get("msg-1"); a.State != StateFailed || a.Tries != 4 {
		t.Fatalf("ledger %+v", a)
	}
}

func TestDispatcherCancelledWhileWaiting(t *testing.T) {
	g := newGraph(t, pageToken, waPhone)
	g.then(reply{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	l := NewMemoryLedger()
	d := &Dispatcher{Sender: NewFacebook(g.config()), Ledger: l, Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}}
	_, err := d.Send(ctx, fbComment)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRetryable) {
		t.Fatalf("got %v", err)
	}
	// Recorded despite the cancelled context, and re-claimable.
	if a, _ := l.Get("msg-1"); a.State != StateFailed {
		t.Fatalf("ledger %+v", a)
	}
}

func TestTelegramTokenNeverInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // drop the connection mid-request
	}))
	defer srv.Close()
	_, err := NewTelegram(Config{BaseURL: srv.URL}).Send(context.Background(),
		Outbound{Kind: KindDM, Credentials: Credentials{BotToken: "123456:SECRET-token"}, Recipient: "1", Text: "x"})
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("dropped connection should be ambiguous: %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("token leaked or not redacted: %v", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"soon":                          0,
		"Sun, 01 Mar 2026 12:00:30 GMT": 30 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

// TestDispatcherRetriesStructured5xx: a 5xx in the platform's own error
// format is the API saying it failed, not a gateway losing our request.
func TestDispatcherRetriesStructured5xx(t *testing.T) {
	tg := newTelegram(t, "1:t")
	tg.then(*tgErr(500, "Internal Server Error"))
	rec := &sleeps{}
	res, err := newDispatcher(NewTelegram(tg.config()), nil, rec).Send(context.Background(),
		Outbound{Platform: Telegram, Kind: KindDM, Credentials: Credentials{BotToken: "1:t"}, Recipient: "42", Text: "x"})
	if err != nil || res.ExternalID != "42:502" || tg.hits() != 2 || len(rec.got()) != 1 {
		t.Fatalf("%v %q after %d calls", err, res.ExternalID, tg.hits())
	}
}
