package realtime

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

// The benchmarks run their websocket clients in a child process (this test
// binary started again with benchClientEnv set): 10,000 connections need
// 20,000 descriptors when both ends live in one process, more than the usual
// hard limit, and the memory figure must count the server side only.
const (
	benchClientEnv = "REALTIME_BENCH_CLIENT"
	benchURLEnv    = "REALTIME_BENCH_URL"
	benchCountEnv  = "REALTIME_BENCH_N"
	benchModeEnv   = "REALTIME_BENCH_MODE" // "idle" or "fanout"
	benchToken     = "tok-a1"
)

func TestMain(m *testing.M) {
	if os.Getenv(benchClientEnv) != "" {
		os.Exit(runBenchClients())
	}
	code := m.Run()
	closeFanoutEnvs()
	os.Exit(code)
}

// raiseFileLimit lifts the soft descriptor limit to the hard one.
func raiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// benchServer is a hub behind a real loopback listener.
type benchServer struct {
	bus    *fakeBus
	hub    *Hub
	srv    *httptest.Server
	url    string
	cancel context.CancelFunc
	ran    chan error
}

func startBenchServer(tb testing.TB, writerIdle time.Duration) *benchServer {
	bus := newFakeBus()
	h, err := NewHub(Config{Auth: testUsers, Source: bus, Publisher: bus, SendQueue: DefaultSendQueue})
	if err != nil {
		tb.Fatal(err)
	}
	h.timing.writerIdle = writerIdle
	ctx, cancel := context.WithCancel(context.Background())
	s := &benchServer{bus: bus, hub: h, cancel: cancel, ran: make(chan error, 1)}
	go func() { s.ran <- h.Run(ctx) }()
	for !h.running.Load() {
		time.Sleep(time.Millisecond)
	}
	s.srv = httptest.NewServer(h.Handler())
	s.url = "ws" + strings.TrimPrefix(s.srv.URL, "http")
	return s
}

func (s *benchServer) close() {
	s.cancel()
	<-s.ran
	s.srv.Close()
}

// clientProcess is the child holding the benchmark's connections.
type clientProcess struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startClients(tb testing.TB, url string, n int, mode string) *clientProcess {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		benchClientEnv+"=1", benchURLEnv+"="+url, benchCountEnv+"="+strconv.Itoa(n), benchModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &clientProcess{cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	if line := p.line(); line != "ready" {
		p.stop()
		tb.Fatalf("client process: %q", line)
	}
	return p
}

func (p *clientProcess) line() string {
	if !p.lines.Scan() {
		return "eof"
	}
	return p.lines.Text()
}

func (p *clientProcess) stop() {
	p.in.Close()
	_ = p.cmd.Wait()
}

// fanoutEnv is kept across the calls the benchmark framework makes with
// growing b.N, so 10,000 connections are opened once.
type fanoutEnv struct {
	srv     *benchServer
	clients *clientProcess
}

var fanoutEnvs = map[int]*fanoutEnv{}

func closeFanoutEnvs() {
	for n, env := range fanoutEnvs {
		env.close()
		delete(fanoutEnvs, n)
	}
}

func (e *fanoutEnv) close() {
	e.clients.stop()
	e.srv.close()
}

// fanoutRound is how many events one benchmark op publishes, so that
// -benchtime=1x (make bench) still measures a run rather than one event.
var fanoutRound = map[int]int{1000: 100, 10000: 10}

// BenchmarkFanout publishes events with 256 bytes of data, each to N websocket
// subscribers of one workspace over loopback. inflight is how many events may
// be published and not yet delivered to every subscriber: 1 is a closed loop
// (one event at a time, nothing for the server to coalesce); more lets a
// connection's queue hold several events, which its writer sends in one
// socket write, as under a sustained stream. Latency is publish to client
// read, so with inflight > 1 it includes the wait behind earlier events.
func BenchmarkFanout(b *testing.B) {
	if _, err := raiseFileLimit(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000} {
		for _, inflight := range []int{1, 16} {
			b.Run(fmt.Sprintf("subscribers=%d/inflight=%d", n, inflight), func(b *testing.B) {
				benchFanout(b, n, inflight)
			})
		}
	}
}

func benchFanout(b *testing.B, n, inflight int) {
	env := fanoutEnvs[n]
	if env == nil {
		srv := startBenchServer(b, writerIdleExit)
		env = &fanoutEnv{srv: srv, clients: startClients(b, srv.url, n, "fanout")}
		fanoutEnvs[n] = env
	}
	pad := strings.Repeat("x", 256-len(`{"t":1234567890123456789,"pad":""}`))
	events := b.N * fanoutRound[n]

	// window holds one token per event in flight; the reader returns one per
	// "done" (n deliveries, in any order across connections).
	window := make(chan struct{}, inflight)
	finished := make(chan error, 1)
	go func() {
		for range events {
			if line := env.clients.line(); line != "done" {
				finished <- fmt.Errorf("client process: %q", line)
				return
			}
			<-window
		}
		finished <- nil
	}()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	stall := time.NewTimer(time.Minute)
	defer stall.Stop()
	for range events {
		stall.Reset(time.Minute)
		select {
		case window <- struct{}{}:
		case <-stall.C:
			b.Fatalf("no event completed in a minute; hub stats %+v", env.srv.hub.Stats())
		}
		e, err := event.New("wsA", event.StreamInbox, event.MessageCreated, map[string]any{"t": time.Now().UnixNano(), "pad": pad})
		if err != nil {
			b.Fatal(err)
		}
		if len(e.Data) != 256 {
			b.Fatalf("event data is %d bytes, want 256", len(e.Data))
		}
		if _, err := env.srv.bus.Publish(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	stall.Reset(time.Minute)
	select {
	case err := <-finished:
		if err != nil {
			b.Fatal(err)
		}
	case <-stall.C:
		b.Fatalf("events still in flight after a minute; hub stats %+v", env.srv.hub.Stats())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	fmt.Fprintln(env.clients.in, "report")
	var count, p50, p99 int64
	if _, err := fmt.Sscanf(env.clients.line(), "report %d %d %d", &count, &p50, &p99); err != nil {
		b.Fatal(err)
	}
	if count != int64(n*events) {
		b.Fatalf("%d deliveries, want %d", count, n*events)
	}
	if slow := env.srv.hub.Stats().SlowDisconnects; slow != 0 {
		b.Fatalf("%d subscribers dropped as slow", slow)
	}
	b.ReportMetric(float64(count)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(p50)/1e6, "p50-ms")
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
}

// idleConnsEnv overrides how many connections BenchmarkIdleConnectionMemory opens.
const idleConnsEnv = "REALTIME_BENCH_IDLE_CONNS"

// BenchmarkIdleConnectionMemory opens about 19,000 authenticated connections
// subscribed to the inbox (fewer if the descriptor limit is lower, or
// REALTIME_BENCH_IDLE_CONNS) and reports the server's heap and stack growth
// per connection. It measures once per call; run it with -benchtime=1x.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	limit, err := raiseFileLimit()
	if err != nil {
		b.Fatal(err)
	}
	// The fan-out benchmarks' connections would take the descriptors and
	// the memory this one measures.
	closeFanoutEnvs()
	n := 19000
	if v, err := strconv.Atoi(os.Getenv(idleConnsEnv)); err == nil && v > 0 {
		n = v
	}
	// Each process holds one end of every connection, plus a few descriptors
	// of its own (listener, pipes, epoll, the warm-up connection).
	if room := int(min(limit, 1<<30)) - 64; n > room {
		n = room
	}
	// Writers of idle connections exit after writerIdleExit; shorten it so the
	// figure shows idle connections without a 10 s wait.
	const writerIdle = 100 * time.Millisecond
	srv := startBenchServer(b, writerIdle)
	defer srv.close()
	// Warm up pools and the shards' maps with one connection so the delta is
	// what each further connection costs.
	warm := startClients(b, srv.url, 1, "idle")
	defer warm.stop()

	before := settledMemory()
	goroutinesBefore := runtime.NumGoroutine()
	clients := startClients(b, srv.url, n, "idle")
	defer clients.stop()
	for srv.hub.Stats().Connections != int64(n)+1 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(3 * writerIdle)
	after := settledMemory()
	goroutines := runtime.NumGoroutine() - goroutinesBefore

	b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/conn")
	b.ReportMetric(float64(after.stack-before.stack)/float64(n), "stack-B/conn")
	b.ReportMetric(float64(after.heap+after.stack-before.heap-before.stack)/float64(n), "B/conn")
	b.ReportMetric(float64(goroutines)/float64(n), "goroutines/conn")
	b.ReportMetric(float64(n), "conns")
}

type memFigures struct{ heap, stack uint64 }

// settledMemory reads HeapInuse and StackInuse after the garbage (and stack
// shrinking, which happens during GC) has settled.
func settledMemory() memFigures {
	var ms runtime.MemStats
	for range 8 {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	runtime.ReadMemStats(&ms)
	return memFigures{heap: ms.HeapInuse, stack: ms.StackInuse}
}

// runBenchClients is the child process: it opens the connections, says
// "ready", then in fanout mode reports "done" after each event has reached
// every connection and answers "report" with delivery count and latency
// percentiles. It exits when stdin closes.
func runBenchClients() int {
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	url := os.Getenv(benchURLEnv)
	n, _ := strconv.Atoi(os.Getenv(benchCountEnv))
	fanout := os.Getenv(benchModeEnv) == "fanout"

	conns := make([]*websocket.Conn, n)
	// A read buffer that holds a coalesced write keeps the clients, which share
	// the two cores with the server, to one read per server write.
	bufSize := 1024
	if fanout {
		bufSize = 16 << 10
	}
	dialer := websocket.Dialer{ReadBufferSize: bufSize, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second}
	header := http.Header{"Authorization": {"Bearer " + benchToken}}
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				ws, _, err := dialer.Dial(url, header)
				if err == nil {
					err = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","stream":"inbox"}`))
				}
				if err == nil {
					_, _, err = ws.ReadMessage() // subscribed
				}
				if err != nil {
					failed.Store(err)
					return
				}
				conns[i] = ws
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		fmt.Println("dial:", err)
		return 1
	}

	// Each reader keeps its own samples; the report collects them once the
	// closed loop is idle.
	type samples struct {
		mu  sync.Mutex
		lat []int64
	}
	perConn := make([]samples, n)
	var delivered atomic.Int64
	// perEvent counts the connections each event in flight reached, by seq;
	// "done" means one event reached them all, so the publisher's window
	// bounds every connection's backlog, not just the total.
	var perEvent [4096]atomic.Int64
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	if fanout {
		for i, ws := range conns {
			go func() {
				buf := make([]byte, 1024)
				own := &perConn[i]
				for {
					_, r, err := ws.NextReader()
					if err != nil {
						return
					}
					m, _ := io.ReadFull(r, buf)
					got := time.Now().UnixNano()
					if j := bytes.Index(buf[:m], []byte(`"t":`)); j >= 0 {
						sent, _ := strconv.ParseInt(string(digits(buf[j+4:m])), 10, 64)
						own.mu.Lock()
						own.lat = append(own.lat, got-sent)
						own.mu.Unlock()
					}
					delivered.Add(1)
					j := bytes.Index(buf[:m], []byte(`"seq":`))
					if j < 0 {
						continue
					}
					seq, _ := strconv.ParseInt(string(digits(buf[j+6:m])), 10, 64)
					if slot := &perEvent[seq%int64(len(perEvent))]; slot.Add(1) == int64(n) {
						slot.Store(0)
						outMu.Lock()
						fmt.Fprintln(out, "done")
						out.Flush()
						outMu.Unlock()
					}
				}
			}()
		}
	}
	fmt.Fprintln(out, "ready")
	out.Flush()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "report" {
			continue
		}
		var lat []int64
		for i := range perConn {
			own := &perConn[i]
			own.mu.Lock()
			lat = append(lat, own.lat...)
			own.lat = own.lat[:0]
			own.mu.Unlock()
		}
		count := delivered.Swap(0)
		slices.Sort(lat)
		outMu.Lock()
		fmt.Fprintf(out, "report %d %d %d\n", count, percentile(lat, 50), percentile(lat, 99))
		out.Flush()
		outMu.Unlock()
	}
	return 0
}

func digits(b []byte) []byte {
	for i, c := range b {
		if c < '0' || c > '9' {
			return b[:i]
		}
	}
	return b
}

func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
