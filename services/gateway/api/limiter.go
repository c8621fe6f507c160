package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// loginLimiter throttles login attempts per client address and per email, so a
// password cannot be guessed quickly from one place or against one account.
// It is per gateway instance; behind N instances the budget is N times larger.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	perIP   rate.Limit
	perUser rate.Limit
	burst   int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLoginLimiter(perMinute, burst int) *loginLimiter {
	return &loginLimiter{buckets: map[string]*bucket{}, perIP: rate.Limit(float64(perMinute*3) / 60),
		perUser: rate.Limit(float64(perMinute) / 60), burst: burst}
}

// allow reports whether one more attempt from ip against email may proceed.
func (l *loginLimiter) allow(ip, email string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.buckets) > 100000 {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
	}
	ok1 := l.get("ip:"+ip, l.perIP, l.burst*3, now).Allow()
	ok2 := l.get("user:"+email, l.perUser, l.burst, now).Allow()
	return ok1 && ok2
}

func (l *loginLimiter) get(key string, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(r, burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim
}
