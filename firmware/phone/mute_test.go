package phone

import "testing"

func TestMute(t *testing.T) {
	x := newSC(t, mcCfg)
	x.do(FunctionKey{FnMute}).has(Ignored{Event: FunctionKey{FnMute}, Mode: Idle}) // no call
	x.talkingOut()
	x.do(FunctionKey{FnMute}).has(SetMix{Focus: "out-1", Mute: true}, SetLamp{LampMute, LampOn})
	if !x.s.Muted {
		t.Fatal("not muted")
	}
	x.do(FunctionKey{FnMute}).has(SetMix{Focus: "out-1"}, SetLamp{LampMute, LampOff})
	// Muted when the last call ends: reset, lamp off.
	x.do(FunctionKey{FnMute}, CallEnded{Call: "out-1"}).has(SetLamp{LampMute, LampOff})
	if x.s.Muted {
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
