package provision

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

func TestScheduleBootAndNext(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := Schedule{MAC: testMAC, BootDelayMax: 10 * time.Minute}
	for range 1000 {
		if d := s.Boot(rnd); d < 0 || d >= 10*time.Minute {
			t.Fatalf("boot delay %v outside [0, 10m)", d)
		}
	}
	if (Schedule{}).Boot(rnd) != 0 {
		t.Fatal("no BootDelayMax must mean no delay")
	}
	last := time.Unix(1000, 0)
	sp := s.Spread()
	if sp < 0 || sp >= DefaultInterval/10 || sp != s.Spread() {
		t.Fatalf("spread %v: want stable, in [0, 2h24m)", sp)
	}
	if got := s.Next(last, 0, rnd); !got.Equal(last.Add(24*time.Hour + sp)) {
		t.Fatalf("after success: %v, want 24h + spread", got.Sub(last))
	}
	for failures, step := range map[int]time.Duration{1: time.Minute, 2: 5 * time.Minute, 3: 15 * time.Minute, 4: time.Hour, 5: 4 * time.Hour, 9: 4 * time.Hour} {
		lo, hi := time.Duration(float64(step)*0.8), time.Duration(float64(step)*1.2)
		seenLow, seenHigh := false, false
		for range 200 {
			d := s.Next(last, failures, rnd).Sub(last)
			if d < lo || d >= hi {
				t.Fatalf("failure %d: %v outside [%v, %v)", failures, d, lo, hi)
			}
			seenLow = seenLow || d < step
			seenHigh = seenHigh || d > step
		}
		if !seenLow || !seenHigh {
			t.Fatalf("failure %d: no jitter on both sides of %v", failures, step)
		}
	}
	custom := Schedule{Interval: time.Hour, Backoff: []time.Duration{time.Second}}
	if d := custom.Next(last, 3, rnd).Sub(last); d < 800*time.Millisecond || d >= 1200*time.Millisecond {
		t.Fatalf("custom back-off: %v", d)
	}
	if sp := custom.Spread(); sp >= 6*time.Minute {
		t.Fatalf("spread %v for a 1h interval, want < 6m", sp)
	}
}

func TestSpreadIsUniformOverAFleet(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	const n, buckets = 10000, 10
	var count [buckets]int
	window := DefaultInterval / 10
	for range n {
		s := Schedule{MAC: randomMAC(rnd)}
		count[int(s.Spread()*buckets/window)]++
	}
	for i, c := range count {
		if c < n/buckets*85/100 || c > n/buckets*115/100 {
			t.Fatalf("bucket %d holds %d of %d phones: spread not uniform (%v)", i, c, n, count)
		}
	}
	// Sequential MACs (one vendor's batch) spread too.
	var seq [buckets]int
	for i := range n {
		s := Schedule{MAC: fmt.Sprintf("0004f2%06x", i)}
		seq[int(s.Spread()*buckets/window)]++
	}
	for i, c := range seq {
		if c < n/buckets*85/100 || c > n/buckets*115/100 {
			t.Fatalf("sequential MACs: bucket %d holds %d (%v)", i, c, seq)
		}
	}
}

func randomMAC(rnd *rand.Rand) string {
	return fmt.Sprintf("%012x", rnd.Uint64()&(1<<48-1))
}

// event is one phone's next request in the fleet simulation.
type event struct {
	at    time.Time
	phone int
}

type events []event

func (e events) Len() int           { return len(e) }
func (e events) Less(i, j int) bool { return e[i].at.Before(e[j].at) }
func (e events) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)        { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// TestFleetOutage simulates 10,000 phones with random MACs that all boot
// at once (a site power cut: the worst case for the boot delay), check
// daily, and meet a 2 h server outage during the next day's checks. It
// counts the requests the server sees per minute (failed ones included).
//
// The bound: with phones spread by their MAC over Interval/10 = 144 min,
// first attempts arrive at about R0 = N/144 = 69 per minute. During an
// outage every failed request comes back once per back-off step; a step
// only moves a stream of requests later (its ±20 % jitter spreads it, it
// never concentrates it), so each step adds at most about R0 per minute.
// Four steps (1m, 5m, 15m, 1h) fit inside a 2 h outage, so the load stays
// below 5·R0 = 347 per minute, plus 30 % for the randomness of a
// per-minute count: 451. The boot burst, N over BootDelayMax = 30 min
// (333 per minute), is under it too. After the outage no phone waits
// longer than the last back-off step with its jitter (4 h · 1.2).
func TestFleetOutage(t *testing.T) {
	const n = 10000
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	rnd := rand.New(rand.NewPCG(2026, 13))
	sched := make([]Schedule, n)
	failures := make([]int, n)
	failedInOutage := make([]bool, n)
	recovered := make([]time.Time, n)
	outageStart := start.Add(24*time.Hour + 20*time.Minute)
	outageEnd := outageStart.Add(2 * time.Hour)
	end := outageEnd.Add(6 * time.Hour)

	q := &events{}
	for i := range n {
		sched[i] = Schedule{Interval: 24 * time.Hour, BootDelayMax: 30 * time.Minute, MAC: randomMAC(rnd)}
		heap.Push(q, event{start.Add(sched[i].Boot(rnd)), i})
	}
	perMinute := map[int64]int{}
	for q.Len() > 0 {
		e := heap.Pop(q).(event)
		if e.at.After(end) {
			break
		}
		clk.Advance(e.at.Sub(clk.Now()))
		now := clk.Now()
		perMinute[int64(now.Sub(start)/time.Minute)]++
		if !now.Before(outageStart) && now.Before(outageEnd) {
			failures[e.phone]++
			failedInOutage[e.phone] = true
		} else {
			failures[e.phone] = 0
			if failedInOutage[e.phone] && recovered[e.phone].IsZero() {
				recovered[e.phone] = now
			}
		}
		heap.Push(q, event{sched[e.phone].Next(now, failures[e.phone], rnd), e.phone})
	}

	peak, peakMinute := 0, int64(0)
	for m, c := range perMinute {
		if c > peak {
			peak, peakMinute = c, m
		}
	}
	const bound = 451
	t.Logf("fleet of %d: peak %d requests/minute at minute %d (outage minutes %d-%d); bound %d",
		n, peak, peakMinute, int64(outageStart.Sub(start)/time.Minute), int64(outageEnd.Sub(start)/time.Minute), bound)
	if peak > bound {
		t.Fatalf("peak %d requests/minute > bound %d", peak, bound)
	}
	failed, latest := 0, time.Duration(0)
	for i := range n {
		if !failedInOutage[i] {
			continue
		}
		failed++
		if recovered[i].IsZero() {
			t.Fatalf("phone %d never got its files after the outage", i)
		}
		latest = max(latest, recovered[i].Sub(outageEnd))
	}
	limit := time.Duration(float64(DefaultBackoff[len(DefaultBackoff)-1]) * (1 + Jitter))
	t.Logf("%d phones failed during the outage; the last got its files %v after it ended (limit %v)", failed, latest, limit)
	if failed < n/2 {
		t.Fatalf("only %d phones met the outage: the simulation does not test back-off", failed)
	}
	if latest > limit {
		t.Fatalf("a phone waited %v after the outage, more than the last back-off step with jitter (%v)", latest, limit)
	}
}
