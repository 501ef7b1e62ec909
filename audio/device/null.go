package device

import (
	"sync/atomic"

	"github.com/deskphone/phoned/firmware/clock"
)

// Null is a device with a silent microphone and a speaker that discards,
// paced in real time by its clock.
type Null struct {
	pace   pacer
	closed atomic.Bool
}

// NewNull returns a Null device paced by clk.
func NewNull(clk clock.Clock) *Null { return &Null{pace: pacer{clk: clk}} }

// Read waits for the next frame deadline and fills frame with silence.
func (d *Null) Read(frame []int16) error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.pace.wait(len(frame))
	clear(frame)
	return nil
}

// Write discards frame.
func (d *Null) Write(frame []int16) error {
	if d.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close makes later calls fail with ErrClosed.
func (d *Null) Close() error {
	d.closed.Store(true)
	return nil
}
