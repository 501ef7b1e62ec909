package phone

import (
	"fmt"
	"time"
)

// Event is anything the phone reacts to.
type Event interface{ event() }

// Hook is the hook switch (or the speaker key) changing.
type Hook struct{ OffHook bool }

// Key is a keypad key: '0'-'9', '*' or '#'.
type Key struct{ Key byte }

// IncomingCall is a new INVITE for the phone (RFC 3261 §13.3.1).
type IncomingCall struct {
	Call CallRef
	From string
	// AlertInfo selects a distinctive ring (RFC 3261 §20.4); "" = default.
	AlertInfo string
	// Replaces names the call this INVITE replaces (RFC 3891 §3); "" for
	// an ordinary call.
	Replaces CallRef
}

// CallProgress is a provisional response (180, 183) to our INVITE.
type CallProgress struct {
	Call CallRef
	Code int
	// EarlyMedia: the response carried SDP, the far end sends the sound
	// to hear (RFC 3960), so it replaces local ringback.
	EarlyMedia bool
}

// CallAnswered is the 200 OK to our INVITE; it has been ACKed.
type CallAnswered struct{ Call CallRef }

// CallFailed is a final non-2xx answer to our INVITE, or no answer at all.
type CallFailed struct {
	Call   CallRef
	Code   int
	Reason string
}

// CallEnded is the end of a call by the far end or the network: BYE, a
// CANCEL of an incoming call, a missing ACK.
type CallEnded struct {
	Call   CallRef
	Reason string
}

// DTMFReceived is a digit the far end sent (RFC 4733 event or SIP INFO).
type DTMFReceived struct {
	Call  CallRef
	Digit byte
}

// MediaSilence answers a CheckMedia effect: how long the call has
// received no RTP (since it was answered, or since its last packet).
type MediaSilence struct {
	Call   CallRef
	Silent time.Duration
}

// RemoteHold is the far end changing the call's media by a re-INVITE or
// UPDATE: Held when its SDP is sendonly or inactive (RFC 3264 §8.4).
type RemoteHold struct {
	Call CallRef
	Held bool
}

// Reinvited is the answer to our re-INVITE (hold or resume): Code 2xx
// completes it, anything else leaves the session as it was.
type Reinvited struct {
	Call   CallRef
	Code   int
	Reason string
}

// TransferProgress is the progress of a REFER we sent (RFC 3515): from
// the REFER's own failure, or a NOTIFY's message/sipfrag. Only Final
// decides the outcome (the 202 does not).
type TransferProgress struct {
	Call   CallRef
	Code   int
	Reason string
	Final  bool
}

// Referred is an in-dialog REFER the far end sent us, accepted with 202
// (RFC 3515 §2.4.2): place a call to Target.
type Referred struct {
	Call       CallRef
	Target     string // the Refer-To URI
	ReferredBy string // for the new INVITE's Referred-By (RFC 3892)
	Replaces   string // the Refer-To's Replaces, for the new INVITE (RFC 3891)
}

// TimerFired is a timer started by a StartTimer effect falling due.
type TimerFired struct {
	Timer TimerID
	Call  CallRef // "" for the handset's timers
}

func (Hook) event()             {}
func (Key) event()              {}
func (IncomingCall) event()     {}
func (CallProgress) event()     {}
func (CallAnswered) event()     {}
func (CallFailed) event()       {}
func (CallEnded) event()        {}
func (MediaSilence) event()     {}
func (DTMFReceived) event()     {}
func (TimerFired) event()       {}
func (RemoteHold) event()       {}
func (Reinvited) event()        {}
func (TransferProgress) event() {}
func (Referred) event()         {}

func (e Hook) String() string {
	if e.OffHook {
		return "hook(off)"
	}
	return "hook(on)"
}
func (e Key) String() string { return fmt.Sprintf("key(%c)", e.Key) }
func (e IncomingCall) String() string {
	if e.Replaces != "" {
		return fmt.Sprintf("incoming(%s from %q replaces %s)", e.Call, e.From, e.Replaces)
	}
	return fmt.Sprintf("incoming(%s from %q)", e.Call, e.From)
}
func (e CallProgress) String() string { return fmt.Sprintf("progress(%s %d)", e.Call, e.Code) }
func (e CallAnswered) String() string { return fmt.Sprintf("answered(%s)", e.Call) }
func (e CallFailed) String() string {
	return fmt.Sprintf("failed(%s %d %s)", e.Call, e.Code, e.Reason)
}
func (e CallEnded) String() string    { return fmt.Sprintf("ended(%s %s)", e.Call, e.Reason) }
func (e MediaSilence) String() string { return fmt.Sprintf("silence(%s %s)", e.Call, e.Silent) }
func (e DTMFReceived) String() string { return fmt.Sprintf("dtmf(%s %c)", e.Call, e.Digit) }
func (e RemoteHold) String() string   { return fmt.Sprintf("remotehold(%s %t)", e.Call, e.Held) }
func (e Reinvited) String() string    { return fmt.Sprintf("reinvited(%s %d)", e.Call, e.Code) }
func (e TransferProgress) String() string {
	return fmt.Sprintf("transfer(%s %d final=%t)", e.Call, e.Code, e.Final)
}
func (e Referred) String() string { return fmt.Sprintf("referred(%s to %s)", e.Call, e.Target) }
func (e TimerFired) String() string {
	if e.Call != "" {
		return fmt.Sprintf("timer(%s %s)", e.Timer, e.Call)
	}
	return fmt.Sprintf("timer(%s)", e.Timer)
}

// IsDialKey reports whether k is a key of the dial pad.
func IsDialKey(k byte) bool { return k >= '0' && k <= '9' || k == '*' || k == '#' }

// callOf returns the call an event is about.
func callOf(ev Event) (CallRef, bool) {
	switch e := ev.(type) {
	case IncomingCall:
		return e.Call, true
	case CallProgress:
		return e.Call, true
	case CallAnswered:
		return e.Call, true
	case CallFailed:
		return e.Call, true
	case CallEnded:
		return e.Call, true
	case MediaSilence:
		return e.Call, true
	case DTMFReceived:
		return e.Call, true
	case RemoteHold:
		return e.Call, true
	case Reinvited:
		return e.Call, true
	case TransferProgress:
		return e.Call, true
	case Referred:
		return e.Call, true
	case TimerFired:
		return e.Call, e.Call != ""
	}
	return "", false
}
