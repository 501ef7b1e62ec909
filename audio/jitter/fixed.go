package jitter

// Verdict says what Put did with a packet.
type Verdict int

const (
	Accepted  Verdict = iota
	Duplicate         // its first sample was already buffered
	Late              // its time has already been played
	Resync            // accepted after restarting playout on a timestamp jump
	Invalid           // empty or larger than the buffer
)

func (v Verdict) String() string {
	switch v {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	case Resync:
		return "resync"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

const (
	// ringSize is the span of timestamps the buffer holds: 2.048 s at 8 kHz.
	ringSize = 1 << 14
	ringMask = ringSize - 1
	// maxLateRun is how many packets in a row may arrive late before the
	// buffer concludes the sender's timeline moved and resynchronises.
	maxLateRun = 10
)

// Fixed is a fixed-delay playout buffer. The zero value is not usable; use
// NewFixed.
type Fixed struct {
	delay   uint32
	started bool
	play    uint32 // RTP timestamp of the next sample Get returns
	lateRun int
	ring    [ringSize]int16
	valid   [ringSize]bool
}

// NewFixed returns a buffer that plays delay samples (for example two
// 20 ms frames, 320) behind the first packet. delay is capped at half the
// ring.
func NewFixed(delay int) *Fixed {
	delay = max(0, min(delay, ringSize/2))
	return &Fixed{delay: uint32(delay)}
}

// Delay returns the playout delay in samples.
func (b *Fixed) Delay() int { return int(b.delay) }

// Reset forgets all buffered audio; the next Put starts playout afresh.
func (b *Fixed) Reset() {
	b.started = false
	b.lateRun = 0
	clear(b.valid[:])
}

func (b *Fixed) restart(ts uint32) {
	b.Reset()
	b.started = true
	b.play = ts - b.delay
}

// Put buffers the samples of a packet whose first sample has RTP
// timestamp ts. The samples are copied.
func (b *Fixed) Put(ts uint32, samples []int16) Verdict {
	n := len(samples)
	if n == 0 || n > ringSize/2 {
		return Invalid
	}
	verdict := Accepted
	if !b.started {
		b.restart(ts)
	}
	// Signed distance from the playout point, modulo 2^32 (RFC 3550 §5.1:
	// timestamps wrap).
	d := int64(int32(ts - b.play))
	switch {
	case d+int64(n) > ringSize:
		// Too far ahead to hold: the sender jumped forward.
		b.restart(ts)
		d, verdict = int64(b.delay), Resync
	case d+int64(n) <= 0:
		b.lateRun++
		if b.lateRun <= maxLateRun {
			return Late
		}
		// Everything has been late for a while: the sender jumped back.
		b.restart(ts)
		d, verdict = int64(b.delay), Resync
	}
	b.lateRun = 0
	skip := 0
	if d < 0 { // partly played already; keep the rest
		skip = int(-d)
	}
	first := (b.play + uint32(d) + uint32(skip)) & ringMask
	if b.valid[first] {
		return Duplicate
	}
	for i := skip; i < n; i++ {
		k := (b.play + uint32(d) + uint32(i)) & ringMask
		b.ring[k] = samples[i]
		b.valid[k] = true
	}
	return verdict
}

// Get fills frame with the next len(frame) samples of playout, silence
// where nothing arrived, and reports whether any of it was received audio.
// Before the first Put it returns silence without advancing.
func (b *Fixed) Get(frame []int16) bool {
	if !b.started {
		clear(frame)
		return false
	}
	any := false
	for i := range frame {
		k := (b.play + uint32(i)) & ringMask
		if b.valid[k] {
			frame[i] = b.ring[k]
			b.valid[k] = false
			any = true
		} else {
			frame[i] = 0
		}
	}
	b.play += uint32(len(frame))
	return any
}
