package connector

import (
	"context"
	"encoding/json"
	"strings"
)

// youtubeTransientReasons are Google error reasons worth retrying; quota
// exhaustion (quotaExceeded) is not among them: the daily quota resets at
// midnight Pacific time, far beyond any retry loop.
var youtubeTransientReasons = map[string]bool{
	"rateLimitExceeded": true, "userRateLimitExceeded": true, "backendError": true, "internalError": true,
}

// YouTubeSender replies to YouTube comments through the Data API v3.
type YouTubeSender struct {
	cfg Config
}

// NewYouTube returns the YouTube connector.
func NewYouTube(cfg Config) *YouTubeSender { return &YouTubeSender{cfg: cfg} }

// googleError is the Google API error envelope.
type googleError struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Reason  string `json:"reason"`
			Domain  string `json:"domain"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"error"`
}

func parseGoogleError(body []byte) platformError {
	var b googleError
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return platformError{}
	}
	pe := platformError{structured: true, message: b.Error.Message, code: b.Error.Status}
	if len(b.Error.Errors) > 0 {
		pe.code = b.Error.Errors[0].Reason
		pe.transient = youtubeTransientReasons[pe.code]
	}
	// Google quotes HTML in some messages ("see <a href=...>"): keep it plain.
	if i := strings.Index(pe.message, "<a "); i > 0 {
		pe.message = strings.TrimSpace(pe.message[:i])
	}
	return pe
}

type ytSnippet struct {
	ParentID     string `json:"parentId"`
	TextOriginal string `json:"textOriginal"`
}

// Send posts a reply under the top-level comment out.ReplyTo. YouTube has no
// DMs.
func (y *YouTubeSender) Send(ctx context.Context, out Outbound) (Result, error) {
	if out.Kind != KindComment {
		return Result{}, unsupported(YouTube, out.Kind)
	}
	if err := require(YouTube, "access token", out.Credentials.AccessToken, "the comment replied to (ReplyTo)", out.ReplyTo); err != nil {
		return Result{}, err
	}
	if err := checkText(YouTube, out.Text, 0, ""); err != nil {
		return Result{}, err
	}
	body, err := post(ctx, y.cfg.client(), request{
		platform: YouTube, url: y.cfg.base(DefaultYouTubeURL) + "/youtube/v3/comments?part=snippet",
		bearer: out.Credentials.AccessToken, parseError: parseGoogleError,
		body: map[string]ytSnippet{"snippet": {ParentID: out.ReplyTo, TextOriginal: out.Text}},
	})
	if err != nil {
		return Result{}, err
	}
	var r struct {
		ID string `json:"id"`
	}
	if err := decodeSuccess(YouTube, body, &r); err != nil {
		return Result{}, err
	}
	if r.ID == "" {
		return Result{}, missingID(YouTube)
	}
	return Result{ExternalID: r.ID}, nil
}
