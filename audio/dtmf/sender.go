package dtmf

import "fmt"

// endPackets is how often the end of an event is sent, RFC 4733 §2.5.1.4.
const endPackets = 3

// Packet is one telephone-event packet the Sender asks its caller to send.
type Packet struct {
	// Timestamp is the RTP timestamp: the start of the event (of its
	// current segment for long events), RFC 4733 §2.5.1.1.
	Timestamp uint32
	// Marker is the RTP marker bit: set on the first packet of an event
	// (§2.5.1.1).
	Marker bool
	// Event is the payload.
	Event Event
	// Last is set on the event's final packet (its third end packet).
	Last bool
}

type senderState uint8

const (
	idle    senderState = iota // no event running; cur may be waiting to begin
	running                    // updates each frame
	ending                     // end packets
)

// key is one key press: its event code, minimum duration and whether it
// was released.
type key struct {
	code     uint8
	minDur   uint32
	released bool
	set      bool
}

// MaxQueued is how many key presses can wait behind the event being sent
// (a fast burst from the keypad or the local API).
const MaxQueued = 16

// Sender is the sending side of RFC 4733 events, driven once per frame by
// the media loop. Its zero value is ready; it is not safe for concurrent
// use (the caller serialises Start, Stop, Active and Next).
type Sender struct {
	// Volume is the power level sent (§2.3.4), in -dBm0; 0 means
	// DefaultVolume.
	Volume uint8

	state senderState
	// keys[head] is the event being sent (or waiting for its first
	// frame); the n-1 after it wait their turn, in the order pressed.
	keys     [MaxQueued]key
	head, n  int
	ts       uint32
	segDur   uint32 // duration of the current segment
	total    uint32 // duration of the whole event
	endsLeft int
}

// Start presses a key: from the next frame an event with code is sent,
// lasting until Stop and at least minDuration timestamp units (e.g. 800
// for 100 ms at 8000 Hz). Pressed while another event is still sending,
// the key pressed before it is released and this one follows it, in turn;
// more than MaxQueued presses waiting is ErrBusy.
func (s *Sender) Start(code uint8, minDuration uint32) error {
	if code > MaxCode {
		return fmt.Errorf("%w: event code %d", ErrDigit, code)
	}
	if s.n == MaxQueued {
		return fmt.Errorf("%w: %d presses still to send", ErrBusy, s.n)
	}
	if s.n > 0 {
		s.last().released = true // one key at a time: pressing another releases it
	}
	s.keys[(s.head+s.n)%MaxQueued] = key{code: code, minDur: minDuration, set: true}
	s.n++
	return nil
}

func (s *Sender) cur() *key  { return &s.keys[s.head] }
func (s *Sender) last() *key { return &s.keys[(s.head+s.n-1)%MaxQueued] }

// Stop releases the key pressed last. The event ends once it has lasted
// its minimum duration.
func (s *Sender) Stop() {
	if s.n > 0 {
		s.last().released = true
	}
}

// Active reports whether an event is sending or waiting to: while it is,
// Next yields a packet for every frame.
func (s *Sender) Active() bool { return s.n > 0 }

// Next advances the sender by one frame of samples timestamp units, ts
// being the RTP timestamp of the frame's first sample. It returns the
// packet to send in place of the frame's audio, or false when no event
// runs and the audio is sent.
func (s *Sender) Next(ts, samples uint32) (Packet, bool) {
	if s.n == 0 {
		return Packet{}, false
	}
	p := Packet{}
	switch s.state {
	case idle:
		// §2.5.1.1: the event's timestamp is the time it began; the
		// first packet carries the marker bit.
		s.state = running
		s.ts = ts
		s.segDur = samples
		s.total = samples
		p.Marker = true
	case running:
		s.segDur += samples
		s.total += samples
		if s.segDur > MaxDuration {
			// §2.5.1.3: a segment ends at the largest duration; the next
			// one starts where it ended, with its own timestamp.
			p.Timestamp = s.ts
			p.Event = s.event(MaxDuration, false)
			s.ts += MaxDuration
			s.segDur -= MaxDuration
			return p, true
		}
	case ending:
		// §2.5.1.4: the end packet is repeated with the same duration.
		s.endsLeft--
		p.Timestamp = s.ts
		p.Event = s.event(s.segDur, true)
		if s.endsLeft == 0 {
			p.Last = true
			s.state = idle
			s.keys[s.head] = key{}
			s.head = (s.head + 1) % MaxQueued
			s.n--
		}
		return p, true
	}
	p.Timestamp = s.ts
	if s.cur().released && s.total >= s.cur().minDur {
		s.state = ending
		s.endsLeft = endPackets - 1
		p.Event = s.event(s.segDur, true)
		return p, true
	}
	p.Event = s.event(s.segDur, false)
	return p, true
}

func (s *Sender) event(d uint32, end bool) Event {
	v := s.Volume
	if v == 0 {
		v = DefaultVolume
	}
	return Event{Code: s.cur().code, End: end, Volume: v, Duration: uint16(min(d, MaxDuration))}
}
