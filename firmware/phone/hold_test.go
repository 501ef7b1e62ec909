package phone

import "testing"

// RFC 3264 §8.4: hold is a re-INVITE sendonly; its 2xx completes it; the
// hold key again resumes with sendrecv.
func TestHoldAndResume(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnHold}).has(Reinvite{Call: "out-1", Direction: "sendonly"}, SetMix{}, SetLamp{LampLine, LampFast})
	if c := x.call("out-1"); c.Hold != Holding {
		t.Fatalf("hold %s, want holding", c.Hold)
	}
	// Pressing hold again while the re-INVITE is out does nothing: never
	// a sendrecv by accident.
	x.do(FunctionKey{FnHold}).lacks(Reinvite{Call: "out-1", Direction: "sendrecv"})
	x.held("out-1").has(UpdateMedia{Call: "out-1", Send: true})
	// Resuming, the handset hears the call at once.
	x.do(FunctionKey{FnHold}).has(Reinvite{Call: "out-1", Direction: "sendrecv"}, SetMix{Focus: "out-1"})
	x.do(FunctionKey{FnHold}).lacks(Reinvite{Call: "out-1", Direction: "sendonly"}) // resume still out
	x.do(Reinvited{Call: "out-1", Code: 200}).has(SetLamp{LampLine, LampOn})
	if c := x.call("out-1"); c.Hold != NotHeld {
		t.Fatalf("hold %s after resume", c.Hold)
	}
}

// When the far end already holds us, our hold is inactive, not sendonly.
func TestHoldWhenHeldByRemote(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(RemoteHold{Call: "out-1", Held: true}).has(UpdateMedia{Call: "out-1", Send: false})
	x.do(FunctionKey{FnHold}).has(Reinvite{Call: "out-1", Direction: "inactive"})
	x.held("out-1").has(UpdateMedia{Call: "out-1", Send: false})
}

// A refused hold (488) leaves the call talking and says why.
func TestHoldRefused(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnHold}, Reinvited{Call: "out-1", Code: 488, Reason: "Not Acceptable Here"}).has(SetMix{Focus: "out-1"})
	if c := x.call("out-1"); c.Hold != NotHeld || x.s.Reason != "hold failed: 488 Not Acceptable Here" {
		t.Fatalf("after a refused hold: %+v %q", c, x.s.Reason)
	}
	// A Reinvited nobody asked for is ignored.
	x.do(Reinvited{Call: "out-1", Code: 200}).has(Ignored{Event: Reinvited{Call: "out-1", Code: 200}, Mode: Talking})
}

// A held call keeps its timers: the media check re-arms a whole timeout,
// never hangs up.
func TestHeldCallKeepsMediaTimer(t *testing.T) {
	cfg := mcCfg
	cfg.MediaTimeout = 30e9
	x := newSC(t, cfg).talkingOut()
	x.do(FunctionKey{FnHold}).held("out-1")
	x.do(TimerFired{Timer: TimerMedia, Call: "out-1"}).has(CheckMedia{"out-1"})
	x.do(MediaSilence{Call: "out-1", Silent: 10 * 60e9}).has(StartTimer{Timer: TimerMedia, Call: "out-1", After: 30e9}).mode(Talking)
	// Resumed, the same silence hangs up.
	x.do(FunctionKey{FnHold}, Reinvited{Call: "out-1", Code: 200})
	x.do(MediaSilence{Call: "out-1", Silent: 31e9}).has(StopMedia{"out-1"}, Hangup{"out-1"}).mode(Congestion)
}

// Hold from dial tone after a flash goes back to the held call.
func TestHoldKeyBackToHeld(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(HookFlash{}).mode(DialTone).has(Reinvite{Call: "out-1", Direction: "sendonly"}, PlayTone{ToneDial})
	x.held("out-1")
	x.do(Key{'5'}).mode(Dialing)
	x.do(FunctionKey{FnHold}).mode(Talking).focus("out-1").has(PlayTone{ToneNone}, Reinvite{Call: "out-1", Direction: "sendrecv"})
}
