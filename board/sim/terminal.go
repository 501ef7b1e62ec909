// Package sim is the simulated board's front panel on a terminal: a keypad
// read one key at a time (see keypad.Terminal for the keys) and a one-line
// display redrawn in place. Logs are written above the display line so the
// two never mix.
package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/keypad"
)

// Phone is what the terminal needs of the phone.
type Phone interface {
	Status() daemon.Status
	Post(ev phone.Event) error
	// Subscribe signals every status change (a broadcast: the terminal
	// is one reader among others); cancel ends it.
	Subscribe() (changed <-chan struct{}, cancel func())
}

// Help is printed once when the terminal starts, and on '?'.
const Help = keypad.TerminalHelp

// Terminal is the sim board's keypad and display.
type Terminal struct {
	in    io.Reader
	out   io.Writer
	raw   bool // the terminal is in raw mode: redraw in place, CRLF line ends
	phone Phone

	mu     sync.Mutex
	line   string // what the display shows now
	notice string // a note of the keypad's own on the display ("unknown key")
}

// New returns a terminal front panel. With raw set, out is a terminal in raw
// mode: the display is redrawn in place. Without it (a pipe, a script) every
// display change is printed on a line of its own.
func New(in io.Reader, out io.Writer, raw bool, p Phone) *Terminal {
	return &Terminal{in: in, out: out, raw: raw, phone: p}
}

// Run reads keys until q, end of input, or ctx ends. It returns nil on a
// quit key or end of input.
func (t *Terminal) Run(ctx context.Context) error {
	changed, cancel := t.phone.Subscribe()
	defer cancel()
	t.println(Help)
	t.redraw(true)
	keys := make(chan byte)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReader(t.in)
		for {
			b, err := r.ReadByte()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case keys <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second) // the call timer on the display
	defer tick.Stop()
	defer t.finish()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("terminal keypad: %w", err)
		case b := <-keys:
			if t.press(b) {
				return nil
			}
		case <-changed:
			t.redraw(false)
		case <-tick.C:
			t.redraw(false)
		}
	}
}

// press handles one key; it reports whether to quit.
func (t *Terminal) press(b byte) bool {
	var err error
	t.mu.Lock()
	hadNotice := t.notice != ""
	t.notice = ""
	t.mu.Unlock()
	switch keypad.Lookup(b) {
	case keypad.Digit:
		// A terminal key is a press and a release (no key-up here).
		if err = t.phone.Post(phone.Key{Key: b}); err == nil {
			err = t.phone.Post(phone.KeyRelease{Key: b})
		}
	case keypad.Hook:
		err = t.phone.Post(phone.Hook{OffHook: !t.phone.Status().OffHook})
	case keypad.Flash:
		err = t.phone.Post(phone.HookFlash{})
	case keypad.Function:
		err = t.phone.Post(phone.FunctionKey{Name: keypad.FunctionOf(b)})
	case keypad.Help:
		t.println(Help)
	case keypad.Quit:
		return true
	case keypad.Redraw:
		t.redraw(true)
	case keypad.None:
		t.mu.Lock()
		t.notice = fmt.Sprintf("unknown key %q (? for help)", b)
		t.mu.Unlock()
		t.redraw(false)
		return false
	}
	if hadNotice {
		t.redraw(false)
	}
	if err != nil {
		t.println("keypad: " + err.Error())
	}
	return false
}

// redraw shows the phone's display line if it changed (or always, forced).
func (t *Terminal) redraw(force bool) {
	line := t.phone.Status().Display
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.notice != "" {
		line += "  [" + t.notice + "]"
	}
	if line == t.line && !force {
		return
	}
	t.line = line
	if t.raw {
		fmt.Fprint(t.out, "\r\033[K"+line)
	} else {
		fmt.Fprintln(t.out, line)
	}
}

func (t *Terminal) println(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writeAbove(s)
}

// writeAbove prints s above the display line. Call with mu held.
func (t *Terminal) writeAbove(s string) {
	s = strings.TrimRight(s, "\n")
	if !t.raw {
		fmt.Fprintln(t.out, s)
		return
	}
	fmt.Fprint(t.out, "\r\033[K"+strings.ReplaceAll(s, "\n", "\r\n")+"\r\n"+t.line)
}

func (t *Terminal) finish() {
	if t.raw {
		t.mu.Lock()
		fmt.Fprint(t.out, "\r\n")
		t.mu.Unlock()
	}
}

// LogWriter returns a writer for the logger that prints each log record
// above the display line.
func (t *Terminal) LogWriter() io.Writer { return logWriter{t} }

type logWriter struct{ t *Terminal }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	w.t.writeAbove(string(p))
	return len(p), nil
}
