package phone

import "testing"

// Blind transfer: transfer key, number, '#'. The REFER waits for the hold
// to complete (RFC 5589 §7); only the final progress counts.
func TestBlindTransfer(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}).mode(DialTone).focus("").has(Reinvite{Call: "out-1", Direction: "sendonly"}, PlayTone{ToneDial})
	x.do(Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}).mode(Dialing)
	x.do(Key{'#'}).mode(Talking).focus("out-1").lacks(Refer{Call: "out-1"}) // the hold is not answered yet
	if x.s.Xfer.Phase != XferWaitHold || x.s.Reason != "transferring to 1003" {
		t.Fatalf("transfer %+v reason %q", x.s.Xfer, x.s.Reason)
	}
	x.do(Reinvited{Call: "out-1", Code: 200}).has(Refer{Call: "out-1", Number: "1003"})
	x.do(TransferProgress{Call: "out-1", Code: 202, Reason: "Accepted"}).mode(Talking) // not final: nothing
	x.do(TransferProgress{Call: "out-1", Code: 100, Reason: "Trying"}).mode(Talking)
	x.do(TransferProgress{Call: "out-1", Code: 200, Reason: "OK", Final: true}).
		has(StopMedia{"out-1"}, Hangup{"out-1"}).gone("out-1").mode(DialTone)
	if x.s.Reason != "transferred to 1003" {
		t.Fatalf("reason %q", x.s.Reason)
	}
}

// The target busy: the final NOTIFY says 486; the original call is resumed
// and the display says why.
func TestBlindTransferFails(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}).held("out-1")
	x.do(Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}, FunctionKey{FnTransfer}).has(Refer{Call: "out-1", Number: "1003"})
	x.do(TransferProgress{Call: "out-1", Code: 486, Reason: "Busy Here", Final: true}).
		mode(Talking).focus("out-1").has(Reinvite{Call: "out-1", Direction: "sendrecv"}, SetMix{Focus: "out-1"})
	if x.s.Reason != "transfer failed: 486 Busy Here" || x.s.Xfer.Phase != XferNone {
		t.Fatalf("reason %q transfer %+v", x.s.Reason, x.s.Xfer)
	}
	// A late progress of the finished transfer is ignored.
	x.do(TransferProgress{Call: "out-1", Code: 200, Final: true}).has(Ignored{Event: TransferProgress{Call: "out-1", Code: 200, Final: true}, Mode: Talking})
}

// The transfer key with nothing dialled abandons the transfer.
func TestTransferAbandoned(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}).held("out-1")
	x.do(FunctionKey{FnTransfer}).mode(Talking).focus("out-1").has(Reinvite{Call: "out-1", Direction: "sendrecv"})
	if x.s.Xfer.Phase != XferNone {
		t.Fatalf("transfer %+v", x.s.Xfer)
	}
	// Hanging up while dialling the target leaves the call held.
	x.do(Reinvited{Call: "out-1", Code: 200}, FunctionKey{FnTransfer}, Hook{false}).mode(Idle)
	if c := x.call("out-1"); !c.OnHold() || x.s.Xfer.Phase != XferNone {
		t.Fatalf("call %+v transfer %+v", c, x.s.Xfer)
	}
}

// Attended: transfer key, the target's number dialled to the end (the
// inter-digit timer), a consultation call, then the transfer key joins
// them: REFER with Replaces naming the consultation call (RFC 5589 §7).
func TestAttendedTransfer(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}, Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}, TimerFired{Timer: TimerInterDigit}).
		mode(Calling).focus("out-2").has(Dial{Call: "out-2", Number: "1003"})
	if x.s.Xfer.Phase != XferConsulting || x.s.Xfer.Consult != "out-2" {
		t.Fatalf("transfer %+v", x.s.Xfer)
	}
	x.held("out-1")
	x.do(CallAnswered{Call: "out-2"}).mode(Talking).focus("out-2")
	x.do(FunctionKey{FnTransfer}).has(Refer{Call: "out-1", Consult: "out-2"})
	x.do(TransferProgress{Call: "out-1", Code: 200, Final: true}).has(Hangup{"out-1"}, Hangup{"out-2"}).gone("out-1").gone("out-2").mode(DialTone)
	if x.s.Reason != "transferred to 1003" {
		t.Fatalf("reason %q", x.s.Reason)
	}
}

// Attended after a hook flash, the REFER waiting for the hold's answer.
func TestAttendedTransferAfterFlash(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(HookFlash{}, Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}, Key{'#'}, CallAnswered{Call: "out-2"}).focus("out-2")
	x.do(FunctionKey{FnTransfer}).lacks(Refer{Call: "out-1"})
	x.do(Reinvited{Call: "out-1", Code: 200}).has(Refer{Call: "out-1", Consult: "out-2"})
	// The transferee refuses: stay with the target, the transferee held.
	x.do(TransferProgress{Call: "out-1", Code: 603, Reason: "Decline", Final: true}).focus("out-2").mode(Talking)
	if c := x.call("out-1"); c.Hold != Held || x.s.Reason != "transfer failed: 603 Decline" {
		t.Fatalf("call %+v reason %q", c, x.s.Reason)
	}
}

// Semi-attended: the target still ringing, the transfer goes blind to it.
func TestSemiAttendedTransfer(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}).held("out-1")
	x.do(Key{'1'}, Key{'0'}, Key{'0'}, Key{'3'}, TimerFired{Timer: TimerInterDigit}, CallProgress{Call: "out-2", Code: 180})
	x.do(FunctionKey{FnTransfer}).has(Hangup{"out-2"}, Refer{Call: "out-1", Number: "1003"}).gone("out-2").focus("out-1")
}

// Being transferred: the far end's REFER (accepted by the UA) places a
// call with Referred-By; its progress goes back by NOTIFY; its answer
// ends the old call.
func TestBeingTransferred(t *testing.T) {
	x := newSC(t, mcCfg).do(IncomingCall{Call: "c1", From: "1002"}, Hook{true}).mode(Talking)
	x.do(Referred{Call: "c1", Target: "sip:1003@pbx.test", ReferredBy: "<sip:1002@pbx.test>"}).
		mode(Calling).focus("out-1").has(Dial{Call: "out-1", Target: "sip:1003@pbx.test", ReferredBy: "<sip:1002@pbx.test>"})
	if c := x.call("out-1"); c.Remote != "1003" || c.ReferredBy != "c1" {
		t.Fatalf("new call %+v", c)
	}
	x.do(CallProgress{Call: "out-1", Code: 180}).has(PlayTone{ToneRingback}, NotifyRefer{Call: "c1", Code: 180, Reason: "Ringing"})
	x.do(CallAnswered{Call: "out-1"}).mode(Talking).focus("out-1").
		has(StartMedia{"out-1"}, NotifyRefer{Call: "c1", Code: 200, Reason: "OK"}, StopMedia{"c1"}, Hangup{"c1"}).gone("c1")
}

func TestBeingTransferredFails(t *testing.T) {
	x := newSC(t, mcCfg).do(IncomingCall{Call: "c1", From: "1002"}, Hook{true})
	x.do(Referred{Call: "c1", Target: "sip:1003@pbx.test"}, CallFailed{Call: "out-1", Code: 486, Reason: "Busy Here"}).
		has(NotifyRefer{Call: "c1", Code: 486, Reason: "Busy Here"}).mode(Talking).focus("c1").gone("out-1")
	// A REFER on a call not answered yet: 503 in the NOTIFY, nothing placed.
	y := newSC(t, mcCfg).do(IncomingCall{Call: "c1", From: "1002"})
	y.do(Referred{Call: "c1", Target: "sip:1003@pbx.test"}).has(NotifyRefer{Call: "c1", Code: 503, Reason: "Service Unavailable"}).lacks(Dial{Call: "out-1"})
}

// Being replaced (RFC 3891 §3): answered at once, the replaced call ends,
// the new one takes its focus.
func TestBeingReplaced(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(IncomingCall{Call: "c9", From: "1003", Replaces: "out-1"}).mode(Talking).focus("c9").
		has(Answer{"c9"}, StartMedia{"c9"}, StopMedia{"out-1"}, Hangup{"out-1"}, SetMix{Focus: "c9"}).gone("out-1").lacks(Ringer{})
	// Replaces naming no call of ours, or one not answered: 481.
	x.do(IncomingCall{Call: "c8", From: "1003", Replaces: "nope"}).has(Reject{Call: "c8", Code: 481, Reason: "Call/Transaction Does Not Exist"}).gone("c8")
}

// While the REFER is out the transferee stays held: hold and flash do
// nothing, and hanging up leaves the outcome to come.
func TestTransferSentKeepsTransfereeHeld(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}).held("out-1").do(Key{'7'}, Key{'#'}).has(Refer{Call: "out-1", Number: "7"})
	x.do(FunctionKey{FnHold}).lacks(Reinvite{Call: "out-1", Direction: "sendrecv"})
	x.do(HookFlash{}).lacks(Reinvite{Call: "out-1", Direction: "sendrecv"})
	x.do(Hook{false}).mode(Idle).lacks(Hangup{"out-1"})
	x.do(TransferProgress{Call: "out-1", Code: 200, Final: true}).has(Hangup{"out-1"}).gone("out-1").mode(Idle)
	// On failure with the handset down the call stays held and the
	// display says why.
	y := newSC(t, mcCfg).talkingOut()
	y.do(FunctionKey{FnTransfer}).held("out-1").do(Key{'7'}, Key{'#'}, Hook{false})
	y.do(TransferProgress{Call: "out-1", Code: 404, Reason: "Not Found", Final: true}).mode(Idle).lacks(Reinvite{Call: "out-1", Direction: "sendrecv"})
	if c := y.call("out-1"); c.Hold != Held || y.s.Reason != "transfer failed: 404 Not Found" {
		t.Fatalf("call %+v reason %q", c, y.s.Reason)
	}
}

// The transferee's hold refused while the target is being dialled: the
// transfer is abandoned and the handset goes back to the call (found by
// FuzzStep: the transfer key then named a call that was not held).
func TestTransferHoldRefused(t *testing.T) {
	x := newSC(t, mcCfg).talkingOut()
	x.do(FunctionKey{FnTransfer}, Key{'7'}, Reinvited{Call: "out-1", Code: 491, Reason: "Request Pending"}).
		mode(Talking).focus("out-1").has(PlayTone{ToneNone}, SetMix{Focus: "out-1"})
	if x.s.Xfer.Phase != XferNone || x.s.Reason != "transfer failed: hold failed: 491 Request Pending" {
		t.Fatalf("transfer %+v reason %q", x.s.Xfer, x.s.Reason)
	}
	x.do(FunctionKey{FnTransfer}).mode(DialTone) // a new attempt works
}
