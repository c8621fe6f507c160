package connector

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class says what the caller may do after a failed send.
type Class int

// Classes of failure.
const (
	// Permanent: the platform refused the message (bad token, closed window,
	// deleted comment, invalid request). Resending the same thing fails again.
	Permanent Class = iota + 1
	// Retryable: the platform said it did not take the message (429, 503,
	// a structured 5xx, a rate-limit error code) or the connection was never
	// made. Resending is safe, after RetryAfter when set.
	Retryable
	// Ambiguous: the request may have been applied but we got no usable
	// answer (timeout or reset after sending, a bare gateway 5xx, a success
	// without an id). None of the platforms takes an idempotency key, so a
	// blind resend can double-post: the Dispatcher never resends these.
	Ambiguous
)

// String names the class for logs.
func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Ambiguous:
		return "ambiguous"
	}
	return "unknown"
}

// Sentinels for errors.Is(err, connector.ErrRetryable) and friends.
var (
	ErrPermanent = errors.New("connector: permanent failure")
	ErrRetryable = errors.New("connector: retryable failure")
	ErrAmbiguous = errors.New("connector: outcome unknown")
)

// CodeInvalid is the Error.Code of requests refused before any call.
const CodeInvalid = "invalid_request"

// Error is a classified send failure. Message is the platform's own words (or
// ours for requests refused before sending) and is fit to show an agent; it
// never contains a token.
type Error struct {
	Platform   Platform
	Class      Class
	Status     int    // HTTP status; 0 when there was no response
	Code       string // platform error code: Graph code, Google reason, Telegram error_code, X problem type
	Subcode    string // Graph error_subcode
	Message    string
	TraceID    string        // Graph fbtrace_id, for support tickets
	RetryAfter time.Duration // how long the platform asked us to wait; 0 when it did not say
	Err        error         // transport cause, if any
}

// Error reads "platform: class (HTTP status, code code/subcode): message".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Platform, e.Class)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, ", code %s", e.Code)
			if e.Subcode != "" {
				fmt.Fprintf(&b, "/%s", e.Subcode)
			}
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the transport cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the class sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrPermanent:
		return e.Class == Permanent
	case ErrRetryable:
		return e.Class == Retryable
	case ErrAmbiguous:
		return e.Class == Ambiguous
	}
	return false
}

// ClassOf returns the class of err; errors that are not *Error are Ambiguous,
// because nothing says the message was not sent.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Ambiguous
}

// transportError classifies a failure of http.Client.Do. Only failures to
// connect prove the request never left; anything later (timeout, reset,
// cancellation mid-flight) may have reached the platform.
func transportError(p Platform, err error) *Error {
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") {
		return &Error{Platform: p, Class: Retryable, Message: "could not connect", Err: err}
	}
	return &Error{Platform: p, Class: Ambiguous, Message: "no answer from the platform; the message may have been posted", Err: err}
}

// platformError is what a platform's error body says.
type platformError struct {
	structured bool // the body was the platform's error format
	transient  bool // the platform says retrying may work
	code       string
	subcode    string
	message    string
	traceID    string
	retryAfter time.Duration
}

// classify builds the Error of a non-2xx answer. A structured 5xx is the API
// telling us it failed, so it is retried; a bare 5xx (HTML from a gateway,
// empty body) may hide a request that went through, except 503 which by HTTP
// semantics was not processed.
func classify(p Platform, status int, h http.Header, pe platformError) *Error {
	e := &Error{Platform: p, Status: status, Code: pe.code, Subcode: pe.subcode, Message: pe.message, TraceID: pe.traceID}
	e.RetryAfter = pe.retryAfter
	ra := retryAfter(h, now())
	if ra == 0 && status == http.StatusTooManyRequests {
		ra = xReset(h, now())
	}
	e.RetryAfter = max(e.RetryAfter, ra)
	switch {
	case status == http.StatusTooManyRequests, pe.transient:
		e.Class = Retryable
	case status >= 500 && (pe.structured || status == http.StatusServiceUnavailable):
		e.Class = Retryable
	case status >= 500:
		e.Class = Ambiguous
	default:
		e.Class = Permanent
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d", status)
	}
	return e
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
