package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// request is one JSON POST to a platform.
type request struct {
	platform Platform
	url      string
	bearer   string // Authorization: Bearer value; empty for Telegram, whose token is in the path
	secret   string // a token inside url, scrubbed from transport errors
	body     any
	// parseError reads the platform's error body; it never fails, an
	// unparseable body is simply not structured.
	parseError func(body []byte) platformError
}

// post sends r and returns the 2xx body, or a classified *Error.
func post(ctx context.Context, hc *http.Client, r request) ([]byte, error) {
	payload, err := json.Marshal(r.body)
	if err != nil {
		return nil, &Error{Platform: r.platform, Class: Permanent, Code: CodeInvalid, Message: "cannot encode request", Err: err}
	}
	if err := ctx.Err(); err != nil {
		// Nothing left yet: safe to retry with a live context.
		return nil, &Error{Platform: r.platform, Class: Retryable, Message: "not sent", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return nil, &Error{Platform: r.platform, Class: Permanent, Code: CodeInvalid, Message: "bad platform URL", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(r.platform, redact(err, r.secret))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if resp.StatusCode/100 == 2 {
			return nil, &Error{Platform: r.platform, Class: Ambiguous, Status: resp.StatusCode, Message: "accepted but the answer was cut off", Err: err}
		}
		body = nil
	}
	if resp.StatusCode/100 != 2 {
		return nil, classify(r.platform, resp.StatusCode, resp.Header, r.parseError(body))
	}
	return body, nil
}

// decodeSuccess reads a 2xx body into v; a 2xx we cannot read still means the
// platform took the message, so it is Ambiguous, never retried.
func decodeSuccess(p Platform, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Platform: p, Class: Ambiguous, Status: http.StatusOK, Message: "accepted but the answer is not JSON", Err: err}
	}
	return nil
}

func missingID(p Platform) error {
	return &Error{Platform: p, Class: Ambiguous, Status: http.StatusOK, Message: "accepted but the answer has no message id"}
}

// redact removes secret from the URL a transport error quotes, so a Telegram
// bot token never reaches logs.
func redact(err error, secret string) error {
	var ue *url.Error
	if secret == "" || !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, secret, "REDACTED"), Err: ue.Err}
}
