// Package embedded runs FerretDB v1.24.0 inside the current process, giving the
// dev stack, the test harness and the benchmarks a MongoDB-wire server with no
// installation. It lives in a module of its own so service binaries never link it.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Config chooses where FerretDB listens and which backend stores its data.
type Config struct {
	// Listen is the TCP address, e.g. "127.0.0.1:27017" or "127.0.0.1:0" for a free port.
	Listen string
	// SQLiteDir is the directory of the SQLite backend; used when PostgresURL is empty.
	SQLiteDir string
	// PostgresURL selects the PostgreSQL backend, e.g. "postgres://user@127.0.0.1:5432/ferretdb".
	PostgresURL string
	// Logger receives FerretDB's own logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded FerretDB.
type Server struct {
	URI  string
	done chan struct{}
}

// Start starts FerretDB and returns once it accepts connections. It stops when ctx is cancelled;
// Wait blocks until it has released its backend.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 100}))
	}
	fc := &ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: cfg.Listen}, Logger: logger}
	switch {
	case cfg.PostgresURL != "":
		fc.Handler, fc.PostgreSQLURL = "postgresql", cfg.PostgresURL
	case cfg.SQLiteDir != "":
		dir, err := filepath.Abs(cfg.SQLiteDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite dir: %w", err)
		}
		fc.Handler, fc.SQLiteURL = "sqlite", "file:"+dir+"/"
	default:
		return nil, errors.New("embedded: SQLiteDir or PostgresURL is required")
	}
	f, err := ferretdb.New(fc)
	if err != nil {
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	s := &Server{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = f.Run(ctx)
	}()
	// MongoDBURI blocks until the listener is bound, which is what makes Start synchronous.
	s.URI = f.MongoDBURI()
	return s, nil
}

// Wait blocks until the server has stopped.
func (s *Server) Wait() { <-s.done }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
