package interop

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// Issue 16 item 3: the echo test (*43) of the real binary on a private
// PulseAudio server, chosen by audio.device = "auto". No SIP peer: the
// phone answers itself. A 1 kHz burst played into the microphone source
// comes back on the handset sink about a second later; the delay is
// measured and logged (bounds only with wide margins).
func TestEchoTestThroughPulse(t *testing.T) {
	tier.NativeOnly(t, "measures the echo delay on real-time audio streams")
	srv := pulsetest.Start(t, "handset", "mic")
	pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[audio]
device = "auto"
state_dir = %q
[audio.pulse]
server = %q
cookie = %q
sink = "handset"
source = "mic.monitor"
[api]
listen = "127.0.0.1:%d"
`, sipPort, filepath.Join(t.TempDir(), "state"), srv.Addr(), srv.Cookie, apiPort)
	})
	p := &ourPhone{Phone: pp}
	st, err := p.Until(within, "the pulse device connected", func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Connected })
	must(t, err)
	if st.Audio.Device != "pulse" {
		t.Fatalf("audio.device auto chose %q with a server running", st.Audio.Device)
	}
	waitLog(t, p, "audio.device auto: playing through PulseAudio", within)

	var burst atomic.Bool
	gen := tone.NewGenerator(tone.MustParse("1000/0"))
	srv.Play(t, "mic", func(b []int16) {
		if burst.Load() {
			gen.Fill(b)
		} else {
			clear(b)
		}
	})
	must(t, p.Hook(true))
	must(t, p.Keys("*43"))
	st, err = p.Wait("talking", within)
	must(t, err)
	if st.Call == nil || st.Call.Remote != "Echo test" || st.Call.Codec != "local" || !strings.Contains(st.Display, "Echo test") {
		t.Fatalf("echo test status: call %+v display %q", st.Call, st.Display)
	}
	mic := srv.Record(t, "mic.monitor")
	spk := srv.Record(t, "handset.monitor")
	// The two recordings started at different moments: offset is how many
	// samples the microphone's is ahead (both run on the server's clock).
	waitSamples(t, spk, audio.SampleRate/2)
	offset := recOffset(mic, spk)
	burst.Store(true)
	time.Sleep(300 * time.Millisecond) // the burst's length, not a wait for an outcome
	burst.Store(false)
	micAt := onset(t, "microphone", mic, 0, 1000)
	spkAt := onset(t, "handset sink", spk, 0, 1000)
	delay := audio.Duration(spkAt + offset - micAt)
	t.Logf("echo test: the burst came back %v later (mic sample %d, sink sample %d, offset %d; ±20 ms)",
		delay.Round(time.Millisecond), micAt, spkAt, offset)
	if delay < 800*time.Millisecond || delay > 2*time.Second {
		t.Fatalf("echo delay %v, want about 1 s", delay)
	}
	must(t, p.Hook(false))
	wait(t, p, "idle")
	if st, _ := p.Status(); st.LastCall == nil || st.LastCall.Remote != "Echo test" {
		t.Fatalf("last call %+v", st.LastCall)
	}

	// *44, the tone test, starts with the tone plan's ringback (US
	// 440+480 Hz; the dial tone before it is 350+440).
	must(t, p.Hook(true))
	must(t, p.Keys("*44"))
	st, err = p.Wait("talking", within)
	must(t, err)
	if st.Call == nil || st.Call.Remote != "Tone test" {
		t.Fatalf("tone test status: call %+v", st.Call)
	}
	spk = srv.Record(t, "handset.monitor")
	onset(t, "tone test ringback", spk, 0, 480)
}

// With audio.device = "auto" and no server to reach, the phone says so
// in one line and runs on the null device.
func TestAutoDeviceFallsBackToNull(t *testing.T) {
	missing := "unix:" + filepath.Join(t.TempDir(), "no-server")
	pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[audio]
device = "auto"
[audio.pulse]
server = %q
[api]
listen = "127.0.0.1:%d"
`, sipPort, missing, apiPort)
	})
	p := &ourPhone{Phone: pp}
	waitLog(t, p, "no PulseAudio server reachable; sound falls back to the null device", within)
	if n := strings.Count(p.Log(), "sound falls back to the null device"); n != 1 {
		t.Fatalf("the fallback said %d times", n)
	}
	if !strings.Contains(p.Log(), "tried="+missing) {
		t.Fatalf("the fallback line does not name the server tried:\n%s", tail(p.Log(), 20))
	}
	// The line is logged before the API listens: wait for the status.
	st, err := p.Until(within, "the audio status", func(s phonedStatus) bool { return s.Audio != nil })
	must(t, err)
	if st.Audio.Device != "null" {
		t.Fatalf("audio status %+v", st.Audio)
	}
}

type recording interface{ Samples() []int16 }

func waitSamples(t *testing.T, r interface{ Len() int }, n int) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r.Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d samples within %v, want %d", r.Len(), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recOffset is the median of a few readings of a.Len() - b.Len() taken
// back to back.
func recOffset(a, b interface{ Len() int }) int {
	var d []int
	for range 9 {
		d = append(d, a.Len()-b.Len())
		time.Sleep(7 * time.Millisecond)
	}
	sort.Ints(d)
	return d[len(d)/2]
}

// onset waits for freq in r and returns the first sample of the first 10
// ms window (from sample from on) that carries it.
func onset(t *testing.T, what string, r recording, from int, freq float64) int {
	t.Helper()
	const win = audio.SampleRate / 100
	deadline := time.Now().Add(within)
	for {
		s := r.Samples()
		for i := from; i+win <= len(s); i += win / 2 {
			if detect.Present(s[i:i+win], freq) {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %v Hz within %v", what, freq, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The several-calls rules hold during the echo test: baresip calls the
// phone (no server: straight to its address) while it is in the echo
// test; the call waits, the hold key answers it and holds the echo test
// (no SIP for that: the phone answers its own hold), and once baresip
// hangs up the hold key goes back to the echo test.
func TestEchoTestCallWaiting(t *testing.T) {
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", MicWAV: lab.ToneWAV(t, 1100, 30*time.Second)})
	p := startPhoneMic(t, nil, lab.ToneWAV(t, 700, 30*time.Second), "", "")
	must(t, p.Hook(true))
	must(t, p.Keys("*43"))
	_, err := p.Until(within, "the echo test", func(s phonedStatus) bool {
		return s.State == "talking" && s.Call != nil && s.Call.Remote == "Echo test"
	})
	must(t, err)
	must(t, peer.Dial(fmt.Sprintf("sip:1001@%s", p.sipAddr())))
	st, err := p.Until(within, "a waiting call", func(s phonedStatus) bool {
		c, ok := callWith(s.Calls, "1002")
		return ok && c.Waiting
	})
	must(t, err)
	if st.Call == nil || st.Call.Remote != "Echo test" || !strings.Contains(st.Display, "waiting: ") {
		t.Fatalf("with a call waiting: call %+v, display %q", st.Call, st.Display)
	}
	must(t, p.Function("hold"))
	peer.WaitEvent(t, "CALL_ESTABLISHED", within)
	st, err = p.Until(within, "the caller answered, the echo test held", func(s phonedStatus) bool {
		c, ok := callWith(s.Calls, "1002")
		e, ok2 := callWith(s.Calls, "Echo test")
		return ok && ok2 && c.Focused && c.State == "talking" && e.Held
	})
	must(t, err)
	if !strings.Contains(st.Display, "held: Echo test") {
		t.Fatalf("display %q", st.Display)
	}
	if strings.Contains(p.Log(), "re-INVITE failed") {
		t.Fatalf("the echo test's hold went to SIP:\n%s", tail(p.Log(), 20))
	}
	must(t, peer.Hangup())
	wait(t, p, "busy")
	must(t, p.Hook(false))
	must(t, p.Hook(true))
	must(t, p.Function("hold"))
	_, err = p.Until(within, "back to the echo test", func(s phonedStatus) bool {
		e, ok := callWith(s.Calls, "Echo test")
		return s.State == "talking" && ok && e.Focused && !e.Held
	})
	must(t, err)
}
