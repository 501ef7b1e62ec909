package jitter

import (
	"time"

	"github.com/deskphone/phoned/audio/plc"
)

// Concealer fills lost frames; *plc.Concealer is the default. Good sees
// every received frame (and may alter it in place, for example to delay
// it); Conceal fills a frame for which no audio is available.
type Concealer interface {
	Good(frame []int16)
	Conceal(frame []int16)
}

// AdaptiveConfig configures an Adaptive buffer. Zero fields take the
// defaults.
type AdaptiveConfig struct {
	// MinDelay and MaxDelay bound the target buffer level (default 40 ms
	// and 200 ms). With MinDelay of one frame a sound card running fast
	// against the sender shows as one concealed frame (an underrun) each
	// time the clocks slip a frame apart; two frames avoid that.
	MinDelay, MaxDelay time.Duration
	// Rate is the sample rate (default 8000).
	Rate int
	// Frame is the number of samples per Get (default 160, 20 ms).
	Frame int
	// Concealer fills missing frames (default a new plc.Concealer). A
	// concealer that plays silence leaves gaps silent (tests use one).
	Concealer Concealer
}

// Packet is what Put needs of a received RTP packet.
type Packet struct {
	SSRC      uint32
	Seq       uint16
	Timestamp uint32    // RTP timestamp of the first sample
	Arrival   time.Time // when the packet was read from the socket
	Samples   []int16   // decoded audio; copied by Put
}

// AdaptiveStats are the buffer's counters and estimates.
type AdaptiveStats struct {
	Target  time.Duration // target buffer level
	Current time.Duration // buffer level at the last Get
	// Jitter is the RFC 3550 §A.8 interarrival jitter; Peak is the
	// excess transit delay the target allows for.
	Jitter, Peak time.Duration

	Received  uint64 // packets accepted
	Duplicate uint64 // packets already buffered
	Late      uint64 // packets that came after their time
	Lost      uint64 // frames missing at their time, concealed and skipped
	Concealed uint64 // frames filled by the concealer (lost, inserted, underruns)
	Inserted  uint64 // frames of concealment inserted to grow the delay
	Underruns uint64 // Gets that found the buffer dry (concealed, playout held)
	Dropped   uint64 // frames skipped to shrink the delay
	Resyncs   uint64 // restarts on an SSRC change or timestamp jump
}

// Tuning of the Adaptive buffer.
const (
	// ctlTicks is the control period in Gets (0.5 s of 20 ms frames).
	ctlTicks = 25
	// insertWait and dropWait are how many Gets a pending insertion or
	// drop waits for a quiet frame before it is done anyway.
	insertWait = 5
	dropWait   = 100
	// quietRMS is the level under which a frame counts as a talk pause
	// (about -45 dBm0).
	quietRMS = 100
	// peakHold is how long a peak of the transit delay holds the target
	// up, and peakDecay how fast it then falls (seconds per second).
	peakHold  = 5 * time.Second
	peakDecay = 0.01
	// minWindow is the length of each of the two windows whose minimum
	// transit is the zero of the excess delay; two let the minimum follow
	// clock drift.
	minWindow = 4 * time.Second
	// spliceLen is the cross-fade, in samples, over a dropped frame.
	spliceLen = 32
	// jumpSlack is how far past MaxDelay ahead of playout a packet may
	// be before its timestamp counts as a jump (0.5 s at 8 kHz).
	jumpSlackMs = 500
)

// Adaptive is a playout buffer whose delay follows the network jitter.
//
// Method: packets land in a ring of samples indexed by RTP timestamp
// (RFC 3550 §5.1). Each packet's transit time (arrival minus timestamp,
// RFC 3550 §6.4.1) gives the interarrival jitter of RFC 3550 §A.8 and its excess
// over the minimum transit of the last 4 to 8 s. The peak excess (held for
// 5 s, then decaying by 10 ms per second) plus one frame, within
// [MinDelay, MaxDelay], is the target level. The level is the span from
// the playout point to the end of the newest audio received, read at each
// Get; every 0.5 s its maximum over the period (the level of packets that
// met no queueing) is compared with the target. Below target, frames are
// inserted; a frame or more above, one frame is dropped. Inserting
// plays one frame of concealment without advancing playout; dropping
// skips one frame and cross-fades over the splice. Both wait for a quiet
// frame (a talk pause) up to 0.1 s (insert) or 2 s (drop). The same
// control follows clock drift between the sender and the sound card: the
// level creeps until it leaves the band, and one frame is inserted or
// dropped. When the frame due is missing: if newer audio is buffered it
// is lost and concealed; if not, the buffer has run dry, and concealment
// plays while playout waits for the packet (an insertion that grows the
// delay at once on a jitter spike). After MaxDelay of waiting the stream
// is taken as stopped and the next packet restarts playout.
//
// Resync (verdict Resync, audio restarts at the target level): a new
// SSRC; a timestamp more than MaxDelay+0.5 s ahead of playout; more than
// maxLateRun late packets in a row (the sender jumped back). Duplicates
// are found by sequence number (a window of 64, RFC 3550 §A.1) or by
// their first sample being buffered already.
//
// Contract: Put and Get never allocate (given a Concealer that
// does not) and never panic on any input; an Adaptive is not safe for
// concurrent use. Get with the default concealer delays the audio by a
// further plc.Delay samples (3.75 ms).
type Adaptive struct {
	rate, frame      int
	minS, maxS       int32 // delay bounds in samples
	conceal          Concealer
	started, waiting bool
	ssrc             uint32
	play             uint32 // RTP timestamp of the next sample to play
	newest           uint32 // end of the newest audio received
	first            uint32 // timestamp playout started on
	seqMax           uint16 // highest sequence number received
	seqSeen          uint64 // bit i: seqMax-i was received
	lateRun          int
	holds            int // consecutive underrun Gets

	// Transit statistics, in samples.
	base       time.Time // arrival time origin
	tsExt      int64     // unwrapped timestamp of the last packet
	lastTS     uint32
	lastArr    int64
	lastTrans  int64
	jitter     int64 // RFC 3550 §A.8, scaled by 16
	winStart   int64
	winMin     [2]int64
	peak       float64
	peakUntil  int64
	haveTrans  bool
	ticks      int
	tickMax    int32
	pendingIns int
	pendingDrp int
	waited     int

	stats AdaptiveStats
	ring  [ringSize]int16
	valid [ringSize]bool
	next  [spliceLen]int16 // scratch for a splice
}

// NewAdaptive returns an adaptive buffer.
func NewAdaptive(cfg AdaptiveConfig) *Adaptive {
	if cfg.Rate <= 0 {
		cfg.Rate = 8000
	}
	if cfg.Frame <= 0 || cfg.Frame > ringSize/8 {
		cfg.Frame = cfg.Rate / 50
	}
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 40 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 200 * time.Millisecond
	}
	b := &Adaptive{rate: cfg.Rate, frame: cfg.Frame, conceal: cfg.Concealer}
	if b.conceal == nil {
		b.conceal = new(plc.Concealer)
	}
	b.minS = int32(max(b.frame, b.samples(cfg.MinDelay)))
	b.maxS = int32(min(ringSize/4, max(int(b.minS), b.samples(cfg.MaxDelay))))
	b.reset()
	return b
}

func (b *Adaptive) samples(d time.Duration) int {
	return int(d.Nanoseconds() * int64(b.rate) / int64(time.Second))
}

func (b *Adaptive) duration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second) / float64(b.rate))
}

// Reset forgets all buffered audio and the jitter estimates; the next Put
// starts playout afresh. Counters are kept.
func (b *Adaptive) Reset() {
	b.reset()
	clear(b.valid[:])
}

func (b *Adaptive) reset() {
	b.started, b.waiting = false, false
	b.lateRun, b.holds = 0, 0
	b.haveTrans = false
	b.jitter = 0
	b.peak = 0
	b.ticks, b.tickMax = 0, 0
	b.pendingIns, b.pendingDrp, b.waited = 0, 0, 0
}

// Target returns the target level in samples.
func (b *Adaptive) Target() int { return int(b.target()) }

func (b *Adaptive) target() int32 {
	t := int32(b.frame) + int32(b.peak+0.5)
	return max(b.minS, min(b.maxS, t))
}

// Stats returns the counters and estimates.
func (b *Adaptive) Stats() AdaptiveStats {
	s := b.stats
	s.Target = b.duration(float64(b.target()))
	s.Jitter = b.duration(float64(b.jitter) / 16)
	s.Peak = b.duration(b.peak)
	return s
}

// restart starts playout so that audio ending at end plays at the target
// level.
func (b *Adaptive) restart(p *Packet) {
	clear(b.valid[:])
	b.reset()
	b.started = true
	b.ssrc = p.SSRC
	end := p.Timestamp + uint32(len(p.Samples))
	b.newest = end
	b.first = p.Timestamp
	b.play = end - uint32(b.target())
	b.seqMax, b.seqSeen = p.Seq, 0
}

// seen records seq in the window of the last 64 sequence numbers (RFC 3550
// §A.1 wraps them modulo 2^16) and reports whether it was there already.
func (b *Adaptive) seen(seq uint16) bool {
	d := int16(seq - b.seqMax)
	switch {
	case d > 0:
		if d >= 64 {
			b.seqSeen = 0
		} else {
			b.seqSeen <<= uint(d)
		}
		b.seqMax = seq
		b.seqSeen |= 1
		return false
	case d > -64:
		bit := uint64(1) << uint(-d)
		dup := b.seqSeen&bit != 0
		b.seqSeen |= bit
		return dup
	}
	return false
}

// Put buffers a packet and says what it did with it.
func (b *Adaptive) Put(p Packet) Verdict {
	n := len(p.Samples)
	if n == 0 || n > ringSize/4 {
		return Invalid
	}
	verdict := Accepted
	switch {
	case !b.started || b.waiting:
		b.restart(&p)
	case p.SSRC != b.ssrc:
		b.restart(&p)
		verdict = Resync
	}
	d := int64(int32(p.Timestamp - b.play))
	switch {
	case d+int64(n) > int64(b.maxS)+int64(jumpSlackMs*b.rate/1000):
		b.restart(&p)
		d, verdict = int64(int32(p.Timestamp-b.play)), Resync
	case d+int64(n) <= 0:
		if int16(p.Seq-b.seqMax) <= 0 && int16(p.Seq-b.seqMax) > -64 &&
			b.seqSeen&(uint64(1)<<uint(-int16(p.Seq-b.seqMax))) != 0 {
			b.stats.Duplicate++
			return Duplicate
		}
		b.lateRun++
		if b.lateRun <= maxLateRun {
			b.stats.Late++
			return Late
		}
		b.restart(&p)
		d, verdict = int64(int32(p.Timestamp-b.play)), Resync
	}
	b.lateRun = 0
	skip := 0
	if d < 0 {
		skip = int(-d)
	}
	first := (p.Timestamp + uint32(skip)) & ringMask
	if b.seen(p.Seq) || b.valid[first] {
		b.stats.Duplicate++
		return Duplicate
	}
	for i := skip; i < n; i++ {
		k := (p.Timestamp + uint32(i)) & ringMask
		b.ring[k] = p.Samples[i]
		b.valid[k] = true
	}
	if end := p.Timestamp + uint32(n); int32(end-b.newest) > 0 {
		b.newest = end
	}
	if verdict == Resync {
		b.stats.Resyncs++
	}
	b.stats.Received++
	b.transit(&p)
	return verdict
}

// transit updates the jitter estimates from a packet's transit time.
func (b *Adaptive) transit(p *Packet) {
	if !b.haveTrans {
		b.haveTrans = true
		b.base = p.Arrival
		b.lastTS = p.Timestamp
		b.tsExt = 0
		b.lastArr = 0
		b.lastTrans = 0
		b.winStart = 0
		b.winMin = [2]int64{0, 0}
		b.peak, b.peakUntil = 0, 0
		return
	}
	b.tsExt += int64(int32(p.Timestamp - b.lastTS))
	b.lastTS = p.Timestamp
	arr := p.Arrival.Sub(b.base).Nanoseconds() * int64(b.rate) / int64(time.Second)
	tr := arr - b.tsExt
	// RFC 3550 §A.8: J += (|D| - J)/16, kept scaled by 16.
	dd := tr - b.lastTrans
	if dd < 0 {
		dd = -dd
	}
	b.jitter += dd - (b.jitter+8)>>4
	b.lastTrans = tr
	// Minimum transit over the current and the previous window.
	win := int64(minWindow.Seconds()) * int64(b.rate)
	if arr-b.winStart >= win {
		b.winMin[0], b.winMin[1] = b.winMin[1], tr
		b.winStart = arr
	}
	b.winMin[1] = min(b.winMin[1], tr)
	excess := float64(tr - min(b.winMin[0], b.winMin[1]))
	// Peak: rises at once, holds, then decays.
	hold := int64(peakHold.Seconds()) * int64(b.rate)
	switch {
	case excess >= b.peak:
		b.peak = excess
		b.peakUntil = arr + hold
	case arr > b.peakUntil:
		b.peak = max(excess, b.peak-peakDecay*float64(arr-max(b.lastArr, b.peakUntil)))
	}
	b.lastArr = arr
}

// Get fills frame with the next len(frame) samples of playout and reports
// whether any of it was received audio. Before the first Put it returns
// silence. Each call is one playout tick.
func (b *Adaptive) Get(frame []int16) bool {
	if !b.started || b.waiting || len(frame) == 0 {
		clear(frame)
		return false
	}
	n := uint32(len(frame))
	level := int32(b.newest - b.play)
	b.stats.Current = b.duration(float64(level))
	b.control(level)

	if !b.present(b.play, n) {
		if int32(b.play+n-b.first) <= 0 {
			// Prefill before the first packet's audio.
			b.conceal.Conceal(frame)
			b.play += n
			return false
		}
		if level <= 0 {
			// Run dry: wait for the packet, concealing meanwhile.
			b.holds++
			if int32(b.holds*len(frame)) > b.maxS {
				b.waiting = true // the stream stopped; restart on the next packet
			}
			b.conceal.Conceal(frame)
			b.stats.Concealed++
			b.stats.Underruns++
			return false
		}
		b.conceal.Conceal(frame)
		b.play += n
		b.stats.Concealed++
		b.stats.Lost++
		return false
	}
	b.holds = 0
	if b.pendingIns > 0 && (b.quiet(b.play, n) || b.waited >= insertWait) {
		b.pendingIns--
		b.waited = 0
		b.conceal.Conceal(frame)
		b.stats.Concealed++
		b.stats.Inserted++
		return false
	}
	if b.pendingDrp > 0 && int32(b.newest-b.play) >= int32(2*n) && b.present(b.play+n, n) &&
		(b.quiet(b.play, n) || b.waited >= dropWait) {
		b.pendingDrp--
		b.waited = 0
		// Skip a frame, cross-fading from the start of the skipped frame
		// (which continues the audio just played) into the next.
		b.take(b.play, frame)
		m := min(spliceLen, len(frame))
		tmp := b.next[:m]
		copy(tmp, frame)
		b.play += n
		b.stats.Dropped++
		b.take(b.play, frame)
		for i, x := range tmp {
			w := float32(i+1) / float32(len(tmp)+1)
			frame[i] = int16((1-w)*float32(x) + w*float32(frame[i]))
		}
	} else {
		if b.pendingIns > 0 || b.pendingDrp > 0 {
			b.waited++
		}
		b.take(b.play, frame)
	}
	b.play += n
	b.conceal.Good(frame)
	return true
}

// control runs once per Get with the level before the Get; each control
// period it compares the period's highest level with the target.
func (b *Adaptive) control(level int32) {
	if b.ticks == 0 || level > b.tickMax {
		b.tickMax = level
	}
	b.ticks++
	if b.ticks < ctlTicks {
		return
	}
	b.ticks = 0
	t := b.target()
	f := int32(b.frame)
	switch {
	case b.tickMax < t:
		b.pendingIns = int((t - b.tickMax + f - 1) / f)
		b.pendingDrp = 0
	case b.tickMax >= t+f:
		b.pendingIns = 0
		b.pendingDrp = 1
	default:
		if b.pendingIns == 0 && b.pendingDrp == 0 {
			b.waited = 0
		}
		b.pendingIns, b.pendingDrp = 0, 0
	}
}

// present reports whether any sample of [ts, ts+n) is buffered.
func (b *Adaptive) present(ts, n uint32) bool {
	for i := uint32(0); i < n; i++ {
		if b.valid[(ts+i)&ringMask] {
			return true
		}
	}
	return false
}

// quiet reports whether the buffered audio in [ts, ts+n) is a talk pause.
func (b *Adaptive) quiet(ts, n uint32) bool {
	var e int64
	for i := uint32(0); i < n; i++ {
		x := int64(b.ring[(ts+i)&ringMask])
		e += x * x
	}
	return e < int64(n)*quietRMS*quietRMS
}

// take moves [ts, ts+len(frame)) out of the ring, zero where missing.
func (b *Adaptive) take(ts uint32, frame []int16) {
	for i := range frame {
		k := (ts + uint32(i)) & ringMask
		if b.valid[k] {
			frame[i] = b.ring[k]
			b.valid[k] = false
		} else {
			frame[i] = 0
		}
	}
}
