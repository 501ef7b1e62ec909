package device

import (
	"errors"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/firmware/clock"
)

// Device is a sound device: a microphone and a speaker sharing one clock.
type Device interface {
	// Read blocks until the next captured frame is available and fills frame.
	Read(frame []int16) error
	// Write plays one frame.
	Write(frame []int16) error
	Close() error
}

// Activator is implemented by a device that runs its hardware (or its
// sound server's streams) only while the media loop uses it. The engine
// calls SetActive(true) before its first Read after an idle spell and
// SetActive(false) when it goes idle (no tone and no leg); the device may
// then stop its streams, so an idle phone costs nothing. Read and Write
// stay valid in either state. Null and WAV have nothing to stop and do not
// implement it.
type Activator interface {
	SetActive(on bool)
}

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = errors.New("device: closed")

// ErrFormat is wrapped by OpenWAV when a microphone file is not telephone audio.
var ErrFormat = errors.New("device: wrong audio format")

// MaxLag is how far a paced device may fall behind its deadline before it
// restarts pacing from now instead of delivering the missed frames at once.
const MaxLag = 100 * time.Millisecond

// pacer implements deadline-based pacing on a clock.
type pacer struct {
	clk  clock.Clock
	next time.Time // deadline of the next frame
}

// wait blocks until a frame of n samples, started at the last deadline, has
// been captured.
func (p *pacer) wait(n int) {
	now := p.clk.Now()
	if p.next.IsZero() || now.Sub(p.next) > MaxLag {
		p.next = now
	}
	p.next = p.next.Add(audio.Duration(n))
	p.clk.SleepUntil(p.next)
}
