package clock

import (
	"testing"
	"time"
)

func TestFakeTimersFireInOrder(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	var got []int
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, 3) })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, 1) })
	stopped := c.AfterFunc(20*time.Millisecond, func() { got = append(got, 2) })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop reported true")
	}
	c.Advance(15 * time.Millisecond)
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("after 15ms got %v, want [1]", got)
	}
	c.Advance(15 * time.Millisecond)
	if len(got) != 2 || got[1] != 3 {
		t.Fatalf("after 30ms got %v, want [1 3]", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending = %d", c.Pending())
	}
}

func TestFakeTimerSeesItsDeadline(t *testing.T) {
	start := time.Unix(100, 0)
	c := NewFake(start)
	var at time.Time
	c.AfterFunc(time.Second, func() { at = c.Now() })
	c.Advance(5 * time.Second)
	if !at.Equal(start.Add(time.Second)) {
		t.Fatalf("timer saw %v, want %v", at, start.Add(time.Second))
	}
}

func TestFakeTimerScheduledFromTimer(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	n := 0
	var tick func()
	tick = func() {
		n++
		c.AfterFunc(10*time.Millisecond, tick)
	}
	c.AfterFunc(10*time.Millisecond, tick)
	c.Advance(100 * time.Millisecond)
	if n != 10 {
		t.Fatalf("ticks = %d, want 10", n)
	}
}

func TestFakeSleepUntil(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		c.SleepUntil(c.Now().Add(20 * time.Millisecond))
		close(done)
	}()
	if !c.WaitSleepers(1, 10*time.Second) {
		t.Fatal("the goroutine never slept")
	}
	c.Advance(10 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("woke before its deadline")
	default:
	}
	c.Advance(10 * time.Millisecond)
	<-done
	c.SleepUntil(time.Unix(0, 0)) // in the past: returns at once
}

func TestFakeWaitPending(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	if c.WaitPending(1, time.Millisecond) {
		t.Fatal("a timer pending on a fresh clock")
	}
	go c.AfterFunc(time.Second, func() {})
	if !c.WaitPending(1, 10*time.Second) {
		t.Fatal("the timer set by another goroutine was never seen")
	}
	if c.Until(func() bool { return c.Pending() == 0 }, time.Millisecond) {
		t.Fatal("no timer pending while one is")
	}
	c.Advance(time.Second)
	if c.Pending() != 0 {
		t.Fatalf("pending after it fired: %d", c.Pending())
	}
}
