package youtube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/inbox/webhook"
	"github.com/communityinbox/shared/logging"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "youtube", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeYouTube serves commentThreads.list from the fixtures: page 1 carries a
// nextPageToken leading to page 2. It checks the key and the parameters.
type fakeYouTube struct {
	t        *testing.T
	mu       sync.Mutex
	requests []string // "target page-token"
	fail     func() (int, string)
	page1    []byte
	page2    []byte
}

func newFake(t *testing.T) (*fakeYouTube, *httptest.Server) {
	f := &fakeYouTube{t: t, page1: fixture(t, "commentThreads_list_by_video_page1.json"), page2: fixture(t, "commentThreads_list_with_replies.json")}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

const page2Token = "QURTSl9pMzdZOUVzMkI0czlmRmNjSVBPcTBTdzVzajUydDVnbE5SNElWS0l5WU12amYweVotdzF5c1hTNmxzUmVIcEZXbmVEVFMzNVJmWk82TVVwUlB2LWh5aUpOQlA5TGQzTWZEcHlTeTd2dlNGRUFZaVF0cmtJd01BTHlnOG0="

func (f *fakeYouTube) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path != "/youtube/v3/commentThreads" || q.Get("part") != "snippet,replies" || q.Get("maxResults") != "100" ||
		q.Get("order") != "time" || q.Get("textFormat") != "plainText" {
		f.t.Errorf("unexpected request %s", r.URL)
		http.Error(w, "bad request", 400)
		return
	}
	if q.Get("key") != "test-key" {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"code":400,"message":"API key not valid.","errors":[{"reason":"badRequest"}],"details":[{"reason":"API_KEY_INVALID"}]}}`)
		return
	}
	target := "channel:" + q.Get("allThreadsRelatedToChannelId")
	if v := q.Get("videoId"); v != "" {
		target = "video:" + v
	}
	f.mu.Lock()
	f.requests = append(f.requests, target+" "+q.Get("pageToken"))
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if code, body := fail(); code != 0 {
			w.WriteHeader(code)
			fmt.Fprint(w, body)
			return
		}
	}
	switch q.Get("pageToken") {
	case "":
		w.Write(f.page1)
	case page2Token:
		w.Write(f.page2)
	default:
		http.Error(w, "unknown page", 400)
	}
}

func (f *fakeYouTube) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

// memorySink stores comments in memory: Created counts comments not seen before.
type memorySink struct {
	mu     sync.Mutex
	seen   map[string]bool
	events []webhook.Event
}

func (s *memorySink) Ingest(_ context.Context, _ channel.Channel, evs []webhook.Event, _ time.Time) (ingest.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r ingest.Result
	for _, e := range evs {
		s.events = append(s.events, e)
		if e.Action == webhook.ActionMessage && !s.seen[e.ExternalID] {
			s.seen[e.ExternalID] = true
			r.Created++
		}
	}
	return r, nil
}

type channels []channel.Channel

func (c channels) OfType(context.Context, channel.Type) ([]channel.Channel, error) { return c, nil }

func ytChannel(id string, videos ...string) channel.Channel {
	return channel.Channel{ID: id, Type: channel.YouTube, Config: channel.Config{ChannelID: "UC5VgEt3Na1zZDJo-PBa86Rg", VideoIDs: videos},
		Secrets: channel.Secrets{APIKey: "test-key"}}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newPoller(srv *httptest.Server, chs channels, sink Sink, clk *clock) *Poller {
	p := NewPoller(chs, sink, Options{BaseURL: srv.URL + "/youtube/v3", Interval: time.Minute, DailyQuota: 10000, MaxPages: 5}, logging.Discard())
	p.now = clk.now
	return p
}

func TestPollPagesUntilNothingIsNew(t *testing.T) {
	f, srv := newFake(t)
	sink := &memorySink{seen: map[string]bool{}}
	clk := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	p := newPoller(srv, channels{ytChannel("c1")}, sink, clk)
	ctx := context.Background()

	calls, err := p.PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.take()
	want := []string{"channel:UC5VgEt3Na1zZDJo-PBa86Rg ", "channel:UC5VgEt3Na1zZDJo-PBa86Rg " + page2Token}
	if calls != 2 || strings.Join(reqs, "|") != strings.Join(want, "|") {
		t.Fatalf("first poll: %d calls %q", calls, reqs)
	}
	if got := len(sink.seen); got != 5+13 {
		t.Fatalf("%d comments stored, want 18", got)
	}
	// Page 1 now holds only known comments: one call, no paging.
	calls, _ = p.PollOnce(ctx)
	if reqs := f.take(); calls != 1 || len(reqs) != 1 {
		t.Fatalf("second poll: %d calls %q", calls, reqs)
	}
	// The by-video page omits the channel: its events are filled in.
	for _, e := range sink.events {
		if e.AccountID != "UC5VgEt3Na1zZDJo-PBa86Rg" {
			t.Fatalf("event without account: %+v", e)
		}
	}
	if d := p.NextInterval(); d != time.Minute {
		t.Fatalf("next interval %v", d)
	}
}

func TestPollVideos(t *testing.T) {
	f, srv := newFake(t)
	p := newPoller(srv, channels{ytChannel("c1", "F1UP7wRCPH8", "ZxDp8Yz133c")}, &memorySink{seen: map[string]bool{}}, &clock{t: time.Now()})
	if _, err := p.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.take()
	if len(reqs) != 3 || reqs[0] != "video:F1UP7wRCPH8 " || reqs[2] != "video:ZxDp8Yz133c " {
		t.Fatalf("requests %q", reqs)
	}
}

func TestQuotaExceededPausesUntilMidnightPacific(t *testing.T) {
	f, srv := newFake(t)
	f.fail = func() (int, string) {
		return 403, `{"error":{"code":403,"message":"The request cannot be completed because you have exceeded your quota.","errors":[{"message":"quota","domain":"youtube.quota","reason":"quotaExceeded"}]}}`
	}
	// 20:00 UTC on 1 May 2024 is 13:00 in Los Angeles (PDT): 11 hours to the reset.
	clk := &clock{t: time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC)}
	p := newPoller(srv, channels{ytChannel("c1"), ytChannel("c2")}, &memorySink{seen: map[string]bool{}}, clk)
	calls, _ := p.PollOnce(context.Background())
	if calls != 1 || len(f.take()) != 1 {
		t.Fatalf("poll went on after quotaExceeded: %d calls", calls)
	}
	if d := p.NextInterval(); d != 11*time.Hour {
		t.Fatalf("paused for %v, want 11h", d)
	}
	clk.add(10 * time.Hour)
	if calls, _ := p.PollOnce(context.Background()); calls != 0 {
		t.Fatalf("polled while paused: %d", calls)
	}
	f.fail = nil
	clk.add(time.Hour)
	if calls, _ := p.PollOnce(context.Background()); calls == 0 {
		t.Fatal("did not resume after the reset")
	}
}

func TestServerErrorsBackOffPerChannel(t *testing.T) {
	f, srv := newFake(t)
	failing := true
	f.fail = func() (int, string) {
		if failing {
			return 503, `{"error":{"code":503,"message":"backend error","errors":[{"reason":"backendError"}]}}`
		}
		return 0, ""
	}
	clk := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	p := newPoller(srv, channels{ytChannel("c1")}, &memorySink{seen: map[string]bool{}}, clk)
	ctx := context.Background()
	for i, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		if calls, _ := p.PollOnce(ctx); calls != 1 {
			t.Fatalf("failure %d: %d calls", i, calls)
		}
		clk.add(wait - time.Second)
		if calls, _ := p.PollOnce(ctx); calls != 0 {
			t.Fatalf("failure %d: polled during a %v backoff", i, wait)
		}
		clk.add(time.Second)
	}
	failing = false
	if calls, _ := p.PollOnce(ctx); calls != 2 {
		t.Fatalf("after recovery: %d calls", calls)
	}
	// A refusal (bad key) leaves the channel alone for an hour.
	bad := ytChannel("c2")
	bad.Secrets.APIKey = "wrong"
	p2 := newPoller(srv, channels{bad}, &memorySink{seen: map[string]bool{}}, clk)
	p2.PollOnce(ctx)
	clk.add(59 * time.Minute)
	if calls, _ := p2.PollOnce(ctx); calls != 0 {
		t.Fatal("refused channel polled again within the hour")
	}
}

func TestMinIntervalFitsTheQuota(t *testing.T) {
	for _, tc := range []struct {
		calls, quota int
		floor, want  time.Duration
	}{
		{1, 10000, time.Second, 8640 * time.Millisecond},
		{1, 10000, time.Minute, time.Minute},
		{200, 10000, time.Minute, 1728 * time.Second},
		{0, 10000, time.Minute, time.Minute},
		{10000, 10000, time.Minute, 24 * time.Hour},
	} {
		if got := MinInterval(tc.calls, tc.quota, tc.floor); got != tc.want {
			t.Errorf("MinInterval(%d, %d, %v) = %v, want %v", tc.calls, tc.quota, tc.floor, got, tc.want)
		}
	}
}

func FuzzErrorReason(f *testing.F) {
	f.Add([]byte(`{"error":{"code":403,"errors":[{"reason":"quotaExceeded","domain":"youtube.quota"}]}}`))
	f.Add([]byte(`{"error":{"code":400,"errors":[{"reason":""}],"details":[{"reason":"API_KEY_INVALID"}]}}`))
	f.Add([]byte(`{"error":"nope"}`))
	f.Add(fixture(f, "commentThreads_list_with_replies.json"))
	f.Add([]byte(`<html>502</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := ErrorReason(body)
		if r == "" {
			return
		}
		// JSON decoding turns escapes and invalid UTF-8 into other text, so the
		// reason is a substring of the body only when neither is present.
		if utf8.Valid(body) && !bytes.ContainsRune(body, '\\') && !strings.Contains(string(body), r) {
			t.Fatalf("reason %q not in the body", r)
		}
		quoted, _ := json.Marshal(r)
		again := ErrorReason([]byte(`{"error":{"errors":[{"reason":` + string(quoted) + `}]}}`))
		if again != r {
			t.Fatalf("reason %q does not survive a round trip: %q", r, again)
		}
	})
}
