package rtcp

import (
	"sync"
	"time"
)

// DefaultClockRate is the RTP clock rate of G.711 (RFC 3551 §4.5.14).
const DefaultClockRate = 8000

// RFC 3550 §A.1 constants.
const (
	seqMod      = 1 << 16
	maxDropout  = 3000
	maxMisorder = 100
)

// Cumulative loss is a 24-bit signed field, RFC 3550 §6.4.1.
const (
	maxCumLost = 0x7FFFFF
	minCumLost = -0x800000
)

// ReceiverStats is a snapshot of what a Receiver has counted for the
// current remote source. It has no side effects on the report intervals.
type ReceiverStats struct {
	SSRC     uint32 // the remote source, once a packet arrived
	Received uint64 // packets counted, duplicates included (RFC 3550 §A.3)
	Expected uint64 // extended highest sequence number - base + 1
	// Lost is Expected - Received: RFC 3550 §A.3 cumulative loss, negative
	// when duplicates outnumber losses (not clamped here).
	Lost int64
	// ExtendedMax is the extended highest sequence number received.
	ExtendedMax uint32
	// JitterUnits is the §A.8 interarrival jitter in RTP timestamp units;
	// Jitter is the same as a duration.
	JitterUnits uint32
	Jitter      time.Duration
	// Resets counts how often the statistics restarted: a new SSRC, or a
	// sequence jump the source confirmed with a second packet.
	Resets uint64
}

// LossPercent is Lost/Expected in percent, 0 when nothing was expected or
// duplicates outnumber losses.
func (s ReceiverStats) LossPercent() float64 {
	if s.Expected == 0 || s.Lost <= 0 {
		return 0
	}
	return 100 * float64(s.Lost) / float64(s.Expected)
}

// Receiver keeps RFC 3550 §A.1/§A.3/§A.8 reception statistics for the
// remote source of one RTP stream, and what RFC 3550 §6.4.1 needs of the
// last sender report from it. A packet from a different SSRC restarts the
// statistics for that source. The zero value is not usable: NewReceiver.
type Receiver struct {
	rate uint32

	mu      sync.Mutex
	started bool
	ssrc    uint32
	resets  uint64

	// §A.1 sequence state.
	maxSeq  uint16
	cycles  uint32 // shifted count of wraps
	baseSeq uint32
	badSeq  uint32
	// §A.3 counters.
	received      uint64
	expectedPrior uint64
	receivedPrior uint64

	// §A.8 jitter.
	base       time.Time // arrival of the first packet: arrivals are measured from it
	transit    uint32
	jitter16   uint32 // jitter scaled by 16 (§A.8, integer form)
	hasTransit bool

	// Last sender report from the current source (§6.4.1 LSR and DLSR).
	srSSRC    uint32
	lsr       uint32
	srArrival time.Time
	hasSR     bool
}

// NewReceiver returns a Receiver for a stream whose RTP clock runs at
// clockRate Hz; 0 means DefaultClockRate.
func NewReceiver(clockRate uint32) *Receiver {
	if clockRate == 0 {
		clockRate = DefaultClockRate
	}
	return &Receiver{rate: clockRate}
}

// ClockRate is the RTP clock rate the Receiver converts arrivals with.
func (r *Receiver) ClockRate() uint32 { return r.rate }

// OnPacket accounts for an RTP packet from ssrc with sequence number seq
// and timestamp ts that arrived at arrival (read from the injected clock,
// monotonic). It reports whether the packet was valid per RFC 3550 §A.1:
// false for the first packet of a large sequence jump (which the next
// in-sequence packet confirms, restarting the statistics). It does not
// allocate.
func (r *Receiver) OnPacket(ssrc uint32, seq uint16, ts uint32, arrival time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started || ssrc != r.ssrc {
		if r.started {
			r.resets++
		}
		r.restart(ssrc, seq, arrival)
		r.updateJitter(ts, arrival)
		return true
	}
	if !r.updateSeq(seq) {
		return false
	}
	r.updateJitter(ts, arrival)
	return true
}

// restart begins statistics for source ssrc at packet seq. A sender
// report from the same SSRC is kept: it may have arrived before the first
// RTP packet.
func (r *Receiver) restart(ssrc uint32, seq uint16, arrival time.Time) {
	r.started = true
	r.ssrc = ssrc
	r.initSeq(seq)
	r.base = arrival
	r.jitter16 = 0
	r.hasTransit = false
}

// initSeq is RFC 3550 §A.1 init_seq.
func (r *Receiver) initSeq(seq uint16) {
	r.baseSeq = uint32(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1 // so seq == badSeq is false
	r.cycles = 0
	r.received = 1
	r.expectedPrior = 0
	r.receivedPrior = 0
}

// updateSeq is RFC 3550 §A.1 update_seq without the probation period:
// the source was negotiated in SDP, so its first packet is believed.
func (r *Receiver) updateSeq(seq uint16) bool {
	udelta := seq - r.maxSeq // modulo 2^16
	switch {
	case udelta < maxDropout:
		// In order, with a permissible gap.
		if seq < r.maxSeq {
			r.cycles += seqMod // wrapped
		}
		r.maxSeq = seq
	case uint32(udelta) <= seqMod-maxMisorder:
		// A very large jump. Two sequential packets mean the source
		// restarted without telling us: resync to it.
		if uint32(seq) == r.badSeq {
			r.resets++
			r.initSeq(seq)
			r.hasTransit = false
			r.jitter16 = 0
			return true
		}
		r.badSeq = (uint32(seq) + 1) & (seqMod - 1)
		return false
	default:
		// Duplicate or reordered packet: counted, as §A.3 does.
	}
	r.received++
	return true
}

// updateJitter is RFC 3550 §A.8 in its integer form: the jitter is kept
// scaled by 16 so that J += (|D| - J)/16 needs no floating point.
func (r *Receiver) updateJitter(ts uint32, arrival time.Time) {
	arr := uint32(toRTPUnits(arrival.Sub(r.base), r.rate)) // modulo 2^32
	transit := arr - ts
	if !r.hasTransit {
		r.transit = transit
		r.hasTransit = true
		return
	}
	d := int32(transit - r.transit)
	r.transit = transit
	if d < 0 {
		d = -d
	}
	r.jitter16 += uint32(d) - ((r.jitter16 + 8) >> 4)
}

// OnSenderReport records the NTP timestamp of a sender report received at
// arrival, for the LSR and DLSR of the next report about that source
// (RFC 3550 §6.4.1).
func (r *Receiver) OnSenderReport(sr *SenderReport, arrival time.Time) {
	if sr == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srSSRC = sr.SSRC
	r.lsr = NTPShort(sr.NTPTime)
	r.srArrival = arrival
	r.hasSR = true
}

func (r *Receiver) expected() uint64 {
	return uint64(r.cycles) + uint64(r.maxSeq) - uint64(r.baseSeq) + 1
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() ReceiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ReceiverStats{Resets: r.resets}
	}
	exp := r.expected()
	j := r.jitter16 >> 4
	return ReceiverStats{
		SSRC:        r.ssrc,
		Received:    r.received,
		Expected:    exp,
		Lost:        int64(exp) - int64(r.received),
		ExtendedMax: r.cycles + uint32(r.maxSeq),
		JitterUnits: j,
		Jitter:      time.Duration(uint64(j) * uint64(time.Second) / uint64(r.rate)),
		Resets:      r.resets,
	}
}

// Report returns the reception report block about the current source at
// time now, and starts a new interval for the fraction lost (RFC 3550
// §A.3). ok is false, and nothing changes, until a packet has arrived.
func (r *Receiver) Report(now time.Time) (rep ReceptionReport, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ReceptionReport{}, false
	}
	expected := r.expected()
	lost := int64(expected) - int64(r.received)
	lost = min(max(lost, minCumLost), maxCumLost)

	expInterval := int64(expected - r.expectedPrior)
	recInterval := int64(r.received - r.receivedPrior)
	r.expectedPrior = expected
	r.receivedPrior = r.received
	var fraction uint8
	if lostInterval := expInterval - recInterval; expInterval > 0 && lostInterval > 0 {
		fraction = uint8((lostInterval << 8) / expInterval)
	}

	rep = ReceptionReport{
		SSRC:               r.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xFFFFFF, // 24-bit two's complement
		LastSequenceNumber: r.cycles + uint32(r.maxSeq),
		Jitter:             r.jitter16 >> 4,
	}
	if r.hasSR && r.srSSRC == r.ssrc {
		rep.LastSenderReport = r.lsr
		rep.Delay = durationToShort(now.Sub(r.srArrival))
	}
	return rep, true
}

// TotalLost decodes the 24-bit signed cumulative-loss field of a report
// block (ReceptionReport keeps it as the raw 24 bits).
func TotalLost(rep ReceptionReport) int32 {
	v := int32(rep.TotalLost&0xFFFFFF) << 8
	return v >> 8
}
