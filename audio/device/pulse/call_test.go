package pulse

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/audio/wav"
	"github.com/deskphone/phoned/firmware/clock"
)

// toneFill returns a fill function playing freq continuously.
func toneFill(freq string) func([]int16) {
	g := tone.NewGenerator(tone.MustParse(freq + "/0"))
	var mu sync.Mutex
	return func(b []int16) { mu.Lock(); g.Fill(b); mu.Unlock() }
}

// hears reports whether the last window of s holds freq.
func hears(s []int16, freq float64, window int) bool {
	if len(s) < window {
		return false
	}
	return detect.Fraction(s[len(s)-window:], freq, audio.SampleRate) > 0.5
}

// waitFor polls cond (a real server and real sockets: nothing to inject)
// and returns how long it took; it fails the test after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestCallThroughPulse runs a call between phone A on the Pulse device and
// phone B on WAV files, over RTP on loopback: A's microphone is a 700 Hz
// tone played into the "mic" sink (A captures mic.monitor), B's is an
// 1100 Hz file. A's speaker is the "handset" sink, recorded from its
// monitor. Mid-call the server is killed and restarted: the call goes on,
// the device reports the outage, and audio resumes both ways.
func TestCallThroughPulse(t *testing.T) {
	srv := startServer(t)
	dir := t.TempDir()
	micB := make([]int16, 8000)
	tone.NewGenerator(tone.MustParse("1100/0")).Fill(micB)
	writeWAV(t, filepath.Join(dir, "b-mic.wav"), micB)
	bOut := filepath.Join(dir, "b-spk.wav")

	devA := openDevice(t, srv, Config{Paths: map[string]Path{"handset": {Sink: "handset", Source: "mic.monitor"}}})
	devB, err := device.OpenWAV(filepath.Join(dir, "b-mic.wav"), bOut, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Play(t, "mic", toneFill("700"))
	spkA := srv.Record(t, "handset.monitor")

	engA := engine.New(devA, clock.Real{}, testLog)
	engB := engine.New(devB, clock.Real{}, testLog)
	lo := netip.MustParseAddr("127.0.0.1")
	connA, err := rtpstream.Listen(lo, 20000, 30000)
	if err != nil {
		t.Fatal(err)
	}
	connB, err := rtpstream.Listen(lo, 30002, 40000)
	if err != nil {
		t.Fatal(err)
	}
	aAddr := netip.MustParseAddrPort(connA.LocalAddr().String())
	bAddr := netip.MustParseAddrPort(connB.LocalAddr().String())
	if err := engA.StartStream(rtpstream.Params{Conn: connA, Remote: bAddr, PayloadType: 0}); err != nil {
		t.Fatal(err)
	}
	if err := engB.StartStream(rtpstream.Params{Conn: connB, Remote: aAddr, PayloadType: 0}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); engA.Run(ctx) }()
	go func() { defer wg.Done(); engB.Run(ctx) }()
	defer func() {
		cancel()
		wg.Wait()
		engA.StopStream()
		engB.StopStream()
		devB.Close()
	}()

	// 100 ms of the other side's tone, at the end of what each side heard.
	bHears := func() bool {
		s, _, err := wav.ReadFile(bOut)
		return err == nil && hears(s, 700, 800)
	}
	aHears := func() bool { return hears(spkA.Samples(), 1100, 800) }
	waitFor(t, "B hears A's 700 Hz", 5*time.Second, bHears)
	waitFor(t, "A's speaker plays B's 1100 Hz", 5*time.Second, aHears)
	st := devA.Status()
	if !st.Connected || st.LatencyMS <= 0 {
		t.Fatalf("status in the call: %+v", st)
	}
	t.Logf("in call: %+v", st)

	// The server crashes.
	srv.Kill()
	lost := waitFor(t, "device reports the lost server", 3*time.Second, func() bool { return !devA.Connected() })
	// A's media loop keeps its pace without the server: B goes on
	// receiving (counted, not timed).
	before, _ := engB.Stats()
	waitFor(t, "B receives 15 more packets while A's server is away", 5*time.Second, func() bool {
		after, _ := engB.Stats()
		return after.PacketsReceived >= before.PacketsReceived+15
	})
	if st := devA.Status(); st.Connected || st.Error == "" {
		t.Fatalf("status during the outage: %+v", st)
	}

	// It comes back.
	srv.Restart()
	back := time.Now()
	srv.Play(t, "mic", toneFill("700"))
	spkA = srv.Record(t, "handset.monitor")
	reconnected := waitFor(t, "device reconnects", 5*time.Second, devA.Connected)
	waitFor(t, "B hears A again", 5*time.Second, bHears)
	waitFor(t, "A plays B again", 5*time.Second, aHears)
	resumed := time.Since(back)
	st = devA.Status()
	if st.Reconnects != 1 {
		t.Fatalf("after the restart: %+v", st)
	}
	t.Logf("server killed: reported after %v; restarted: reconnected after %v, audio both ways after %v; %+v",
		lost.Round(time.Millisecond), reconnected.Round(time.Millisecond), resumed.Round(time.Millisecond), st)
}

func writeWAV(t *testing.T, path string, s []int16) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wav.NewWriter(f, wav.Telephone)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
