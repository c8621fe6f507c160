// Package logging builds the slog logger every service uses: JSON lines tagged
// with the service name, at a configurable level.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// New returns a JSON logger writing to w for service at level ("debug", "info", "warn", "error").
func New(w io.Writer, service, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})).With("service", service)
}

// Discard returns a logger that drops everything, for tests and benchmarks.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
