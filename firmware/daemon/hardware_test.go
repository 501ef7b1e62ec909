package daemon

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/gpio/gpiofake"
	"github.com/deskphone/phoned/drivers/hook"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/keypad"
)

// ignoredLog records the events the loop logs as ignored ("event ignored"
// at debug level): the observation point for key presses and releases
// that do nothing yet while talking.
type ignoredLog struct {
	mu     sync.Mutex
	events []string
}

func (h *ignoredLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *ignoredLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *ignoredLog) WithGroup(string) slog.Handler            { return h }
func (h *ignoredLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "event ignored" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "event" {
			h.mu.Lock()
			h.events = append(h.events, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *ignoredLog) releases() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.events {
		if len(e) > 8 && e[:8] == "release(" {
			n++
		}
	}
	return n
}

// A whole call driven by hardware: a hook switch and a 4×3 matrix keypad
// on fake gpiotest pins, through the drivers (debounce, hook flash window,
// matrix scanner), into the daemon, against a second phone.
func TestHardwareDrivenCall(t *testing.T) {
	seen := &ignoredLog{}
	a := newPhoneLog(t, "1001", clock.Real{}, phone.DefaultConfig(), slog.New(seen))
	b := newPhone(t, "1002", clock.Real{}, phone.DefaultConfig())
	a.knows("1002", b)

	// A's front panel: hook on line 0 (to ground, pulled up, closed when
	// lifted), rows on 1-4 (driven low), columns on 5-7 (pulled up).
	chip := gpiofake.NewChip("gpiochip0", 8)
	mx := gpiofake.NewMatrix(chip, []int{1, 2, 3, 4}, []int{5, 6, 7}, true, true)
	hookIn, err := gpio.OpenIn(chip, gpio.Spec{Chip: "gpiochip0", Offset: 0, ActiveLow: true, Pull: gpio.PullUp})
	if err != nil {
		t.Fatal(err)
	}
	var rows []keypad.Row
	var cols []keypad.Col
	for off := 1; off <= 7; off++ {
		s := gpio.Spec{Chip: "gpiochip0", Offset: off, ActiveLow: true}
		if off <= 4 {
			o, err := gpio.OpenOut(chip, s)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, o)
			continue
		}
		s.Pull = gpio.PullUp
		in, err := gpio.OpenPolled(chip, s)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, in)
	}
	keymap := [][]string{{"1", "2", "3"}, {"4", "5", "6"}, {"7", "8", "9"}, {"*", "0", "#"}}
	pos := map[byte][2]int{}
	for r, row := range keymap {
		for c, k := range row {
			pos[k[0]] = [2]int{r, c}
		}
	}
	scanner, err := keypad.NewScanner(keypad.ScanConfig{}, clock.Real{}, rows, cols, keymap, nil, a.d, nil)
	if err != nil {
		t.Fatal(err)
	}
	sw := hook.New(hook.Config{Contact: hook.NormallyOpen}, clock.Real{}, a.d, nil)
	watcher := &gpio.Watcher{In: hookIn, Sink: sw, Poll: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); watcher.Run(ctx) }()
	go func() { defer wg.Done(); scanner.Run(ctx) }()
	defer func() { cancel(); wg.Wait(); sw.Stop() }()
	edge := func(l pgpio.Level) {
		select {
		case chip.Pin(0).EdgesChan <- l:
		case <-time.After(10 * time.Second):
			t.Fatal("hook watcher not waiting for an edge")
		}
	}
	press := func(k byte, until func() bool) {
		t.Helper()
		p := pos[k]
		mx.Press(p[0], p[1])
		a.waitFor("key "+string(k)+" pressed", func(Status) bool { return until() })
		mx.Release(p[0], p[1])
	}

	// Lift the handset: the contact bounces, then settles low.
	edge(pgpio.Low)
	edge(pgpio.High)
	edge(pgpio.Low)
	a.waitState("dialtone")
	// Dial 1002# on the matrix.
	for i, k := range []byte("1002") {
		press(k, func() bool { return a.d.Status().Digits == "1002"[:i+1] })
		a.waitFor("key released", func(Status) bool { return seen.releases() == i+1 })
	}
	press('#', func() bool { return a.d.Status().State != "dialing" })
	b.waitState("ringing")
	b.post(phone.Hook{OffHook: true})
	a.waitState("talking")
	b.waitState("talking")

	// A digit held while talking is an RFC 4733 event for as long as the
	// key is down: A sends event packets while it is held, and B hears
	// exactly one 5 once it is released.
	press('5', func() bool {
		st, _ := a.stats()
		return st.DTMFPacketsSent > 0
	})
	b.waitFor("B hears the 5", func(s Status) bool { return s.Call != nil && s.Call.DTMF == "5" })

	// Hang up: on-hook after the flash window, then B hears busy.
	edge(pgpio.High)
	a.waitState("idle")
	b.waitState("busy")
	if last := a.d.Status().LastCall; last == nil || last.Remote != "1002" {
		t.Fatalf("A's last call = %+v", last)
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if slices.Contains(seen.events, "hook(on)") || slices.Contains(seen.events, "hookflash") {
		t.Fatalf("the hook switch gave an event the phone ignored: %v", seen.events)
	}
}
