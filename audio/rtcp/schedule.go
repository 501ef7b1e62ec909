package rtcp

import (
	"math/rand/v2"
	"time"
)

// RFC 3550 §6.2 and §6.3.1 constants.
const (
	// MinInterval is the minimum report interval Tmin, RFC 3550 §6.2.
	MinInterval = 5 * time.Second
	// compensation is e - 3/2, RFC 3550 §6.3.1 and §A.7: it makes up for
	// the randomisation's effect on the average interval.
	compensation = 2.71828 - 1.5
	// rtcpFraction is the share of the session bandwidth for RTCP, §6.2.
	rtcpFraction = 0.05
	// senderFraction of the RTCP bandwidth is for senders, §6.3.1.
	senderFraction = 0.25
)

// Interval is the deterministic RTCP interval Td of RFC 3550 §6.3.1 and
// §A.7 (before randomisation), in seconds: members and senders in the
// session, whether we sent since the last report, the session bandwidth
// in bits per second (0: Tmin alone), the average compound RTCP packet
// size in octets (with UDP/IP headers), and whether no report was sent yet
// (Tmin halved).
func Interval(members, senders int, weSent bool, sessionBW, avgSize float64, initial bool) time.Duration {
	tmin := MinInterval.Seconds()
	if initial {
		tmin /= 2
	}
	if members < 1 {
		members = 1
	}
	n := float64(members)
	bw := sessionBW * rtcpFraction / 8 // octets per second
	if senders > 0 && float64(senders) <= float64(members)*senderFraction {
		if weSent {
			bw *= senderFraction
			n = float64(senders)
		} else {
			bw *= 1 - senderFraction
			n = float64(members - senders)
		}
	}
	t := tmin
	if bw > 0 {
		t = max(avgSize*n/bw, tmin)
	}
	return time.Duration(t * float64(time.Second))
}

// Randomize applies RFC 3550 §6.3.1: td times a uniform factor in
// [0.5, 1.5), divided by e - 3/2. u is a uniform value in [0, 1).
func Randomize(td time.Duration, u float64) time.Duration {
	return time.Duration(float64(td) * (u + 0.5) / compensation)
}

// Randomized interval bounds for a two-party call at Tmin: 5 s x [0.5,1.5)
// / (e - 3/2), about 2.05 s to 6.16 s (mean about 4.1 s). The initial
// report comes at half that.
var (
	MinRandomInterval = Randomize(MinInterval, 0)
	MaxRandomInterval = Randomize(MinInterval, 1)
)

// Schedule says when the next compound RTCP packet of a two-party call is
// due (RFC 3550 §6.3: two members, both sending, session bandwidth from
// SDP). It is driven by the times it is given: the caller reads the
// injected clock. It has no timer reconsideration (§6.3.3) and no BYE
// back-off (§6.3.7), which a two-party call does not need. Not safe for
// concurrent use: one RTCP loop owns it.
type Schedule struct {
	rnd       *rand.Rand
	sessionBW float64
	avgSize   float64
	initial   bool
	next      time.Time
}

// NewSchedule starts a schedule at start. sessionBW is the session
// bandwidth in bits per second (0 means the RTCP share never limits: the
// interval is Tmin). rnd is the randomisation source; nil means the
// package's random source (seeded by the runtime).
func NewSchedule(start time.Time, sessionBW float64, rnd *rand.Rand) *Schedule {
	s := &Schedule{rnd: rnd, sessionBW: sessionBW, initial: true,
		avgSize: 128} // a guess at an SR+SDES with UDP/IP headers, §6.3.2
	s.next = start.Add(s.interval(true))
	return s
}

func (s *Schedule) uniform() float64 {
	if s.rnd == nil {
		return rand.Float64()
	}
	return s.rnd.Float64()
}

func (s *Schedule) interval(weSent bool) time.Duration {
	td := Interval(2, 2, weSent, s.sessionBW, s.avgSize, s.initial)
	return Randomize(td, s.uniform())
}

// Next is when the next report is due.
func (s *Schedule) Next() time.Time { return s.next }

// Due reports whether a report is due at now.
func (s *Schedule) Due(now time.Time) bool { return !now.Before(s.next) }

// Sent records that a compound packet of size octets (UDP/IP headers
// included; 0 keeps the estimate) went out at now, and schedules the next
// one (RFC 3550 §6.3.6: avg_rtcp_size moves 1/16 of the way to the new
// size). It returns the new due time.
func (s *Schedule) Sent(now time.Time, size int) time.Time {
	if size > 0 {
		s.avgSize += (float64(size) - s.avgSize) / 16
	}
	s.initial = false
	s.next = now.Add(s.interval(true))
	return s.next
}
