package engine

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

// activeDevice is a fake device that implements device.Activator: it
// records SetActive calls and flags a Read or Write made while inactive.
type activeDevice struct {
	*fakeDevice
	mu       sync.Mutex
	calls    []bool
	active   bool
	inactive atomic.Bool // a Read or Write came while not active
}

func (d *activeDevice) SetActive(on bool) {
	d.mu.Lock()
	d.calls = append(d.calls, on)
	d.active = on
	d.mu.Unlock()
	progress.bump()
}

func (d *activeDevice) check() {
	d.mu.Lock()
	if !d.active {
		d.inactive.Store(true)
	}
	d.mu.Unlock()
}

func (d *activeDevice) Read(f []int16) error  { d.check(); return d.fakeDevice.Read(f) }
func (d *activeDevice) Write(f []int16) error { d.check(); return d.fakeDevice.Write(f) }

func (d *activeDevice) history() []bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// TestActivatorToldOfUse: a device that can stop its streams is told
// active before the loop's first Read after an idle spell, and idle when
// the loop goes idle and when Run returns; it is never read or written
// while idle, and an idle engine never wakes it.
func TestActivatorToldOfUse(t *testing.T) {
	dev := &activeDevice{fakeDevice: newFakeDevice(false)}
	e := New(dev, clock.NewFake(time.Unix(0, 0)), slog.New(slog.DiscardHandler))
	var idle atomic.Int64
	e.idleHook = func() { idle.Add(1); progress.bump() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	waitUntil(t, "first idle", func() bool { return idle.Load() > 0 })
	if h := dev.history(); len(h) != 0 {
		t.Fatalf("an engine that never played told the device %v", h)
	}
	e.PlayTone(tone.US[tone.Dial])
	waitUntil(t, "frames", func() bool { return dev.writes.Load() > 3 })
	n := idle.Load()
	e.StopTone()
	waitUntil(t, "idle again", func() bool { return idle.Load() > n })
	if h := dev.history(); !slices.Equal(h, []bool{true, false}) {
		t.Fatalf("after one tone: %v, want [true false]", h)
	}
	// Wake-ups with nothing to do leave the device idle.
	for i := 0; i < 3; i++ {
		n := idle.Load()
		e.StopTone()
		waitUntil(t, "idle", func() bool { return idle.Load() > n })
	}
	w := dev.writes.Load()
	e.PlayTone(tone.US[tone.Busy])
	waitUntil(t, "frames", func() bool { return dev.writes.Load() > w+3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h := dev.history(); !slices.Equal(h, []bool{true, false, true, false}) {
		t.Fatalf("after a second tone and the end of Run: %v, want [true false true false]", h)
	}
	if dev.inactive.Load() {
		t.Fatal("the device was read or written while idle")
	}
}
