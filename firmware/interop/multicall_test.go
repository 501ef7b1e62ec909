package interop

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/daemon"
	"github.com/deskphone/phoned/scripts/lab"
)

// Issue 11's proof against real peers: our phone (1001, a 700 Hz
// microphone), baresip 1002 (1100 Hz) and baresip 1003 (1300 Hz), all
// registered at Kamailio, each checked by what it hears: phoned's speaker
// WAV, and the recordings baresip makes of each call, followed while they
// grow (lab.Recording).

const (
	toneUs   = 700.0
	tone1002 = 1100.0
	tone1003 = 1300.0
)

// office is the three parties of a multi-call test.
type office struct {
	k      *lab.Kamailio
	p      *ourPhone
	b2, b3 *lab.Baresip
	spk    *lab.Recording // phoned's speaker
	h2, h3 *lab.Recording // what 1002 and 1003 hear, from their recorders
	ear    *lab.Ear       // the RTP the phone sends
	rtp    map[string]netip.AddrPort
}

// listener is what a party heard since a mark.
type listener interface {
	Mark() error
	Since() ([]int16, error)
}

// sentTo is what the phone sends to one RTP address, since a mark: what
// that party hears of us. baresip's recorder stops writing once a
// re-INVITE changes its call, so after a hold or a resume this is how its
// side is heard.
type sentTo struct {
	ear   *lab.Ear
	dst   netip.AddrPort
	since time.Time
}

func (s *sentTo) Mark() error             { s.since = time.Now(); return nil }
func (s *sentTo) Since() ([]int16, error) { return s.ear.Heard(s.dst, s.since) }

// to is what the phone sends to number's call from now on.
func (o *office) to(t testing.TB, number string) *sentTo {
	t.Helper()
	dst, ok := o.rtp[number]
	if !ok {
		t.Fatalf("no RTP address known for %s", number)
	}
	return &sentTo{ear: o.ear, dst: dst, since: time.Now()}
}

// newOffice starts Kamailio, two auto-answering baresips and our phone,
// all registered; extra goes into the phone's config.
func newOffice(t testing.TB, extra string) *office {
	t.Helper()
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002", "1003": "pw1003"}})
	o := &office{k: k, rtp: map[string]netip.AddrPort{}}
	o.ear = lab.StartEar(t, 16384, 32766) // phoned's audio.rtp_ports
	o.b2 = lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		AnswerMode: lab.AnswerAuto, MicWAV: lab.ToneWAV(t, tone1002, 120*time.Second), RecordDir: t.TempDir()})
	o.b3 = lab.StartBaresip(t, lab.BaresipOptions{User: "1003", Password: "pw1003", Registrar: k.Addr(),
		AnswerMode: lab.AnswerAuto, MicWAV: lab.ToneWAV(t, tone1003, 120*time.Second), RecordDir: t.TempDir()})
	o.p = startPhoneMic(t, k, lab.ToneWAV(t, toneUs, 120*time.Second), "", extra)
	_, err := o.p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	o.spk = lab.Follow(filepath.Join(o.p.dir, "speaker.wav"))
	o.h2, err = o.b2.Heard()
	must(t, err)
	o.h3, err = o.b3.Heard()
	must(t, err)
	return o
}

// hears waits (bounded) until rec holds at least secs of each freq since
// its mark, and marks it again.
func hears(t testing.TB, who string, rec listener, secs float64, freqs ...float64) {
	t.Helper()
	hearsShare(t, who, rec, secs, 0.2, freqs...)
}

// hearsShare is hears counting blocks where each freq holds share of the
// energy.
func hearsShare(t testing.TB, who string, rec listener, secs, share float64, freqs ...float64) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, err := rec.Since()
		must(t, err)
		ok := true
		for _, f := range freqs {
			if lab.HeardShare(s, f, share) < secs {
				ok = false
			}
		}
		if ok {
			must(t, rec.Mark())
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, f := range []float64{toneUs, tone1002, tone1003} {
				got = append(got, fmt.Sprintf("%v Hz %.2f s", f, lab.Heard(s, f)))
			}
			t.Fatalf("%s: want %.1f s of each of %v in %.1f s recorded; heard %s", who, secs, freqs, float64(len(s))/8000, strings.Join(got, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hearsNot waits until rec has recorded secs more of audio after the
// change, and checks that none of freqs is in it. The first 600 ms are
// left out: audio in flight when the change was made (the jitter buffer
// holds up to 200 ms, and an emulated CPU lags). The recording's own
// growth is the event waited for, not a span of time.
func hearsNot(t testing.TB, who string, rec listener, secs float64, freqs ...float64) {
	t.Helper()
	must(t, rec.Mark())
	deadline := time.Now().Add(within)
	var s []int16
	for {
		var err error
		s, err = rec.Since()
		must(t, err)
		if float64(len(s))/8000 >= secs+0.6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: recorded only %.2f s in %v", who, float64(len(s))/8000, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s = s[4800:]
	for _, f := range freqs {
		if h := lab.Heard(s, f); h > 0.1 {
			t.Fatalf("%s: heard %.2f s of %v Hz, want none", who, h, f)
		}
	}
	must(t, rec.Mark())
}

// calls waits until the phone's calls satisfy ok.
func (o *office) calls(t testing.TB, what string, ok func([]daemon.CallInfo) bool) []daemon.CallInfo {
	t.Helper()
	st, err := o.p.Until(within, what, func(s phonedStatus) bool { return ok(s.Calls) })
	if err != nil {
		t.Fatal(err)
	}
	return st.Calls
}

func callWith(cs []daemon.CallInfo, remote string) (daemon.CallInfo, bool) {
	for _, c := range cs {
		if c.Remote == remote {
			return c, true
		}
	}
	return daemon.CallInfo{}, false
}

// talkingTo waits until the phone talks to remote, focused and not held.
func (o *office) talkingTo(t testing.TB, remote string) {
	t.Helper()
	st, err := o.p.Until(within, "talking to "+remote, func(s phonedStatus) bool {
		c, ok := callWith(s.Calls, remote)
		return ok && c.State == "talking" && c.Focused && !c.Held && !c.HeldByRemote &&
			s.Call != nil && s.Call.Media != nil
	})
	must(t, err)
	dst, err := netip.ParseAddrPort(st.Call.Media.Remote)
	must(t, err)
	o.rtp[remote] = dst
}

// dial lifts the handset and calls number; the auto-answering baresip
// answers.
func (o *office) dial(t testing.TB, number string) {
	t.Helper()
	must(t, o.p.Hook(true))
	must(t, o.p.Keys(number+"#"))
	o.talkingTo(t, number)
}

// Hold and resume from our side (the hold key), then from baresip's
// (its hold and resume commands): each time the phone hears nothing of
// the other party while the call is held, and both hear each other again
// after the resume.
func TestHoldAndResumeBothWays(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	hears(t, "phone", o.spk, 1, tone1002)
	hears(t, "1002", o.h2, 1, toneUs)

	must(t, o.p.Function("hold"))
	o.calls(t, "1002 held", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.Held })
	hearsNot(t, "phone while holding", o.spk, 1, tone1002)
	hearsNot(t, "1002 while held", o.to(t, "1002"), 1, toneUs)

	must(t, o.p.Function("hold")) // the hold key again resumes
	o.talkingTo(t, "1002")
	hears(t, "phone after resume", o.spk, 1, tone1002)
	hears(t, "1002 after resume", o.to(t, "1002"), 1, toneUs)

	_, err := o.b2.Command("hold", "")
	must(t, err)
	o.calls(t, "held by 1002", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.HeldByRemote })
	hearsNot(t, "phone held by 1002", o.spk, 1, tone1002)
	_, err = o.b2.Command("resume", "")
	must(t, err)
	o.talkingTo(t, "1002")
	hears(t, "phone after 1002 resumed", o.spk, 1, tone1002)
	hears(t, "1002 after it resumed", o.to(t, "1002"), 1, toneUs)
}

// Call waiting: 1003 calls during the call with 1002; the phone shows it
// ringing, the handset hears the call-waiting tone, a hook flash answers
// it and holds 1002, and two more flashes swap back and forth.
func TestCallWaitingSwapsTwice(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	hears(t, "phone", o.spk, 1, tone1002)

	must(t, o.b3.Dial("sip:1001@"+o.k.Domain()))
	o.calls(t, "1003 waiting", func(cs []daemon.CallInfo) bool {
		c, ok := callWith(cs, "1003")
		return len(cs) == 2 && ok && c.State == "ringing" && !c.Focused
	})
	// The call-waiting tone (US: 440 Hz, 300 ms, at -13 dBm0) over the
	// talk (1100 Hz at -10 dBFS): a few percent of the energy.
	hearsShare(t, "phone: call-waiting tone over the talk", o.spk, 0.2, 0.01, 440)

	must(t, o.p.Flash())
	o.talkingTo(t, "1003")
	o.calls(t, "1002 held", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.Held })
	hears(t, "phone talking to 1003", o.spk, 1, tone1003)
	hears(t, "1003", o.h3, 1, toneUs)

	must(t, o.p.Flash())
	o.talkingTo(t, "1002")
	hears(t, "phone back with 1002", o.spk, 1, tone1002)
	hears(t, "1002 back", o.to(t, "1002"), 1, toneUs)
	hearsNot(t, "1003 while held", o.to(t, "1003"), 1, toneUs)

	must(t, o.p.Flash())
	o.talkingTo(t, "1003")
	hears(t, "phone with 1003 again", o.spk, 1, tone1003)
	hears(t, "1003 again", o.to(t, "1003"), 1, toneUs)
}

// Blind transfer: the transfer key, 1003, the transfer key again: 1002
// calls 1003 by our REFER, the final NOTIFY says 200, our call ends, and
// 1002 and 1003 hear each other.
func TestBlindTransfer(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	must(t, o.p.Function("transfer"))
	must(t, o.p.Keys("1003"))
	must(t, o.p.Function("transfer"))
	o.calls(t, "the phone out of the call", func(cs []daemon.CallInfo) bool { return len(cs) == 0 })
	o.b3.WaitEvent(t, "CALL_ESTABLISHED", within)
	hears(t, "1002 hears 1003", o.h2, 1, tone1003)
	hears(t, "1003 hears 1002", o.h3, 1, tone1002)
}

// A blind transfer to a busy target (a SIPp UAS answering 486, reported
// in baresip's NOTIFY): the original call comes back and the display says
// why.
func TestBlindTransferTargetBusy(t *testing.T) {
	// On 127.0.0.2: Kamailio (on 127.0.0.1) forwards baresip's INVITE
	// there instead of looking 2000 up as a user of its own domain.
	s := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_486", LocalIP: netip.MustParseAddr("127.0.0.2")})
	o := newOffice(t, fmt.Sprintf("[directory]\n\"2000\" = \"sip:2000@%s\"\n", s.Addr()))
	o.dial(t, "1002")
	must(t, o.p.Function("transfer"))
	must(t, o.p.Keys("2000"))
	must(t, o.p.Function("transfer"))
	st, err := o.p.Until(within, "transfer failed", func(s phonedStatus) bool { return strings.Contains(s.Display, "transfer failed: 486") })
	must(t, err)
	t.Logf("display: %s", st.Display)
	o.talkingTo(t, "1002")
	hears(t, "phone back with 1002", o.spk, 1, tone1002)
	hears(t, "1002 back", o.to(t, "1002"), 1, toneUs)
	s.WaitOK(t)
}

// Attended transfer (RFC 5589 §7): a hook flash holds 1002 and gives dial
// tone, the phone consults 1003, the transfer key joins them with a REFER
// carrying Replaces; the phone is out, 1002 and 1003 talk.
func TestAttendedTransfer(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	must(t, o.p.Flash())
	o.calls(t, "1002 held", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.Held })
	must(t, o.p.Keys("1003#"))
	o.talkingTo(t, "1003")
	hears(t, "phone consults 1003", o.spk, 1, tone1003)
	must(t, o.p.Function("transfer"))
	o.calls(t, "the phone out of both calls", func(cs []daemon.CallInfo) bool { return len(cs) == 0 })
	hears(t, "1002 hears 1003", o.h2, 1, tone1003)
	hears(t, "1003 hears 1002", o.h3, 1, tone1002)
}

// baresip transfers the phone (its transfer command, a REFER): the phone
// calls 1003, tells 1002 by NOTIFY, and talks to 1003.
func TestBaresipTransfersThePhone(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	_, err := o.b2.Command("transfer", "sip:1003@"+o.k.Domain())
	must(t, err)
	o.talkingTo(t, "1003")
	o.calls(t, "only 1003", func(cs []daemon.CallInfo) bool { return len(cs) == 1 })
	hears(t, "phone hears 1003", o.spk, 1, tone1003)
	hears(t, "1003 hears the phone", o.h3, 1, toneUs)
}

// A local 3-way conference: the phone calls 1002, holds it, calls 1003,
// and the conference key joins them: each of the three hears the other
// two. The key again splits it; hanging up ends every call.
func TestThreeWayConference(t *testing.T) {
	o := newOffice(t, "")
	o.dial(t, "1002")
	must(t, o.p.Flash()) // holds 1002, dial tone
	o.calls(t, "1002 held", func(cs []daemon.CallInfo) bool { c, ok := callWith(cs, "1002"); return ok && c.Held })
	must(t, o.p.Keys("1003#"))
	o.talkingTo(t, "1003")
	must(t, o.p.Function("conference"))
	o.calls(t, "conference", func(cs []daemon.CallInfo) bool {
		return len(cs) == 2 && cs[0].Conference && cs[1].Conference
	})
	hears(t, "phone hears both", o.spk, 1, tone1002, tone1003)
	hears(t, "1002 hears the phone and 1003", o.to(t, "1002"), 1, toneUs, tone1003)
	hears(t, "1003 hears the phone and 1002", o.to(t, "1003"), 1, toneUs, tone1002)
	hearsNot(t, "1002 does not hear itself", o.to(t, "1002"), 1, tone1002)

	must(t, o.p.Hook(false))
	o.calls(t, "every call ended", func(cs []daemon.CallInfo) bool { return len(cs) == 0 })
	o.b2.WaitEvent(t, "CALL_CLOSED", within)
	o.b3.WaitEvent(t, "CALL_CLOSED", within)
}

// An INVITE with Replaces (RFC 3891 §3) from a real peer: SIPp calls the
// phone (the call answered by lifting the handset), and a second SIPp
// sends an INVITE whose Replaces names that dialog. The phone answers it
// at once, with no ringing, ends the replaced call with a BYE, and talks
// to the new party; an INVITE naming no dialog of ours gets 481. (baresip
// 1.0 cannot be the sender: it puts a Refer-To's Replaces into the
// Request-URI instead of a header.)
func TestInviteWithReplaces(t *testing.T) {
	p := startPhone(t, nil, toneUs, "")
	params := map[string]string{"callid": "replaced-call@127.0.0.1", "fromtag": "firsttag"}
	first := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_replaced", Target: p.sipAddr(), Service: "1001", Params: params,
		Extra: []string{"-cid_str", params["callid"]}})
	wait(t, p, "ringing")
	must(t, p.Hook(true))
	wait(t, p, "talking")
	// The phone's tag, from the 200 SIPp received.
	m := regexp.MustCompile(`(?s)SIP/2.0 200 OK.*?\nTo:[^\n]*;tag=([^;\s>]+)`).FindStringSubmatch(first.Messages())
	if m == nil {
		t.Fatalf("no To tag in the 200 SIPp got:\n%s", tail(first.Messages(), 40))
	}
	params["totag"] = m[1]
	params["talk_ms"] = "1500"
	second := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_replaces", Target: p.sipAddr(), Service: "1001", Params: params})
	st, err := p.Until(within, "the new call in place of the first", func(s phonedStatus) bool {
		return len(s.Calls) == 1 && s.Calls[0].State == "talking" && strings.Contains(s.Calls[0].Remote, "replacer")
	})
	must(t, err)
	t.Logf("calls %+v", st.Calls)
	first.WaitOK(t)  // it got the BYE
	second.WaitOK(t) // answered without ringing, then its own BYE
	if strings.Contains(second.Messages(), "SIP/2.0 180") {
		t.Fatal("the replacing INVITE rang")
	}

	// A Replaces naming no dialog of ours: 481 (RFC 3891 §3).
	params["callid"] = "no-such-call@127.0.0.1"
	stray := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_replaces", Target: p.sipAddr(), Service: "1001", Params: params})
	if err := stray.Wait(); err == nil || !strings.Contains(stray.Messages(), "SIP/2.0 481") {
		t.Fatalf("a Replaces of no dialog: err %v, messages:\n%s", err, tail(stray.Messages(), 30))
	}
}
