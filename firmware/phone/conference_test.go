package phone

import "testing"

// twoCalls: out-1 held (complete), out-2 to 1003 answered and focused.
func (x *sc) twoCalls() *sc {
	x.t.Helper()
	return x.talkingOut().do(HookFlash{}).held("out-1").
		do(Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}, Key{'#'}, CallAnswered{Call: "out-2"}).mode(Talking).focus("out-2")
}

func TestConferenceJoinAndHangUp(t *testing.T) {
	x := newSC(t, mcCfg).twoCalls()
	x.do(FunctionKey{FnConference}).has(Reinvite{Call: "out-1", Direction: "sendrecv"},
		SetMix{Focus: "out-2", Conference: []CallRef{"out-1", "out-2"}}).lacks(Reinvite{Call: "out-2", Direction: "sendrecv"})
	if !x.call("out-1").Conference || !x.call("out-2").Conference {
		t.Fatalf("calls %+v", x.s.Calls)
	}
	x.do(Reinvited{Call: "out-1", Code: 200})
	// DTMF goes to the focused call only; hold is ignored in a conference.
	x.do(Key{'5'}).has(SendDTMF{Call: "out-2", Key: '5'}).lacks(SendDTMF{Call: "out-1"})
	x.do(FunctionKey{FnHold}).lacks(Reinvite{Call: "out-1", Direction: "sendonly"})
	// Hanging up ends every member.
	x.do(Hook{false}).mode(Idle).has(Hangup{"out-1"}, Hangup{"out-2"}, SetMix{}).gone("out-1").gone("out-2")
}

func TestConferenceSplit(t *testing.T) {
	x := newSC(t, mcCfg).twoCalls()
	x.do(FunctionKey{FnConference}, Reinvited{Call: "out-1", Code: 200})
	x.do(FunctionKey{FnConference}).focus("out-2").mode(Talking).
		has(Reinvite{Call: "out-1", Direction: "sendonly"}, Reinvite{Call: "out-2", Direction: "sendonly"}, SetMix{})
	if x.call("out-1").Conference || x.call("out-2").Conference {
		t.Fatalf("still a conference: %+v", x.s.Calls)
	}
	// Both held, the last one focused: the hold key resumes it.
	x.held("out-1").held("out-2")
	x.do(FunctionKey{FnHold}).has(Reinvite{Call: "out-2", Direction: "sendrecv"}, SetMix{Focus: "out-2"})
}

// A member hanging up leaves the other as an ordinary call, focused.
func TestConferenceMemberLeaves(t *testing.T) {
	x := newSC(t, mcCfg).twoCalls()
	x.do(FunctionKey{FnConference}, Reinvited{Call: "out-1", Code: 200})
	x.do(CallEnded{Call: "out-2", Reason: "bye"}).mode(Talking).focus("out-1").has(StopMedia{"out-2"}, SetMix{Focus: "out-1"})
	if x.call("out-1").Conference {
		t.Fatal("a conference of one")
	}
	y := newSC(t, mcCfg).twoCalls()
	y.do(FunctionKey{FnConference}, Reinvited{Call: "out-1", Code: 200})
	y.do(CallEnded{Call: "out-1", Reason: "bye"}).mode(Talking).focus("out-2").has(SetMix{Focus: "out-2"})
}

func TestConferenceKeyIgnored(t *testing.T) {
	// One call only.
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnConference}).has(Ignored{Event: FunctionKey{FnConference}, Mode: Talking})
	// The held call's hold not answered yet.
	y := newSC(t, mcCfg).talkingOut().do(HookFlash{}, Key{'1'}, Key{'#'}, CallAnswered{Call: "out-2"})
	y.do(FunctionKey{FnConference}).has(Ignored{Event: FunctionKey{FnConference}, Mode: Talking})
}
