package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// XSender posts reply tweets and DMs through the X API v2 with the channel's
// OAuth 2.0 user token.
type XSender struct {
	cfg Config
}

// NewX returns the X connector.
func NewX(cfg Config) *XSender { return &XSender{cfg: cfg} }

// xProblem is the X API v2 error body (an RFC 7807 problem, sometimes with an
// errors array).
type xProblem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

func parseXError(body []byte) platformError {
	var b xProblem
	if json.Unmarshal(body, &b) != nil || (b.Title == "" && b.Detail == "" && len(b.Errors) == 0) {
		return platformError{}
	}
	pe := platformError{structured: true, code: b.Type}
	if i := strings.LastIndex(b.Type, "/"); i >= 0 {
		pe.code = b.Type[i+1:] // ".../2/problems/invalid-request" → "invalid-request"
	}
	if pe.code == "" || pe.code == "about:blank" {
		pe.code = b.Title
	}
	parts := []string{b.Detail}
	if b.Detail == "" {
		parts[0] = b.Title
	}
	for _, e := range b.Errors {
		if e.Message != "" && e.Message != b.Detail {
			parts = append(parts, e.Message)
		}
	}
	pe.message = strings.Join(parts, " — ")
	return pe
}

// Send posts a reply tweet (KindComment, ReplyTo = tweet id) or a DM
// (KindDM, Recipient = the customer's user id).
func (x *XSender) Send(ctx context.Context, out Outbound) (Result, error) {
	if err := require(X, "access token", out.Credentials.AccessToken); err != nil {
		return Result{}, err
	}
	if err := checkText(X, out.Text, 0, ""); err != nil {
		return Result{}, err
	}
	base := x.cfg.base(DefaultXURL)
	var r request
	switch out.Kind {
	case KindComment:
		if err := require(X, "the tweet replied to (ReplyTo)", out.ReplyTo); err != nil {
			return Result{}, err
		}
		r = request{url: base + "/2/tweets", body: map[string]any{
			"text":  out.Text,
			"reply": map[string]string{"in_reply_to_tweet_id": out.ReplyTo},
		}}
	case KindDM:
		if err := require(X, "recipient", out.Recipient); err != nil {
			return Result{}, err
		}
		r = request{url: base + "/2/dm_conversations/with/" + url.PathEscape(out.Recipient) + "/messages",
			body: map[string]string{"text": out.Text}}
	default:
		return Result{}, unsupported(X, out.Kind)
	}
	r.platform, r.bearer, r.parseError = X, out.Credentials.AccessToken, parseXError
	body, err := post(ctx, x.cfg.client(), r)
	if err != nil {
		return Result{}, err
	}
	var resp struct {
		Data struct {
			ID         string `json:"id"`
			DMEventID  string `json:"dm_event_id"`
			DMConverID string `json:"dm_conversation_id"`
		} `json:"data"`
	}
	if err := decodeSuccess(X, body, &resp); err != nil {
		return Result{}, err
	}
	id := resp.Data.ID
	if out.Kind == KindDM {
		id = resp.Data.DMEventID
	}
	if id == "" {
		return Result{}, missingID(X)
	}
	return Result{ExternalID: id}, nil
}

// xReset turns x-rate-limit-reset (epoch seconds) into a wait: X sends it
// instead of Retry-After on 429.
func xReset(h http.Header, now time.Time) time.Duration {
	v, err := strconv.ParseInt(strings.TrimSpace(h.Get("x-rate-limit-reset")), 10, 64)
	if err != nil {
		return 0
	}
	if d := time.Unix(v, 0).Sub(now); d > 0 {
		return d
	}
	return 0
}
