// Package hook is the hook switch: debounced contact levels in, phone
// events out (phone.Hook for on-hook and off-hook, phone.HookFlash for a
// short on-hook).
//
// Contract:
//   - Contact says which level is off-hook: a normally-open switch closes
//     (goes active) when the handset is lifted, a normally-closed one opens.
//   - Off-hook is reported as soon as the contact has settled.
//   - On-hook is held back for FlashMax: back off-hook within it, after at
//     least FlashMin down, is one HookFlash and no hang-up; back within less
//     than FlashMin is nothing (a knock on the cradle); still down after
//     FlashMax is Hook{OffHook: false}, FlashMax after the handset went
//     down. FlashMax 0 turns flash off: on-hook is reported at once.
//   - Events are posted in order, never two of the same Hook in a row.
package hook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/deskphone/phoned/drivers/debounce"
	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

// Contact is how the switch is wired.
type Contact string

const (
	NormallyOpen   Contact = "normally_open"   // active (closed) = off-hook
	NormallyClosed Contact = "normally_closed" // active (closed) = on-hook
)

// Config is the switch's timing and wiring; zero durations take defaults.
type Config struct {
	Contact  Contact
	Debounce time.Duration // settle time; default 20 ms
	FlashMin time.Duration // shortest flash; default 100 ms
	FlashMax time.Duration // longest flash; default 700 ms; < 0 = no flash
}

// Defaults fill a zero Config's durations.
const (
	DefaultDebounce = 20 * time.Millisecond
	DefaultFlashMin = 100 * time.Millisecond
	DefaultFlashMax = 700 * time.Millisecond
)

// Poster takes phone events; daemon.Daemon is one.
type Poster interface{ Post(ev phone.Event) error }

// Switch is the hook switch logic.
type Switch struct {
	cfg  Config
	clk  clock.Clock
	post Poster
	log  *slog.Logger

	mu      sync.Mutex
	offHook bool      // as last posted
	downAt  time.Time // when the handset went down (flash window open)
	pending clock.Timer
	gen     uint64
	deb     *debounce.Input
	inited  bool
}

// New returns a switch posting to p.
func New(cfg Config, clk clock.Clock, p Poster, log *slog.Logger) *Switch {
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.FlashMin == 0 {
		cfg.FlashMin = DefaultFlashMin
	}
	if cfg.FlashMax == 0 {
		cfg.FlashMax = DefaultFlashMax
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Switch{cfg: cfg, clk: clk, post: p, log: log}
	s.deb = debounce.New(clk, cfg.Debounce, s.contact)
	return s
}

// Input takes the contact's raw level (gpio.Sink); the first one is the
// state at start-up and is posted when it is off-hook.
func (s *Switch) Input(active bool) {
	s.mu.Lock()
	first := !s.inited
	s.inited = true
	if first {
		s.offHook = s.isOffHook(active)
	}
	off := s.offHook
	s.mu.Unlock()
	s.deb.Input(active)
	if first && off {
		s.send(phone.Hook{OffHook: true})
	}
}

func (s *Switch) isOffHook(active bool) bool { return active == (s.cfg.Contact != NormallyClosed) }

// contact is the debounced level changing.
func (s *Switch) contact(active bool, at time.Time) {
	off := s.isOffHook(active)
	s.mu.Lock()
	s.gen++
	if s.pending != nil {
		s.pending.Stop()
		s.pending = nil
	}
	var ev phone.Event
	switch {
	case off && !s.downAt.IsZero(): // back up inside the flash window
		down := at.Sub(s.downAt)
		s.downAt = time.Time{}
		if down >= s.cfg.FlashMin {
			ev = phone.HookFlash{}
		}
	case off && !s.offHook:
		s.offHook = true
		ev = phone.Hook{OffHook: true}
	case !off && s.offHook && s.cfg.FlashMax > 0:
		s.downAt = at
		gen := s.gen
		s.pending = s.clk.AfterFunc(s.cfg.FlashMax, func() { s.hungUp(gen) })
	case !off && s.offHook:
		s.offHook = false
		ev = phone.Hook{OffHook: false}
	}
	s.mu.Unlock()
	if ev != nil {
		s.send(ev)
	}
}

func (s *Switch) hungUp(gen uint64) {
	s.mu.Lock()
	if gen != s.gen || s.downAt.IsZero() {
		s.mu.Unlock()
		return
	}
	s.downAt = time.Time{}
	s.offHook = false
	s.pending = nil
	s.mu.Unlock()
	s.send(phone.Hook{OffHook: false})
}

func (s *Switch) send(ev phone.Event) {
	if err := s.post.Post(ev); err != nil {
		s.log.Warn("hook event lost", "event", ev, "err", err)
	}
}

// Stop cancels pending timers; nothing is posted after it.
func (s *Switch) Stop() {
	s.deb.Stop()
	s.mu.Lock()
	s.gen++
	if s.pending != nil {
		s.pending.Stop()
		s.pending = nil
	}
	s.mu.Unlock()
}

// Run watches the hook line in until ctx ends (see gpio.Watcher).
func (s *Switch) Run(ctx context.Context, in *gpio.In, poll time.Duration) {
	w := &gpio.Watcher{In: in, Sink: s, Poll: poll}
	w.Run(ctx)
	s.Stop()
}
