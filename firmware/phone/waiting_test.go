package phone

import "testing"

func TestCallWaitingFlashAnswersAndSwaps(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(IncomingCall{Call: "c2", From: "Carol <1003>"}).mode(Talking).focus("out-1").
		has(SendRinging{"c2"}, PlayTone{ToneCallWaiting}, StartTimer{Timer: TimerNoAnswer, Call: "c2", After: mcCfg.NoAnswer}).
		lacks(Ringer{})
	if c := x.call("c2"); c.Phase != PhaseRinging {
		t.Fatalf("waiting call %+v", c)
	}
	// Flash answers it and holds the first.
	x.do(HookFlash{}).focus("c2").mode(Talking).
		has(PlayTone{ToneNone}, Reinvite{Call: "out-1", Direction: "sendonly"}, StopTimer{Timer: TimerNoAnswer, Call: "c2"},
			Answer{"c2"}, StartMedia{"c2"}, SetMix{Focus: "c2"})
	x.held("out-1")
	// Flash again swaps.
	x.do(HookFlash{}).focus("out-1").
		has(Reinvite{Call: "c2", Direction: "sendonly"}, Reinvite{Call: "out-1", Direction: "sendrecv"}, SetMix{Focus: "out-1"})
	x.held("c2").do(Reinvited{Call: "out-1", Code: 200})
	x.do(HookFlash{}).focus("c2").has(Reinvite{Call: "out-1", Direction: "sendonly"}, Reinvite{Call: "c2", Direction: "sendrecv"})
	// Hanging up ends the focused call only; the held one stays.
	x.do(Reinvited{Call: "out-1", Code: 200}, Reinvited{Call: "c2", Code: 200})
	x.do(Hook{false}).mode(Idle).has(StopMedia{"c2"}, Hangup{"c2"}).gone("c2")
	if c := x.call("out-1"); c.Hold != Held {
		t.Fatalf("held call after hang-up %+v", c)
	}
	// Lifting gives dial tone; the hold key goes back to it.
	x.do(Hook{true}).mode(DialTone)
	x.do(FunctionKey{FnHold}).mode(Talking).focus("out-1").has(Reinvite{Call: "out-1", Direction: "sendrecv"})
}

func TestCallWaitingHoldKeyAnswers(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(IncomingCall{Call: "c2", From: "1003"}, FunctionKey{FnHold}).focus("c2").has(Answer{"c2"}, Reinvite{Call: "out-1", Direction: "sendonly"})
}

func TestCallWaitingEnds(t *testing.T) {
	// The caller gives up: the tone stops.
	x := newSC(t, mcCfg).talkingOut()
	x.do(IncomingCall{Call: "c2", From: "1003"}, CallEnded{Call: "c2", Reason: "cancelled"}).
		has(PlayTone{ToneNone}, StopTimer{Timer: TimerNoAnswer, Call: "c2"}).gone("c2").mode(Talking).focus("out-1")
	// Not answered in time: 480.
	x.do(IncomingCall{Call: "c3", From: "1003"}, TimerFired{Timer: TimerNoAnswer, Call: "c3"}).
		has(PlayTone{ToneNone}, Reject{Call: "c3", Code: 480, Reason: "Temporarily Unavailable"}).gone("c3").focus("out-1")
	// Hanging up with a call waiting: it rings.
	x.do(IncomingCall{Call: "c4", From: "1003"}, Hook{false}).mode(Ringing).focus("c4").has(Hangup{"out-1"}, Ringer{On: true}, SetLamp{LampLine, LampBlink})
	x.do(Hook{true}).mode(Talking).focus("c4").has(Answer{"c4"})
}

func TestCallWaitingRefused(t *testing.T) {
	busy := Reject{Call: "c2", Code: 486, Reason: "Busy Here"}
	// phone.call_waiting = false.
	cfg := mcCfg
	cfg.CallWaiting = false
	newSC(t, cfg).talkingOut().do(IncomingCall{Call: "c2", From: "1003"}).has(busy).gone("c2")
	// One waiting call at a time.
	newSC(t, mcCfg).talkingOut().do(IncomingCall{Call: "c3", From: "1004"}, IncomingCall{Call: "c2", From: "1003"}).has(busy).gone("c2")
	// MaxCalls.
	cfg = mcCfg
	cfg.MaxCalls = 1
	newSC(t, cfg).talkingOut().do(IncomingCall{Call: "c2", From: "1003"}).has(busy).gone("c2")
	// Dial tone with no call: busy, as before call waiting.
	newSC(t, mcCfg).do(Hook{true}, IncomingCall{Call: "c2", From: "1003"}).has(busy).gone("c2")
	// Still calling out: busy.
	newSC(t, mcCfg).do(Hook{true}, Key{'1'}, Key{'#'}, IncomingCall{Call: "c2", From: "1003"}).has(busy).gone("c2")
}
