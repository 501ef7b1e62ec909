package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/hook"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/keypad"
)

// Hardware is a GPIO board's lines, opened: the hook switch and keypad
// post into the phone once Run starts them; Outputs drive the ringer,
// LEDs and enables.
type Hardware struct {
	Hook    *hook.Switch
	HookIn  *gpio.In
	Scanner *keypad.Scanner
	Outputs map[string]output.Line // every role of Board.Lines
}

// Poster takes phone events; daemon.Daemon is one.
type Poster = keypad.Poster

// Open opens every line of a GPIO board on chips and wires the hook switch
// and the keypad to p. Every line the chips lack is reported, each as an
// *Error naming the board file, line and field and wrapping
// gpio.ErrNoLine; two fields that name the same physical line (one by
// name, one by chip and offset) are an error too.
func (b Board) Open(chips gpio.Chips, clk clock.Clock, p Poster, log *slog.Logger) (*Hardware, error) {
	if b.Keypad != KeypadGPIO {
		return nil, fmt.Errorf("board %s: keypad is %q, not %q: nothing to open", b.Name, b.Keypad, KeypadGPIO)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []*Error
	seen := map[pgpio.PinIO]string{}
	resolve := func(field string, s gpio.Spec) bool {
		pin, err := chips.Line(s)
		if err != nil {
			errs = append(errs, &Error{File: b.File, Line: b.pos[field], Field: field, Msg: err.Error(), Err: err})
			return false
		}
		if prev, ok := seen[pin]; ok {
			errs = append(errs, &Error{File: b.File, Line: b.pos[field], Field: field,
				Msg: fmt.Sprintf("%s is the line of %s (line %d)", s, prev, b.pos[prev])})
			return false
		}
		seen[pin] = field
		return true
	}
	open := func(field string, s gpio.Spec, f func(gpio.Chips, gpio.Spec) error) {
		if !resolve(field, s) {
			return
		}
		if err := f(chips, s); err != nil {
			errs = append(errs, &Error{File: b.File, Line: b.pos[field], Field: field, Msg: err.Error(), Err: err})
		}
	}
	hw := &Hardware{Outputs: map[string]output.Line{}}
	if b.Hook != nil {
		open("hook.line", b.Hook.Line, func(c gpio.Chips, s gpio.Spec) (err error) {
			hw.HookIn, err = gpio.OpenIn(c, s)
			return err
		})
	} else {
		errs = append(errs, &Error{File: b.File, Line: 1, Field: "hook.line", Msg: "required for a GPIO board"})
	}
	var rows []keypad.Row
	var cols []keypad.Col
	var keymap [][]string
	if m := b.Matrix; m != nil {
		keymap = m.Map
		for i, s := range m.Rows {
			open(fmt.Sprintf("keypad.rows[%d]", i), s, func(c gpio.Chips, s gpio.Spec) error {
				o, err := gpio.OpenOut(c, s)
				rows = append(rows, o)
				return err
			})
		}
		for i, s := range m.Cols {
			open(fmt.Sprintf("keypad.cols[%d]", i), s, func(c gpio.Chips, s gpio.Spec) error {
				in, err := gpio.OpenPolled(c, s)
				cols = append(cols, in)
				return err
			})
		}
	}
	var direct []keypad.Direct
	for i, k := range b.Keys {
		open(fmt.Sprintf("keys[%d].line", i), k.Line, func(c gpio.Chips, s gpio.Spec) error {
			in, err := gpio.OpenPolled(c, s)
			direct = append(direct, keypad.Direct{Key: k.Key, Line: in})
			return err
		})
	}
	for _, role := range b.Outputs {
		s, ok := b.Lines[role]
		if !ok {
			continue
		}
		open("outputs."+role, s, func(c gpio.Chips, s gpio.Spec) error {
			o, err := gpio.OpenOut(c, s)
			hw.Outputs[role] = o
			return err
		})
	}
	if len(errs) > 0 {
		return nil, join(errs)
	}
	hc := hook.Config{Contact: b.Hook.Contact, Debounce: b.Hook.Debounce, FlashMin: b.Hook.FlashMin, FlashMax: b.Hook.FlashMax}
	hw.Hook = hook.New(hc, clk, p, log.With("part", "hook"))
	if len(rows) > 0 || len(direct) > 0 {
		scan := keypad.ScanConfig{}
		if b.Matrix != nil {
			scan = b.Matrix.Scan
		}
		s, err := keypad.NewScanner(scan, clk, rows, cols, keymap, direct, p, log.With("part", "keypad"))
		if err != nil {
			return nil, fmt.Errorf("%s: keypad: %w", b.File, errors.Join(ErrInvalid, err))
		}
		hw.Scanner = s
	}
	return hw, nil
}

// Run watches the hook switch and scans the keypad until ctx ends.
func (hw *Hardware) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var err error
	if hw.Scanner != nil {
		if err = hw.Scanner.Start(); err != nil {
			return err
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); hw.Hook.Run(ctx, hw.HookIn, 0) }()
	<-ctx.Done()
	if hw.Scanner != nil {
		hw.Scanner.Stop()
	}
	wg.Wait()
	return nil
}
