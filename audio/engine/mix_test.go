package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

// Each source has its own frequency, so detect (Goertzel) tells who hears
// whom. The handset's is 500 Hz: a whole number of cycles in 10 ms, so the
// fake device's repeated mic frame is a continuous tone at any frame size.
const (
	micHz  = 500
	toneHz = 2100 // the handset tone
)

var legHz = map[string]float64{"a": 900, "b": 1300, "c": 1700}

var allHz = []float64{micHz, toneHz, 900, 1300, 1700}

// handsetTone is a steady toneHz.
var handsetTone = tone.MustParse(strconv.Itoa(toneHz) + "/0")

func sine(hz float64, n int) []int16 {
	f := make([]int16, n)
	tone.NewGenerator(tone.MustParse(strconv.Itoa(int(hz)) + "/0")).Fill(f)
	return f
}

// mixHarness is a running engine on a ticked fake device whose mic plays
// micHz, with fake legs that each play their own tone.
type mixHarness struct {
	*harness
	legs map[string]*fakeStream
}

func startMix(t *testing.T, frames map[string]int) *mixHarness {
	t.Helper()
	dev := newFakeDevice(true)
	dev.mic = sine(micHz, maxFrame)
	h := &mixHarness{harness: start(t, dev), legs: map[string]*fakeStream{}}
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	for _, id := range []string{"a", "b", "c"} {
		n, ok := frames[id]
		if !ok {
			continue
		}
		h.startLeg(t, id, n)
	}
	return h
}

func (h *mixHarness) startLeg(t *testing.T, id string, frame int) *fakeStream {
	t.Helper()
	fs := &fakeStream{frame: frame, gen: tone.NewGenerator(tone.MustParse(strconv.Itoa(int(legHz[id])) + "/0"))}
	h.e.newStream = func(rtpstream.Params) (stream, error) { return fs, nil }
	if err := h.e.StartLeg(id, rtpstream.Params{}); err != nil {
		t.Fatal(err)
	}
	h.legs[id] = fs
	return fs
}

// lastSent is the last packet leg id sent.
func (h *mixHarness) lastSent(t *testing.T, id string) []int16 {
	t.Helper()
	fs := h.legs[id]
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.sent) == 0 {
		t.Fatalf("leg %s sent nothing", id)
	}
	return fs.sent[len(fs.sent)-1]
}

func (h *mixHarness) receives(id string) int {
	fs := h.legs[id]
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.received)
}

// hearsExactly fails unless f carries each of want and none of the other
// sources; no want means silence.
func hearsExactly(t *testing.T, who string, f []int16, want ...float64) {
	t.Helper()
	if len(want) == 0 {
		if e := detect.Energy(f); e != 0 {
			t.Fatalf("%s: want silence, got energy %.0f", who, e)
		}
		return
	}
	for _, hz := range allHz {
		frac := detect.Fraction(f, hz, audio.SampleRate)
		wanted := false
		for _, w := range want {
			wanted = wanted || w == hz
		}
		switch {
		case wanted && frac < detect.Threshold:
			t.Fatalf("%s: %v Hz missing (share %.3f), want %v", who, hz, frac, want)
		case !wanted && frac > 0.01:
			t.Fatalf("%s: %v Hz present (share %.3f), want only %v", who, hz, frac, want)
		}
	}
}

func TestMixFocusAndSwitch(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160, "b": 160})
	h.e.SetMix(Mix{Focus: "a"})
	h.frame(t)
	f := h.frame(t)
	hearsExactly(t, "handset", f, legHz["a"])
	hearsExactly(t, "a", h.lastSent(t, "a"), micHz)
	hearsExactly(t, "held b", h.lastSent(t, "b"), nil...)

	// The held leg is still read each frame: its jitter buffer, PLC,
	// RTCP and DTMF reception keep running.
	before := h.receives("b")
	h.frame(t)
	if got := h.receives("b"); got != before+1 {
		t.Fatalf("held leg read %d times in a frame, want 1", got-before)
	}

	h.e.SetMix(Mix{Focus: "b"})
	f = h.frame(t)
	hearsExactly(t, "handset after the switch", f, legHz["b"])
	hearsExactly(t, "b", h.lastSent(t, "b"), micHz)
	hearsExactly(t, "a now held", h.lastSent(t, "a"), nil...)

	// Focus on no leg: everything held, the handset silent.
	h.e.SetMix(Mix{Focus: "nobody"})
	f = h.frame(t)
	hearsExactly(t, "handset with no focus", f, nil...)
	hearsExactly(t, "a", h.lastSent(t, "a"), nil...)
	hearsExactly(t, "b", h.lastSent(t, "b"), nil...)
}

func TestMixConference(t *testing.T) {
	for _, members := range [][]string{{"a", "b"}, {"a", "b", "c"}} {
		t.Run(fmt.Sprint(len(members)), func(t *testing.T) {
			// c always runs; with two members it is the held third call.
			h := startMix(t, map[string]int{"a": 160, "b": 160, "c": 160})
			h.e.SetMix(Mix{Focus: "c", Conference: members})
			h.frame(t)
			f := h.frame(t)
			var all []float64
			for _, id := range members {
				all = append(all, legHz[id])
			}
			hearsExactly(t, "handset", f, all...)
			for _, id := range members {
				want := []float64{micHz}
				for _, other := range members {
					if other != id {
						want = append(want, legHz[other])
					}
				}
				hearsExactly(t, "member "+id, h.lastSent(t, id), want...)
			}
			if len(members) == 2 {
				hearsExactly(t, "c, outside the conference (its Focus is ignored)", h.lastSent(t, "c"), nil...)
			}

			// Mute: members still hear each other, not the handset.
			h.e.SetMix(Mix{Conference: members, Mute: true})
			f = h.frame(t)
			hearsExactly(t, "handset while muted", f, all...)
			for _, id := range members {
				var want []float64
				for _, other := range members {
					if other != id {
						want = append(want, legHz[other])
					}
				}
				hearsExactly(t, "muted member "+id, h.lastSent(t, id), want...)
			}
		})
	}
}

func TestMixMuteFocus(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160})
	h.e.SetMix(Mix{Focus: "a", Mute: true})
	f := h.frame(t)
	hearsExactly(t, "handset", f, legHz["a"])
	hearsExactly(t, "muted a", h.lastSent(t, "a"), nil...)
	h.e.SetMix(Mix{Focus: "a"})
	h.frame(t)
	hearsExactly(t, "unmuted a", h.lastSent(t, "a"), micHz)
}

// The handset tone (a call-waiting beep) is summed over the talk; the
// legs never hear it.
func TestMixToneOverlay(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160, "b": 160})
	h.e.SetMix(Mix{Focus: "a"})
	h.e.PlayTone(handsetTone)
	f := h.frame(t)
	hearsExactly(t, "handset", f, legHz["a"], toneHz)
	hearsExactly(t, "a", h.lastSent(t, "a"), micHz)
	hearsExactly(t, "held b", h.lastSent(t, "b"), nil...)

	h.e.SetMix(Mix{Conference: []string{"a", "b"}})
	f = h.frame(t)
	hearsExactly(t, "handset in conference", f, legHz["a"], legHz["b"], toneHz)
	hearsExactly(t, "a", h.lastSent(t, "a"), micHz, legHz["b"])
	h.e.StopTone()
	f = h.frame(t)
	hearsExactly(t, "handset after StopTone", f, legHz["a"], legHz["b"])
}

func TestMixDTMFToNamedLegOnly(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160, "b": 160})
	if err := h.e.StartDTMF("b", '5'); err != nil {
		t.Fatal(err)
	}
	h.e.StopDTMF("b")
	h.e.StopDTMF("zz") // no such leg: harmless
	if err := h.e.StartDTMF("zz", '1'); !errors.Is(err, ErrNoLeg) {
		t.Fatalf("StartDTMF on no leg: %v", err)
	}
	for id, want := range map[string]string{"a": "", "b": "5^"} {
		fs := h.legs[id]
		fs.mu.Lock()
		got := string(fs.keys)
		fs.mu.Unlock()
		if got != want {
			t.Fatalf("leg %s saw keys %q, want %q", id, got, want)
		}
	}
}

func TestMixStopFocusedLeg(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160, "b": 160})
	h.e.SetMix(Mix{Focus: "a"})
	hearsExactly(t, "handset", h.frame(t), legHz["a"])
	a := h.legs["a"]
	st, ok := h.e.StopLeg("a")
	if !ok || st.PacketsSent != 1 || !a.closed {
		t.Fatalf("StopLeg: %+v %v closed=%v", st, ok, a.closed)
	}
	if _, ok := h.e.StopLeg("a"); ok {
		t.Fatal("second StopLeg reported a leg")
	}
	if _, ok := h.e.LegStats("a"); ok {
		t.Fatal("LegStats of a stopped leg")
	}
	if h.e.RedirectLeg("a", netip.AddrPort{}, netip.AddrPort{}, true) {
		t.Fatal("RedirectLeg of a stopped leg")
	}
	reads := h.receives("a")
	hearsExactly(t, "handset after the focused leg stopped", h.frame(t), nil...)
	if h.receives("a") != reads {
		t.Fatal("stopped leg still read")
	}
	hearsExactly(t, "b, still held", h.lastSent(t, "b"), nil...)
	if st, ok := h.e.LegStats("b"); !ok || st.PacketsSent != 2 {
		t.Fatalf("LegStats(b) %+v %v", st, ok)
	}
	// Stop b while the loop waits in Read (had it not reached Read, it
	// would rightly go idle without another frame).
	waitUntil(t, "the loop in Read", func() bool { return h.dev.entered.Load() > h.dev.reads.Load() })
	n := h.idle.Load()
	h.e.StopLeg("b")
	h.frame(t) // the frame being read when b stopped
	waitUntil(t, "idle with no leg", func() bool { return h.idle.Load() > n })
}

func TestMixSaturation(t *testing.T) {
	for _, sign := range []int16{1, -1} {
		t.Run(strconv.Itoa(int(sign)), func(t *testing.T) {
			dev := newFakeDevice(true)
			dev.mic = make([]int16, maxFrame)
			for i := range dev.mic {
				dev.mic[i] = sign * 30000
			}
			h := start(t, dev)
			streams := map[string]*fakeStream{}
			for _, id := range []string{"a", "b", "c"} {
				fs := &fakeStream{rx: sign * 30000}
				h.e.newStream = func(rtpstream.Params) (stream, error) { return fs, nil }
				if err := h.e.StartLeg(id, rtpstream.Params{}); err != nil {
					t.Fatal(err)
				}
				streams[id] = fs
			}
			h.e.SetMix(Mix{Conference: []string{"a", "b", "c"}})
			h.e.PlayTone(tone.MustParse("440/0"))
			want := int16(math.MaxInt16)
			if sign < 0 {
				want = math.MinInt16
			}
			// The handset hears 3×30000 plus a tone; each member 3×30000.
			// Without saturation both would wrap around.
			f := h.frame(t)
			for i, v := range f {
				if v != want && (sign > 0 && v < 30000 || sign < 0 && v > -30000) {
					t.Fatalf("handset sample %d = %d, want clipped towards %d", i, v, want)
				}
			}
			if f[0] != want { // the tone starts at zero phase
				t.Fatalf("handset sample 0 = %d, want %d", f[0], want)
			}
			for id, fs := range streams {
				fs.mu.Lock()
				got := fs.sent[len(fs.sent)-1]
				fs.mu.Unlock()
				for i, v := range got {
					if v != want {
						t.Fatalf("member %s sample %d = %d, want %d", id, i, v, want)
					}
				}
			}
		})
	}
}

func TestSaturate(t *testing.T) {
	for in, want := range map[int32]int16{0: 0, 32767: 32767, 32768: 32767, 90000: 32767, -32768: -32768, -32769: -32768, -90000: -32768, -5: -5} {
		if got := saturate(in); got != want {
			t.Errorf("saturate(%d) = %d, want %d", in, got, want)
		}
	}
}

// Legs with different packet times: the device runs at their greatest
// common frame (10 ms for 20 and 30 ms), each leg reads and sends whole
// packets of its own.
func TestMixPacketTimes(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160, "b": 240})
	h.e.SetMix(Mix{Conference: []string{"a", "b"}})
	// The loop may have begun its first frame at a's 20 ms before b
	// started: from the next one on it runs at 10 ms.
	h.frame(t)
	sent0, read0 := map[string]int{}, map[string]int{}
	for id, fs := range h.legs {
		fs.mu.Lock()
		sent0[id], read0[id] = len(fs.sent), len(fs.received)
		fs.mu.Unlock()
	}
	var played []int16
	for range 12 { // 120 ms
		f := h.frame(t)
		if len(f) != 80 {
			t.Fatalf("device frame of %d samples, want 80", len(f))
		}
		played = append(played, f...)
	}
	hearsExactly(t, "handset", played, legHz["a"], legHz["b"])
	for id, want := range map[string]struct{ packets, size int }{"a": {6, 160}, "b": {4, 240}} {
		fs := h.legs[id]
		fs.mu.Lock()
		if sent, read := len(fs.sent)-sent0[id], len(fs.received)-read0[id]; sent != want.packets || read != want.packets {
			t.Errorf("leg %s sent %d and read %d packets in 120 ms, want %d", id, sent, read, want.packets)
		}
		for _, p := range fs.sent {
			if len(p) != want.size {
				t.Errorf("leg %s sent a packet of %d samples, want %d", id, len(p), want.size)
			}
		}
		for _, n := range fs.received {
			if n != want.size {
				t.Errorf("leg %s read a packet of %d samples, want %d", id, n, want.size)
			}
		}
		fs.mu.Unlock()
	}
	hearsExactly(t, "a", h.lastSent(t, "a"), micHz, legHz["b"])
	hearsExactly(t, "b", h.lastSent(t, "b"), micHz, legHz["a"])

	// b alone: the device runs at its 30 ms again.
	h.e.StopLeg("a")
	h.frame(t) // read at 10 ms before the change
	if f := h.frame(t); len(f) != 240 {
		t.Fatalf("device frame of %d samples with a 30 ms leg alone, want 240", len(f))
	}
}

func TestStartLegReplaces(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160})
	h.e.SetMix(Mix{Focus: "a"})
	old := h.legs["a"]
	h.frame(t)
	h.e.newStream = func(rtpstream.Params) (stream, error) { return nil, errors.New("no codec") }
	if err := h.e.StartLeg("a", rtpstream.Params{}); err == nil {
		t.Fatal("failing StartLeg succeeded")
	}
	if old.closed {
		t.Fatal("a failed replacement closed the running leg")
	}
	hearsExactly(t, "handset", h.frame(t), legHz["a"])
	// Replace a with a stream playing c's tone.
	repl := &fakeStream{gen: tone.NewGenerator(tone.MustParse("1700/0"))}
	h.e.newStream = func(rtpstream.Params) (stream, error) { return repl, nil }
	if err := h.e.StartLeg("a", rtpstream.Params{}); err != nil {
		t.Fatal(err)
	}
	if !old.closed {
		t.Fatal("the replaced stream was not closed")
	}
	hearsExactly(t, "handset after the re-INVITE", h.frame(t), legHz["c"])
	if len(repl.sent) != 1 {
		t.Fatalf("the new stream sent %d packets, want 1", len(repl.sent))
	}
	if !old.socketsClosed {
		t.Fatal("replaced with new sockets, the old ones were not closed")
	}
}

// A re-INVITE that keeps the port passes the leg's own sockets: the old
// stream is detached (sockets left open) before the new one starts.
func TestStartLegHandsSocketsOver(t *testing.T) {
	h := startMix(t, nil)
	h.e.SetMix(Mix{Focus: "a"})
	rtpConn, rtcpConn := &net.UDPConn{}, &net.UDPConn{} // identities only
	p := rtpstream.Params{Conn: rtpConn, RTCPConn: rtcpConn}
	first := &fakeStream{}
	h.e.newStream = func(rtpstream.Params) (stream, error) { return first, nil }
	if err := h.e.StartLeg("a", p); err != nil {
		t.Fatal(err)
	}
	h.frame(t)
	second := &fakeStream{}
	h.e.newStream = func(got rtpstream.Params) (stream, error) {
		if !first.detached {
			t.Error("the new stream started before the old one let go of the sockets")
		}
		return second, nil
	}
	if err := h.e.StartLeg("a", p); err != nil {
		t.Fatal(err)
	}
	if !first.detached || first.socketsClosed {
		t.Fatalf("old stream detached=%v socketsClosed=%v, want detached only", first.detached, first.socketsClosed)
	}
	h.frame(t)
	if len(second.sent) != 1 {
		t.Fatalf("new stream sent %d packets, want 1", len(second.sent))
	}
	// The next replacement fails after the hand-over: the leg is gone,
	// the caller keeps the sockets.
	h.e.newStream = func(rtpstream.Params) (stream, error) { return nil, errors.New("bad ptime") }
	if err := h.e.StartLeg("a", p); err == nil {
		t.Fatal("failing replacement succeeded")
	}
	if !second.detached || second.socketsClosed {
		t.Fatalf("detached=%v socketsClosed=%v", second.detached, second.socketsClosed)
	}
	if _, ok := h.e.LegStats("a"); ok {
		t.Fatal("the detached leg is still there")
	}
}

// A leg whose stream takes long to start does not stall the media loop:
// nothing waits under the engine's lock.
func TestStartLegDoesNotStallLoop(t *testing.T) {
	h := startMix(t, map[string]int{"a": 160})
	h.e.SetMix(Mix{Focus: "a"})
	release := make(chan struct{})
	entered := make(chan struct{})
	h.e.newStream = func(rtpstream.Params) (stream, error) {
		close(entered)
		<-release
		return &fakeStream{}, nil
	}
	done := make(chan error)
	go func() { done <- h.e.StartLeg("b", rtpstream.Params{}) }()
	<-entered
	for range 3 {
		hearsExactly(t, "handset while b starts", h.frame(t), legHz["a"])
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Control calls from other goroutines while the loop runs (go test -race).
func TestMixConcurrentControl(t *testing.T) {
	dev := newFakeDevice(false) // free-running: the loop spins through frames
	dev.written = nil
	h := start(t, dev)
	h.e.newStream = func(rtpstream.Params) (stream, error) { return nopStream{}, nil }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := string(rune('a' + g))
			for i := range 200 {
				switch i % 5 {
				case 0:
					if err := h.e.StartLeg(id, rtpstream.Params{}); err != nil {
						t.Error(err)
					}
				case 1:
					h.e.SetMix(Mix{Focus: id, Conference: []string{"a", id}, Mute: i%2 == 0})
				case 2:
					h.e.LegStats(id)
					h.e.StartDTMF(id, '1')
					h.e.StopDTMF(id)
				case 3:
					h.e.PlayTone(tone.US[tone.CallWaiting])
				case 4:
					h.e.StopLeg(id)
				}
			}
		}()
	}
	wg.Wait()
	n := dev.writes.Load()
	h.e.StartLeg("z", rtpstream.Params{})
	waitUntil(t, "frames after the storm", func() bool { return dev.writes.Load() > n+5 })
}

// tableStream is a leg that allocates nothing and plays its tone from a
// table, so the benchmark measures the engine, not a tone generator.
type tableStream struct {
	nopStream
	pcm   []int16
	frame int
}

func (s *tableStream) Receive(f []int16) { copy(f, s.pcm) }
func (s *tableStream) FrameSamples() int { return s.frame }

// mixLoop is a loop over n tone legs (20 ms, or frames as given) in the
// mix m, on a free-running fake device, for the allocation test and the
// benchmarks.
func mixLoop(tb testing.TB, frames []int, m Mix) *loop {
	dev := newFakeDevice(false)
	dev.written = nil
	dev.mic = sine(micHz, maxFrame)
	e := New(dev, clock.Real{}, slog.New(slog.DiscardHandler))
	for i, f := range frames {
		id := string(rune('a' + i))
		s := &tableStream{pcm: sine(legHz[id], maxFrame), frame: f}
		e.newStream = func(rtpstream.Params) (stream, error) { return s, nil }
		if err := e.StartLeg(id, rtpstream.Params{}); err != nil {
			tb.Fatal(err)
		}
	}
	e.SetMix(m)
	e.PlayTone(tone.US[tone.CallWaiting])
	lp := newLoop(e)
	lp.sync()
	return lp
}

func TestMixAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		frames []int
		mix    Mix
	}{
		{"focus of 1", []int{160}, Mix{Focus: "a"}},
		{"focus and a held leg", []int{160, 320}, Mix{Focus: "b"}},
		{"conference of 3, 10/20/30 ms", []int{80, 160, 240}, Mix{Conference: []string{"a", "b", "c"}}},
		{"muted conference of 3", []int{160, 160, 160}, Mix{Conference: []string{"a", "b", "c"}, Mute: true}},
	} {
		lp := mixLoop(t, c.frames, c.mix)
		if n := testing.AllocsPerRun(200, func() {
			if !lp.step(ctx) {
				t.Fatal("step failed")
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", c.name, n)
		}
	}
}

// BenchmarkMix is one 20 ms media-loop frame (fake device read, every
// leg's receive, the mix, every leg's send to a no-op stream, a handset
// tone, device write) with 1 leg in focus, and conferences of 2 and 3
// legs. The RTP work inside the real streams is not included.
func BenchmarkMix(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("legs=%d", n), func(b *testing.B) {
			frames := make([]int, n)
			ids := make([]string, n)
			for i := range frames {
				frames[i] = audio.FrameSamples
				ids[i] = string(rune('a' + i))
			}
			m := Mix{Focus: "a"}
			if n > 1 {
				m = Mix{Conference: ids}
			}
			lp := mixLoop(b, frames, m)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				lp.step(ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}
