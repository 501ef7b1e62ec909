// Package debounce turns the bouncing levels of a mechanical contact into
// clean changes, on an injected clock (periph.io has no debounce).
//
// Contract: a new level is accepted once the contact has held it for the
// settle time; a glitch shorter than that, or any bounce that ends at the
// level it started from, gives no change at all. Every accepted change is
// reported once, with the time it was accepted, in order. Input may be
// called from any goroutine; OnChange runs with no lock held, on the
// goroutine of Input (settle 0) or of the clock's timer.
package debounce

import (
	"sync"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// Input debounces one contact.
type Input struct {
	clk      clock.Clock
	settle   time.Duration
	onChange func(active bool, at time.Time)

	mu     sync.Mutex
	inited bool
	stable bool // the accepted level
	raw    bool // the level last seen
	gen    uint64
	timer  clock.Timer
}

// New returns a debounced input that calls onChange for every accepted
// level change. The first level given to Input is taken as it is, without
// a call (it is the state at start-up; read it with Stable).
func New(clk clock.Clock, settle time.Duration, onChange func(active bool, at time.Time)) *Input {
	return &Input{clk: clk, settle: settle, onChange: onChange}
}

// Input gives the contact's level now.
func (d *Input) Input(active bool) {
	d.mu.Lock()
	if !d.inited {
		d.inited, d.stable, d.raw = true, active, active
		d.mu.Unlock()
		return
	}
	if active == d.raw {
		d.mu.Unlock()
		return
	}
	d.raw = active
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.settle <= 0 {
		changed := d.raw != d.stable
		d.stable = d.raw
		d.mu.Unlock()
		if changed {
			d.onChange(active, d.clk.Now())
		}
		return
	}
	gen := d.gen
	d.timer = d.clk.AfterFunc(d.settle, func() { d.settled(gen) })
	d.mu.Unlock()
}

func (d *Input) settled(gen uint64) {
	d.mu.Lock()
	if gen != d.gen || d.raw == d.stable {
		d.mu.Unlock()
		return
	}
	d.stable = d.raw
	d.timer = nil
	v := d.stable
	d.mu.Unlock()
	d.onChange(v, d.clk.Now())
}

// Stable reports the accepted level.
func (d *Input) Stable() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stable
}

// Stop cancels a pending settle; no change is reported after it.
func (d *Input) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
