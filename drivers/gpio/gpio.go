package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
)

// ErrNoLine is returned for a line the GPIO chips do not have.
var ErrNoLine = errors.New("no such GPIO line")

// ErrNoGPIO is returned when the machine has no GPIO chip at all.
var ErrNoGPIO = errors.New("no GPIO chip (/dev/gpiochip*)")

// Pull is a line's bias.
type Pull string

// Pulls a board file may name.
const (
	PullNone Pull = ""     // leave as it is
	PullUp   Pull = "up"   // bias to high
	PullDown Pull = "down" // bias to low
	PullOff  Pull = "off"  // no bias (float)
)

func (p Pull) periph() pgpio.Pull {
	switch p {
	case PullUp:
		return pgpio.PullUp
	case PullDown:
		return pgpio.PullDown
	case PullOff:
		return pgpio.Float
	}
	return pgpio.PullNoChange
}

// Spec names one GPIO line and how to use it.
type Spec struct {
	Chip      string // gpiochip name or label, e.g. "gpiochip0"; with Offset
	Offset    int    // line offset on Chip
	Name      string // or: the line's name, e.g. "GPIO17"
	ActiveLow bool   // active (pressed, closed, on) is the low level
	Pull      Pull
}

// String names the line as a board file does.
func (s Spec) String() string {
	if s.Name != "" {
		return fmt.Sprintf("line %q", s.Name)
	}
	return fmt.Sprintf("%s line %d", s.Chip, s.Offset)
}

// Key identifies the physical line, for finding lines used twice. Lines
// named by name and by chip+offset are only found equal by Chips at open.
func (s Spec) Key() string {
	if s.Name != "" {
		return "name:" + s.Name
	}
	return fmt.Sprintf("%s:%d", s.Chip, s.Offset)
}

// Chips finds lines. It returns ErrNoLine (wrapped) for a line it does not
// have.
type Chips interface {
	Line(s Spec) (pgpio.PinIO, error)
}

// In is an input line with its polarity.
type In struct {
	pin       pgpio.PinIn
	activeLow bool
}

// OpenIn configures the line of s as an input with edge detection on both
// edges (and s's pull).
func OpenIn(c Chips, s Spec) (*In, error) {
	p, err := c.Line(s)
	if err != nil {
		return nil, err
	}
	if err := p.In(s.Pull.periph(), pgpio.BothEdges); err != nil {
		return nil, fmt.Errorf("%s: input: %w", s, err)
	}
	return &In{pin: p, activeLow: s.ActiveLow}, nil
}

// OpenPolled configures the line of s as an input without edge detection,
// for lines read by a scan (keypad columns, function keys).
func OpenPolled(c Chips, s Spec) (*In, error) {
	p, err := c.Line(s)
	if err != nil {
		return nil, err
	}
	if err := p.In(s.Pull.periph(), pgpio.NoEdge); err != nil {
		return nil, fmt.Errorf("%s: input: %w", s, err)
	}
	return &In{pin: p, activeLow: s.ActiveLow}, nil
}

// Active reports whether the line is at its active level now.
func (i *In) Active() bool { return (i.pin.Read() == pgpio.High) != i.activeLow }

// Out is an output line with its polarity. It implements output.Line.
type Out struct {
	pin       pgpio.PinOut
	activeLow bool
}

// OpenOut configures the line of s as an output, inactive.
func OpenOut(c Chips, s Spec) (*Out, error) {
	p, err := c.Line(s)
	if err != nil {
		return nil, err
	}
	o := &Out{pin: p, activeLow: s.ActiveLow}
	if err := o.Set(false); err != nil {
		return nil, fmt.Errorf("%s: output: %w", s, err)
	}
	return o, nil
}

// Set drives the line active (on) or inactive.
func (o *Out) Set(on bool) error {
	l := pgpio.Level(on != o.activeLow)
	return o.pin.Out(l)
}

// Sink takes the levels of an input; debounce.Input is one.
type Sink interface{ Input(active bool) }

// DefaultPoll is how long Watch waits for an edge before it re-reads the
// line anyway.
const DefaultPoll = 100 * time.Millisecond

// Watcher follows one input line.
type Watcher struct {
	In   *In
	Sink Sink
	Poll time.Duration // 0 = DefaultPoll

	edges atomic.Uint64
}

// Run waits for edges in a loop with finite timeouts (never WaitForEdge(-1)
// or 0) until ctx ends, giving Sink the line's level after every edge and
// after every timeout in which the level changed unseen. It gives the
// level once at the start.
func (w *Watcher) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	last := w.In.Active()
	w.Sink.Input(last)
	for ctx.Err() == nil {
		edge := w.In.pin.WaitForEdge(poll)
		now := w.In.Active()
		if edge || now != last {
			last = now
			w.Sink.Input(now)
		}
		if edge {
			w.edges.Add(1)
		}
	}
}

// Edges reports how many edges Run has handled: an observation point for
// tests that feed fake edges.
func (w *Watcher) Edges() uint64 { return w.edges.Load() }
