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

// flight is a load of some keys in progress. Lookups of those keys that miss
// meanwhile wait for it rather than load them again: a burst of webhooks for
// a channel not cached yet (a restart, an expired entry) costs one read, not
// one per request in flight.
type flight struct {
	done chan struct{}
	got  map[string]Channel // by cache key; keys absent here do not exist
	err  error
}

// wait is a flight a lookup waits for and the keys it wants from it.
type wait struct {
	f    *flight
	keys []string // without the prefix
}

type cache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]cacheEntry
	flights map[string]*flight
	gen     uint64 // bumped by forget: a load begun before lands nothing
	now     func() time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, entries: map[string]cacheEntry{}, flights: map[string]*flight{}, now: time.Now}
}

func (c *cache) getLocked(key string) (ch Channel, found, hit bool) {
	e, ok := c.entries[key]
	if !ok || c.now().After(e.expires) {
		return Channel{}, false, false
	}
	return e.ch, e.found, true
}

// claim sorts keys: the channels cached go into out, keys another lookup is
// loading into waits, and the rest into missing, for which it registers mine
// (nil when nothing is missing). The caller loads missing and lands mine.
func (c *cache) claim(prefix string, keys []string, out map[string]Channel) (missing []string, waits []wait, mine *flight, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byFlight := map[*flight]int{}
	for _, k := range keys {
		key := prefix + k
		if ch, found, hit := c.getLocked(key); hit {
			if found {
				out[k] = ch
			}
			continue
		}
		if f, ok := c.flights[key]; ok && f != mine {
			i, seen := byFlight[f]
			if !seen {
				i = len(waits)
				byFlight[f] = i
				waits = append(waits, wait{f: f})
			}
			waits[i].keys = append(waits[i].keys, k)
			continue
		}
		if mine == nil {
			mine = &flight{done: make(chan struct{})}
		}
		if c.flights[key] != mine {
			c.flights[key] = mine
			missing = append(missing, k)
		}
	}
	return missing, waits, mine, c.gen
}

// land ends f, a load of keys begun at generation gen: got holds the channels
// found, by cache key. Unless it failed or a channel was forgotten since, the
// result is cached, absences too.
func (c *cache) land(f *flight, prefix string, keys []string, got map[string]Channel, err error, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.got, f.err = got, err
	for _, k := range keys {
		key := prefix + k
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		if err != nil || gen != c.gen {
			continue
		}
		ch, found := got[key]
		c.putLocked(key, ch, found)
	}
	close(f.done)
}

func (c *cache) putLocked(key string, ch Channel, found bool) {
	ttl := c.ttl
	if !found {
		ttl = min(ttl, negativeTTL)
	}
	if len(c.entries) >= maxCached {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[key] = cacheEntry{ch: ch, found: found, expires: c.now().Add(ttl)}
}

// forget drops everything cached about ch, after it was created or deleted
// here; loads in flight then cache nothing.
func (c *cache) forget(ch Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, "id:"+ch.ID)
	delete(c.entries, "route:"+ch.Route)
}
