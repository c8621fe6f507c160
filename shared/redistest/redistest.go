// Package redistest starts real redis-server processes for tests: one shared per
// test binary, with a unique key prefix per test, or a dedicated one a test may
// stop and restart.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server child process.
type Server struct {
	Addr string
	port int
	cmd  *exec.Cmd
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Client returns a client of the test binary's shared server and a key prefix
// unique to this test; keys under the prefix are deleted when the test ends.
func Client(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start(0) })
	if sharedErr != nil {
		tb.Fatalf("redistest: %v", sharedErr)
	}
	c := redis.NewClient(&redis.Options{Addr: shared.Addr})
	prefix := "t" + randHex(6) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c, prefix
}

// Start starts a dedicated server for one test, stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(0)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server and starts a new empty one on the same port after
// down has elapsed, like a Redis crash without persistence.
func (s *Server) Restart(tb testing.TB, down time.Duration) {
	tb.Helper()
	s.Stop()
	time.Sleep(down)
	ns, err := start(s.port)
	if err != nil {
		tb.Fatalf("redistest restart: %v", err)
	}
	s.cmd = ns.cmd
}

func start(port int) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not installed (make test installs it): %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return nil, err
			}
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning", "--maxclients", "10000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard // its start-up warnings would drown test output
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", p), port: p, cmd: cmd}
		if lastErr = s.waitReady(5 * time.Second); lastErr == nil {
			return s, nil
		}
		s.Stop()
		if port != 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil, fmt.Errorf("redis-server did not start: %w", lastErr)
}

func (s *Server) waitReady(d time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
