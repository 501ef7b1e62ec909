package engine

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

// Local legs are calls whose far end is the phone itself (the service
// numbers: echo test, tone test). They are legs like the RTP ones (the mix,
// hold, conference and mute apply unchanged) but their stream never
// touches the network: an echo stream returns what it was sent, Delay
// later; a tone stream plays a tone and drops what it is sent.

// ErrNoDTMF is what StartDTMF answers on a local leg: it has no far end to
// send telephone-events to.
var ErrNoDTMF = errors.New("engine: a local leg takes no DTMF")

// StartEchoLeg starts local leg id whose far end repeats what it hears
// delay later (the echo test). It replaces a running leg of the same id.
func (e *Engine) StartEchoLeg(id string, delay time.Duration) error {
	return e.startLocal(id, newEchoStream(delay, e.clk))
}

// StartToneLeg starts local leg id whose far end plays t (the tone test).
// It replaces a running leg of the same id.
func (e *Engine) StartToneLeg(id string, t tone.Tone) error {
	return e.startLocal(id, &toneStream{localStream: localStream{clk: e.clk}, gen: tone.NewGenerator(t)})
}

func (e *Engine) startLocal(id string, s stream) error {
	e.mu.Lock()
	old := e.legs[id]
	e.legs[id] = newLeg(id, s, rtpstream.Params{})
	e.version++
	e.mu.Unlock()
	e.signal()
	if old != nil {
		e.closeStream(id, old.st)
	}
	e.log.Info("local leg started", "leg", id)
	return nil
}

// localStream is what local streams share: counters for Stats (so the
// status shows a live call) and the no-ops of the network.
type localStream struct {
	clk clock.Clock

	mu                   sync.Mutex
	sent, received       uint64
	lastReceived         time.Time
	sentBytes, recvBytes uint64
}

func (s *localStream) count(sent bool, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sent {
		s.sent++
		s.sentBytes += uint64(n)
		return
	}
	s.received++
	s.recvBytes += uint64(n)
	s.lastReceived = s.clk.Now()
}

func (s *localStream) Stats() rtpstream.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rtpstream.Stats{PacketsSent: s.sent, PacketsReceived: s.received, BytesSent: s.sentBytes,
		BytesReceived: s.recvBytes, LastReceived: s.lastReceived}
}

func (s *localStream) Close() error                                  { return nil }
func (s *localStream) Detach() error                                 { return nil }
func (s *localStream) Redirect(netip.AddrPort, netip.AddrPort, bool) {}
func (s *localStream) StartDTMF(byte) error                          { return ErrNoDTMF }
func (s *localStream) StopDTMF()                                     {}
func (s *localStream) FrameSamples() int                             { return audio.FrameSamples }

// echoStream is a delay line: Receive gives back the samples Send was
// given delay earlier (silence until then). Only the media loop calls
// Send and Receive.
type echoStream struct {
	localStream
	ring       []int16 // holds delay plus a frame of samples
	head, size int     // the oldest sample and how many are buffered
}

func newEchoStream(delay time.Duration, clk clock.Clock) *echoStream {
	d := max(int(delay*audio.SampleRate/time.Second), 0)
	// The line starts full of silence: the first sample sent comes out
	// after exactly d samples have been played.
	return &echoStream{localStream: localStream{clk: clk}, ring: make([]int16, d+maxFrame), size: d}
}

func (s *echoStream) Send(frame []int16) error {
	for _, v := range frame {
		if s.size == len(s.ring) { // cannot happen while Receive keeps pace; drop the oldest
			s.head = (s.head + 1) % len(s.ring)
			s.size--
		}
		s.ring[(s.head+s.size)%len(s.ring)] = v
		s.size++
	}
	s.count(true, len(frame))
	return nil
}

func (s *echoStream) Receive(frame []int16) {
	for i := range frame {
		if s.size == 0 {
			frame[i] = 0
			continue
		}
		frame[i] = s.ring[s.head]
		s.head = (s.head + 1) % len(s.ring)
		s.size--
	}
	s.count(false, len(frame))
}

// toneStream plays a tone as the far end's audio.
type toneStream struct {
	localStream
	gen *tone.Generator
}

func (s *toneStream) Send(frame []int16) error {
	s.count(true, len(frame))
	return nil
}

func (s *toneStream) Receive(frame []int16) {
	s.gen.Fill(frame)
	s.count(false, len(frame))
}
