package keypad

import (
	"reflect"
	"sync"
	"testing"
	"time"

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

func (r *recorder) take() []phone.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.evs
	r.evs = nil
	return evs
}

var keymap4x3 = [][]string{{"1", "2", "3"}, {"4", "5", "6"}, {"7", "8", "9"}, {"*", "0", "#"}}

// rig is a 4×3 matrix on fake gpiotest pins (rows 0-3 driven low, cols
// 4-6 pulled up and read low) plus a speaker key on line 7.
func rig(t *testing.T) (*gpiofake.Matrix, *gpiofake.Chip, *clock.Fake, *recorder, *Scanner) {
	t.Helper()
	chip := gpiofake.NewChip("gpiochip0", 8)
	m := gpiofake.NewMatrix(chip, []int{0, 1, 2, 3}, []int{4, 5, 6}, true, true)
	var rows []Row
	var cols []Col
	for i := 0; i < 4; i++ {
		o, err := gpio.OpenOut(chip, gpio.Spec{Chip: "gpiochip0", Offset: i, ActiveLow: true})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, o)
	}
	for i := 4; i < 8; i++ {
		in, err := gpio.OpenPolled(chip, gpio.Spec{Chip: "gpiochip0", Offset: i, ActiveLow: true, Pull: gpio.PullUp})
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, in)
	}
	clk := clock.NewFake(time.Unix(0, 0))
	rec := &recorder{}
	s, err := NewScanner(ScanConfig{}, clk, rows, cols[:3], keymap4x3, []Direct{{Key: "speaker", Line: cols[3]}}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return m, chip, clk, rec, s
}

func check(t *testing.T, rec *recorder, want ...phone.Event) {
	t.Helper()
	if got := rec.take(); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestSinglePressDebounced(t *testing.T) {
	m, _, clk, rec, _ := rig(t)
	m.Press(1, 1) // "5"
	clk.Advance(20 * time.Millisecond)
	check(t, rec) // seen at 20 ms, not yet settled
	// A bounce: released for one scan, the settle time starts again.
	m.Release(1, 1)
	clk.Advance(10 * time.Millisecond)
	m.Press(1, 1)
	clk.Advance(10 * time.Millisecond)
	check(t, rec)
	clk.Advance(20 * time.Millisecond)
	check(t, rec, phone.Key{Key: '5'})
	m.Release(1, 1)
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.KeyRelease{Key: '5'})
}

func TestMultiplePressesAndFunctionKey(t *testing.T) {
	m, chip, clk, rec, _ := rig(t)
	m.Press(0, 0)          // "1"
	m.Press(3, 2)          // "#": different row and column, no ghost
	chip.Pin(7).Out(false) // speaker key down (active low)
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.Key{Key: '1'}, phone.Key{Key: '#'}, phone.FunctionKey{Name: phone.FnSpeaker})
	m.Release(0, 0)
	m.Release(3, 2)
	chip.Pin(7).Out(true)
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.KeyRelease{Key: '1'}, phone.KeyRelease{Key: '#'})
}

func TestGhostKeyRejected(t *testing.T) {
	m, _, clk, rec, _ := rig(t)
	m.Press(0, 0) // "1"
	m.Press(0, 1) // "2": same row, two columns: still no rectangle
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.Key{Key: '1'}, phone.Key{Key: '2'})
	m.Press(1, 0) // "4": the rectangle 1-2-4 makes "5" read as held too
	clk.Advance(500 * time.Millisecond)
	check(t, rec)   // neither "4" nor the ghost "5"
	m.Release(0, 1) // the rectangle breaks: "4" is real, "2" is up
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.KeyRelease{Key: '2'}, phone.Key{Key: '4'})
}

func TestLongPress(t *testing.T) {
	m, _, clk, rec, s := rig(t)
	m.Press(2, 1) // "8"
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.Key{Key: '8'})
	clk.Advance(DefaultLongPress - 20*time.Millisecond)
	check(t, rec)
	clk.Advance(20 * time.Millisecond)
	check(t, rec, phone.LongPress{Key: "8"})
	clk.Advance(5 * time.Second) // one long press per press
	check(t, rec)
	m.Release(2, 1)
	clk.Advance(30 * time.Millisecond)
	check(t, rec, phone.KeyRelease{Key: '8'})
	if s.Scans() < 600 {
		t.Fatalf("scans = %d in 6.09 s at 100 Hz", s.Scans())
	}
}

func TestShapeMismatch(t *testing.T) {
	_, err := NewScanner(ScanConfig{}, clock.NewFake(time.Unix(0, 0)), make([]Row, 4), make([]Col, 3), keymap4x3[:3], nil, &recorder{}, nil)
	if err == nil {
		t.Fatal("3 rows of keys for 4 row lines accepted")
	}
}
