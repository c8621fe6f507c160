// Package youtube polls YouTube for new comments, which it has no webhook for:
// commentThreads.list per channel (or per configured video), newest first,
// paging until a page brings nothing new, within the daily API quota.
package youtube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
	_ "time/tzdata" // the quota resets at midnight Pacific time, wherever we run

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/ingest"
	"github.com/communityinbox/inbox/webhook"
)

// Sink stores the events a poll fetched.
type Sink interface {
	Ingest(ctx context.Context, ch channel.Channel, events []webhook.Event, receivedAt time.Time) (ingest.Result, error)
}

// ChannelLister lists the channels to poll.
type ChannelLister interface {
	OfType(ctx context.Context, t channel.Type) ([]channel.Channel, error)
}

// Options tune a Poller.
type Options struct {
	BaseURL    string        // the Data API v3 root, e.g. https://www.googleapis.com/youtube/v3
	Interval   time.Duration // shortest time between two polls of all channels
	DailyQuota int           // API units per day; commentThreads.list costs 1 per call
	MaxPages   int           // pages per channel or video per poll
	Client     *http.Client
}

// Poller polls every YouTube channel of every workspace.
type Poller struct {
	o        Options
	channels ChannelLister
	sink     Sink
	log      *slog.Logger
	now      func() time.Time
	pacific  *time.Location

	mu          sync.Mutex
	backoff     map[string]backoff // by channel id
	pausedUntil time.Time          // quota exhausted: nothing until then
	lastCalls   int
}

type backoff struct {
	until    time.Time
	failures int
}

// Backoff bounds for a failing channel.
const (
	minBackoff = 30 * time.Second
	maxBackoff = 30 * time.Minute
	// refusedBackoff is how long a channel or video that refuses us (comments
	// disabled, not found, bad key) is left alone.
	refusedBackoff = time.Hour
	unitsPerCall   = 1
)

// NewPoller returns a poller.
func NewPoller(channels ChannelLister, sink Sink, o Options, log *slog.Logger) *Poller {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Minute
	}
	if o.DailyQuota <= 0 {
		o.DailyQuota = 10000
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 5
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	pacific, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		pacific = time.FixedZone("PST", -8*3600)
	}
	return &Poller{o: o, channels: channels, sink: sink, log: log, now: time.Now, pacific: pacific, backoff: map[string]backoff{}}
}

// Run polls until ctx ends, waiting NextInterval between polls.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := p.PollOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "youtube: poll failed", "err", err)
		}
		t := time.NewTimer(p.NextInterval())
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// NextInterval is the wait before the next poll: the configured interval, or
// longer if polling every channel that often would spend more than the daily
// quota (at the rate of calls the last poll made), or until the quota resets.
func (p *Poller) NextInterval() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if wait := p.pausedUntil.Sub(p.now()); wait > 0 {
		return wait
	}
	return MinInterval(p.lastCalls, p.o.DailyQuota, p.o.Interval)
}

// MinInterval is the shortest poll interval at which polls of calls calls
// each stay within quota units a day, and never below floor.
func MinInterval(calls, quota int, floor time.Duration) time.Duration {
	if quota <= 0 || calls <= 0 {
		return floor
	}
	d := time.Duration(int64(24*time.Hour) * int64(calls*unitsPerCall) / int64(quota))
	return max(d, floor)
}

// PollOnce polls every channel that is not backing off and returns the number
// of API calls made.
func (p *Poller) PollOnce(ctx context.Context) (int, error) {
	p.mu.Lock()
	paused := p.now().Before(p.pausedUntil)
	p.mu.Unlock()
	if paused {
		return 0, nil
	}
	chs, err := p.channels.OfType(ctx, channel.YouTube)
	if err != nil {
		return 0, err
	}
	calls := 0
	for _, ch := range chs {
		if !p.due(ch.ID) {
			continue
		}
		n, err := p.pollChannel(ctx, ch)
		calls += n
		if errors.Is(err, errQuota) {
			break
		}
		if err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "youtube: channel poll failed", "channel", ch.ID, "err", err)
		}
	}
	p.mu.Lock()
	p.lastCalls = calls
	p.mu.Unlock()
	return calls, ctx.Err()
}

func (p *Poller) due(channelID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.now().Before(p.backoff[channelID].until)
}

var errQuota = errors.New("youtube: daily quota exceeded")

// pollChannel polls each target of ch (its videos, or the whole channel) and
// returns the calls made.
func (p *Poller) pollChannel(ctx context.Context, ch channel.Channel) (int, error) {
	targets := ch.Config.VideoIDs
	if len(targets) == 0 {
		targets = []string{""}
	}
	calls := 0
	for _, video := range targets {
		n, err := p.pollTarget(ctx, ch, video)
		calls += n
		if err != nil {
			return calls, err
		}
	}
	p.mu.Lock()
	delete(p.backoff, ch.ID)
	p.mu.Unlock()
	return calls, nil
}

// pollTarget pages through one channel's or video's threads, newest first,
// stopping at the first page that brings no new comment.
func (p *Poller) pollTarget(ctx context.Context, ch channel.Channel, video string) (int, error) {
	token := ""
	for page := 0; page < p.o.MaxPages; page++ {
		body, err := p.fetch(ctx, ch, video, token)
		if err != nil {
			return page + 1, p.fail(ch.ID, err)
		}
		events, next, err := webhook.ParseYouTubeCommentThreads(body)
		if err != nil {
			return page + 1, p.fail(ch.ID, err)
		}
		ownEvents(ch, events)
		res, err := p.sink.Ingest(ctx, ch, events, p.now().UTC())
		if err != nil {
			return page + 1, err
		}
		if res.Created == 0 || next == "" {
			return page + 1, nil
		}
		token = next
	}
	return p.o.MaxPages, nil
}

// ownEvents fills in what responses listed by video omit: the channel the
// threads belong to, and hence which comments the channel wrote itself.
func ownEvents(ch channel.Channel, events []webhook.Event) {
	own := ch.Config.ChannelID
	for i := range events {
		ev := &events[i]
		if ev.AccountID != "" {
			continue
		}
		ev.AccountID = own
		if !ev.Echo && ev.Author.UserID == own {
			ev.Echo, ev.Customer = true, webhook.Identity{}
		}
	}
}

// apiError is a non-200 answer from the API.
type apiError struct {
	status int
	reason string
}

func (e *apiError) Error() string { return fmt.Sprintf("youtube: http %d %s", e.status, e.reason) }

func (p *Poller) fetch(ctx context.Context, ch channel.Channel, video, pageToken string) ([]byte, error) {
	q := url.Values{}
	q.Set("part", "snippet,replies")
	q.Set("maxResults", "100")
	q.Set("order", "time")
	q.Set("textFormat", "plainText")
	q.Set("key", ch.Secrets.APIKey)
	if video != "" {
		q.Set("videoId", video)
	} else {
		q.Set("allThreadsRelatedToChannelId", ch.Config.ChannelID)
	}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.o.BaseURL+"/commentThreads?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.o.Client.Do(req)
	if err != nil {
		// The URL carries the API key: report the failure without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("youtube: request: %w", ue.Err)
		}
		return nil, fmt.Errorf("youtube: request failed")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("youtube: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{status: resp.StatusCode, reason: ErrorReason(body)}
	}
	return body, nil
}

// fail records a failed poll of a channel and returns errQuota when the whole
// poller must pause.
func (p *Poller) fail(channelID string, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var ae *apiError
	if errors.As(err, &ae) {
		switch {
		case ae.reason == "quotaExceeded" || ae.reason == "dailyLimitExceeded":
			p.pausedUntil = nextMidnight(now, p.pacific)
			return errQuota
		case ae.status >= 400 && ae.status < 500 && ae.status != http.StatusTooManyRequests &&
			ae.reason != "rateLimitExceeded" && ae.reason != "userRateLimitExceeded":
			p.backoff[channelID] = backoff{until: now.Add(refusedBackoff)}
			return err
		}
	}
	b := p.backoff[channelID]
	b.failures++
	wait := min(minBackoff<<min(b.failures-1, 10), maxBackoff)
	b.until = now.Add(wait)
	p.backoff[channelID] = b
	return err
}

// nextMidnight is the next midnight in loc after now, when YouTube resets quotas.
func nextMidnight(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// ErrorReason returns the first reason of a Google API error body
// ({"error": {"errors": [{"reason": ...}]}}), or "" when there is none.
func ErrorReason(body []byte) string {
	var e struct {
		Error struct {
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	for _, x := range e.Error.Errors {
		if x.Reason != "" {
			return x.Reason
		}
	}
	for _, x := range e.Error.Details {
		if x.Reason != "" {
			return x.Reason
		}
	}
	return ""
}
