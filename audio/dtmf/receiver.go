package dtmf

import "time"

const (
	// DefaultTimeout ends an event whose end packets never came: no
	// packet of it for five 20 ms frames. It outlasts a burst of four lost
	// updates and ordinary jitter; reporting early would only lose the
	// duration, never count the digit twice.
	DefaultTimeout = 100 * time.Millisecond
	// forget is how long after an event's last packet its timestamp still
	// marks older packets as stale. A peer that restarts its timeline
	// (a new random timestamp, which may compare as older) is believed after it.
	forget = 2 * time.Second
)

// Digit is one received event.
type Digit struct {
	// Key is the digit: '0'-'9', '*', '#', 'A'-'D'.
	Key byte
	// Code is the RFC 4733 event code (§3.2).
	Code uint8
	// Timestamp is the RTP timestamp of the event's start.
	Timestamp uint32
	// Duration is the longest duration reported, over all segments,
	// in timestamp units.
	Duration uint32
	// Ended is true when an end packet (E bit) was seen; false when the
	// event timed out or a newer event began first.
	Ended bool
}

// Receiver turns telephone-event packets into digits, each once. Its zero
// value is ready (Timeout 0 means DefaultTimeout); it is not safe for
// concurrent use.
type Receiver struct {
	// Timeout ends an event with no packet for this long.
	Timeout time.Duration

	active bool
	cur    Digit
	segTS  uint32 // timestamp of the current segment (§2.5.1.3)
	segDur uint16 // longest duration seen in the current segment
	base   uint32 // duration of the segments before it
	last   time.Time

	have   bool   // lastTS is set
	lastTS uint32 // newest event (segment) timestamp seen
}

// Reset forgets everything, e.g. when the peer's SSRC changes.
func (r *Receiver) Reset() { *r = Receiver{Timeout: r.Timeout} }

// newer reports whether a is after b in RTP timestamp (serial) order.
func newer(a, b uint32) bool { return int32(a-b) > 0 }

// Feed takes one telephone-event packet (its RTP timestamp, payload and
// arrival time) and appends the digits it completes to dst: at most two
// (a pending event timed out or superseded, and this one if it is an
// end). Events that are not DTMF digits (codes over 15) are ignored.
func (r *Receiver) Feed(dst []Digit, ts uint32, payload []byte, now time.Time) ([]Digit, error) {
	ev, err := Unmarshal(payload)
	if err != nil {
		return dst, err
	}
	dst = r.Tick(dst, now)
	if ev.Code > MaxCode {
		return dst, nil
	}
	if r.active {
		switch {
		case ts == r.segTS:
			r.update(ev, now)
			if ev.End {
				dst = r.finish(dst, true)
			}
			return dst, nil
		case ts-r.segTS == MaxDuration && ev.Code == r.cur.Code:
			// §2.5.1.3: the next segment of a long event.
			r.base += MaxDuration
			r.segTS, r.segDur = ts, 0
			r.lastTS = ts
			r.update(ev, now)
			if ev.End {
				dst = r.finish(dst, true)
			}
			return dst, nil
		case newer(ts, r.segTS):
			// A newer event began before this one's end arrived.
			dst = r.finish(dst, false)
		default:
			return dst, nil // a late packet of an older event
		}
	} else if r.have && now.Sub(r.last) < forget && !newer(ts, r.lastTS) {
		// Retransmitted end packets, late updates and reordered packets of
		// events already reported.
		return dst, nil
	}
	// A new event. Its first packet (with the marker bit) may have been
	// lost, so any packet begins one.
	r.active = true
	r.have = true
	r.lastTS = ts
	r.segTS = ts
	r.segDur = 0
	r.base = 0
	k, _ := Key(ev.Code)
	r.cur = Digit{Key: k, Code: ev.Code, Timestamp: ts}
	r.update(ev, now)
	if ev.End {
		dst = r.finish(dst, true)
	}
	return dst, nil
}

func (r *Receiver) update(ev Event, now time.Time) {
	r.segDur = max(r.segDur, ev.Duration)
	r.cur.Duration = r.base + uint32(r.segDur)
	r.last = now
}

// Tick appends the pending event if no packet of it arrived for Timeout
// by now.
func (r *Receiver) Tick(dst []Digit, now time.Time) []Digit {
	to := r.Timeout
	if to <= 0 {
		to = DefaultTimeout
	}
	if r.active && now.Sub(r.last) >= to {
		dst = r.finish(dst, false)
	}
	return dst
}

// Pending reports whether an event has begun and not yet been reported.
func (r *Receiver) Pending() bool { return r.active }

func (r *Receiver) finish(dst []Digit, ended bool) []Digit {
	r.active = false
	r.cur.Ended = ended
	return append(dst, r.cur)
}
