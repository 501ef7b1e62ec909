package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/deskphone/phoned/board"
	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
)

// loadBoard is board.file when set, else the built-in board.name.
func loadBoard(cfg *config.Config) (board.Board, error) {
	if cfg.Board.File != "" {
		return board.Load(cfg.Board.File)
	}
	return board.Lookup(cfg.Board.Name)
}

// panel is the board's front panel: on a GPIO board the hook switch,
// keypad and outputs opened through periph.io; on sim, memory outputs.
type panel struct {
	brd     board.Board
	hw      *board.Hardware
	post    lazyPoster
	outputs map[string]output.Line
	clk     clock.Clock
	log     *slog.Logger
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	lamps   map[string]*output.Indicator
}

// openPanel opens a GPIO board's lines (failing with a clear error where
// there is no GPIO chip or a line is missing) and gives every output role
// a line: GPIO where the board has one, memory otherwise.
func openPanel(brd board.Board, clk clock.Clock, log *slog.Logger) (*panel, error) {
	p := &panel{brd: brd, outputs: map[string]output.Line{}, clk: clk, log: log, lamps: map[string]*output.Indicator{}}
	if brd.Keypad == board.KeypadGPIO {
		chips, err := gpio.OpenHost()
		if err != nil {
			return nil, fmt.Errorf("board %s (%s) needs GPIO: %w", brd.Name, brd.File, err)
		}
		p.hw, err = brd.Open(chips, clk, &p.post, log)
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", brd.Name, err)
		}
		for role, l := range p.hw.Outputs {
			p.outputs[role] = l
		}
	}
	for _, role := range brd.Outputs {
		if p.outputs[role] == nil {
			p.outputs[role] = &output.Memory{Name: role, Log: log}
		}
	}
	if p.outputs["ringer"] == nil {
		p.outputs["ringer"] = &output.Memory{Name: "ringer", Log: log}
	}
	if p.outputs[string(phone.LampMute)] == nil {
		// No board has a mute LED line yet: the log shows it.
		p.outputs[string(phone.LampMute)] = &output.Memory{Name: string(phone.LampMute), Log: log}
	}
	return p, nil
}

// start posts hardware events into d until stop. The lamps are driven by
// the daemon's SetLamp (the machine decides them).
func (p *panel) start(d *daemon.Daemon) {
	p.post.d.Store(d)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if p.hw != nil {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.hw.Run(ctx) }()
	}
}

func (p *panel) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range p.lamps {
		i.Set(output.Off)
	}
}

// SetLamp drives the board's output for lamp name (daemon.Lamps): an
// indicator pattern on an LED, on/off on the amplifier. A board without
// that output ignores it.
func (p *panel) SetLamp(name, state string) {
	l := p.outputs[name]
	if l == nil {
		return
	}
	if name == string(phone.LampAmp) {
		if err := l.Set(state != string(phone.LampOff)); err != nil {
			p.log.Warn("amp output failed", "err", err)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.lamps[name]
	if i == nil {
		i = output.NewIndicator(l, p.clk)
		p.lamps[name] = i
	}
	i.Set(output.Pattern(state))
}

// lazyPoster forwards to the daemon once it exists; hardware opened
// before it posts nothing until then.
type lazyPoster struct{ d atomic.Pointer[daemon.Daemon] }

var errNotRunning = errors.New("phone not running yet")

func (l *lazyPoster) Post(ev phone.Event) error {
	if d := l.d.Load(); d != nil {
		return d.Post(ev)
	}
	return errNotRunning
}
