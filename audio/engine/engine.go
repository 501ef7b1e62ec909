package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

var (
	// ErrStreamActive is returned by StartStream while a stream runs.
	ErrStreamActive = errors.New("engine: a stream is already active")
	// ErrNoStream is returned by StartDTMF when no stream runs.
	ErrNoStream = errors.New("engine: no stream")
)

const (
	// MinBackoff and MaxBackoff bound the wait before retrying a failed device.
	MinBackoff = audio.FrameDuration
	MaxBackoff = time.Second
)

// stream is what the engine needs of an RTP stream.
type stream interface {
	Send(frame []int16) error
	Receive(frame []int16)
	Stats() rtpstream.Stats
	Close() error
	Redirect(remote, rtcp netip.AddrPort, send bool)
	StartDTMF(digit byte) error
	StopDTMF()
	FrameSamples() int
}

// Engine runs the media loop. Create it with New.
type Engine struct {
	dev device.Device
	clk clock.Clock
	log *slog.Logger

	newStream func(rtpstream.Params) (stream, error)
	idleHook  func() // tests: called by the loop each time it goes idle

	mu     sync.Mutex
	gen    *tone.Generator
	stream stream

	wake chan struct{}
}

// New returns an engine for dev. Pass clock.Real{} in production. A nil
// logger means slog.Default.
func New(dev device.Device, clk clock.Clock, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{
		dev: dev,
		clk: clk,
		log: log.With("component", "media"),
		newStream: func(p rtpstream.Params) (stream, error) {
			return rtpstream.New(p)
		},
		wake: make(chan struct{}, 1),
	}
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// PlayTone replaces the current tone with t, from its start.
func (e *Engine) PlayTone(t tone.Tone) {
	g := tone.NewGenerator(t)
	e.mu.Lock()
	e.gen = g
	e.mu.Unlock()
	e.signal()
}

// StopTone stops the tone; the stream's audio (if any) plays again.
func (e *Engine) StopTone() {
	e.mu.Lock()
	e.gen = nil
	e.mu.Unlock()
	e.signal()
}

// StartStream starts an RTP stream with p: captured audio is sent and
// received audio is played (when no tone plays). The stream owns p.Conn;
// on error the caller keeps it.
func (e *Engine) StartStream(p rtpstream.Params) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stream != nil {
		return ErrStreamActive
	}
	if p.Clock == nil {
		p.Clock = e.clk
	}
	if p.Logger == nil {
		p.Logger = e.log
	}
	s, err := e.newStream(p)
	if err != nil {
		return fmt.Errorf("engine: start stream: %w", err)
	}
	e.stream = s
	e.signal()
	return nil
}

// StopStream stops and closes the stream and returns its final stats;
// false if there was none.
func (e *Engine) StopStream() (rtpstream.Stats, bool) {
	e.mu.Lock()
	s := e.stream
	e.stream = nil
	e.mu.Unlock()
	if s == nil {
		return rtpstream.Stats{}, false
	}
	e.signal()
	if err := s.Close(); err != nil {
		e.log.Warn("closing stream", "err", err)
	}
	return s.Stats(), true
}

// Stats returns the current stream's stats; false when there is no stream.
func (e *Engine) Stats() (rtpstream.Stats, bool) {
	e.mu.Lock()
	s := e.stream
	e.mu.Unlock()
	if s == nil {
		return rtpstream.Stats{}, false
	}
	return s.Stats(), true
}

// Run is the media loop. It returns nil when ctx is done. It leaves any
// stream running; StopStream ends it.
func (e *Engine) Run(ctx context.Context) error {
	// One frame per packet: the stream's packet time (10 to 40 ms), or 20
	// ms for tones alone.
	micBuf := make([]int16, rtpstream.MaxFrameSamples)
	spkBuf := make([]int16, rtpstream.MaxFrameSamples)
	var dev, send failures
	for {
		// Drop a pending wake-up: the state read next already reflects it.
		select {
		case <-e.wake:
		default:
		}
		e.mu.Lock()
		busy := e.gen != nil || e.stream != nil
		n := audio.FrameSamples
		if e.stream != nil {
			n = min(max(e.stream.FrameSamples(), 1), len(micBuf))
		}
		e.mu.Unlock()
		mic, spk := micBuf[:n], spkBuf[:n]
		if !busy {
			if e.idleHook != nil {
				e.idleHook()
			}
			select {
			case <-ctx.Done():
				return nil
			case <-e.wake:
				continue
			}
		}
		if ctx.Err() != nil {
			return nil
		}

		if err := e.dev.Read(mic); err != nil {
			if !e.deviceFailed(ctx, &dev, "read", err) {
				return nil
			}
			continue
		}
		// Take the tone and stream after Read, so a change made while the
		// device was capturing applies to this very frame.
		e.mu.Lock()
		gen, st := e.gen, e.stream
		e.mu.Unlock()

		if st != nil {
			if err := st.Send(mic); err != nil && !errors.Is(err, rtpstream.ErrClosed) {
				if send.n == 0 {
					e.log.Warn("rtp send failed", "err", err)
				}
				send.n++
			} else if err == nil && send.n > 0 {
				e.log.Info("rtp send recovered", "failures", send.n)
				send.n = 0
			}
			st.Receive(spk) // keep playout moving even under a tone
		} else {
			clear(spk)
		}
		if gen != nil {
			gen.Fill(spk)
		}
		if err := e.dev.Write(spk); err != nil {
			if !e.deviceFailed(ctx, &dev, "write", err) {
				return nil
			}
			continue
		}
		if dev.n > 0 {
			e.log.Info("sound device recovered", "failures", dev.n)
			dev = failures{}
		}
	}
}

// failures counts a run of consecutive errors and the back-off reached.
type failures struct {
	n       int
	backoff time.Duration
}

// deviceFailed logs the first error of a run, waits the back-off and
// reports whether to continue (false when ctx ended).
func (e *Engine) deviceFailed(ctx context.Context, f *failures, op string, err error) bool {
	if f.n == 0 {
		e.log.Error("sound device failed; retrying with back-off", "op", op, "err", err)
		f.backoff = MinBackoff
	} else {
		f.backoff = min(2*f.backoff, MaxBackoff)
	}
	f.n++
	return e.sleep(ctx, f.backoff)
}

// sleep waits d on the engine's clock; false if ctx ended first.
func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	t := e.clk.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// RedirectStream points the running stream at a new remote address and
// turns sending on or off (hold), as a re-INVITE asks. It reports whether a
// stream was running.
func (e *Engine) RedirectStream(remote, rtcp netip.AddrPort, send bool) bool {
	e.mu.Lock()
	s := e.stream
	e.mu.Unlock()
	if s == nil {
		return false
	}
	s.Redirect(remote, rtcp, send)
	return true
}

// StartDTMF presses digit ('0'-'9', '*', '#', 'A'-'D') on the running
// stream: it sends RFC 4733 telephone-events instead of the microphone
// from the next frame until StopDTMF (and for at least
// rtpstream.DTMFMinDuration). ErrNoStream without a stream;
// rtpstream.ErrNoDTMF when the call negotiated no telephone-event.
func (e *Engine) StartDTMF(digit byte) error {
	e.mu.Lock()
	s := e.stream
	e.mu.Unlock()
	if s == nil {
		return ErrNoStream
	}
	if err := s.StartDTMF(digit); err != nil {
		return fmt.Errorf("engine: dtmf %q: %w", digit, err)
	}
	return nil
}

// StopDTMF releases the key pressed last; a no-op without a stream.
func (e *Engine) StopDTMF() {
	e.mu.Lock()
	s := e.stream
	e.mu.Unlock()
	if s != nil {
		s.StopDTMF()
	}
}
