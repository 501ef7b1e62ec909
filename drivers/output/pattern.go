package output

import (
	"sync"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// Pattern is how an indicator (an LED) shows: steady off or on, or
// blinking.
type Pattern string

const (
	Off   Pattern = "off"
	On    Pattern = "on"
	Blink Pattern = "blink" // 500 ms on, 500 ms off: ringing, message waiting
	Fast  Pattern = "fast"  // 100 ms on, 100 ms off: attention (hold, error)
)

// periods are a pattern's on and off times.
func (p Pattern) periods() (on, off time.Duration) {
	switch p {
	case Blink:
		return 500 * time.Millisecond, 500 * time.Millisecond
	case Fast:
		return 100 * time.Millisecond, 100 * time.Millisecond
	}
	return 0, 0
}

// Indicator drives a Line with a Pattern on an injected clock. A failing
// line is retried on the next change and never stops the phone.
type Indicator struct {
	line Line
	clk  clock.Clock

	mu      sync.Mutex
	pattern Pattern
	gen     uint64
	timer   clock.Timer
	err     error
}

// NewIndicator returns an indicator showing Off.
func NewIndicator(l Line, clk clock.Clock) *Indicator {
	i := &Indicator{line: l, clk: clk, pattern: Off}
	i.err = l.Set(false)
	return i
}

// Set shows p; setting the pattern it already shows changes nothing (a
// blink keeps its phase).
func (i *Indicator) Set(p Pattern) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if p == i.pattern {
		return
	}
	i.pattern = p
	i.gen++
	if i.timer != nil {
		i.timer.Stop()
		i.timer = nil
	}
	on, _ := p.periods()
	if on == 0 {
		i.err = i.line.Set(p == On)
		return
	}
	i.step(i.gen, true)
}

// step sets the line to level and schedules the opposite. Call with mu held.
func (i *Indicator) step(gen uint64, level bool) {
	i.err = i.line.Set(level)
	on, off := i.pattern.periods()
	d := off
	if level {
		d = on
	}
	i.timer = i.clk.AfterFunc(d, func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		if gen == i.gen {
			i.step(gen, !level)
		}
	})
}

// Pattern reports what the indicator shows and the last line error.
func (i *Indicator) Pattern() (Pattern, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.pattern, i.err
}
