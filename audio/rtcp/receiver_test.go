package rtcp

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type pkt struct {
	ssrc uint32
	seq  uint16
}

func TestReceiverSequences(t *testing.T) {
	const a, b = 0xA, 0xB
	seqs := func(ssrc uint32, s ...uint16) []pkt {
		out := make([]pkt, len(s))
		for i, v := range s {
			out[i] = pkt{ssrc, v}
		}
		return out
	}
	tests := []struct {
		name        string
		pkts        []pkt
		invalid     int // packets OnPacket refused
		received    uint64
		expected    uint64
		lost        int64
		extMax      uint32
		fraction    uint8
		totalLost   int32
		resets      uint64
		wantSSRC    uint32
		description string
	}{
		{name: "in order", pkts: seqs(a, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
			received: 10, expected: 10, extMax: 9},
		{name: "wrap", pkts: seqs(a, 65534, 65535, 0, 1),
			received: 4, expected: 4, extMax: 65537},
		{name: "loss", pkts: seqs(a, 1, 2, 4, 5, 8),
			received: 5, expected: 8, lost: 3, extMax: 8, fraction: 96, totalLost: 3},
		{name: "loss across wrap", pkts: seqs(a, 65533, 65535, 2),
			received: 3, expected: 6, lost: 3, extMax: 65538, fraction: 128, totalLost: 3},
		{name: "reorder", pkts: seqs(a, 1, 2, 4, 3, 5),
			received: 5, expected: 5, extMax: 5},
		{name: "reorder across wrap", pkts: seqs(a, 65534, 0, 65535, 1),
			received: 4, expected: 4, extMax: 65537},
		{name: "duplicates", pkts: seqs(a, 1, 2, 2, 3),
			received: 4, expected: 3, lost: -1, extMax: 3, totalLost: -1},
		{name: "jump confirmed resyncs", pkts: seqs(a, 1, 2, 3, 10000, 10001, 10002),
			invalid: 1, received: 2, expected: 2, extMax: 10002, resets: 1},
		{name: "jump not confirmed", pkts: seqs(a, 1, 2, 10000, 3),
			invalid: 1, received: 3, expected: 3, extMax: 3},
		{name: "ssrc change resets", pkts: append(seqs(a, 1, 2, 5), seqs(b, 100, 101)...),
			received: 2, expected: 2, extMax: 101, resets: 1, wantSSRC: b},
		{name: "late packet from before the base", pkts: seqs(a, 10, 11, 9),
			received: 3, expected: 2, lost: -1, extMax: 11, totalLost: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReceiver(0)
			invalid := 0
			for i, p := range tc.pkts {
				if !r.OnPacket(p.ssrc, p.seq, uint32(i)*160, t0.Add(time.Duration(i)*20*time.Millisecond)) {
					invalid++
				}
			}
			if invalid != tc.invalid {
				t.Errorf("invalid = %d, want %d", invalid, tc.invalid)
			}
			wantSSRC := tc.wantSSRC
			if wantSSRC == 0 {
				wantSSRC = a
			}
			st := r.Stats()
			if st.SSRC != wantSSRC || st.Received != tc.received || st.Expected != tc.expected ||
				st.Lost != tc.lost || st.ExtendedMax != tc.extMax || st.Resets != tc.resets {
				t.Errorf("stats = %+v, want ssrc %#x received %d expected %d lost %d extMax %d resets %d",
					st, wantSSRC, tc.received, tc.expected, tc.lost, tc.extMax, tc.resets)
			}
			rep, ok := r.Report(t0.Add(time.Minute))
			if !ok {
				t.Fatal("no report")
			}
			if rep.SSRC != wantSSRC || rep.LastSequenceNumber != tc.extMax ||
				rep.FractionLost != tc.fraction || TotalLost(rep) != tc.totalLost {
				t.Errorf("report = %+v (total lost %d), want extMax %d fraction %d total lost %d",
					rep, TotalLost(rep), tc.extMax, tc.fraction, tc.totalLost)
			}
			if rep.LastSenderReport != 0 || rep.Delay != 0 {
				t.Errorf("LSR/DLSR = %#x/%#x without an SR", rep.LastSenderReport, rep.Delay)
			}
		})
	}
}

func TestReportBeforeAnyPacket(t *testing.T) {
	r := NewReceiver(0)
	if _, ok := r.Report(t0); ok {
		t.Fatal("report before any packet")
	}
	if st := r.Stats(); st != (ReceiverStats{}) {
		t.Fatalf("stats = %+v", st)
	}
}

// Fraction lost is per interval between reports, RFC 3550 §A.3.
func TestFractionLostPerInterval(t *testing.T) {
	r := NewReceiver(0)
	seq := uint16(65000) // crosses the wrap on the way
	at := t0
	send := func(n, drop int) {
		for i := 0; i < n; i++ {
			if i%drop != 1 { // never the last packet: trailing losses are unknown yet
				r.OnPacket(1, seq, uint32(seq)*160, at)
			}
			seq++
			at = at.Add(20 * time.Millisecond)
		}
	}
	send(1000, 4) // every 4th lost: 25%
	rep, _ := r.Report(at)
	if rep.FractionLost != 64 {
		t.Errorf("interval 1 fraction = %d, want 64 (25%%)", rep.FractionLost)
	}
	send(1000, 1000) // one lost in 1000
	rep, _ = r.Report(at)
	if rep.FractionLost != 0 { // 256/1000 truncates to 0
		t.Errorf("interval 2 fraction = %d, want 0", rep.FractionLost)
	}
	send(100, 10) // 10%
	rep, _ = r.Report(at)
	if rep.FractionLost != 25 {
		t.Errorf("interval 3 fraction = %d, want 25 (10%%)", rep.FractionLost)
	}
	if got, want := TotalLost(rep), int32(250+1+10); got != want {
		t.Errorf("total lost = %d, want %d", got, want)
	}
	rep, _ = r.Report(at) // nothing new
	if rep.FractionLost != 0 {
		t.Errorf("empty interval fraction = %d", rep.FractionLost)
	}
	// Duplicates in an interval: negative interval loss reports 0.
	r.OnPacket(1, seq-1, 0, at)
	r.OnPacket(1, seq-1, 0, at)
	if rep, _ = r.Report(at); rep.FractionLost != 0 {
		t.Errorf("duplicate interval fraction = %d", rep.FractionLost)
	}
}

// The cumulative loss is a 24-bit signed field, RFC 3550 §6.4.1: clamp.
func TestTotalLostClamp(t *testing.T) {
	r := NewReceiver(0)
	r.OnPacket(1, 0, 0, t0)
	// Jump ahead 2000 at a time (under maxDropout) for 2^24 lost packets.
	var seq uint16
	for i := 0; i < 1<<24/2000+10; i++ {
		seq += 2000
		r.OnPacket(1, seq, 0, t0)
	}
	rep, _ := r.Report(t0)
	if got := TotalLost(rep); got != maxCumLost {
		t.Fatalf("total lost = %d, want clamp %d (stats %+v)", got, maxCumLost, r.Stats())
	}
	if rep.FractionLost != 255 {
		t.Fatalf("fraction = %d, want 255", rep.FractionLost)
	}
	if _, err := MarshalReport(&ReceiverReport{SSRC: 2, Reports: []ReceptionReport{rep}}, "x"); err != nil {
		t.Fatalf("the codec rejects the block: %v", err)
	}

	// The negative end: more duplicates than 2^23 (set directly rather
	// than fed, to keep the race and qemu runs quick).
	r = NewReceiver(0)
	r.OnPacket(1, 0, 0, t0)
	r.OnPacket(1, 0, 0, t0)
	r.received += 0x800010
	rep, _ = r.Report(t0)
	if got := TotalLost(rep); got != minCumLost {
		t.Fatalf("total lost = %d, want clamp %d", got, minCumLost)
	}
}

// Jitter per RFC 3550 §A.8 on a hand-computed pattern: 20 ms packets
// (160 units at 8 kHz); the second arrives 10 ms late (D = 80), the third
// on time (D = -80), the fourth on time (D = 0). With J scaled by 16:
// J16 = 80 -> 5; 80 + 80 - 5 = 155 -> 9 (float: 9.6875);
// 155 + 0 - 10 = 145 -> 9 (float: 9.08).
func TestJitterHandComputed(t *testing.T) {
	r := NewReceiver(8000)
	arrivals := []time.Duration{0, 30 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}
	want := []uint32{0, 5, 9, 9}
	for i, a := range arrivals {
		r.OnPacket(7, uint16(i), 1000+uint32(i)*160, t0.Add(a))
		if got := r.Stats().JitterUnits; got != want[i] {
			t.Errorf("after packet %d jitter = %d, want %d", i, got, want[i])
		}
	}
	rep, _ := r.Report(t0)
	if rep.Jitter != 9 {
		t.Errorf("report jitter = %d, want 9", rep.Jitter)
	}
	if got, want := r.Stats().Jitter, 9*time.Second/8000; got != want {
		t.Errorf("jitter duration = %v, want %v", got, want)
	}
}

// Alternating 15/25 ms gaps: |D| = 40 units each time, so J converges to
// 40 units, 5 ms at 8 kHz.
func TestJitterSteadyState(t *testing.T) {
	r := NewReceiver(0)
	at := t0
	for i := 0; i < 500; i++ {
		r.OnPacket(7, uint16(i), uint32(i)*160, at)
		if i%2 == 0 {
			at = at.Add(15 * time.Millisecond)
		} else {
			at = at.Add(25 * time.Millisecond)
		}
	}
	st := r.Stats()
	if st.JitterUnits < 39 || st.JitterUnits > 40 {
		t.Fatalf("jitter = %d units, want about 40", st.JitterUnits)
	}
}

// The integer form tracks the floating-point formula of §A.8 within a
// unit on a random arrival pattern, with timestamps wrapping.
func TestJitterMatchesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewReceiver(8000)
	var jf float64
	var prevTransit float64
	ts := uint32(math.MaxUint32 - 160*50)
	for i := 0; i < 5000; i++ {
		sendMs := float64(i) * 20
		arrMs := sendMs + 30 + rng.Float64()*40 // 30..70 ms network delay
		arrival := t0.Add(time.Duration(arrMs * float64(time.Millisecond)))
		r.OnPacket(3, uint16(i), ts, arrival)
		arrUnits := float64(toRTPUnits(arrival.Sub(t0), 8000))
		transit := arrUnits - float64(i)*160
		if i > 0 {
			jf += (math.Abs(transit-prevTransit) - jf) / 16
		}
		prevTransit = transit
		ts += 160
	}
	got := float64(r.Stats().JitterUnits)
	if math.Abs(got-jf) > 1.5 {
		t.Fatalf("jitter = %v units, float reference %v", got, jf)
	}
	if got < 50 || got > 150 { // uniform 0..40 ms: mean |D| is 13.3 ms = 107 units
		t.Fatalf("jitter = %v units, implausible for this pattern", got)
	}
}

func TestLSRAndDLSR(t *testing.T) {
	r := NewReceiver(0)
	sr := &SenderReport{SSRC: 9, NTPTime: 0xE1234567_89ABCDEF}
	r.OnSenderReport(sr, t0)
	r.OnSenderReport(nil, t0) // ignored
	r.OnPacket(9, 1, 0, t0)
	rep, _ := r.Report(t0.Add(1500 * time.Millisecond))
	if rep.LastSenderReport != 0x456789AB {
		t.Errorf("LSR = %#x, want 0x456789ab", rep.LastSenderReport)
	}
	if rep.Delay != 98304 { // 1.5 * 65536
		t.Errorf("DLSR = %d, want 98304", rep.Delay)
	}
	// An SR from another source does not give LSR for this one.
	r.OnSenderReport(&SenderReport{SSRC: 10, NTPTime: 1 << 40}, t0)
	if rep, _ = r.Report(t0); rep.LastSenderReport != 0 || rep.Delay != 0 {
		t.Errorf("LSR/DLSR = %#x/%d from another source's SR", rep.LastSenderReport, rep.Delay)
	}
}

func TestReceiverConcurrent(t *testing.T) {
	r := NewReceiver(0)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			r.OnPacket(1, uint16(i), uint32(i)*160, t0.Add(time.Duration(i)*20*time.Millisecond))
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			r.Report(t0)
			r.OnSenderReport(&SenderReport{SSRC: 1}, t0)
			_ = r.Stats()
		}
	}()
	wg.Wait()
	if st := r.Stats(); st.Received != 2000 || st.Lost != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestOnPacketNoAllocs(t *testing.T) {
	r := NewReceiver(0)
	s := NewSender(1, 0)
	var i uint16
	at := t0
	allocs := testing.AllocsPerRun(1000, func() {
		r.OnPacket(1, i, uint32(i)*160, at)
		s.OnPacket(160, uint32(i)*160, at)
		i++
		at = at.Add(20 * time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("OnPacket allocates %v times per call", allocs)
	}
}

// FuzzReceiver checks the §A.3 invariants on any packet sequence.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 4, 0, 3, 0xff, 0xff, 0, 0})
	f.Add([]byte{0x27, 0x10, 0, 1, 0x27, 0x11})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReceiver(0)
		at := t0
		for i := 0; i+1 < len(b); i += 2 {
			seq := uint16(b[i])<<8 | uint16(b[i+1])
			r.OnPacket(uint32(b[i]>>7), seq, uint32(seq)*160, at)
			at = at.Add(time.Duration(b[i+1]) * time.Millisecond)
		}
		st := r.Stats()
		if st.Lost != int64(st.Expected)-int64(st.Received) {
			t.Fatalf("lost %d != expected %d - received %d", st.Lost, st.Expected, st.Received)
		}
		if rep, ok := r.Report(at); ok {
			if _, err := MarshalReport(&ReceiverReport{SSRC: 2, Reports: []ReceptionReport{rep}}, "x"); err != nil {
				t.Fatalf("block does not marshal: %v", err)
			}
		}
	})
}

func BenchmarkReceiverOnPacket(b *testing.B) {
	r := NewReceiver(0)
	at := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.OnPacket(1, uint16(i), uint32(i)*160, at)
		at = at.Add(20 * time.Millisecond)
	}
}

func BenchmarkSenderOnPacket(b *testing.B) {
	s := NewSender(1, 0)
	at := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.OnPacket(160, uint32(i)*160, at)
	}
}
