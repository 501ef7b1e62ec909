package keypad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

// ErrShape is returned for a key map that does not match the matrix.
var ErrShape = errors.New("key map does not match the keypad matrix")

// Defaults of a zero ScanConfig.
const (
	DefaultScanInterval = 10 * time.Millisecond // 100 scans a second
	DefaultDebounce     = 20 * time.Millisecond
	DefaultLongPress    = time.Second
)

// Row is a driven row line (gpio.Out is one).
type Row interface{ Set(active bool) error }

// Col is a read line: a matrix column or a one-GPIO key (gpio.In is one).
type Col interface{ Active() bool }

// Poster takes phone events; daemon.Daemon is one.
type Poster interface{ Post(ev phone.Event) error }

// ScanConfig times the scanner; zero values take the defaults.
type ScanConfig struct {
	Interval  time.Duration
	Debounce  time.Duration // a key must read the same this long to change
	LongPress time.Duration // held this long: one LongPress; < 0 = never
}

// Direct is a key on a GPIO line of its own.
type Direct struct {
	Key  string
	Line Col
}

// Scanner scans a matrix keypad (rows driven one at a time, columns read)
// and one-GPIO keys, on an injected clock, and posts key events.
//
//   - Debounce: a key changes once it has read the same for Debounce
//     (counted on scan times, so at least one scan after the first).
//   - Ghost keys: without diodes, three held keys on the corners of a
//     rectangle make the fourth corner read as held. When a scan shows a
//     rectangle, the four keys keep the state they had, until the scan no
//     longer shows it; a real fourth press in that time is not seen.
//   - Events: a dial-pad key ("0"-"9", "*", "#") posts phone.Key on press
//     and phone.KeyRelease on release; a function key posts
//     phone.FunctionKey on press. Any key held for LongPress posts one
//     phone.LongPress. Events are posted in scan order from the clock's
//     timer goroutine.
type Scanner struct {
	cfg    ScanConfig
	clk    clock.Clock
	post   Poster
	log    *slog.Logger
	rows   []Row
	cols   []Col
	keymap [][]string
	direct []Direct

	mu      sync.Mutex
	keys    []keyState // matrix keys row-major, then direct keys
	raw     []bool
	timer   clock.Timer
	next    time.Time
	stopped bool
	scans   uint64
}

type keyState struct {
	name     string
	down     bool      // debounced
	since    time.Time // raw has differed from down since; zero when not
	pressed  time.Time // when down became true
	longSent bool
}

// NewScanner checks the key map against rows×cols (a key name of "" is no
// key at that position) and returns a scanner; Start runs it.
func NewScanner(cfg ScanConfig, clk clock.Clock, rows []Row, cols []Col, keymap [][]string, direct []Direct, p Poster, log *slog.Logger) (*Scanner, error) {
	if len(keymap) != len(rows) {
		return nil, fmt.Errorf("%w: %d rows of keys for %d row lines", ErrShape, len(keymap), len(rows))
	}
	for i, r := range keymap {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("%w: row %d has %d keys for %d column lines", ErrShape, i, len(r), len(cols))
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultScanInterval
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.LongPress == 0 {
		cfg.LongPress = DefaultLongPress
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scanner{cfg: cfg, clk: clk, post: p, log: log, rows: rows, cols: cols, keymap: keymap, direct: direct}
	for _, r := range keymap {
		for _, k := range r {
			s.keys = append(s.keys, keyState{name: k})
		}
	}
	for _, d := range direct {
		s.keys = append(s.keys, keyState{name: d.Key})
	}
	s.raw = make([]bool, len(s.keys))
	return s, nil
}

// Start drives every row inactive and schedules the first scan.
func (s *Scanner) Start() error {
	for i, r := range s.rows {
		if err := r.Set(false); err != nil {
			return fmt.Errorf("keypad row %d: %w", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = s.clk.Now().Add(s.cfg.Interval)
	s.timer = s.clk.AfterFunc(s.cfg.Interval, s.tick)
	return nil
}

// Run starts the scanner and stops it when ctx ends.
func (s *Scanner) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.Stop()
	return nil
}

// Stop ends scanning; no event is posted after it returns, except from a
// scan already running.
func (s *Scanner) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// Scans reports how many scans have run.
func (s *Scanner) Scans() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scans
}

func (s *Scanner) tick() {
	evs := s.Scan()
	s.mu.Lock()
	if !s.stopped {
		// Keep the rate: the next scan is due one interval after this one
		// was, not after it ran (a late scan does not push the rest).
		s.next = s.next.Add(s.cfg.Interval)
		d := s.next.Sub(s.clk.Now())
		if d <= 0 {
			s.next = s.clk.Now().Add(s.cfg.Interval)
			d = s.cfg.Interval
		}
		s.timer = s.clk.AfterFunc(d, s.tick)
	}
	s.mu.Unlock()
	for _, ev := range evs {
		if err := s.post.Post(ev); err != nil {
			s.log.Warn("key event lost", "event", ev, "err", err)
		}
	}
}

// Scan reads every key once and returns the events it gives; tick posts
// them. Exported for benchmarks and for tests that drive scans by hand.
func (s *Scanner) Scan() []phone.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.scans++
	now := s.clk.Now()
	nc := len(s.cols)
	for i, r := range s.rows {
		if err := r.Set(true); err != nil {
			s.log.Warn("keypad row failed", "row", i, "err", err)
			continue
		}
		for j, c := range s.cols {
			s.raw[i*nc+j] = c.Active()
		}
		if err := r.Set(false); err != nil {
			s.log.Warn("keypad row failed", "row", i, "err", err)
		}
	}
	for k, d := range s.direct {
		s.raw[len(s.rows)*nc+k] = d.Line.Active()
	}
	s.ghosts(nc)
	var evs []phone.Event
	for i := range s.keys {
		evs = s.debounce(&s.keys[i], s.raw[i], now, evs)
	}
	return evs
}

// ghosts keeps the previous state of the keys on every rectangle of held
// keys in raw: which three of the four are real cannot be told.
func (s *Scanner) ghosts(nc int) {
	nr := len(s.rows)
	for r1 := 0; r1 < nr; r1++ {
		for r2 := r1 + 1; r2 < nr; r2++ {
			var shared []int
			for c := 0; c < nc; c++ {
				if s.raw[r1*nc+c] && s.raw[r2*nc+c] {
					shared = append(shared, c)
				}
			}
			if len(shared) < 2 {
				continue
			}
			for _, c := range shared {
				s.raw[r1*nc+c] = s.keys[r1*nc+c].down
				s.raw[r2*nc+c] = s.keys[r2*nc+c].down
			}
		}
	}
}

func (s *Scanner) debounce(k *keyState, raw bool, now time.Time, evs []phone.Event) []phone.Event {
	if k.name == "" {
		return evs
	}
	if raw == k.down {
		k.since = time.Time{}
		if k.down && !k.longSent && s.cfg.LongPress > 0 && now.Sub(k.pressed) >= s.cfg.LongPress {
			k.longSent = true
			evs = append(evs, phone.LongPress{Key: k.name})
		}
		return evs
	}
	if k.since.IsZero() {
		k.since = now
	}
	if now.Sub(k.since) < s.cfg.Debounce {
		return evs
	}
	k.down, k.since = raw, time.Time{}
	if k.down {
		k.pressed, k.longSent = now, false
	}
	if ev := keyEvent(k.name, k.down); ev != nil {
		evs = append(evs, ev)
	}
	return evs
}

// keyEvent is the event of a key name going down or up.
func keyEvent(name string, down bool) phone.Event {
	if len(name) == 1 && phone.IsDialKey(name[0]) {
		if down {
			return phone.Key{Key: name[0]}
		}
		return phone.KeyRelease{Key: name[0]}
	}
	if down {
		return phone.FunctionKey{Name: phone.Function(name)}
	}
	return nil
}

// IsKey reports whether name is a key a board may map: a dial-pad key or a
// function key.
func IsKey(name string) bool {
	if len(name) == 1 && phone.IsDialKey(name[0]) {
		return true
	}
	for _, f := range phone.Functions {
		if string(f) == name {
			return true
		}
	}
	return false
}
