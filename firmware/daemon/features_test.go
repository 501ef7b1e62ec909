package daemon

// The several-call features through the loop, over the fakes of
// glue_test.go: what the UA and the engine are asked, and the status.

import (
	"errors"
	"net/netip"
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
