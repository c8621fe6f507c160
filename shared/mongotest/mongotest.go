// Package mongotest gives each test its own database on a real MongoDB-wire
// server: an embedded FerretDB (SQLite backend) started once per test binary,
// or the server named by MONGO_TEST_URI. Databases are dropped in t.Cleanup.
//
// FerretDB 1.24 is not MongoDB in ways tests can hide: concurrent updates of one
// document are read-modify-write without locking (lost $inc), an update command
// with ~100 matching updates hangs, an update batch stops at its first error,
// and a repeated multi-index createIndexes panics (use mongox.EnsureIndexes).
package mongotest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var (
	once    sync.Once
	client  *mongo.Client
	uri     string
	proc    *exec.Cmd
	dataDir string
	initErr error
)

// URI returns the address of the package's server, starting it if needed.
func URI(tb testing.TB) string {
	tb.Helper()
	start()
	if initErr != nil {
		tb.Fatalf("mongotest: %v", initErr)
	}
	return uri
}

// Client returns the package's shared client.
func Client(tb testing.TB) *mongo.Client {
	URI(tb)
	return client
}

// DB returns a fresh, uniquely named database, dropped when the test ends
// unless MONGOTEST_KEEP is set (to inspect what a test or benchmark stored).
func DB(tb testing.TB) *mongo.Database {
	tb.Helper()
	c := Client(tb)
	db := c.Database(dbName(tb.Name()))
	tb.Cleanup(func() {
		if os.Getenv("MONGOTEST_KEEP") != "" {
			tb.Logf("mongotest: keeping database %s", db.Name())
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// Main runs the package's tests and then stops the embedded server; call it from
// TestMain so the server's data directory is removed.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the embedded server, if this package started one.
func Stop() {
	if client != nil {
		_ = client.Disconnect(context.Background())
	}
	if proc != nil && proc.Process != nil {
		_ = proc.Process.Signal(syscall.SIGTERM)
		_ = proc.Wait()
	}
	if dataDir != "" {
		_ = os.RemoveAll(dataDir)
	}
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9]+`)

func dbName(test string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	n := strings.ToLower(unsafe.ReplaceAllString(test, "_"))
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return "t" + hex.EncodeToString(b) + "_" + strings.Trim(n, "_")
}

func start() {
	once.Do(func() {
		uri = os.Getenv("MONGO_TEST_URI")
		if uri == "" {
			uri, initErr = startFerret()
			if initErr != nil {
				return
			}
		}
		client, initErr = mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(20 * time.Second))
		if initErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			initErr = client.Ping(ctx, nil)
		}
	})
}

// startFerret runs the embedded FerretDB binary as a child process that exits
// when this test binary does (its stdin is our pipe).
func startFerret() (string, error) {
	bin, err := ferretBinary()
	if err != nil {
		return "", err
	}
	dataDir, err = os.MkdirTemp("", "mongotest-")
	if err != nil {
		return "", err
	}
	args := []string{"-listen", "127.0.0.1:0", "-stdin"}
	if pg := os.Getenv("FERRETDB_POSTGRES_URL"); pg != "" {
		args = append(args, "-postgres", pg)
	} else {
		args = append(args, "-sqlite", dataDir)
	}
	proc = exec.Command(bin, args...)
	if _, err := proc.StdinPipe(); err != nil {
		return "", err
	}
	out, err := proc.StdoutPipe()
	if err != nil {
		return "", err
	}
	proc.Stderr = os.Stderr
	if err := proc.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY ") {
				lines <- strings.TrimPrefix(sc.Text(), "READY ")
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		close(lines)
	}()
	select {
	case u, ok := <-lines:
		if !ok {
			return "", fmt.Errorf("ferretdb exited before it was ready")
		}
		return u, nil
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("ferretdb not ready after 60s")
	}
}

// ferretBinary finds the FerretDB binary: $FERRETDB_BIN, or bin/ferretdb at the
// repository root, building it once (under a file lock) when it is missing.
func ferretBinary() (string, error) {
	if b := os.Getenv("FERRETDB_BIN"); b != "" {
		return b, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin", "ferretdb")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferretdb")
	cmd.Dir = filepath.Join(root, "devstack")
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ferretdb: %v: %s", err, out)
	}
	return bin, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "devstack", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (with devstack/go.mod) not found; set FERRETDB_BIN or MONGO_TEST_URI")
		}
		dir = parent
	}
}
