package interop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deskphone/phoned/scripts/lab"
)

// directPhone is our phone with no registrar and a directory entry.
func directPhone(t *testing.T, number, uri string) *ourPhone {
	return startPhone(t, nil, 700, fmt.Sprintf("[directory]\n%q = %q\n", number, uri))
}

// A SIPp UAS answers 486: the phone plays busy tone and shows the reason.
func TestSIPpUASBusy(t *testing.T) {
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_486"})
	p := directPhone(t, "2000", fmt.Sprintf("sip:2000@%s", s.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	st, err := p.Wait("busy", within)
	must(t, err)
	if !strings.HasPrefix(st.Reason, "486") {
		t.Fatalf("reason %q, want 486 Busy Here", st.Reason)
	}
	s.WaitOK(t)
}

// A SIPp UAS answers 302 towards baresip: the phone follows the redirect
// and the call is set up with baresip (RFC 3261 §8.1.3.4).
func TestSIPpUASRedirect(t *testing.T) {
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto})
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_302", Params: map[string]string{"contact": b.URI()}})
	p := directPhone(t, "2000", fmt.Sprintf("sip:2000@%s", s.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	s.WaitOK(t)
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
}

// A SIPp UAC calls us, then holds the call with a sendonly re-INVITE: we
// answer recvonly (the scenario checks it), show "held", and SIPp's BYE
// ends the call.
func TestSIPpUACReinviteSendonly(t *testing.T) {
	p := startPhone(t, nil, 700, "")
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_reinvite_sendonly", Target: p.sipAddr(), Service: "1001",
		Params: map[string]string{"hold_ms": "1500"}})
	wait(t, p, "ringing")
	must(t, p.Hook(true))
	wait(t, p, "talking")
	_, err := p.Until(within, "held", func(s phonedStatus) bool { return s.Call != nil && s.Call.Held })
	must(t, err)
	wait(t, p, "busy") // SIPp's BYE
	s.WaitOK(t)
	if msgs := s.Messages(); !strings.Contains(msgs, "a=recvonly") {
		t.Fatalf("no recvonly answer in SIPp's trace:\n%s", tail(msgs, 60))
	}
}

// A SIPp UAS answers 183 with SDP, then 200: the phone starts media on the
// 183 instead of local ringback, and keeps it through the answer.
func TestSIPpUASEarlyMedia(t *testing.T) {
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_early_media"})
	p := directPhone(t, "2000", fmt.Sprintf("sip:2000@%s", s.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	st, err := p.Until(within, "early media", func(st phonedStatus) bool {
		return st.State == "calling" && st.Call != nil && st.Call.Codec != ""
	})
	must(t, err)
	if st.Call.Codec != "PCMU" {
		t.Fatalf("early media codec %q", st.Call.Codec)
	}
	wait(t, p, "talking")
	must(t, p.Hook(false))
	s.WaitOK(t)
}

// SIPp plays the RFC 2833 captures it ships at the phone; the phone
// recognises each digit exactly once (RFC 4733 §2.5.2).
func TestSIPpDTMFPcaps(t *testing.T) {
	p := startPhone(t, nil, 700, "")
	for _, c := range []struct{ pcap, digit string }{{"1", "1"}, {"star", "*"}, {"pound", "#"}} {
		s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_dtmf_2833", Target: p.sipAddr(), Service: "1001",
			Params: map[string]string{"dtmf_ms": "1500", "pcap": "/usr/share/sip-tester/dtmf_2833_" + c.pcap + ".pcap"}})
		wait(t, p, "ringing")
		must(t, p.Hook(true))
		_, err := p.Until(within, "digit "+c.digit, func(s phonedStatus) bool { return s.Call != nil && s.Call.DTMF == c.digit })
		must(t, err)
		wait(t, p, "busy") // SIPp's BYE
		s.WaitOK(t)
		must(t, p.Hook(false))
		wait(t, p, "idle")
	}
}

// Keys pressed on the phone in a call reach baresip as RFC 4733 events.
func TestDTMFToBaresip(t *testing.T) {
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1003", AnswerMode: lab.AnswerAuto})
	p := directPhone(t, "1003", b.URI())
	must(t, p.Hook(true))
	must(t, p.Keys("1003#"))
	wait(t, p, "talking")
	b.WaitEvent(t, "CALL_ESTABLISHED", within)
	must(t, p.Keys("12#"))
	if got := b.WaitDTMF(t, 3, within); got != "12#" {
		t.Fatalf("baresip heard %q, want 12#", got)
	}
	must(t, p.Hook(false))
	b.WaitEvent(t, "CALL_CLOSED", within)
}
