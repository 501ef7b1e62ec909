package pulse

import (
	"context"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/ringer"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/clock"
)

// waitRunning waits until the server has that many uncorked playback and
// record streams (all clients: the test's own recorders included).
func waitRunning(t *testing.T, srv *pulsetest.Server, inputs, outputs int) {
	t.Helper()
	start := time.Now()
	for {
		in, out, err := srv.Running()
		if err == nil && in == inputs && out == outputs {
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("server runs %d playback, %d record streams (%v); want %d, %d", in, out, err, inputs, outputs)
		}
		time.Sleep(10 * time.Millisecond) // polling a real server, not timing
	}
}

// TestIdleRunsNoStream: connected and idle, the phone runs no stream on
// the server (the watch stream is corked); the engine going active opens
// the voice streams and a tone is heard; going idle closes them after the
// linger; ringing opens only the ringer's stream; and streams opened a
// second time play again (nothing is paused and resumed).
func TestIdleRunsNoStream(t *testing.T) {
	srv := startServer(t)
	r := ringer.New(tone.US, 100, testLog)
	d := openDevice(t, srv, Config{Linger: 100 * time.Millisecond, Ringer: r, RingerSink: "ringer"})
	waitRunning(t, srv, 0, 0)
	if v, ring := d.Streams(); v != 0 || ring {
		t.Fatalf("idle device has streams: voice %d ringer %v", v, ring)
	}

	eng := engine.New(d, clock.Real{}, testLog)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for round := 0; round < 2; round++ {
		eng.PlayTone(tone.US[tone.Dial])
		waitStreams(t, d, 3, false)
		waitRunning(t, srv, 3, 3)
		rec := srv.Record(t, "handset.monitor")
		waitFor(t, "dial tone at the handset sink", 10*time.Second, func() bool {
			s := rec.Samples()
			return len(s) >= 800 && detect.Fraction(s[len(s)-800:], 350, audio.SampleRate)+detect.Fraction(s[len(s)-800:], 440, audio.SampleRate) > 0.8
		})
		rec.Stop()
		eng.StopTone()
		waitStreams(t, d, 0, false)
		waitRunning(t, srv, 0, 0)
	}

	d.SetRinger(true, "")
	waitStreams(t, d, 0, true)
	waitRunning(t, srv, 1, 0)
	d.SetRinger(false, "")
	waitStreams(t, d, 0, false)
	waitRunning(t, srv, 0, 0)
	if st := d.Status(); !st.Connected || st.Reconnects != 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestIdleNoticesServerLoss: with no stream running, the device still
// sees its server go (the watch stream), reports it, and reconnects when
// the server is back.
func TestIdleNoticesServerLoss(t *testing.T) {
	srv := startServer(t)
	d := openDevice(t, srv, Config{})
	srv.Kill()
	waitConnected(t, d, false)
	srv.Restart()
	waitConnected(t, d, true)
	if st := d.Status(); st.Reconnects != 1 {
		t.Fatalf("reconnects %d, want 1", st.Reconnects)
	}
	d.SetActive(true)
	waitStreams(t, d, 3, false)
}
