// Command ferretdb runs the embedded FerretDB as a process of its own for the test
// harness and the benchmarks. It prints "READY <mongodb uri>" once it accepts
// connections and stops on SIGINT/SIGTERM or when its stdin closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only when FERRETDB_PPROF names an address
	"os"
	"os/signal"
	"syscall"

	"github.com/communityinbox/devstack/embedded"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
	sqlite := flag.String("sqlite", "", "SQLite backend directory")
	pg := flag.String("postgres", "", "PostgreSQL backend URL (instead of SQLite)")
	watchStdin := flag.Bool("stdin", false, "stop when stdin closes (the parent died)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	}
	cfg := embedded.Config{Listen: *listen, SQLiteDir: *sqlite, PostgresURL: *pg}
	if os.Getenv("FERRETDB_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if addr := os.Getenv("FERRETDB_PPROF"); addr != "" {
		// Profiling FerretDB itself shows where a slow command spends its time.
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
	srv, err := embedded.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	fmt.Println("READY", srv.URI)
	srv.Wait()
}
