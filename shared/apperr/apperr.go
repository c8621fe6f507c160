// Package apperr holds the domain error kinds shared by all services and the one
// table that maps them to HTTP status codes.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code names a kind of failure a client can act on.
type Code string

// The error codes clients see.
const (
	CodeInvalid      Code = "invalid_argument"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeTooLarge     Code = "payload_too_large"
	CodeRateLimited  Code = "rate_limited"
	CodeUnavailable  Code = "unavailable"
	CodeInternal     Code = "internal"
)

var statusByCode = map[Code]int{
	CodeInvalid:      http.StatusBadRequest,
	CodeUnauthorized: http.StatusUnauthorized,
	CodeForbidden:    http.StatusForbidden,
	CodeNotFound:     http.StatusNotFound,
	CodeConflict:     http.StatusConflict,
	CodeTooLarge:     http.StatusRequestEntityTooLarge,
	CodeRateLimited:  http.StatusTooManyRequests,
	CodeUnavailable:  http.StatusServiceUnavailable,
	CodeInternal:     http.StatusInternalServerError,
}

// Error is an error a client may see: its Message is safe to show.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, apperr.ErrNotFound) true for any not-found Error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is checks by kind.
var (
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrTooLarge     = &Error{Code: CodeTooLarge}
	ErrRateLimited  = &Error{Code: CodeRateLimited}
	ErrUnavailable  = &Error{Code: CodeUnavailable}
)

// New returns an Error of code with a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error of code with a client-safe message and a hidden cause.
func Wrap(err error, code Code, msg string) *Error { return &Error{Code: code, Message: msg, Err: err} }

// Invalid returns a 400-class error.
func Invalid(format string, args ...any) *Error { return New(CodeInvalid, format, args...) }

// NotFound returns a 404-class error.
func NotFound(what string) *Error { return New(CodeNotFound, "%s not found", what) }

// Conflict returns a 409-class error.
func Conflict(format string, args ...any) *Error { return New(CodeConflict, format, args...) }

// Forbidden returns a 403-class error.
func Forbidden(format string, args ...any) *Error { return New(CodeForbidden, format, args...) }

// Unauthorized returns a 401-class error.
func Unauthorized(format string, args ...any) *Error { return New(CodeUnauthorized, format, args...) }

// Status maps err to an HTTP status and the client-safe code and message.
// Errors that are not *Error are internal: their text is never shown.
func Status(err error) (status int, code Code, msg string) {
	var e *Error
	if errors.As(err, &e) {
		st, ok := statusByCode[e.Code]
		if !ok {
			st = http.StatusInternalServerError
		}
		m := e.Message
		if m == "" {
			m = string(e.Code)
		}
		return st, e.Code, m
	}
	return http.StatusInternalServerError, CodeInternal, "internal error"
}
