package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/tone"
)

// TestEchoLegReturnsMicOneSecondLater: a burst said into the microphone
// comes back at the speaker exactly one second (50 frames of 20 ms) later,
// and not a frame earlier.
func TestEchoLegReturnsMicOneSecondLater(t *testing.T) {
	dev := newFakeDevice(true)
	dev.mic = make([]int16, maxFrame)
	h := start(t, dev)
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	if err := h.e.StartEchoLeg("svc-1", time.Second); err != nil {
		t.Fatal(err)
	}
	h.e.SetMix(Mix{Focus: "svc-1"})
	const burst = 5 // the frame the microphone hears the burst
	delay := int(time.Second / audio.FrameDuration)
	silence := make([]int16, maxFrame)
	speech := sine(micHz, maxFrame)
	heardAt := -1
	for i := 0; i <= burst+delay+2; i++ {
		dev.mic = silence // read by the loop only after the tick h.frame sends
		if i == burst {
			dev.mic = speech
		}
		f := h.frame(t)
		if detect.Energy(f) != 0 && heardAt < 0 {
			heardAt = i
			hearsExactly(t, "speaker", f, micHz)
		}
	}
	if heardAt != burst+delay {
		t.Fatalf("the burst said at frame %d came back at frame %d, want %d (1 s later)", burst, heardAt, burst+delay)
	}
	if st, ok := h.e.LegStats("svc-1"); !ok || st.PacketsReceived == 0 || st.PacketsSent == 0 {
		t.Fatalf("echo leg stats %+v %t: want packets both ways", st, ok)
	}
	if err := h.e.StartDTMF("svc-1", '5'); !errors.Is(err, ErrNoDTMF) {
		t.Fatalf("DTMF on the echo leg: %v, want ErrNoDTMF", err)
	}
	if _, ok := h.e.StopLeg("svc-1"); !ok {
		t.Fatal("the echo leg was not running")
	}
}

// TestEchoLegHeldHearsNothing: a held echo leg is sent silence, so nothing
// comes back when it is focused again.
func TestEchoLegHeldHearsNothing(t *testing.T) {
	dev := newFakeDevice(true)
	dev.mic = sine(micHz, maxFrame)
	h := start(t, dev)
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	if err := h.e.StartEchoLeg("svc-1", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h.e.SetMix(Mix{Focus: "other"}) // held
	for range 10 {
		if f := h.frame(t); detect.Energy(f) != 0 {
			t.Fatal("a held echo leg is heard")
		}
	}
	h.e.SetMix(Mix{Focus: "svc-1"})
	for i := range 5 { // the line still holds what it was sent while held: silence
		if f := h.frame(t); detect.Energy(f) != 0 {
			t.Fatalf("frame %d after resuming carries audio sent while held", i)
		}
	}
}

// TestToneLegPlaysItsTone: the tone leg's far end is the tone.
func TestToneLegPlaysItsTone(t *testing.T) {
	dev := newFakeDevice(true)
	dev.mic = sine(micHz, maxFrame)
	h := start(t, dev)
	waitUntil(t, "first idle", func() bool { return h.idle.Load() > 0 })
	if err := h.e.StartToneLeg("svc-2", tone.MustParse("1300/0")); err != nil {
		t.Fatal(err)
	}
	h.e.SetMix(Mix{Focus: "svc-2"})
	h.frame(t)
	hearsExactly(t, "speaker", h.frame(t), 1300)
}
