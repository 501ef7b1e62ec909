package dnscache

import (
	"sync"
	"time"
)

type key struct {
	name  string
	qtype uint16
}

type entry struct {
	res     result
	expires time.Time
}

// cache holds results until they expire; at most max entries (the one
// closest to expiry goes first when full).
type cache struct {
	mu  sync.Mutex
	max int
	m   map[key]entry
}

func newCache(max int) *cache { return &cache{max: max, m: make(map[key]entry)} }

func (c *cache) get(k key, now time.Time) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return result{}, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return result{}, false
	}
	// Hand out the remaining TTL, not the original one.
	e.res.ttl = e.expires.Sub(now)
	return e.res, true
}

func (c *cache) put(k key, r result, now time.Time) {
	if r.ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = entry{res: r, expires: now.Add(r.ttl)}
}

// evict drops what has expired, or else the entry expiring first.
func (c *cache) evict(now time.Time) {
	var first key
	var at time.Time
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
			continue
		}
		if at.IsZero() || e.expires.Before(at) {
			first, at = k, e.expires
		}
	}
	if len(c.m) >= c.max {
		delete(c.m, first)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// flight is one query in progress that later askers wait for.
type flight struct {
	joined int // callers sharing it (guarded by flights.mu)
	done   chan struct{}
	res    result
	err    error
}

// flights makes concurrent lookups of one key share one query
// (singleflight).
type flights struct {
	mu sync.Mutex
	m  map[key]*flight
}

// start joins the flight of k, or starts one (leader): the leader runs
// the query, every caller waits for its result or its own deadline.
func (f *flights) start(k key) (fl *flight, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[key]*flight)
	}
	if fl, ok := f.m[k]; ok {
		fl.joined++
		return fl, false
	}
	fl = &flight{joined: 1, done: make(chan struct{})}
	f.m[k] = fl
	return fl, true
}

// joined is how many callers share the flight of k (tests).
func (f *flights) joined(k key) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[k]; ok {
		return fl.joined
	}
	return 0
}

func (f *flights) finish(k key, fl *flight, res result, err error) {
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	fl.res, fl.err = res, err
	close(fl.done)
}
