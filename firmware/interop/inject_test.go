package interop

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// Issue 12, item 4: RTP from a source other than the latched one is
// dropped. In a plain call with baresip (latched: symmetric RTP), a
// third party floods the phone's RTP port from another port with a
// 1500 Hz tone, in sequence, as a new source would: the phone counts it
// as filtered and never plays it, and still hears baresip.
func TestInjectedRTPIsNotHeard(t *testing.T) {
	tier.Interop(t, "baresip")
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	p := startPhoneAudio(t, "", lab.ToneWAV(t, 700, 60*time.Second),
		fmt.Sprintf("[directory]\n\"1002\" = %q\n", b.URI()))
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	wait(t, p, "talking")
	st, err := p.Until(within, "latched to baresip", func(s phonedStatus) bool {
		return s.Call != nil && s.Call.Media != nil && s.Call.Media.Latched && s.Call.RTP.Received >= 25
	})
	must(t, err)
	target, err := netip.ParseAddrPort(st.Call.Media.Local)
	must(t, err)

	spoof, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	defer spoof.Close()
	gen := tone.NewGenerator(tone.MustParse("1500/0"))
	f, payload := make([]int16, 160), make([]byte, 160)
	const injected = 150 // 3 s of audio, sent over 3 s
	for i := 0; i < injected; i++ {
		gen.Fill(f)
		codec.PCMU.EncodeFrame(payload, f)
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 160), SSRC: 0x5b00f}, Payload: payload}).Marshal()
		must(t, err)
		if _, err := spoof.WriteToUDPAddrPort(pkt, target); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // a real stream's pace, so playout would take it
	}
	st, err = p.Until(within, "the injected packets counted", func(s phonedStatus) bool {
		return s.Call != nil && s.Call.RTP.Filtered >= injected
	})
	must(t, err)
	t.Logf("rtp %+v", st.Call.RTP)
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
	must(t, p.Stop())

	speaker := filepath.Join(p.dir, "speaker.wav")
	if s := heard(t, speaker, 1500, 1100, 700); s > 0.1 {
		t.Errorf("the phone played %.2f s of the injected 1500 Hz", s)
	}
	if s := heard(t, speaker, 1100, 1500, 700); s < 2.0 {
		t.Errorf("the phone heard only %.2f s of baresip's 1100 Hz", s)
	}
}
