package phone

import "testing"

func TestMute(t *testing.T) {
	x := newSC(t, mcCfg)
	x.do(FunctionKey{FnMute}).has(Ignored{Event: FunctionKey{FnMute}, Mode: Idle}) // no call
	x.talkingOut()
	x.do(FunctionKey{FnMute}).has(SetMix{Focus: "out-1", Mute: true}, SetLamp{LampMute, LampOn})
	if !x.s.MicMuted() {
		t.Fatal("not muted")
	}
	x.do(FunctionKey{FnMute}).has(SetMix{Focus: "out-1"}, SetLamp{LampMute, LampOff})
	// Muted when the last call ends: reset, lamp off.
	x.do(FunctionKey{FnMute}, CallEnded{Call: "out-1"}).has(SetLamp{LampMute, LampOff})
	if x.s.MicMuted() {
		t.Fatal("still muted without a call")
	}
}

// DTMF goes to the focused call only, never to a held one, and not while
// the focused call is held.
func TestDTMFToFocusedCallOnly(t *testing.T) {
	x := newSC(t, mcCfg).twoCalls()
	x.do(Key{'7'}).has(SendDTMF{Call: "out-2", Key: '7'}).lacks(SendDTMF{Call: "out-1"})
	x.do(KeyRelease{Key: '7'}).has(StopDTMF{"out-2"})
	x.do(FunctionKey{FnHold}, Key{'8'}).lacks(SendDTMF{Call: "out-2"}).lacks(SendDTMF{Call: "out-1"})
}

// Mute is per call: muting the focused call leaves the other one as it
// was; swapping to the other call brings its own mute (and lamp), and the
// muted call keeps its mute while held.
func TestMutePerCall(t *testing.T) {
	x := newSC(t, mcCfg).twoCalls()
	focus := x.s.Focus
	x.do(FunctionKey{FnMute}).has(SetLamp{LampMute, LampOn})
	if !x.s.MicMuted() || !x.s.Call().Muted {
		t.Fatal("the focused call is not muted")
	}
	x.do(HookFlash{}).has(SetLamp{LampMute, LampOff}) // swap to the other call
	if x.s.Focus == focus || x.s.Focus == "" {
		t.Fatalf("flash did not swap: focus %q", x.s.Focus)
	}
	if x.s.MicMuted() {
		t.Fatalf("the other call is muted too (focus %q)", x.s.Focus)
	}
	if c := x.s.Get(focus); c == nil || !c.Muted {
		t.Fatalf("the held call lost its mute: %+v", c)
	}
}
