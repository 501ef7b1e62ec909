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
}

// openPanel opens a GPIO board's lines (failing with a clear error where
// there is no GPIO chip or a line is missing) and gives every output role
// a line: GPIO where the board has one, memory otherwise.
func openPanel(brd board.Board, clk clock.Clock, log *slog.Logger) (*panel, error) {
	p := &panel{brd: brd, outputs: map[string]output.Line{}, clk: clk, log: log}
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
	return p, nil
}

// start posts hardware events into d and drives the indicators from d's
// state until stop.
func (p *panel) start(d *daemon.Daemon) {
	p.post.d.Store(d)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if p.hw != nil {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.hw.Run(ctx) }()
	}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.indicators(ctx, d) }()
}

func (p *panel) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// indicators: the line LED blinks while ringing and is on in a call or
// with the handset up; the amplifier is enabled whenever the phone is not
// idle.
func (p *panel) indicators(ctx context.Context, d *daemon.Daemon) {
	var led *output.Indicator
	if l := p.outputs["led_line"]; l != nil {
		led = output.NewIndicator(l, p.clk)
	}
	amp := p.outputs["amp"]
	for {
		st := d.Status()
		pat := output.On
		switch st.State {
		case phone.Idle.String():
			pat = output.Off
		case phone.Ringing.String():
			pat = output.Blink
		}
		if led != nil {
			led.Set(pat)
		}
		if amp != nil {
			if err := amp.Set(pat != output.Off); err != nil {
				p.log.Warn("amp output failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			if led != nil {
				led.Set(output.Off)
			}
			return
		case <-d.Changed():
		}
	}
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
