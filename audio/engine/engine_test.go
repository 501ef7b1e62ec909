package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// fakeDevice is a Device driven by the test. With ticks set, each Read
// waits for a tick; otherwise Read returns at once. Written frames are
// copied to written.
type fakeDevice struct {
	ticks     chan struct{}
	written   chan []int16
	mic       []int16
	entered   atomic.Int64 // Reads begun; entered > reads: one is blocked on ticks
	reads     atomic.Int64
	writes    atomic.Int64
	forbidden atomic.Bool // a call now is a test failure
	violated  atomic.Bool
	readErrs  atomic.Int64 // fail this many Reads first
}

func newFakeDevice(ticked bool) *fakeDevice {
	d := &fakeDevice{written: make(chan []int16, 1024)}
	if ticked {
		d.ticks = make(chan struct{})
	}
	return d
}

// progress is told of every step the loop takes on a fake device (a Read
// begun or done, a Write, an idle entry), so tests wait for exactly that
// instead of polling.
var progress = newNotifier()

type notifier struct {
	mu sync.Mutex
	ch chan struct{} // nil while nobody waits: a bump then allocates nothing
}

func newNotifier() *notifier { return &notifier{} }

// bump wakes every waiter.
func (n *notifier) bump() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// changed is closed at the next bump.
func (n *notifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (d *fakeDevice) Read(f []int16) error {
	d.entered.Add(1)
	progress.bump()
	defer progress.bump()
	if d.forbidden.Load() {
		d.violated.Store(true)
	}
	if d.ticks != nil {
		<-d.ticks
	}
	d.reads.Add(1)
	if d.readErrs.Load() > 0 {
		d.readErrs.Add(-1)
		return errors.New("device unplugged")
	}
	copy(f, d.mic)
	return nil
}

func (d *fakeDevice) Write(f []int16) error {
	if d.forbidden.Load() {
		d.violated.Store(true)
	}
	d.writes.Add(1)
	progress.bump()
	if d.written == nil {
		return nil
	}
	select {
	case d.written <- append([]int16(nil), f...):
	default: // the test is not collecting
	}
	return nil
}

func (d *fakeDevice) Close() error { return nil }

// harness runs an engine on a fake device and counts its idle entries.
type harness struct {
	e    *Engine
	dev  *fakeDevice
	clk  *clock.Fake
	idle atomic.Int64
	logs *syncBuffer
	stop func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, dev *fakeDevice) *harness {
	t.Helper()
	h := &harness{dev: dev, clk: clock.NewFake(time.Unix(0, 0)), logs: &syncBuffer{}}
	h.e = New(dev, h.clk, slog.New(slog.NewTextHandler(h.logs, nil)))
	h.e.idleHook = func() { h.idle.Add(1); progress.bump() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.e.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if dev.ticks != nil {
				close(dev.ticks) // release a Read in progress
			}
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// waitUntil waits for cond, re-checking it at each step of the loop
// (progress); the bound is for a broken test, not a measurement.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		ch := progress.changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitIdle waits until the loop enters its idle wait after call.
func (h *harness) waitIdle(t *testing.T, call func()) {
	t.Helper()
	n := h.idle.Load()
	call()
	waitUntil(t, "idle", func() bool { return h.idle.Load() > n })
}

func (h *harness) frame(t *testing.T) []int16 {
	t.Helper()
	select {
	case h.dev.ticks <- struct{}{}:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop is not reading the device")
	}
	select {
	case f := <-h.dev.written:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame written")
		return nil
	}
}

func TestIdleMakesNoDeviceCalls(t *testing.T) {
	dev := newFakeDevice(false) // Read returns at once: a busy loop would show
	h := start(t, dev)
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	if dev.reads.Load() != 0 || dev.writes.Load() != 0 {
		t.Fatalf("idle engine made %d reads, %d writes", dev.reads.Load(), dev.writes.Load())
	}
	h.e.PlayTone(tone.US[tone.Dial])
	waitUntil(t, "frames", func() bool { return dev.writes.Load() > 5 })
	h.waitIdle(t, h.e.StopTone)
	dev.forbidden.Store(true)
	// Wake the loop a few times with no work: it must go back to sleep
	// without touching the device.
	for i := 0; i < 5; i++ {
		h.waitIdle(t, h.e.StopTone)
		if _, ok := h.e.StopStream(); ok {
			t.Fatal("StopStream with no stream reported one")
		}
	}
	if dev.violated.Load() {
		t.Fatal("device called while idle")
	}
	if _, ok := h.e.Stats(); ok {
		t.Fatal("Stats with no stream reported one")
	}
}

func TestToneWithinOneFrame(t *testing.T) {
	dev := newFakeDevice(true)
	h := start(t, dev)
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })

	h.e.PlayTone(tone.US[tone.Busy])
	f := h.frame(t)
	if !detect.Present(f, 480) || !detect.Present(f, 620) {
		t.Fatal("first frame after PlayTone(busy) is not the busy tone")
	}
	h.frame(t)
	// Replace the tone between frames: the very next frame is the new one.
	h.e.PlayTone(tone.US[tone.OffHookWarning])
	f = h.frame(t)
	if !detect.Present(f, 1400) || detect.Present(f, 480) {
		t.Fatal("frame after PlayTone(howler) is not the howler")
	}
	// Stop the tone while the loop waits in Read for the next frame (had
	// it not reached Read yet, it would rightly go idle without one).
	waitUntil(t, "the loop in Read", func() bool { return dev.entered.Load() > dev.reads.Load() })
	h.e.StopTone()
	f = h.frame(t)
	if detect.Energy(f) != 0 {
		t.Fatal("frame after StopTone is not silent")
	}
	waitUntil(t, "idle after StopTone", func() bool { return h.idle.Load() > 1 })
}

// fakeStream records sent frames and plays a constant, or a tone when gen
// is set.
type fakeStream struct {
	mu       sync.Mutex
	sent     [][]int16
	rx       int16
	gen      *tone.Generator
	received []int // the frame size of each Receive
	closed   bool
	detached bool // stopped by Detach, sockets left open
	// closed by Close, sockets with it
	socketsClosed bool
	keys          []byte // StartDTMF digits, '^' for StopDTMF
	frame         int    // samples per packet; 0 means 160
}

func (s *fakeStream) FrameSamples() int {
	if s.frame == 0 {
		return audio.FrameSamples
	}
	return s.frame
}

func (s *fakeStream) Send(f []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return rtpstream.ErrClosed
	}
	s.sent = append(s.sent, append([]int16(nil), f...))
	return nil
}

func (s *fakeStream) Redirect(netip.AddrPort, netip.AddrPort, bool) {}

func (s *fakeStream) StartDTMF(d byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, d)
	return nil
}

func (s *fakeStream) StopDTMF() {
	s.mu.Lock()
	s.keys = append(s.keys, '^')
	s.mu.Unlock()
}

func (s *fakeStream) Receive(f []int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, len(f))
	if s.gen != nil {
		s.gen.Fill(f)
		return
	}
	for i := range f {
		f[i] = s.rx
	}
}

func (s *fakeStream) Stats() rtpstream.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rtpstream.Stats{PacketsSent: uint64(len(s.sent))}
}

// Detach stops the stream and leaves its sockets; Close closes them too.
func (s *fakeStream) Detach() error {
	s.mu.Lock()
	s.closed, s.detached = true, true
	s.mu.Unlock()
	return nil
}

func (s *fakeStream) Close() error {
	s.mu.Lock()
	s.closed, s.socketsClosed = true, true
	s.mu.Unlock()
	return nil
}

func TestStreamMixing(t *testing.T) {
	dev := newFakeDevice(true)
	dev.mic = []int16{7, 7, 7}
	h := start(t, dev)
	fs := &fakeStream{rx: 99}
	var got rtpstream.Params
	h.e.newStream = func(p rtpstream.Params) (stream, error) { got = p; return fs, nil }
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })

	if err := h.e.StartStream(rtpstream.Params{PayloadType: 8}); err != nil {
		t.Fatal(err)
	}
	if got.Clock != h.clk || got.Logger == nil {
		t.Fatal("stream did not inherit the engine's clock and logger")
	}
	if err := h.e.StartStream(rtpstream.Params{}); !errors.Is(err, ErrStreamActive) {
		t.Fatalf("second StartStream: %v", err)
	}
	if f := h.frame(t); f[0] != 99 {
		t.Fatalf("speaker %d, want the stream's audio", f[0])
	}
	h.e.PlayTone(tone.US[tone.Ringback])
	if f := h.frame(t); !detect.Present(f, 440) {
		t.Fatal("tone does not override the stream")
	}
	h.e.StopTone()
	if f := h.frame(t); f[0] != 99 {
		t.Fatalf("speaker %d after StopTone, want the stream's audio", f[0])
	}
	if st, ok := h.e.Stats(); !ok || st.PacketsSent != 3 {
		t.Fatalf("Stats %+v %v", st, ok)
	}
	waitUntil(t, "the loop in Read", func() bool { return dev.entered.Load() > dev.reads.Load() })
	st, ok := h.e.StopStream()
	if !ok || st.PacketsSent != 3 || !fs.closed {
		t.Fatalf("StopStream %+v %v closed=%v", st, ok, fs.closed)
	}
	for i, f := range fs.sent {
		if f[0] != 7 || f[2] != 7 {
			t.Fatalf("sent frame %d is not the mic audio", i)
		}
	}
	// The loop was waiting in Read for the next frame; it completes
	// silent, then the engine goes idle.
	if f := h.frame(t); detect.Energy(f) != 0 {
		t.Fatal("frame after StopStream is not silent")
	}
	waitUntil(t, "idle after StopStream", func() bool { return h.idle.Load() > 1 })

	h.e.newStream = func(rtpstream.Params) (stream, error) { return nil, errors.New("boom") }
	if err := h.e.StartStream(rtpstream.Params{}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing stream: %v", err)
	}
}

// The loop runs at the stream's packet time (a=ptime): 30 ms frames are
// read, sent and played while the stream runs, 20 ms ones for tones.
func TestStreamPacketTime(t *testing.T) {
	dev := newFakeDevice(true)
	h := start(t, dev)
	fs := &fakeStream{rx: 5, frame: 240}
	h.e.newStream = func(rtpstream.Params) (stream, error) { return fs, nil }
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	if err := h.e.StartStream(rtpstream.Params{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if f := h.frame(t); len(f) != 240 {
			t.Fatalf("played %d samples per frame, want 240", len(f))
		}
	}
	waitUntil(t, "the loop in Read", func() bool { return dev.entered.Load() > dev.reads.Load() })
	h.e.StopStream()
	h.e.PlayTone(tone.US[tone.Dial])
	h.frame(t) // the frame read while the stream ran
	if f := h.frame(t); len(f) != audio.FrameSamples {
		t.Fatalf("tone frames of %d samples, want %d", len(f), audio.FrameSamples)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.sent {
		if len(f) != 240 {
			t.Fatalf("sent frame %d has %d samples, want 240", i, len(f))
		}
	}
}

func TestDeviceErrorBackoff(t *testing.T) {
	dev := newFakeDevice(false)
	dev.readErrs.Store(3)
	h := start(t, dev)
	h.e.PlayTone(tone.US[tone.Dial])
	// Each failure waits on the clock: no further Read until it advances.
	for i, backoff := range []time.Duration{20, 40, 80} {
		if !h.clk.WaitPending(1, 10*time.Second) {
			t.Fatal("no back-off timer")
		}
		if n := dev.reads.Load(); n != int64(i+1) {
			t.Fatalf("failure %d: %d reads while backing off", i, n)
		}
		h.clk.Advance(backoff*time.Millisecond - 1)
		if h.clk.Pending() != 1 {
			t.Fatalf("failure %d: retried before %v ms", i, backoff)
		}
		h.clk.Advance(1)
	}
	waitUntil(t, "recovery", func() bool { return dev.writes.Load() > 3 })
	h.stop()
	logs := h.logs.String()
	if strings.Count(logs, "sound device failed") != 1 || strings.Count(logs, "sound device recovered") != 1 {
		t.Fatalf("want one failure and one recovery log, got:\n%s", logs)
	}
}

func TestRunReturnsOnCancelDuringBackoff(t *testing.T) {
	dev := newFakeDevice(false)
	dev.readErrs.Store(1 << 30)
	h := start(t, dev)
	h.e.PlayTone(tone.US[tone.Dial])
	if !h.clk.WaitPending(1, 10*time.Second) {
		t.Fatal("no back-off timer")
	}
	// Cleanup cancels; Run must return without the clock advancing.
}

// TestEngineSendsOverUDP runs the real stream: mic audio reaches a plain
// UDP socket as RTP, and the engine's stats count it.
func TestEngineSendsOverUDP(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := rtpstream.Listen(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	dev := newFakeDevice(true)
	dev.mic = make([]int16, 160)
	tone.NewGenerator(tone.MustParse("700/0")).Fill(dev.mic)
	h := start(t, dev)
	if err := h.e.StartStream(rtpstream.Params{Conn: conn, Remote: raw.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadType: 0}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		h.frame(t)
	}
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	for i := 0; i < 3; i++ {
		n, err := raw.Read(buf)
		if err != nil || n != 172 {
			t.Fatalf("packet %d: %d bytes, %v", i, n, err)
		}
		dec := make([]int16, 160)
		codec.PCMU.DecodeFrame(dec, buf[12:n])
		if !detect.Present(dec, 700) {
			t.Fatalf("packet %d does not carry the mic tone", i)
		}
	}
	st, ok := h.e.StopStream()
	if !ok || st.PacketsSent != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkLoopIteration(b *testing.B) {
	// One media-loop frame with a tone over an active fake stream.
	dev := newFakeDevice(false)
	e := New(dev, clock.Real{}, slog.New(slog.DiscardHandler))
	e.newStream = func(rtpstream.Params) (stream, error) { return nopStream{}, nil }
	e.StartStream(rtpstream.Params{})
	e.PlayTone(tone.US[tone.Dial])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev.written = nil // nobody collects frames
	b.ReportAllocs()
	n := int64(b.N)
	go e.Run(ctx)
	for dev.writes.Load() < n {
		time.Sleep(time.Millisecond)
	}
}

type nopStream struct{}

func (nopStream) Redirect(netip.AddrPort, netip.AddrPort, bool) {}
func (nopStream) FrameSamples() int                             { return audio.FrameSamples }
func (nopStream) StartDTMF(byte) error                          { return nil }
func (nopStream) StopDTMF()                                     {}

func (nopStream) Send([]int16) error     { return nil }
func (nopStream) Receive([]int16)        {}
func (nopStream) Stats() rtpstream.Stats { return rtpstream.Stats{} }
func (nopStream) Close() error           { return nil }
func (nopStream) Detach() error          { return nil }

func TestDTMFForwarding(t *testing.T) {
	dev := newFakeDevice(true)
	h := start(t, dev)
	if err := h.e.StartDTMF("", '1'); !errors.Is(err, ErrNoStream) {
		t.Fatalf("StartDTMF without a stream: %v", err)
	}
	h.e.StopDTMF("") // harmless
	fs := &fakeStream{}
	h.e.newStream = func(rtpstream.Params) (stream, error) { return fs, nil }
	if err := h.e.StartStream(rtpstream.Params{}); err != nil {
		t.Fatal(err)
	}
	if err := h.e.StartDTMF("", '#'); err != nil {
		t.Fatal(err)
	}
	h.e.StopDTMF("")
	fs.mu.Lock()
	keys := string(fs.keys)
	fs.mu.Unlock()
	if keys != "#^" {
		t.Fatalf("stream saw %q", keys)
	}
}

// TestEngineSendsDTMF runs the real stream: a key press replaces the mic
// audio with telephone-event packets, and without a negotiated payload
// type StartDTMF fails.
func TestEngineSendsDTMF(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	raw, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dev := newFakeDevice(true)
	dev.mic = make([]int16, 160)
	h := start(t, dev)
	for _, pt := range []uint8{0, 101} {
		conn, err := rtpstream.Listen(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.e.StartStream(rtpstream.Params{Conn: conn, Remote: raw.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadType: 0, DTMFPayloadType: pt}); err != nil {
			t.Fatal(err)
		}
		err = h.e.StartDTMF("", '9')
		if pt == 0 {
			if !errors.Is(err, rtpstream.ErrNoDTMF) {
				t.Fatalf("StartDTMF with no telephone-event: %v", err)
			}
			h.e.StopStream()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		h.e.StopDTMF("")
		for i := 0; i < 7; i++ { // 4 updates, then the end 3 times (800 = 5 frames)
			h.frame(t)
		}
		raw.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2048)
		for i := 0; i < 7; i++ {
			n, err := raw.Read(buf)
			if err != nil || n != 16 || buf[1]&0x7F != 101 || buf[12] != 9 {
				t.Fatalf("packet %d: % x, %v", i, buf[:n], err)
			}
		}
		st, ok := h.e.StopStream()
		if !ok || st.DTMFSent != 1 || st.DTMFPacketsSent != 7 {
			t.Fatalf("stats %+v", st)
		}
	}
}
