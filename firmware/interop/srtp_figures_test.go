package interop

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// The SRTP figure of issue 12: phoned's CPU in an SRTP call against a
// plain call, in the same run (make srtp-figures):
//
//	go test -run='^$' -bench=SRTPFigures -benchtime=1x -timeout 10m ./firmware/interop/
//
// Each sub-benchmark makes ONE call of figureCall (60 s;
// PHONED_FIGURE_CALL=10s shortens it): phoned (700 Hz WAV microphone)
// dials baresip directly on 127.0.0.1, which answers at once, G.711 both
// ways; "plain" with audio.srtp off against a plain baresip, "srtp" with
// audio.srtp = "required" against baresip's srtp module (srtp-mand,
// AES_CM_128_HMAC_SHA1_80). The figures are measureCall's (cpu-s is
// phoned's utime+stime over the window); reported, never asserted.
func BenchmarkSRTPFigures(b *testing.B) {
	callLen := figureCall(b)
	for _, tt := range []struct {
		name, audio, mediaEnc string
	}{
		{"plain", "", ""},
		{"srtp", srtpRequired, "srtp-mand"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			peer := lab.StartBaresip(b, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, MediaEnc: tt.mediaEnc,
				MicWAV: lab.ToneWAV(b, 1100, callLen+time.Minute)})
			p := startPhoneAudio(b, tt.audio, lab.ToneWAV(b, 700, 2*time.Second),
				fmt.Sprintf("[directory]\n\"1002\" = %q\n[log]\nlevel = \"warn\"\n", peer.URI()))
			must(b, p.Hook(true))
			must(b, p.Keys("1002#"))
			if _, err := p.Wait("talking", within); err != nil {
				b.Fatal(err)
			}
			peer.WaitEvent(b, "CALL_ESTABLISHED", within)
			st, err := p.Status()
			must(b, err)
			if (st.Calls[0].SRTP != "") != (tt.mediaEnc != "") {
				b.Fatalf("call srtp %q in the %s run", st.Calls[0].SRTP, tt.name)
			}
			pid, err := lab.PIDWithArg(filepath.Join(p.dir, "phone.toml"))
			must(b, err)

			m := measureCall(b, pid, p.sipPort, callLen)
			checkCallUp(b, p, peer)
			must(b, p.Hook(false))
			peer.WaitEvent(b, "CALL_CLOSED", within)
			m.report(b)
			b.ReportMetric(100*m.cpu.Seconds()/m.window.Seconds(), "cpu-%")
		})
	}
}
