package interop

import (
	"fmt"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/scripts/lab"
)

// TestPulseIdleRunsNoStream: phoned on a PulseAudio server runs no stream
// there while on hook and silent (issue 17 item 1); off hook the voice
// streams run, back on hook they close (after the device's 3 s linger);
// an incoming call opens the ringer's stream alone, and its end closes it.
func TestPulseIdleRunsNoStream(t *testing.T) {
	srv := pulsetest.Start(t, "handset", "mic")
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003"})
	var sip int
	pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		sip = sipPort
		return pulseConfig(srv, sipPort, apiPort, "", "")
	})
	p := &ourPhone{Phone: pp}
	_, err := p.Until(within, "the device connected", func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Connected })
	must(t, err)
	// running waits until the server runs that many uncorked playback and
	// record streams.
	running := func(what string, inputs, outputs int) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			in, out, err := srv.Running()
			if err == nil && in == inputs && out == outputs {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the server runs %d playback and %d record streams (%v), want %d and %d", what, in, out, err, inputs, outputs)
			}
			time.Sleep(50 * time.Millisecond) // polling a real server, not timing
		}
	}
	running("on hook", 0, 0)

	must(t, p.Hook(true))
	running("off hook, dial tone", 1, 1)
	must(t, p.Hook(false))
	wait(t, p, "idle")
	running("back on hook", 0, 0)

	must(t, peer.Dial(fmt.Sprintf("sip:1001@127.0.0.1:%d", sip)))
	wait(t, p, "ringing")
	running("ringing", 1, 0)
	must(t, peer.Hangup())
	wait(t, p, "idle")
	running("after the ring", 0, 0)
}

// pulseConfig is the config of a phoned that is 1001 at 127.0.0.1 (no
// registrar: direct calls) and plays through the private PulseAudio srv:
// the handset sink, the mic sink's monitor as its microphone. audio goes
// into [audio] (e.g. state_dir); extra is appended (tables such as
// [board] or [directory]).
func pulseConfig(srv *pulsetest.Server, sipPort, apiPort int, audio, extra string) string {
	return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[account]
user = "1001"
domain = "127.0.0.1"
[audio]
device = "pulse"
%s
[audio.pulse]
server = %q
cookie = %q
sink = "handset"
source = "mic.monitor"
[api]
listen = "127.0.0.1:%d"
%s`, sipPort, audio, srv.Addr(), srv.Cookie, apiPort, extra)
}
