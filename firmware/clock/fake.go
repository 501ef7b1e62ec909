package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually advanced clock for tests. Timers fire, in deadline
// order, from within Advance; sleepers wake when the clock passes their
// deadline.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     int
	timers  []*fakeTimer
	waiters []fakeWaiter
	changed chan struct{} // closed and replaced when timers or sleepers change
}

type fakeTimer struct {
	c    *Fake
	at   time.Time
	seq  int
	f    func()
	done bool
}

type fakeWaiter struct {
	at time.Time
	ch chan struct{}
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	t.c.notifyLocked()
	return true
}

func (c *Fake) SleepUntil(t time.Time) {
	c.mu.Lock()
	if !c.now.Before(t) {
		c.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, fakeWaiter{at: t, ch: ch})
	c.notifyLocked()
	c.mu.Unlock()
	<-ch
}

// Sleepers reports how many goroutines are blocked in SleepUntil, so a test
// can wait for a paced loop to reach its sleep before advancing.
func (c *Fake) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Pending reports how many timers have not fired or been stopped.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// notifyLocked wakes the goroutines blocked in Until.
func (c *Fake) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// Until blocks until cond holds or timeout (real time, a bound for a
// broken test, never a measurement) passes, re-checking each time a timer
// is set or stopped or a goroutine starts sleeping; it reports whether cond
// held. Tests use it to wait for a loop to reach its timer or its sleep
// before they advance the clock, without polling.
func (c *Fake) Until(cond func() bool, timeout time.Duration) bool {
	bound := time.NewTimer(timeout)
	defer bound.Stop()
	for {
		c.mu.Lock()
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-bound.C:
			return cond()
		}
	}
}

// WaitSleepers blocks until at least n goroutines sleep in SleepUntil, or
// timeout; it reports whether they do.
func (c *Fake) WaitSleepers(n int, timeout time.Duration) bool {
	return c.Until(func() bool { return c.Sleepers() >= n }, timeout)
}

// WaitPending blocks until at least n timers are pending, or timeout; it
// reports whether they are.
func (c *Fake) WaitPending(n int, timeout time.Duration) bool {
	return c.Until(func() bool { return c.Pending() >= n }, timeout)
}

// Advance moves the clock forward by d, running every timer that falls due
// (synchronously, in deadline order, with the clock reading each timer's
// deadline while it runs) and waking every sleeper whose deadline passed.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool {
			if !c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].at.Before(c.timers[j].at)
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.done && !t.at.After(end) {
				next = t
				break
			}
		}
		if next == nil {
			break
		}
		next.done = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.wakeLocked()
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	c.wakeLocked()
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.done {
			live = append(live, t)
		}
	}
	c.timers = live
	c.mu.Unlock()
}

func (c *Fake) wakeLocked() {
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !c.now.Before(w.at) {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}
