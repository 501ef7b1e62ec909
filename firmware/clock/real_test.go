package clock

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/tier"
)

// Real.SleepUntil never wakes before its deadline, with sleepers running
// at once (each takes its own timerfd) and with deadlines already past.
func TestRealSleepUntilNeverEarly(t *testing.T) {
	tier.Component(t, "the real clock, in real time")
	var c Real
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				at := time.Now().Add(time.Duration(g*300+i*700) * time.Microsecond)
				c.SleepUntil(at)
				if now := time.Now(); now.Before(at) {
					errs <- (at.Sub(now)).String()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("SleepUntil woke %s early", e)
	}
	start := time.Now()
	c.SleepUntil(start.Add(-time.Hour)) // past: returns at once
	if time.Since(start) > time.Second {
		t.Fatal("SleepUntil of a past deadline slept")
	}
}

// Wake-up lateness of SleepUntil against time.Sleep for 20 ms frames on
// absolute deadlines (the pacer's pattern), reported as median and p99:
//
//	go test -run='^$' -bench=SleepUntil -benchtime=200x ./firmware/clock/
func BenchmarkSleepUntilLateness(b *testing.B) {
	for _, v := range []struct {
		name  string
		sleep func(time.Time)
	}{
		{"timerfd", Real{}.SleepUntil},
		{"time.Sleep", func(t time.Time) { time.Sleep(time.Until(t)) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			late := make([]time.Duration, 0, b.N)
			next := time.Now()
			for b.Loop() {
				next = next.Add(20 * time.Millisecond)
				v.sleep(next)
				late = append(late, time.Since(next))
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[len(late)/2].Microseconds()), "µs-late-median")
			b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "µs-late-p99")
		})
	}
}
