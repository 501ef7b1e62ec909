package interop

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// Issue 18 item 10: the network between the phones goes down mid-call.
// The call's media crosses lab.MediaRelay (no netem here, see
// impair_test.go); with a call up between phoned and baresip the relay
// is cut, dropping every RTP and RTCP datagram both ways. The phone's RTP
// timeout (audio.rtp_timeout, set to 2 s here by a hot reload) ends the
// call: the BYE reaches baresip (SIP goes round the relay), the status
// says why ("no media") and has the call in last_call, the log says "no
// RTP received", and on hook the phone is idle. The network comes back:
// the phone calls baresip again and the audio flows.
func TestNetworkLossEndsCallCleanly(t *testing.T) {
	peer := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto,
		MicWAV: lab.ToneWAV(t, 1100, 2*time.Minute)})
	relay := lab.StartMediaRelay(t, lab.RelayConfig{Seed: 1}, lab.RelayConfig{Seed: 2})
	proxy := lab.StartSDPProxy(t, relay)
	p := startProxiedPhone(t, lab.ToneWAV(t, 700, 2*time.Second), proxy.Addr(), "1003", peer.URI())
	p.rewrite(t, func(s string) string {
		return strings.Replace(s, "device = \"wav\"\n", "device = \"wav\"\nrtp_timeout = \"2s\"\n", 1)
	})
	_, err := p.Until(within, "rtp_timeout applied", func(s phonedStatus) bool {
		return s.Config != nil && slices.Contains(s.Config.AppliedKey, "audio.rtp_timeout")
	})
	must(t, err)

	// call sets up a call to baresip and waits for RTP both ways.
	call := func() {
		t.Helper()
		before := relay.RTP.Stats()
		must(t, p.Hook(true))
		must(t, p.Keys("1003#"))
		wait(t, p, "talking")
		peer.WaitEvent(t, "CALL_ESTABLISHED", within)
		_, err := p.Until(within, "RTP from baresip", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received > 25 })
		must(t, err)
		_, err = p.Until(within, "RTP to baresip", func(phonedStatus) bool { return relay.RTP.Stats().AtoB.Out > before.AtoB.Out+25 })
		must(t, err)
		if st := relay.RTP.Stats(); st.BtoA.Out <= before.BtoA.Out {
			t.Fatalf("the media bypasses the relay: %+v", st)
		}
	}
	call()

	relay.Cut(true)
	cut := time.Now()
	st, err := p.Until(30*time.Second, "the call ended for no media", func(s phonedStatus) bool { return s.State != "talking" })
	must(t, err)
	ended := time.Since(cut)
	if st.Reason != "no media" || st.LastCall == nil || st.Call != nil {
		t.Fatalf("after the network went: state %q reason %q, call %+v, last call %+v", st.State, st.Reason, st.Call, st.LastCall)
	}
	// The last packet may have come up to a frame before the cut: the
	// lower bound is loose, it tells the timeout from an immediate end.
	if ended < 1500*time.Millisecond {
		t.Fatalf("the call ended %v after the cut, well before the 2 s RTP timeout", ended)
	}
	peer.WaitEvent(t, "CALL_CLOSED", within) // our BYE got there
	waitLog(t, p, "no RTP received", within)
	if rs := relay.RTP.Stats(); rs.AtoB.Cut == 0 || rs.BtoA.Cut == 0 {
		t.Fatalf("the relay cut nothing: %+v", rs)
	}
	t.Logf("the call ended %v after the cut (rtp_timeout 2 s): state %q, reason %q", ended.Round(time.Millisecond), st.State, st.Reason)
	must(t, p.Hook(false))
	wait(t, p, "idle")

	// The network is back: a new call works, audio both ways.
	relay.Cut(false)
	call()
	must(t, p.Hook(false))
	peer.WaitEvent(t, "CALL_CLOSED", within)
	wait(t, p, "idle")
}
