package provision

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// DefaultInterval is the period of checks when Schedule.Interval is zero.
const DefaultInterval = 24 * time.Hour

// DefaultBackoff is the wait after the 1st, 2nd, ... failure in a row; the
// last step repeats.
var DefaultBackoff = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}

// Jitter is the spread around each back-off step: ±20 %.
const Jitter = 0.2

// Schedule says when to check. The zero value checks every 24 h with the
// default back-off and no boot delay.
type Schedule struct {
	Interval     time.Duration   // between successful checks; default 24 h
	BootDelayMax time.Duration   // first check at a random delay in [0, BootDelayMax)
	MAC          string          // seeds the per-phone spread
	Backoff      []time.Duration // after failures; default DefaultBackoff
}

// Boot is the delay before the first check after boot: uniform in
// [0, BootDelayMax), so a fleet powered up at once does not ask at once.
func (s Schedule) Boot(rnd *rand.Rand) time.Duration {
	if s.BootDelayMax <= 0 {
		return 0
	}
	return time.Duration(rnd.Int64N(int64(s.BootDelayMax)))
}

// Spread is this phone's fixed offset in [0, Interval/10), from a hash of
// its MAC: stable for one phone, uniform over a fleet, so phones that
// booted together drift apart instead of asking together every day.
func (s Schedule) Spread() time.Duration {
	window := int64(s.interval() / 10)
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(s.MAC))
	// FNV-1a's low bits mix poorly over short inputs that differ in the
	// last bytes: finish with splitmix64's mixer.
	x := h.Sum64()
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return time.Duration(x % uint64(window))
}

// Next is when to check after the check that ended at last: Interval plus
// the MAC spread after a success (failures == 0); after n failures in a
// row, the n-th back-off step (the last one repeating) times a uniform
// factor in [1-Jitter, 1+Jitter) from rnd.
func (s Schedule) Next(last time.Time, failures int, rnd *rand.Rand) time.Time {
	if failures <= 0 {
		return last.Add(s.interval() + s.Spread())
	}
	steps := s.Backoff
	if len(steps) == 0 {
		steps = DefaultBackoff
	}
	d := steps[min(failures, len(steps))-1]
	f := 1 - Jitter + 2*Jitter*rnd.Float64()
	return last.Add(time.Duration(float64(d) * f))
}

func (s Schedule) interval() time.Duration {
	if s.Interval <= 0 {
		return DefaultInterval
	}
	return s.Interval
}
