// Package clock is the time source injected into everything that waits:
// debounce, inter-digit timers, registration refresh, media pacing.
// Real is the wall clock; Fake is driven by tests with Advance, so tests
// never sleep to wait.
package clock

import "time"

// Clock is what a component needs of time.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
	// SleepUntil blocks until the clock reads t or later. Media pacing
	// sleeps to an absolute deadline so that errors do not accumulate.
	SleepUntil(t time.Time)
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call; it reports whether the timer was still pending.
	Stop() bool
}

// Real is the system clock (monotonic readings through time.Now).
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// SleepUntil wakes when a kernel timer set for t fires, where the system
// allows (sleep_linux.go: a timerfd). time.Sleep alone wakes up to 1 ms
// late on Linux, unevenly: the runtime's epoll wait takes whole
// milliseconds, and a media frame sent 1 ms late is 1 ms of send jitter.
func (Real) SleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	if preciseSleep(d) {
		return
	}
	time.Sleep(d)
}
