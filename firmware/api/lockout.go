package api

import (
	"net/netip"
	"sync"
	"time"
)

// Lockout rates failed logins per source: after Free failures a source is
// locked for Base, doubling with each further failure up to Cap; while
// locked every request from it is answered 429 with Retry-After, right
// password or not, so guessing gets no faster by ignoring the answer.
// A good login clears the source. The table holds at most Max sources;
// when full the one whose last failure is oldest is forgotten (bounded
// memory whatever the number of addresses an attacker uses).
//
// IPv4 sources are counted per address, IPv6 ones per /64 (one host can
// hold a whole /64).
type Lockout struct {
	Free int           // failures allowed before the first lock
	Base time.Duration // first lock
	Cap  time.Duration // longest lock
	Max  int           // sources remembered

	mu      sync.Mutex
	sources map[netip.Addr]*failures
}

type failures struct {
	n     int
	until time.Time // locked until then
	last  time.Time // last failure
}

// Lockout defaults.
const (
	DefaultFree       = 5
	DefaultBase       = time.Second
	DefaultCap        = 5 * time.Minute
	DefaultMaxSources = 1024
)

// NewLockout returns a Lockout with the defaults.
func NewLockout() *Lockout {
	return &Lockout{Free: DefaultFree, Base: DefaultBase, Cap: DefaultCap, Max: DefaultMaxSources}
}

func sourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// Locked returns how long src stays locked at now (0: not locked).
func (l *Lockout) Locked(src netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.sources[sourceKey(src)]; f != nil && now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// Fail records a failed login from src at now and returns the lock it
// earned (0 while under Free failures).
func (l *Lockout) Fail(src netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sources == nil {
		l.sources = make(map[netip.Addr]*failures)
	}
	k := sourceKey(src)
	f := l.sources[k]
	if f == nil {
		if len(l.sources) >= max(l.Max, 1) {
			l.evictOldest()
		}
		f = &failures{}
		l.sources[k] = f
	}
	f.n++
	f.last = now
	if f.n < l.Free {
		return 0
	}
	d := l.Base
	for i := l.Free; i < f.n && d < l.Cap; i++ {
		d *= 2
	}
	d = min(d, l.Cap)
	f.until = now.Add(d)
	return d
}

// Succeed forgets src's failures.
func (l *Lockout) Succeed(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sources, sourceKey(src))
}

// Len is the number of sources remembered.
func (l *Lockout) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

func (l *Lockout) evictOldest() {
	var oldest netip.Addr
	var at time.Time
	for k, f := range l.sources {
		if !oldest.IsValid() || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	delete(l.sources, oldest)
}
