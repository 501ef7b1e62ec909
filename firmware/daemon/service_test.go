package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/sip"
)

func (e *fakeEngine) StartEchoLeg(id string, delay time.Duration) error {
	e.add("StartEchoLeg %s %s", id, delay)
	return nil
}

func (e *fakeEngine) StartToneLeg(id string, t tone.Tone) error {
	e.add("StartToneLeg %s %s", id, t)
	return nil
}

func serviceCfg() phone.Config {
	c := phone.DefaultConfig()
	c.Services = map[string]phone.Service{"*43": phone.ServiceEcho, "*44": phone.ServiceTone}
	return c
}

// The echo test: no SIP at all, the engine's echo leg with a 1 s delay,
// the status and display show "Echo test"; a call arriving meanwhile
// waits, the hold key answers it and the echo call's hold is answered
// by the loop itself; hanging up stops the leg and sends no BYE.
func TestGlueEchoTest(t *testing.T) {
	g := newGlue(t, serviceCfg())
	g.do(phone.Hook{OffHook: true})
	got := g.do(keys("*43")...)
	want(t, "*43", got, "StopTone", "StartEchoLeg svc-1 1s", "SetMix focus=svc-1 conf= mute=false")
	none(t, "*43", got, "Dial")
	st := g.d.Status()
	if st.State != "talking" || st.Call == nil || st.Call.Remote != "Echo test" || st.Call.Codec != "local" || st.Call.Media != nil || st.Call.Quality != nil {
		t.Fatalf("status %+v call %+v", st, st.Call)
	}
	if !strings.Contains(st.Display, "talking Echo test local 00:00") {
		t.Fatalf("display %q", st.Display)
	}
	none(t, "key", g.do(phone.Key{Key: '5'}), "StartDTMF")

	got = g.sip(incoming("x1"))
	want(t, "waiting", got, "Ring x1", "PlayTone call-waiting")
	got = g.do(phone.FunctionKey{Name: phone.FnHold})
	want(t, "answer the waiting call", got, "Answer x1", "StartLeg in-x1 127.0.0.1:40000", "SetMix focus=in-x1 conf= mute=false")
	none(t, "hold the echo test", got, "Reinvite")
	if c := g.d.state.Get("svc-1"); c == nil || c.Hold != phone.Held {
		t.Fatalf("echo call after the hold key: %+v", c)
	}
	if st := g.d.Status(); !strings.Contains(st.Display, "held: Echo test") {
		t.Fatalf("display %q", st.Display)
	}
	// Back to it: the waiting caller hangs up, the hold key resumes.
	g.sip(sip.Ended{ID: "x1", Reason: "bye", Remote: true})
	g.do(phone.Hook{OffHook: false}, phone.Hook{OffHook: true})
	got = g.do(phone.FunctionKey{Name: phone.FnHold})
	want(t, "resume", got, "SetMix focus=svc-1 conf= mute=false")
	if c := g.d.state.Get("svc-1"); c == nil || c.Hold != phone.NotHeld {
		t.Fatalf("echo call after resuming: %+v", c)
	}
	got = g.do(phone.Hook{OffHook: false})
	want(t, "hang up", got, "StopLeg svc-1", "SetMix focus= conf= mute=false")
	none(t, "hang up", got, "Hangup")
	if st := g.d.Status(); st.LastCall == nil || st.LastCall.Remote != "Echo test" {
		t.Fatalf("last call %+v", st.LastCall)
	}
}

// The tone test plays one cycle of the plan's ringback, then 1004 Hz.
func TestGlueToneTest(t *testing.T) {
	g := newGlue(t, serviceCfg())
	g.do(phone.Hook{OffHook: true})
	rb := tone.US["ringback"].String()
	want(t, "*44", g.do(keys("*44")...), "StartToneLeg svc-1 "+rb+",1004/0")
	if st := g.d.Status(); st.Call == nil || st.Call.Remote != "Tone test" {
		t.Fatalf("status %+v", st.Call)
	}
	none(t, "shutdown", g.do(phone.Hook{OffHook: false}), "Hangup")
}
