package phone

import "fmt"

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

// MediaTimeout says no RTP arrived for the configured time.
type MediaTimeout struct{ Call CallRef }

// TimerFired is a timer started by a StartTimer effect falling due.
type TimerFired struct{ Timer TimerID }

func (Hook) event()         {}
func (Key) event()          {}
func (IncomingCall) event() {}
func (CallProgress) event() {}
func (CallAnswered) event() {}
func (CallFailed) event()   {}
func (CallEnded) event()    {}
func (MediaTimeout) event() {}
func (DTMFReceived) event() {}
func (TimerFired) event()   {}

func (e Hook) String() string {
	if e.OffHook {
		return "hook(off)"
	}
	return "hook(on)"
}
func (e Key) String() string          { return fmt.Sprintf("key(%c)", e.Key) }
func (e IncomingCall) String() string { return fmt.Sprintf("incoming(%s from %q)", e.Call, e.From) }
func (e CallProgress) String() string { return fmt.Sprintf("progress(%s %d)", e.Call, e.Code) }
func (e CallAnswered) String() string { return fmt.Sprintf("answered(%s)", e.Call) }
func (e CallFailed) String() string {
	return fmt.Sprintf("failed(%s %d %s)", e.Call, e.Code, e.Reason)
}
func (e CallEnded) String() string    { return fmt.Sprintf("ended(%s %s)", e.Call, e.Reason) }
func (e MediaTimeout) String() string { return fmt.Sprintf("mediatimeout(%s)", e.Call) }
func (e DTMFReceived) String() string { return fmt.Sprintf("dtmf(%s %c)", e.Call, e.Digit) }
func (e TimerFired) String() string   { return fmt.Sprintf("timer(%s)", e.Timer) }

// IsDialKey reports whether k is a key of the dial pad.
func IsDialKey(k byte) bool { return k >= '0' && k <= '9' || k == '*' || k == '#' }
