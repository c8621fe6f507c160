package channel

import (
	"sync"
	"time"
)

// maxCached bounds the cache; past it the cache starts over rather than grow
// without limit under a flood of unknown ids.
const maxCached = 20000

// negativeTTL is how long "no such channel" is remembered: short, so a channel
// just created elsewhere is found soon.
const negativeTTL = 3 * time.Second

type cacheEntry struct {
	ch      Channel
	found   bool
	expires time.Time
}

type cache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]cacheEntry
	now     func() time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, entries: map[string]cacheEntry{}, now: time.Now}
}

// get returns the cached channel and whether it exists; hit is false when the key is not cached.
func (c *cache) get(key string) (ch Channel, found, hit bool) {
	if c.ttl <= 0 {
		return Channel{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().After(e.expires) {
		return Channel{}, false, false
	}
	return e.ch, e.found, true
}

func (c *cache) put(key string, ch Channel, found bool) {
	if c.ttl <= 0 {
		return
	}
	ttl := c.ttl
	if !found {
		ttl = min(ttl, negativeTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCached {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[key] = cacheEntry{ch: ch, found: found, expires: c.now().Add(ttl)}
}

// forget drops everything cached about ch, after it was created or deleted here.
func (c *cache) forget(ch Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, "id:"+ch.ID)
	delete(c.entries, "route:"+ch.Route)
}
