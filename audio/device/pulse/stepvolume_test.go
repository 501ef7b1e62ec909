package pulse

import (
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
)

// TestStepVolume: the volume keys turn the path in use in steps of 10
// within 0 and 100, and leave a boost set above 100 where it is until
// turned down.
func TestStepVolume(t *testing.T) {
	d := bare(clock.NewFake(time.Unix(1000, 0)))
	d.cfg.Paths = map[string]Path{"handset": {}, "speaker": {}}
	steps := []struct {
		up   bool
		want int
	}{{true, 100}, {false, 90}, {false, 80}, {true, 90}, {true, 100}, {true, 100}}
	for i, s := range steps {
		d.StepVolume(s.up)
		if got := d.Volume("handset"); got != s.want {
			t.Fatalf("step %d (up %v): %d, want %d", i, s.up, got, s.want)
		}
	}
	for range 12 {
		d.StepVolume(false)
	}
	if got := d.Volume("handset"); got != 0 {
		t.Fatalf("turned all the way down: %d", got)
	}
	if d.Volume("speaker") != DefaultVolume {
		t.Fatal("the volume keys turned a path not in use")
	}
	if err := d.SetPath("speaker"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetVolume("speaker", 130); err != nil {
		t.Fatal(err)
	}
	d.StepVolume(true)
	if got := d.Volume("speaker"); got != 130 {
		t.Fatalf("up from a boost: %d, want 130 kept", got)
	}
	d.StepVolume(false)
	if got := d.Volume("speaker"); got != 120 {
		t.Fatalf("down from a boost: %d, want 120", got)
	}
}
