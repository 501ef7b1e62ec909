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
	// ErrStreamActive is returned by StartStream while the legacy leg ""
	// runs.
	ErrStreamActive = errors.New("engine: a stream is already active")
	// ErrNoLeg is returned by StartDTMF when no leg has the id.
	ErrNoLeg = errors.New("engine: no such leg")
	// ErrNoStream is ErrNoLeg under its single-stream name.
	ErrNoStream = ErrNoLeg
)

const (
	// MinBackoff and MaxBackoff bound the wait before retrying a failed device.
	MinBackoff = audio.FrameDuration
	MaxBackoff = time.Second
)

// stream is what the engine needs of an RTP stream (one leg).
type stream interface {
	Send(frame []int16) error
	Receive(frame []int16)
	Stats() rtpstream.Stats
	Close() error
	Detach() error // Close, leaving the sockets open for the next stream
	Redirect(remote, rtcp netip.AddrPort, send bool)
	StartDTMF(digit byte) error
	StopDTMF()
	FrameSamples() int
}

// Mix says who hears whom. The zero Mix focuses the leg named "" (the
// single-stream methods' leg) and holds every other one.
type Mix struct {
	// Focus is the leg the handset hears and talks to; "" names no leg
	// unless the single-stream methods started one.
	Focus string
	// Conference, when it names two or more legs, is a local conference:
	// the handset hears the sum of these legs and each of them hears the
	// handset plus the other members, never itself. Focus is not consulted
	// then: a leg outside the conference is held.
	Conference []string
	// Mute sends silence instead of the handset microphone; conference
	// members still hear each other.
	Mute bool
}

// Engine runs the media loop. Create it with New.
type Engine struct {
	dev device.Device
	clk clock.Clock
	log *slog.Logger

	newStream func(rtpstream.Params) (stream, error)
	idleHook  func() // tests: called by the loop each time it goes idle

	mu      sync.Mutex
	gen     *tone.Generator
	legs    map[string]*leg
	mix     Mix
	version uint64 // counts changes to legs and mix; the loop re-reads them when it moves

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
		legs: make(map[string]*leg),
		wake: make(chan struct{}, 1),
	}
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// PlayTone replaces the current handset tone with t, from its start. The
// tone is summed over what the handset hears (a call-waiting beep over the
// talk); no leg hears it.
func (e *Engine) PlayTone(t tone.Tone) {
	g := tone.NewGenerator(t)
	e.mu.Lock()
	e.gen = g
	e.mu.Unlock()
	e.signal()
}

// StopTone stops the handset tone.
func (e *Engine) StopTone() {
	e.mu.Lock()
	e.gen = nil
	e.mu.Unlock()
	e.signal()
}

// StartLeg starts the RTP stream of leg id with p, replacing (and closing)
// a running leg of the same id, as a re-INVITE with a new address or codec
// needs. The stream owns p.Conn and p.RTCPConn; on error the caller keeps
// them. A nil p.Clock or p.Logger takes the engine's.
//
// A replacement may pass the running leg's own sockets (the port in the
// SDP stays): that leg's stream is then detached first (BYE sent, its
// receivers stopped, the sockets left open) and the new stream takes them
// over. Should the new stream fail, the leg is gone and the caller keeps
// the sockets; otherwise a failure leaves the running leg as it was.
func (e *Engine) StartLeg(id string, p rtpstream.Params) error {
	return e.startLeg(id, p, true)
}

// startLeg builds the stream outside the lock (no network waits under it)
// and installs it. Without replace, an existing leg id is left running and
// ErrStreamActive returned.
func (e *Engine) startLeg(id string, p rtpstream.Params, replace bool) error {
	e.mu.Lock()
	old := e.legs[id]
	e.mu.Unlock()
	if old != nil && !replace {
		return ErrStreamActive
	}
	if p.Clock == nil {
		p.Clock = e.clk
	}
	if p.Logger == nil {
		p.Logger = e.log
	}
	if id != "" {
		p.Logger = p.Logger.With("leg", id)
	}
	handed := old != nil && old.shares(p)
	if handed {
		// Two readers on one socket would split its packets: the old
		// stream lets go of the sockets before the new one starts.
		if err := old.st.Detach(); err != nil {
			e.log.Warn("detaching leg", "leg", id, "err", err)
		}
	}
	s, err := e.newStream(p)
	if err != nil {
		if handed {
			e.mu.Lock()
			if e.legs[id] == old {
				delete(e.legs, id)
				e.version++
			}
			e.mu.Unlock()
			e.signal()
		}
		return fmt.Errorf("engine: start leg %q: %w", id, err)
	}
	l := newLeg(id, s, p)
	e.mu.Lock()
	cur := e.legs[id]
	if cur != nil && !replace {
		// Another StartStream won the race: this stream goes, with the
		// sockets it was given.
		e.mu.Unlock()
		e.closeStream(id, s)
		return ErrStreamActive
	}
	e.legs[id] = l
	e.version++
	e.mu.Unlock()
	e.signal()
	if cur != nil {
		e.log.Info("leg replaced", "leg", id, "sockets_kept", handed && cur == old)
		if !(handed && cur == old) {
			e.closeStream(id, cur.st)
		}
	}
	return nil
}

func (e *Engine) closeStream(id string, s stream) {
	if err := s.Close(); err != nil {
		e.log.Warn("closing leg", "leg", id, "err", err)
	}
}

// StopLeg stops and closes leg id and returns its final stats; false when
// there is no such leg. The loop stops reading and sending it from the next
// frame.
func (e *Engine) StopLeg(id string) (rtpstream.Stats, bool) {
	e.mu.Lock()
	l := e.legs[id]
	if l != nil {
		delete(e.legs, id)
		e.version++
	}
	e.mu.Unlock()
	if l == nil {
		return rtpstream.Stats{}, false
	}
	e.signal()
	e.closeStream(id, l.st)
	return l.st.Stats(), true
}

// LegStats returns leg id's current stats; false when there is no such leg.
func (e *Engine) LegStats(id string) (rtpstream.Stats, bool) {
	s := e.stream(id)
	if s == nil {
		return rtpstream.Stats{}, false
	}
	return s.Stats(), true
}

// RedirectLeg points leg id at a new remote address and turns its sending
// on or off, as a re-INVITE asks (RFC 3264 §8). It reports whether the leg
// exists.
func (e *Engine) RedirectLeg(id string, remote, rtcp netip.AddrPort, send bool) bool {
	s := e.stream(id)
	if s == nil {
		return false
	}
	s.Redirect(remote, rtcp, send)
	return true
}

// SetMix sets who hears whom from the next frame. It may name legs not
// started yet; they take their part when they start.
func (e *Engine) SetMix(m Mix) {
	m.Conference = append([]string(nil), m.Conference...) // the caller keeps its slice
	e.mu.Lock()
	e.mix = m
	e.version++
	e.mu.Unlock()
	e.signal()
}

// StartDTMF presses digit ('0'-'9', '*', '#', 'A'-'D') on leg id only: it
// sends RFC 4733 telephone-events instead of that leg's audio from its next
// packet until StopDTMF (and for at least rtpstream.DTMFMinDuration).
// ErrNoLeg without such a leg; rtpstream.ErrNoDTMF when the leg negotiated
// no telephone-event.
func (e *Engine) StartDTMF(id string, digit byte) error {
	s := e.stream(id)
	if s == nil {
		return fmt.Errorf("%w: %q", ErrNoLeg, id)
	}
	if err := s.StartDTMF(digit); err != nil {
		return fmt.Errorf("engine: leg %q dtmf %q: %w", id, digit, err)
	}
	return nil
}

// StopDTMF releases the key pressed last on leg id; a no-op without it.
func (e *Engine) StopDTMF(id string) {
	if s := e.stream(id); s != nil {
		s.StopDTMF()
	}
}

func (e *Engine) stream(id string) stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l := e.legs[id]; l != nil {
		return l.st
	}
	return nil
}

// Run is the media loop. It returns nil when ctx is done. It leaves any
// leg running; StopLeg ends it.
func (e *Engine) Run(ctx context.Context) error {
	lp := newLoop(e)
	act, _ := e.dev.(device.Activator)
	active := false
	defer func() {
		if act != nil && active {
			act.SetActive(false)
		}
	}()
	for {
		// Drop a pending wake-up: the state read next already reflects it.
		select {
		case <-e.wake:
		default:
		}
		lp.sync()
		if lp.gen == nil && len(lp.legs) == 0 {
			if act != nil && active {
				act.SetActive(false)
				active = false
			}
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
		if act != nil && !active {
			act.SetActive(true)
			active = true
		}
		if !lp.step(ctx) {
			return nil
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
