package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/detect"
	"github.com/deskphone/phoned/audio/device/pulse/pulsetest"
	"github.com/deskphone/phoned/scripts/lab"
)

// TestPulseSpeakerKeyMovesTheCall: a call with baresip moves between the
// handset, speaker and headset paths (each a null sink of a private
// PulseAudio, named by the board file) with the speaker and headset keys
// and the hook, and stays up through every move; the speaker key
// hands-free hangs up.
func TestPulseSpeakerKeyMovesTheCall(t *testing.T) {
	srv := pulsetest.Start(t, "handset", "speaker", "headset", "mic")
	sim, err := os.ReadFile("../../board/sim.toml")
	must(t, err)
	boardFile := filepath.Join(t.TempDir(), "board.toml")
	must(t, os.WriteFile(boardFile, append(sim, "\n[audio.speaker]\nsink = \"speaker\"\nsource = \"mic.monitor\"\n[audio.headset]\nsink = \"headset\"\nsource = \"mic.monitor\"\n"...), 0o644))
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 2*time.Minute)})
	pp, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return pulseConfig(srv, sipPort, apiPort, "", fmt.Sprintf("[board]\nfile = %q\n[directory]\n\"1003\" = %q\n", boardFile, peer.URI()))
	})
	p := &ourPhone{Phone: pp}
	// on waits for the status to show the call talking on path and for
	// the far end's 1100 Hz on that path's sink.
	on := func(what, path string) {
		t.Helper()
		_, err := p.Until(within, what, func(s phonedStatus) bool {
			return s.State == "talking" && s.Audio != nil && s.Audio.Path == path
		})
		must(t, err)
		r := srv.Record(t, path+".monitor")
		defer r.Stop()
		deadline := time.Now().Add(within)
		for {
			if s := r.Samples(); len(s) > 1600 && detect.Present(s[len(s)-1600:], 1100) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no 1100 Hz on the %s sink within %v", what, path, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, err = p.Until(within, "the device connected", func(s phonedStatus) bool { return s.Audio != nil && s.Audio.Connected })
	must(t, err)
	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	peer.WaitEvent(t, "CALL_ESTABLISHED", within)
	on("the call on the handset", "handset")
	must(t, p.Function("speaker"))
	on("the speaker key: hands-free", "speaker")
	must(t, p.Hook(false))
	on("the handset replaced: still hands-free", "speaker")
	must(t, p.Hook(true))
	on("the handset lifted: back on it", "handset")
	must(t, p.Function("speaker"))
	on("hands-free again", "speaker")
	must(t, p.Function("headset"))
	on("the headset key", "headset")
	must(t, p.Hook(false))
	on("the handset replaced: still on the headset", "headset")
	must(t, p.Function("speaker"))
	on("the speaker key from the headset", "speaker")
	must(t, p.Function("speaker"))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	st := wait2(t, p, "idle")
	if st.Audio == nil || st.Audio.Path != "handset" {
		t.Fatalf("after hanging up hands-free: audio %+v", st.Audio)
	}
}

func wait2(t *testing.T, p *ourPhone, state string) phonedStatus {
	t.Helper()
	st, err := p.Wait(state, within)
	must(t, err)
	return st
}
