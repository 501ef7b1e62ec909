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
