package phone

import (
	"fmt"
	"time"
)

// Effect is something the daemon must do after a step. Effects are carried
// out in order.
type Effect interface{ effect() }

// PlayTone plays a call-progress tone on the handset; ToneNone stops it.
type PlayTone struct{ Tone Tone }

// Ringer turns the ringer on or off. Pattern is the Alert-Info of the call
// being announced ("" = the default ring); the board picks the cadence.
type Ringer struct {
	On      bool
	Pattern string
}

// Dial places an outgoing call to Number (RFC 3261 §13.2).
type Dial struct {
	Call   CallRef
	Number string
}

// SendRinging sends 180 Ringing for an incoming call (RFC 3261 §13.3.1.1).
type SendRinging struct{ Call CallRef }

// Answer sends 200 OK with the SDP answer (RFC 3261 §13.3.1.4).
type Answer struct{ Call CallRef }

// Reject sends a final non-2xx response to an incoming call.
type Reject struct {
	Call   CallRef
	Code   int
	Reason string
}

// Hangup ends a call: BYE when established, CANCEL when ours and unanswered.
type Hangup struct{ Call CallRef }

// SendDTMF starts the telephone-event of a key pressed during a call
// (RFC 4733), or sends it by SIP INFO when the peer did not negotiate
// telephone-event. StopDTMF ends it when the key is released.
type SendDTMF struct {
	Call CallRef
	Key  byte
}

// StopDTMF ends the telephone-event of the key that was pressed.
type StopDTMF struct{ Call CallRef }

// StartMedia starts the RTP stream of an answered call.
type StartMedia struct{ Call CallRef }

// StopMedia stops the RTP stream of a call.
type StopMedia struct{ Call CallRef }

// StartTimer (re)starts a timer.
type StartTimer struct {
	Timer TimerID
	After time.Duration
}

// StopTimer cancels a timer; a stopped timer never fires.
type StopTimer struct{ Timer TimerID }

// Ignored reports an event that has no meaning in the current state. The
// loop logs it; nothing else changes.
type Ignored struct {
	Event Event
	Mode  Mode
}

func (PlayTone) effect()    {}
func (Ringer) effect()      {}
func (Dial) effect()        {}
func (SendRinging) effect() {}
func (Answer) effect()      {}
func (Reject) effect()      {}
func (Hangup) effect()      {}
func (StartMedia) effect()  {}
func (SendDTMF) effect()    {}
func (StopDTMF) effect()    {}
func (StopMedia) effect()   {}
func (StartTimer) effect()  {}
func (StopTimer) effect()   {}
func (Ignored) effect()     {}

func (e Ignored) String() string { return fmt.Sprintf("ignored %v in %s", e.Event, e.Mode) }
