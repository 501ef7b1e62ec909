package interop

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// SRTP against baresip's srtp module (issue 12, item 3): both ways,
// directly on 127.0.0.1 (plain UDP signalling, so the phone runs with
// audio.srtp_allow_plain_sip; SIP over TLS is its own work).

// srtpRequired is the [audio] of a phone that refuses plain RTP.
const srtpRequired = "srtp = \"required\"\nsrtp_allow_plain_sip = true\n"

// startPhoneAudio is startPhoneUser (user 1001, no registrar) with
// audioExtra in its [audio] table.
func startPhoneAudio(t testing.TB, audioExtra, mic, extra string) *ourPhone {
	t.Helper()
	p, sipPort := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%[1]d"
[account]
user = "1001"
password = "pw1001"
domain = "127.0.0.1"
[audio]
device = "wav"
%[2]s
[audio.wav]
input = %[3]q
output = "speaker.wav"
[api]
listen = "127.0.0.1:%[4]d"
%[5]s`, sipPort, audioExtra, mic, apiPort, extra)
	})
	if tt, ok := t.(*testing.T); ok {
		lab.StartTrace(tt, sipPort)
	}
	_, err := p.Until(within, "the API", func(phonedStatus) bool { return true })
	must(t, err)
	return &ourPhone{Phone: p, dir: filepath.Dir(p.LogPath()), sipPort: sipPort}
}

// checkSRTPCall checks a talking SRTP call: the status names the suite,
// audio comes in, nothing fails authentication, and what the phone sent
// to baresip's RTP port, read off the wire as G.711, is not our tone.
func checkSRTPCall(t *testing.T, p *ourPhone, ear *lab.Ear, since time.Time) {
	t.Helper()
	st, err := p.Until(within, "SRTP audio in", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received >= 100 })
	must(t, err)
	if len(st.Calls) != 1 || st.Calls[0].SRTP == "" || st.Call.SRTP != st.Calls[0].SRTP {
		t.Fatalf("status calls %+v, call %+v: want the SRTP suite", st.Calls, st.Call)
	}
	if !strings.HasPrefix(st.Calls[0].SRTP, "AES_CM_128_HMAC_SHA1_") {
		t.Errorf("suite %q, want one of baresip's AES_CM suites", st.Calls[0].SRTP)
	}
	if st.Call.RTP.AuthFailed != 0 || st.Call.RTP.Replayed != 0 {
		t.Errorf("rtp %+v: packets failed authentication", st.Call.RTP)
	}
	dst, err := netip.ParseAddrPort(st.Call.Media.Remote)
	must(t, err)
	pkts, err := ear.Wire(dst, since)
	must(t, err)
	wire := lab.DecodeAsG711(pkts)
	if len(wire) < 50*160 {
		t.Fatalf("captured %d packets, %d samples of our RTP to %v, want a second or more", len(pkts), len(wire), dst)
	}
	// RFC 3711: the payload is encrypted; read as G.711 it is noise (a
	// clear tone is found by the same reading: lab.TestDecodeAsG711),
	// while baresip, which has the keys, hears the tone (checked after).
	if s := lab.Heard(wire, 700); s > 0.1 {
		t.Errorf("our 700 Hz is on the wire in clear: %.2f s of %.2f s", s, float64(len(wire))/8000)
	}
	t.Logf("on the wire: %d packets to %v, 700 Hz read as G.711: %.2f s of %.2f s",
		len(pkts), dst, lab.Heard(wire, 700), float64(len(wire))/8000)
}

func TestSRTPWeCallBaresip(t *testing.T) {
	tier.Interop(t, "baresip", "tshark", "dumpcap")
	rec := t.TempDir()
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, MediaEnc: "srtp-mand",
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second), RecordDir: rec})
	p := startPhoneAudio(t, srtpRequired, lab.ToneWAV(t, 700, 60*time.Second),
		fmt.Sprintf("[directory]\n\"1002\" = %q\n", b.URI()))
	ear := lab.StartEar(t, 16384, 32766) // phoned's audio.rtp_ports
	since := time.Now()
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	checkSRTPCall(t, p, ear, since)
	// RFC 4733 events travel as SRTP like the audio, both ways.
	must(t, p.Keys("42"))
	if got := b.WaitDTMF(t, 2, within); got != "42" {
		t.Errorf("baresip received DTMF %q, want 42", got)
	}
	must(t, b.SendDTMF("7#", 0))
	if _, err := p.Until(within, "baresip's digits", func(s phonedStatus) bool { return s.Call != nil && s.Call.DTMF == "7#" }); err != nil {
		t.Error(err)
	}
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
	must(t, p.Stop())

	if s := heard(t, filepath.Join(p.dir, "speaker.wav"), 1100, 700); s < 1.0 {
		t.Errorf("our phone heard %.2f s of baresip's 1100 Hz", s)
	}
	dec, _ := b.Recordings()
	if len(dec) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	if s := heard(t, dec[0], 700, 1100); s < 1.0 {
		t.Errorf("baresip heard %.2f s of our 700 Hz", s)
	}
}

func TestSRTPBaresipCallsUs(t *testing.T) {
	tier.Interop(t, "baresip", "tshark", "dumpcap")
	rec := t.TempDir()
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", MediaEnc: "srtp-mand",
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second), RecordDir: rec})
	p := startPhoneAudio(t, srtpRequired, lab.ToneWAV(t, 700, 60*time.Second), "")
	ear := lab.StartEar(t, 16384, 32766)
	since := time.Now()
	must(t, b.Dial(fmt.Sprintf("sip:1001@%s", p.sipAddr())))
	wait(t, p, "ringing")
	must(t, p.Hook(true))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	checkSRTPCall(t, p, ear, since)
	must(t, b.Hangup())
	wait(t, p, "busy")
	must(t, p.Hook(false))
	wait(t, p, "idle")
	must(t, p.Stop())

	if s := heard(t, filepath.Join(p.dir, "speaker.wav"), 1100, 700); s < 1.0 {
		t.Errorf("our phone heard %.2f s of baresip's 1100 Hz", s)
	}
	dec, _ := b.Recordings()
	if len(dec) == 0 {
		t.Fatal("baresip recorded nothing")
	}
	if s := heard(t, dec[0], 700, 1100); s < 1.0 {
		t.Errorf("baresip heard %.2f s of our 700 Hz", s)
	}
}

// With audio.srtp = "required", a baresip without SRTP gets 488 for its
// INVITE, and our call to it (answered with plain RTP) is hung up with
// the reason.
func TestSRTPRequiredRefusesPlainBaresip(t *testing.T) {
	tier.Interop(t, "baresip")
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto})
	p := startPhoneAudio(t, srtpRequired, lab.ToneWAV(t, 700, 10*time.Second),
		fmt.Sprintf("[directory]\n\"1002\" = %q\n", b.URI()))

	must(t, b.Dial(fmt.Sprintf("sip:1001@%s", p.sipAddr())))
	ev := b.WaitEvent(t, "CALL_CLOSED", within)
	if !strings.Contains(ev.Param, "488") {
		t.Errorf("baresip's call closed with %q, want 488", ev.Param)
	}
	if st, err := p.Status(); err != nil || st.State != "idle" || len(st.Calls) != 0 {
		t.Errorf("the refused call reached the phone: %+v, %v", st, err)
	}

	// Our RTP/SAVP offer to it: baresip 1.0 without srtp answers 488
	// itself (an answer without crypto would be hung up by us: sdp's
	// TestSRTPAccept and the sip layer's unusable-answer BYE).
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	st, err := p.Until(within, "the call refused", func(s phonedStatus) bool {
		return s.State != "dialing" && s.State != "calling" && s.State != "ringing" && s.State != "dialtone"
	})
	must(t, err)
	if st.State == "talking" || !strings.Contains(st.Display, "488") {
		t.Fatalf("a call without SRTP: state %q, display %q; want it failed with 488", st.State, st.Display)
	}
	t.Logf("our call to a plain baresip: state %q, display %q", st.State, st.Display)
}

// audio.srtp = "optional" is best effort: RTP/AVP with a=crypto, so a
// baresip without SRTP answers plain RTP and the call has audio, while
// one with its best-effort srtp module answers the crypto line and the
// call is SRTP.
func TestSRTPOptional(t *testing.T) {
	tier.Interop(t, "baresip")
	for _, tt := range []struct {
		mediaEnc string
		srtp     bool
	}{{"", false}, {"srtp", true}} {
		t.Run("mediaenc="+tt.mediaEnc, func(t *testing.T) {
			b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, MediaEnc: tt.mediaEnc,
				MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
			p := startPhoneAudio(t, "srtp = \"optional\"\nsrtp_allow_plain_sip = true\n", lab.ToneWAV(t, 700, 60*time.Second),
				fmt.Sprintf("[directory]\n\"1002\" = %q\n", b.URI()))
			must(t, p.Hook(true))
			must(t, p.Keys("1002#"))
			wait(t, p, "talking")
			st, err := p.Until(within, "audio in", func(s phonedStatus) bool { return s.Call != nil && s.Call.RTP.Received >= 50 })
			must(t, err)
			if got := st.Calls[0].SRTP != ""; got != tt.srtp {
				t.Fatalf("srtp %q, want SRTP %t", st.Calls[0].SRTP, tt.srtp)
			}
			must(t, p.Hook(false))
			b.WaitEvent(t, "CALL_CLOSED", within)
		})
	}
}

// With audio.srtp = "required", a peer that answers our RTP/SAVP offer
// with plain RTP (SIPp's built-in uas answers RTP/AVP whatever it is
// offered) is hung up at once: ACK, then BYE, and the call shows failed
// with the reason (RFC 4568 §7.1.3, RFC 3264 §6).
func TestSRTPRequiredHangsUpPlainAnswer(t *testing.T) {
	tier.Interop(t, "sipp")
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas"})
	p := startPhoneAudio(t, srtpRequired, lab.ToneWAV(t, 700, 10*time.Second),
		fmt.Sprintf("[directory]\n\"2000\" = \"sip:2000@%s\"\n[log]\nlevel = \"debug\"\n", s.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	st, err := p.Until(within, "the call failed", func(s phonedStatus) bool { return s.Reason != "" })
	must(t, err)
	if !strings.Contains(st.Reason, "488") || !strings.Contains(st.Reason, "SRTP") || st.State == "talking" {
		t.Fatalf("state %q, reason %q: want the call failed with 488 and the SRTP reason", st.State, st.Reason)
	}
	t.Logf("state %q, reason %q, display %q", st.State, st.Reason, st.Display)
	s.WaitOK(t) // SIPp got its ACK and our BYE
	msgs := s.Messages()
	if !strings.Contains(msgs, "RTP/SAVP") || !strings.Contains(msgs, "a=crypto:") {
		t.Fatalf("our offer in SIPp's trace lacks RTP/SAVP and a=crypto:\n%s", tail(msgs, 60))
	}
	// The keys our offer carried are in no line of the phone's log, at
	// debug level (a key in the SDP is a credential).
	keys := 0
	for _, line := range strings.Split(msgs, "\n") {
		_, key, ok := strings.Cut(line, "inline:")
		if !ok {
			continue
		}
		key, _, _ = strings.Cut(strings.TrimSpace(key), "|")
		if len(key) < 20 {
			t.Fatalf("short key in %q", line)
		}
		keys++
		if strings.Contains(p.Log(), key) || strings.Contains(p.Log(), key[:16]) {
			t.Errorf("the phone's log holds an SRTP key it offered")
		}
	}
	if keys == 0 {
		t.Fatal("no inline key in SIPp's trace")
	}
}
