package channel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// routeStore serves ByRoutes from a map, counting the loads and holding each
// until release is closed.
type routeStore struct {
	Storer
	byRoute map[string]Channel
	loads   atomic.Int64
	release chan struct{}
	failing int64 // the first failing loads fail
}

func (s *routeStore) ByRoutes(ctx context.Context, routes []string) ([]Channel, error) {
	n := s.loads.Add(1)
	<-s.release
	if n <= s.failing {
		return nil, errors.New("store down")
	}
	var out []Channel
	for _, r := range routes {
		if ch, ok := s.byRoute[r]; ok {
			out = append(out, ch)
		}
	}
	return out, nil
}

func TestCacheClaimsEachKeyOnce(t *testing.T) {
	c := newCache(time.Minute)
	out := map[string]Channel{}
	missing, waits, mine, gen := c.claim("route:", []string{"a", "b", "a"}, out)
	if mine == nil || len(waits) != 0 || len(missing) != 2 || missing[0] != "a" || missing[1] != "b" {
		t.Fatalf("first claim: missing %v waits %d mine %v", missing, len(waits), mine)
	}
	missing2, waits2, mine2, _ := c.claim("route:", []string{"b", "c"}, out)
	if len(waits2) != 1 || waits2[0].f != mine || len(waits2[0].keys) != 1 || waits2[0].keys[0] != "b" ||
		len(missing2) != 1 || missing2[0] != "c" || mine2 == nil || mine2 == mine {
		t.Fatalf("second claim: missing %v waits %+v", missing2, waits2)
	}
	a := Channel{ID: "A", Route: "a"}
	c.land(mine, "route:", missing, map[string]Channel{"route:a": a}, nil, gen)
	select {
	case <-mine.done:
	default:
		t.Fatal("landing did not end the flight")
	}
	if got, ok := mine.got["route:a"]; !ok || got.ID != "A" {
		t.Fatalf("flight result %+v", mine.got)
	}
	// Found and absent keys are both cached now; "c" is still in flight.
	out = map[string]Channel{}
	missing3, waits3, _, _ := c.claim("route:", []string{"a", "b", "c"}, out)
	if len(missing3) != 0 || len(waits3) != 1 || waits3[0].f != mine2 || out["a"].ID != "A" || len(out) != 1 {
		t.Fatalf("after landing: missing %v waits %d out %v", missing3, len(waits3), out)
	}
}

func TestCacheForgetsLoadsBegunBefore(t *testing.T) {
	c := newCache(time.Minute)
	missing, _, mine, gen := c.claim("id:", []string{"x"}, map[string]Channel{})
	c.forget(Channel{ID: "x"}) // created meanwhile: the load may predate it
	c.land(mine, "id:", missing, map[string]Channel{}, nil, gen)
	again, _, _, _ := c.claim("id:", []string{"x"}, map[string]Channel{})
	if len(again) != 1 {
		t.Fatalf("a load begun before forget was cached: missing %v", again)
	}
}

func TestBurstOfLookupsLoadsOnce(t *testing.T) {
	ch := Channel{ID: "c1", Route: "facebook:1"}
	st := &routeStore{byRoute: map[string]Channel{ch.Route: ch}, release: make(chan struct{})}
	svc := NewService(st, time.Minute)
	const n = 50
	var started, done sync.WaitGroup
	results := make([]map[string]Channel, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			results[i], errs[i] = svc.ByRoutes(context.Background(), []string{ch.Route, "facebook:2"})
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let them reach the store (or the flight)
	close(st.release)
	done.Wait()
	for i := range n {
		if errs[i] != nil || len(results[i]) != 1 || results[i][ch.Route].ID != "c1" {
			t.Fatalf("lookup %d: %v %v", i, results[i], errs[i])
		}
	}
	if got := st.loads.Load(); got != 1 {
		t.Fatalf("%d concurrent lookups loaded %d times, want 1", n, got)
	}
}

func TestWaitersRetryAFailedLoad(t *testing.T) {
	ch := Channel{ID: "c1", Route: "facebook:1"}
	st := &routeStore{byRoute: map[string]Channel{ch.Route: ch}, release: make(chan struct{}), failing: 1}
	svc := NewService(st, time.Minute)
	first := make(chan error, 1)
	go func() { _, err := svc.ByRoutes(context.Background(), []string{ch.Route}); first <- err }()
	for st.loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan map[string]Channel, 1)
	go func() {
		got, err := svc.ByRoutes(context.Background(), []string{ch.Route})
		if err != nil {
			t.Error(err)
		}
		second <- got
	}()
	time.Sleep(20 * time.Millisecond) // the second joins the first's flight
	close(st.release)
	if err := <-first; err == nil {
		t.Fatal("the first load was to fail")
	}
	if got := <-second; got[ch.Route].ID != "c1" {
		t.Fatalf("second lookup got %v", got)
	}
	if got := st.loads.Load(); got != 2 {
		t.Fatalf("loads %d, want 2 (the failed one and the retry)", got)
	}
}
