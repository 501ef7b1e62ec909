package daemon

// The several-call features through the loop, over the fakes of
// glue_test.go: what the UA and the engine are asked, and the status.

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/sdp"
)

func reinvited(id string, code int) Reinvited {
	e := Reinvited{ID: sip.CallID(id), Code: code}
	if code >= 200 && code <= 299 {
		e.Media = &sdp.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:41002"), Codec: sdp.PCMU, DTMF: 101}
	}
	return e
}

func (g *glue) callInfo(id string) CallInfo {
	g.t.Helper()
	for _, c := range g.d.Status().Calls {
		if c.ID == id {
			return c
		}
	}
	g.t.Fatalf("no call %s in %+v", id, g.d.Status().Calls)
	return CallInfo{}
}

func TestFeatureHoldResume(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	want(t, "hold", g.do(phone.FunctionKey{Name: phone.FnHold}), "Reinvite sip-1", "SetMix focus= conf= mute=false", "SetLamp led_line fast")
	if c := g.callInfo("out-1"); !c.Held || c.LocalDir != "sendonly" || !c.Focused {
		t.Fatalf("held call %+v", c)
	}
	none(t, "hold twice", g.do(phone.FunctionKey{Name: phone.FnHold}), "Reinvite")
	// The 200 carries the new session: the leg follows it.
	want(t, "200", g.sip(reinvited("sip-1", 200)), "RedirectLeg out-1 127.0.0.1:41002 send=true")
	if d := g.d.Status().Display; d != "[1001 direct] talking 1002 PCMU 00:00 (on hold)" {
		t.Fatalf("display %q", d)
	}
	want(t, "resume", g.do(phone.FunctionKey{Name: phone.FnHold}), "Reinvite sip-1", "SetMix focus=out-1 conf= mute=false")
	if c := g.callInfo("out-1"); c.LocalDir != "sendrecv" {
		t.Fatalf("resumed call %+v", c)
	}
	g.sip(reinvited("sip-1", 200))
	if c := g.callInfo("out-1"); c.Held {
		t.Fatalf("still held after the resume's 200: %+v", c)
	}
	// On the wire: sendonly, then sendrecv (RFC 3264 §8.4), nothing else.
	if !slices.Equal(g.ua.dir, []string{"sendonly", "sendrecv"}) {
		t.Fatalf("re-INVITE directions %q, want sendonly then sendrecv", g.ua.dir)
	}
}

// A re-INVITE the UA cannot send undoes the hold at once.
func TestFeatureHoldNotSent(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	g.ua.fail["Reinvite"] = errors.New("dialog gone")
	want(t, "hold", g.do(phone.FunctionKey{Name: phone.FnHold}), "SetMix focus= conf= mute=false", "SetMix focus=out-1 conf= mute=false")
	if st := g.d.Status(); st.Calls[0].Held || st.Reason != "hold failed: dialog gone" {
		t.Fatalf("status %+v", st)
	}
}

// Call waiting: the tone of the country's plan in the handset, no ringer,
// shown on the display and in the status; flash answers and swaps.
func TestFeatureCallWaiting(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	in := incoming("x2")
	in.From = sip.Party{DisplayName: "Carol", User: "1003", URI: "sip:1003@pbx.test"}
	got := g.sip(in)
	want(t, "waiting", got, "Ring x2", "PlayTone call-waiting")
	none(t, "waiting", got, "SetRinger")
	st := g.d.Status()
	if c := g.callInfo("in-x2"); !c.Waiting || c.State != "ringing" || c.Focused {
		t.Fatalf("waiting call %+v", c)
	}
	if st.Display != "[1001 direct] talking 1002 PCMU 00:00 | waiting: Carol <1003>" || st.Call.Remote != "1002" {
		t.Fatalf("status %+v", st)
	}
	got = g.do(phone.HookFlash{})
	want(t, "answer", got, "StopTone", "Reinvite sip-1", "Answer x2", "StartLeg in-x2 127.0.0.1:40000", "SetMix focus=in-x2 conf= mute=false")
	g.sip(reinvited("sip-1", 200))
	if st := g.d.Status(); st.Call.Remote != "Carol <1003>" || st.Display != "[1001 direct] talking Carol <1003> PCMU 00:00 | held: 1002" {
		t.Fatalf("after answering: %+v", st)
	}
	want(t, "swap", g.do(phone.HookFlash{}), "Reinvite x2", "Reinvite sip-1", "SetMix focus=out-1 conf= mute=false")
}

// Beyond phone.max_calls: 486 from the machine, sent by the loop.
func TestFeatureMaxCalls(t *testing.T) {
	cfg := phone.DefaultConfig()
	cfg.MaxCalls = 1
	g := newGlue(t, cfg)
	g.talking()
	want(t, "busy", g.sip(incoming("x2")), "Reject x2 486")
	if len(g.d.calls) != 1 || len(g.d.bySIP) != 1 {
		t.Fatalf("the refused call is still known: %v", g.d.calls)
	}
}

func TestFeatureBlindTransfer(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	want(t, "transfer key", g.do(phone.FunctionKey{Name: phone.FnTransfer}), "Reinvite sip-1", "PlayTone dial")
	g.do(keys("1003")...)
	if d := g.d.Status().Display; d != "[1001 direct] transfer to 1003 | held: 1002" {
		t.Fatalf("display %q", d)
	}
	none(t, "# before the hold's 200", g.do(phone.Key{Key: '#'}), "Refer")
	want(t, "hold done", g.sip(reinvited("sip-1", 200)), "Refer sip-1 sip:1003@pbx.test replaces=")
	none(t, "202", g.sip(TransferProgress{ID: "sip-1", Code: 202, Reason: "Accepted"}), "Hangup")
	want(t, "NOTIFY 200", g.sip(TransferProgress{ID: "sip-1", Code: 200, Reason: "OK", Final: true}), "StopLeg out-1", "Hangup sip-1", "PlayTone dial")
	if st := g.d.Status(); len(st.Calls) != 0 || st.Display != "[1001 direct] dial tone" || st.Reason != "transferred to 1003" {
		t.Fatalf("status %+v", st)
	}
}

// A REFER the UA cannot send fails the transfer at once: the call is
// resumed and the display says why.
func TestFeatureTransferNotSent(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	g.ua.fail["Refer"] = errors.New("REFER: not supported")
	g.do(phone.FunctionKey{Name: phone.FnTransfer})
	g.sip(reinvited("sip-1", 200))
	g.do(keys("1003")...)
	want(t, "refer fails", g.do(phone.FunctionKey{Name: phone.FnTransfer}), "Reinvite sip-1", "SetMix focus=out-1 conf= mute=false")
	if st := g.d.Status(); st.State != "talking" || st.Reason != "transfer failed: REFER: not supported" ||
		st.Display != "[1001 direct] talking 1002 PCMU 00:00 (on hold) (transfer failed: REFER: not supported)" {
		t.Fatalf("status %+v", st)
	}
}

// Attended: the REFER names the consultation call's far end and its
// dialog (Replaces, RFC 3891).
func TestFeatureAttendedTransfer(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	g.do(phone.HookFlash{})
	g.sip(reinvited("sip-1", 200))
	want(t, "consult", g.do(keys("1003#")...), "Dial sip:1003@pbx.test")
	g.sip(answered("sip-2"))
	want(t, "transfer", g.do(phone.FunctionKey{Name: phone.FnTransfer}), "Refer sip-1 sip:1003@pbx.test replaces=sip-2")
	want(t, "done", g.sip(TransferProgress{ID: "sip-1", Code: 200, Final: true}), "Hangup sip-1", "Hangup sip-2")
	if len(g.d.calls) != 0 {
		t.Fatalf("calls left: %v", g.d.calls)
	}
}

// Being transferred: the REFER's target is called with Referred-By; the
// progress goes back by NOTIFY; the answer ends the old call.
func TestFeatureBeingTransferred(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.sip(incoming("x1"))
	g.do(phone.Hook{OffHook: true})
	want(t, "referred", g.sip(Referred{ID: "x1", Target: "sip:1003@pbx.test", ReferredBy: "<sip:1002@pbx.test>"}),
		"DialWith sip:1003@pbx.test by=<sip:1002@pbx.test> replaces=")
	want(t, "180", g.sip(sip.Progress{ID: "sip-1", Code: 180}), "PlayTone ringback", "NotifyRefer x1 180 Ringing")
	want(t, "200", g.sip(answered("sip-1")), "StartLeg out-1 127.0.0.1:41000", "NotifyRefer x1 200 OK", "StopLeg in-x1", "Hangup x1")
	if st := g.d.Status(); len(st.Calls) != 1 || st.Call.Remote != "1003" {
		t.Fatalf("status %+v", st)
	}
}

// Being replaced: an INVITE with Replaces is answered at once and the
// replaced call ends; one naming no dialog of ours gets 481.
func TestFeatureBeingReplaced(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	got := g.sip(withReplaces(incoming("x9"), "sip-1"))
	want(t, "replaces", got, "Answer x9", "StartLeg in-x9 127.0.0.1:40000", "StopLeg out-1", "Hangup sip-1", "SetMix focus=in-x9 conf= mute=false")
	none(t, "replaces", got, "SetRinger")
	want(t, "unknown dialog", g.sip(withReplaces(incoming("x8"), "nope")), "Reject x8 481")
}

// twoCalls: out-1 (1002) held, out-2 (1003) answered and focused.
func (g *glue) twoCalls() {
	g.t.Helper()
	g.talking()
	g.do(phone.HookFlash{})
	g.sip(reinvited("sip-1", 200))
	g.do(keys("1003#")...)
	g.sip(answered("sip-2"))
}

func TestFeatureConference(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.twoCalls()
	want(t, "join", g.do(phone.FunctionKey{Name: phone.FnConference}), "Reinvite sip-1", "SetMix focus=out-2 conf=out-1,out-2 mute=false")
	g.sip(reinvited("sip-1", 200))
	st := g.d.Status()
	if st.Display != "[1001 direct] conference 1002 1003 PCMU 00:00" || !g.callInfo("out-1").Conference || !g.callInfo("out-2").Conference {
		t.Fatalf("status %+v", st)
	}
	want(t, "split", g.do(phone.FunctionKey{Name: phone.FnConference}), "Reinvite sip-1", "Reinvite sip-2", "SetMix focus= conf= mute=false")
	g.sip(reinvited("sip-1", 200), reinvited("sip-2", 200))
	if c := g.callInfo("out-2"); !c.Focused || !c.Held || c.Conference {
		t.Fatalf("after the split %+v", c)
	}
	// Resume the focused one, then join again.
	g.do(phone.FunctionKey{Name: phone.FnHold})
	g.sip(reinvited("sip-2", 200))
	want(t, "join again", g.do(phone.FunctionKey{Name: phone.FnConference}), "Reinvite sip-1", "SetMix focus=out-2 conf=out-1,out-2 mute=false")
	g.sip(reinvited("sip-1", 200))
	want(t, "hang up", g.do(phone.Hook{OffHook: false}), "Hangup sip-1", "Hangup sip-2", "SetRingAtOnce true")
}

func TestFeatureMute(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.talking()
	want(t, "mute", g.do(phone.FunctionKey{Name: phone.FnMute}), "SetMix focus=out-1 conf= mute=true", "SetLamp led_mute on")
	if st := g.d.Status(); !st.Muted || st.Display != "[1001 direct] talking 1002 PCMU 00:00 [muted]" {
		t.Fatalf("status %+v", st)
	}
	want(t, "unmute", g.do(phone.FunctionKey{Name: phone.FnMute}), "SetMix focus=out-1 conf= mute=false", "SetLamp led_mute off")
}

// DTMF goes on the focused call's leg only.
func TestFeatureDTMFFocusedLeg(t *testing.T) {
	g := newGlue(t, phone.DefaultConfig())
	g.twoCalls()
	got := g.do(phone.Key{Key: '3'}, phone.KeyRelease{Key: '3'})
	want(t, "DTMF", got, "StartDTMF out-2 3", "StopDTMF out-2")
	none(t, "DTMF", got, "StartDTMF out-1")
}

// withReplaces is in as an INVITE with Replaces naming call.
func withReplaces(in sip.Incoming, call sip.CallID) sip.Incoming {
	in.Replaces = call
	return in
}
