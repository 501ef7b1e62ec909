package hook

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/gpio/gpiofake"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

type recorder struct {
	mu  sync.Mutex
	evs []phone.Event
}

func (r *recorder) Post(ev phone.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

func (r *recorder) got() []phone.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]phone.Event(nil), r.evs...)
}

// rig is a hook switch on a fake gpiotest pin (active low, normally open:
// low = off-hook), watched by a gpio.Watcher, on a fake clock.
type rig struct {
	t    *testing.T
	clk  *clock.Fake
	pin  chan<- pgpio.Level
	w    *gpio.Watcher
	rec  *recorder
	seen <-chan struct{} // one per level the watcher handed the switch
	stop func()
}

// notifySink tells the test each time the watcher has handed the switch a
// level, so the test waits for exactly that instead of polling.
type notifySink struct {
	gpio.Sink
	seen chan struct{}
}

func (n *notifySink) Input(active bool) {
	n.Sink.Input(active)
	select {
	case n.seen <- struct{}{}:
	default: // only the rig's stop wakes the watcher past the buffer
	}
}

// handled waits until the watcher has handed the switch one more level.
func (r *rig) handled() {
	r.t.Helper()
	select {
	case <-r.seen:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the watcher never handed the switch the level")
	}
}

func newRig(t *testing.T, cfg Config) *rig {
	chip := gpiofake.NewChip("gpiochip0", 8)
	in, err := gpio.OpenIn(chip, gpio.Spec{Chip: "gpiochip0", Offset: 4, ActiveLow: true, Pull: gpio.PullUp})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(0, 0))
	rec := &recorder{}
	sw := New(cfg, clk, rec, nil)
	seen := &notifySink{Sink: sw, seen: make(chan struct{}, 256)}
	w := &gpio.Watcher{In: in, Sink: seen, Poll: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	r := &rig{t: t, clk: clk, pin: chip.Pin(4).EdgesChan, w: w, rec: rec, seen: seen.seen}
	r.stop = func() {
		cancel()
		select {
		case chip.Pin(4).EdgesChan <- pgpio.High: // wake the watcher
		case <-done:
		}
		<-done
	}
	t.Cleanup(r.stop)
	r.handled() // the level the watcher reads at start
	return r
}

// edge feeds one level and waits until the watcher has handled it.
func (r *rig) edge(l pgpio.Level) {
	r.pin <- l
	r.handled()
}

// bounce is a contact bouncing: levels 1 ms apart, ending at l.
func (r *rig) bounce(l pgpio.Level, n int) {
	for i := 0; i < n; i++ {
		r.edge(!l)
		r.clk.Advance(time.Millisecond)
		r.edge(l)
		r.clk.Advance(time.Millisecond)
	}
}

func (r *rig) want(evs ...phone.Event) {
	r.t.Helper()
	if got := r.rec.got(); !reflect.DeepEqual(got, evs) && !(len(got) == 0 && len(evs) == 0) {
		r.t.Fatalf("events %v, want %v", got, evs)
	}
}

var cfg = Config{Contact: NormallyOpen, Debounce: 20 * time.Millisecond, FlashMin: 100 * time.Millisecond, FlashMax: 700 * time.Millisecond}

func TestDebounceBouncingEdges(t *testing.T) {
	r := newRig(t, cfg)
	r.bounce(pgpio.Low, 5) // lift: 10 ms of bounce, ending low (off-hook)
	r.want()
	r.clk.Advance(18 * time.Millisecond) // 19 ms after the last bounce
	r.want()
	r.clk.Advance(time.Millisecond)
	r.want(phone.Hook{OffHook: true})
	// A glitch shorter than the settle time is nothing.
	r.edge(pgpio.High)
	r.clk.Advance(5 * time.Millisecond)
	r.edge(pgpio.Low)
	r.clk.Advance(time.Second)
	r.want(phone.Hook{OffHook: true})
}

func TestHookFlashVersusHangUp(t *testing.T) {
	r := newRig(t, cfg)
	r.edge(pgpio.Low)
	r.clk.Advance(50 * time.Millisecond)
	// Down 300 ms: a flash, not a hang-up.
	r.bounce(pgpio.High, 3)
	r.clk.Advance(300 * time.Millisecond)
	r.bounce(pgpio.Low, 3)
	r.clk.Advance(50 * time.Millisecond)
	r.want(phone.Hook{OffHook: true}, phone.HookFlash{})
	// Down 50 ms: too short for a flash, nothing at all.
	r.edge(pgpio.High)
	r.clk.Advance(50 * time.Millisecond)
	r.edge(pgpio.Low)
	r.clk.Advance(time.Second)
	r.want(phone.Hook{OffHook: true}, phone.HookFlash{})
	// Down for good: on-hook flash_max after the contact settled.
	r.edge(pgpio.High)
	r.clk.Advance(20*time.Millisecond + 699*time.Millisecond)
	r.want(phone.Hook{OffHook: true}, phone.HookFlash{})
	r.clk.Advance(time.Millisecond)
	r.want(phone.Hook{OffHook: true}, phone.HookFlash{}, phone.Hook{OffHook: false})
}

func TestNormallyClosedNoFlash(t *testing.T) {
	r := newRig(t, Config{Contact: NormallyClosed, FlashMax: -1})
	// Active (low) = on-hook here: the pin starts high (pull-up): off-hook,
	// posted when the watcher reads the line at start (newRig waited).
	r.want(phone.Hook{OffHook: true})
	r.edge(pgpio.Low)
	r.clk.Advance(DefaultDebounce)
	r.want(phone.Hook{OffHook: true}, phone.Hook{OffHook: false})
}
