package jitter

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// silence is a Concealer that plays silence and leaves good frames alone,
// so tests can read packet contents straight out of Get.
type silence struct{}

func (silence) Good([]int16)      {}
func (silence) Conceal(f []int16) { clear(f) }

var t0 = time.Unix(1_700_000_000, 0)

const tick = 20 * time.Millisecond

// simPkt is a packet of a simulated stream.
type simPkt struct {
	Packet
	at time.Duration // arrival, from t0
}

// stream makes n 20 ms packets sent at i·20 ms by the far end's clock
// (running ppm fast), arriving after 30 ms plus extra(i); drop(i) loses a
// packet. Samples of packet i are i%30000+1 when flat, else a 400 Hz tone.
func stream(n int, ppm float64, extra func(i int) time.Duration, drop func(i int) bool, flat bool) []simPkt {
	// 400 Hz is 8 whole periods in 20 ms: every packet is the same.
	tone := make([]int16, 160)
	for k := range tone {
		tone[k] = int16(8000 * math.Sin(2*math.Pi*400*float64(k)/8000))
	}
	ps := make([]simPkt, 0, n)
	for i := range n {
		if drop != nil && drop(i) {
			continue
		}
		sent := time.Duration(float64(i) * float64(tick) / (1 + ppm*1e-6))
		at := sent + 30*time.Millisecond
		if extra != nil {
			at += extra(i)
		}
		s := tone
		if flat {
			s = pkt(int16(i%30000+1), 160)
		}
		ps = append(ps, simPkt{Packet{SSRC: 7, Seq: uint16(i), Timestamp: 1000 + uint32(i*160), Samples: s}, at})
	}
	slices.SortStableFunc(ps, func(a, b simPkt) int { return cmp.Compare(a.at, b.at) })
	return ps
}

// player drives a buffer with packets by arrival time and one Get per
// 20 ms tick of the sound card.
type player struct {
	b     *Adaptive
	ps    []simPkt
	next  int
	k     int
	frame []int16
	// levels seen at each Get since the last mark, in samples
	minLevel, maxLevel int
	sumLevel, nLevel   int
}

func newPlayer(b *Adaptive, ps []simPkt) *player {
	return &player{b: b, ps: ps, frame: make([]int16, 160)}
}

// run plays ticks ticks with the sound card running ppm fast.
func (p *player) run(ticks int, ppm float64) {
	for range ticks {
		now := time.Duration(float64(p.k) * float64(tick) / (1 + ppm*1e-6))
		for p.next < len(p.ps) && p.ps[p.next].at <= now {
			pk := p.ps[p.next].Packet
			pk.Arrival = t0.Add(p.ps[p.next].at)
			p.b.Put(pk)
			p.next++
		}
		p.b.Get(p.frame)
		p.k++
		l := int(p.b.Stats().Current / (time.Second / 8000))
		if p.nLevel == 0 || l < p.minLevel {
			p.minLevel = l
		}
		p.maxLevel = max(p.maxLevel, l)
		p.sumLevel += l
		p.nLevel++
	}
}

func (p *player) mark() { p.minLevel, p.maxLevel, p.sumLevel, p.nLevel = 0, 0, 0, 0 }

func (p *player) meanLevel() time.Duration {
	return time.Duration(p.sumLevel/max(1, p.nLevel)) * time.Second / 8000
}

func TestAdaptiveSteadySettlesAtMin(t *testing.T) {
	for _, minDelay := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond} {
		b := NewAdaptive(AdaptiveConfig{MinDelay: minDelay, Concealer: silence{}})
		p := newPlayer(b, stream(3000, 0, nil, nil, true))
		p.run(500, 0)
		p.mark()
		p.run(2000, 0)
		s := b.Stats()
		if s.Target != minDelay || p.minLevel != p.maxLevel || p.meanLevel() != minDelay {
			t.Errorf("min %v: target %v, level %v..%v samples", minDelay, s.Target, p.minLevel, p.maxLevel)
		}
		if s.Lost+s.Late+s.Inserted+s.Dropped+s.Concealed+s.Underruns != 0 {
			t.Errorf("min %v: %+v", minDelay, s)
		}
		// Frames come out in order, each whole.
		f := p.frame
		if f[0] != f[159] || f[0] != int16(p.k-1-int(minDelay/tick)) {
			t.Errorf("min %v: after %d ticks frame %d..%d", minDelay, p.k, f[0], f[159])
		}
	}
}

func TestAdaptiveReorderDuplicatesLate(t *testing.T) {
	b := NewAdaptive(AdaptiveConfig{MinDelay: 60 * time.Millisecond, Concealer: silence{}})
	put := func(i int, want Verdict) {
		t.Helper()
		v := b.Put(Packet{SSRC: 1, Seq: uint16(100 + i), Timestamp: uint32(5000 + 160*i), Arrival: t0.Add(time.Duration(i) * tick), Samples: pkt(int16(i+1), 160)})
		if v != want {
			t.Fatalf("packet %d: %v, want %v", i, v, want)
		}
	}
	f := make([]int16, 160)
	get := func(want int16) {
		t.Helper()
		b.Get(f)
		if f[0] != want || f[159] != want {
			t.Fatalf("got %d..%d, want %d", f[0], f[159], want)
		}
	}
	put(0, Accepted)
	put(2, Accepted)
	put(1, Accepted)
	put(1, Duplicate)
	put(0, Duplicate)
	get(0) // prefill: 60 ms target, one packet of it
	get(0)
	get(1)
	get(2)
	put(4, Accepted)
	get(3)
	get(0) // packet 3 missing and 4 here: 3 is lost, concealed (silence here)
	put(3, Late)
	put(3, Late)
	get(5)
	put(4, Duplicate) // already played: a duplicate, not late
	s := b.Stats()
	if s.Duplicate != 3 || s.Late != 2 || s.Lost != 1 || s.Concealed != 1 || s.Received != 4 {
		t.Fatalf("%+v", s)
	}
}

func TestAdaptiveJitterSpike(t *testing.T) {
	// 100 ms stalls at 5 s and 8 s: packets sent during a stall arrive
	// together at its end.
	stall := func(i int) time.Duration {
		at := time.Duration(i) * tick
		for _, s := range []time.Duration{5 * time.Second, 8 * time.Second} {
			if at >= s && at < s+100*time.Millisecond {
				return s + 100*time.Millisecond - at
			}
		}
		return 0
	}
	b := NewAdaptive(AdaptiveConfig{MinDelay: 40 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	p := newPlayer(b, stream(3000, 0, stall, nil, false))
	p.run(300, 0) // to 6 s
	s := b.Stats()
	if s.Target < 120*time.Millisecond {
		t.Fatalf("after the spike target %v, peak %v", s.Target, s.Peak)
	}
	t.Logf("first spike: %+v", s)
	p.run(200, 0) // through the second spike, to 10 s
	s2 := b.Stats()
	if s2.Lost != s.Lost || s2.Underruns != s.Underruns || s2.Late != 0 {
		t.Fatalf("second spike not absorbed: before %+v after %+v", s, s2)
	}
	t.Logf("second spike: %+v", s2)
	// Calm: target and level back to the minimum within 20 s of the last
	// spike.
	p.run(900, 0) // to 28 s
	p.mark()
	p.run(100, 0)
	s3 := b.Stats()
	if s3.Target != 40*time.Millisecond || p.maxLevel > 320+240 {
		t.Fatalf("after calm: target %v level %d..%d: %+v", s3.Target, p.minLevel, p.maxLevel, s3)
	}
	t.Logf("calm: level %d..%d samples, %+v", p.minLevel, p.maxLevel, s3)
}

func TestAdaptiveResync(t *testing.T) {
	b := NewAdaptive(AdaptiveConfig{MinDelay: 40 * time.Millisecond, Concealer: silence{}})
	f := make([]int16, 160)
	at := t0
	put := func(ssrc uint32, seq uint16, ts uint32, v int16) Verdict {
		at = at.Add(tick)
		return b.Put(Packet{SSRC: ssrc, Seq: seq, Timestamp: ts, Arrival: at, Samples: pkt(v, 160)})
	}
	for i := range 10 {
		put(1, uint16(i), uint32(i*160), 1)
		b.Get(f)
	}
	// New SSRC with unrelated numbers.
	if v := put(2, 5000, 900000, 2); v != Resync {
		t.Fatalf("SSRC change: %v", v)
	}
	put(2, 5001, 900160, 2)
	b.Get(f)
	b.Get(f)
	if f[0] != 2 {
		t.Fatalf("after SSRC change got %d", f[0])
	}
	// Timestamp jump ahead on the same SSRC.
	if v := put(2, 5002, 900320+80000, 3); v != Resync {
		t.Fatalf("jump ahead: %v", v)
	}
	b.Get(f)
	b.Get(f)
	if f[0] != 3 {
		t.Fatalf("after jump got %d", f[0])
	}
	// Jump back: late for a while, then resync.
	var v Verdict
	n := 0
	for v = Late; v == Late; n++ {
		v = put(2, uint16(6000+n), uint32(n*160), 4)
	}
	if v != Resync || n != maxLateRun+1 || b.Stats().Resyncs != 3 {
		t.Fatalf("jump back: %v after %d packets, %+v", v, n, b.Stats())
	}
}

func TestAdaptiveDrift(t *testing.T) {
	for _, ppm := range []float64{100, -100} {
		rng := rand.New(rand.NewPCG(1, uint64(ppm+1000)))
		jit := make([]time.Duration, 30600)
		for i := range jit {
			jit[i] = time.Duration(rng.IntN(5000)) * time.Microsecond
		}
		b := NewAdaptive(AdaptiveConfig{})
		// The far end runs ppm fast against the sound card.
		p := newPlayer(b, stream(30600, ppm, func(i int) time.Duration { return jit[i] }, nil, false))
		p.run(500, 0)
		p.mark()
		p.run(30000, 0)
		s := b.Stats()
		t.Logf("%+v ppm: level %d..%d samples, mean %v; %+v", ppm, p.minLevel, p.maxLevel, p.meanLevel(), s)
		if p.maxLevel > 3*320 || p.minLevel < 160 || s.Lost+s.Late+s.Underruns != 0 || s.Inserted+s.Dropped > 6 {
			t.Errorf("%+v ppm: level %d..%d, %+v", ppm, p.minLevel, p.maxLevel, s)
		}
	}
}

// TestAdaptiveFigures logs the figures for the report: added delay at 0
// and 40 ms of jitter, and counts under 3 % random loss.
func TestAdaptiveFigures(t *testing.T) {
	for _, c := range []struct {
		jitter time.Duration
		loss   float64
	}{{0, 0}, {40 * time.Millisecond, 0}, {0, 0.03}, {40 * time.Millisecond, 0.03}} {
		rng := rand.New(rand.NewPCG(42, 4))
		const n = 3000 // 60 s
		jit := make([]time.Duration, n)
		lost := make([]bool, n)
		for i := range n {
			if c.jitter > 0 {
				jit[i] = time.Duration(rng.Int64N(int64(c.jitter)))
			}
			lost[i] = rng.Float64() < c.loss
		}
		b := NewAdaptive(AdaptiveConfig{})
		p := newPlayer(b, stream(n, 0, func(i int) time.Duration { return jit[i] }, func(i int) bool { return lost[i] }, false))
		p.run(500, 0)
		p.mark()
		p.run(n-600, 0)
		s := b.Stats()
		nLost := 0
		for _, l := range lost[:p.k-2] { // packets due by the last Get
			if l {
				nLost++
			}
		}
		t.Logf("jitter %v loss %.0f%%: mean level %v (%d..%d samples), target %v, RFC 3550 jitter %v; lost in network %d, %+v",
			c.jitter, c.loss*100, p.meanLevel(), p.minLevel, p.maxLevel, s.Target, s.Jitter, nLost, s)
		if p.meanLevel() > c.jitter+80*time.Millisecond || s.Late > uint64(n/100) {
			t.Errorf("jitter %v loss %v: mean level %v, %+v", c.jitter, c.loss, p.meanLevel(), s)
		}
	}
}

func BenchmarkAdaptivePutGet(b *testing.B) {
	buf := NewAdaptive(AdaptiveConfig{})
	s := pkt(1000, 160)
	f := make([]int16, 160)
	var i uint32
	b.ReportAllocs()
	for b.Loop() {
		buf.Put(Packet{SSRC: 1, Seq: uint16(i), Timestamp: i * 160, Arrival: t0.Add(time.Duration(i) * tick), Samples: s})
		buf.Get(f)
		i++
	}
}

func TestAdaptiveConcealsLoss(t *testing.T) {
	b := NewAdaptive(AdaptiveConfig{})
	p := newPlayer(b, stream(400, 0, nil, func(i int) bool { return i == 100 || i == 200 || i == 201 }, false))
	// 400 Hz at amplitude 8000: 160·8000²/2 per frame.
	const full = 160 * 8000 * 8000 / 2
	var concealed uint64
	run := 0
	for range 380 {
		p.run(1, 0)
		s := b.Stats()
		if s.Concealed == concealed {
			run = 0
			continue
		}
		concealed = s.Concealed
		run++
		// The first concealed frame of a loss is near full level, the
		// next ones fade (G.711 Appendix I) but are not silence.
		e := energy(p.frame)
		if run == 1 && e < 0.8*full || e < 0.05*full {
			t.Errorf("concealed frame %d (%d of its loss) has energy %.2f of the tone", concealed, run, e/full)
		}
	}
	if s := b.Stats(); s.Lost != 3 || s.Concealed != s.Lost+s.Underruns+s.Inserted {
		t.Fatalf("%+v", s)
	}
}

func energy(f []int16) float64 {
	var e float64
	for _, x := range f {
		e += float64(x) * float64(x)
	}
	return e
}

// TestAdaptiveAnyInput throws random packets and frame sizes at the buffer.
func TestAdaptiveAnyInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	b := NewAdaptive(AdaptiveConfig{MinDelay: -1, MaxDelay: time.Hour, Frame: 1 << 20})
	buf := make([]int16, 5000)
	at := t0
	for range 3000 {
		at = at.Add(time.Duration(rng.Int64N(int64(50 * time.Millisecond))))
		if rng.IntN(2) == 0 {
			b.Put(Packet{SSRC: uint32(rng.IntN(2)), Seq: uint16(rng.Uint32()), Timestamp: rng.Uint32() % 20000, Arrival: at, Samples: buf[:rng.IntN(len(buf))]})
		} else {
			b.Get(buf[:rng.IntN(400)])
		}
	}
}

func TestAdaptiveNoAllocs(t *testing.T) {
	b := NewAdaptive(AdaptiveConfig{})
	s := pkt(1000, 160)
	f := make([]int16, 160)
	var i uint32
	allocs := testing.AllocsPerRun(200, func() {
		if i%7 != 3 { // some loss, so concealment runs too
			b.Put(Packet{SSRC: 1, Seq: uint16(i), Timestamp: i * 160, Arrival: t0.Add(time.Duration(i) * tick), Samples: s})
		}
		b.Get(f)
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Put and Get", allocs)
	}
}

// pkt returns n samples all equal to v.
func pkt(v int16, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// RTP timestamps and sequence numbers wrap (RFC 3550 §5.1) without a
// resync, a loss or a gap; packets of any size place by timestamp; empty
// and oversized packets are refused.
func TestAdaptiveWrapAndSizes(t *testing.T) {
	b := NewAdaptive(AdaptiveConfig{MinDelay: 40 * time.Millisecond, Concealer: silence{}})
	ts := uint32(1<<32 - 800)
	seq := uint16(65533)
	at := t0
	f := make([]int16, 160)
	heard := 0
	for i := 0; i < 20; i++ {
		n := []int{160, 80, 240}[i%3] // 20, 10, 30 ms packets: 60 ms per 3
		if v := b.Put(Packet{SSRC: 9, Seq: seq, Timestamp: ts, Arrival: at, Samples: pkt(int16(1000+i), n)}); v != Accepted {
			t.Fatalf("packet %d (ts %d): %v", i, ts, v)
		}
		ts += uint32(n)
		seq++
		at = at.Add(time.Duration(n) * time.Second / 8000)
		for k := 0; k < n/80; k++ { // one 10 ms Get half-frame at a time
			if b.Get(f[:80]) {
				heard++
			}
		}
	}
	if s := b.Stats(); s.Resyncs != 0 || s.Lost != 0 || s.Late != 0 || s.Received != 20 || heard < 35 {
		t.Fatalf("across the wrap: %+v, %d of 40 half-frames heard", s, heard)
	}
	for _, n := range []int{0, ringSize/4 + 1} {
		if v := b.Put(Packet{SSRC: 9, Seq: seq, Timestamp: ts, Arrival: at, Samples: make([]int16, n)}); v != Invalid {
			t.Fatalf("%d samples: %v, want invalid", n, v)
		}
	}
}
