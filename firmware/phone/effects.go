package phone

import (
	"fmt"
	"time"
)

// Effect is something the daemon must do after a step. Effects are carried
// out in order. Every effect about a call names it.
type Effect interface{ effect() }

// PlayTone plays a call-progress tone on the handset; ToneNone stops it.
// The call-waiting tone plays over the focused call's audio.
type PlayTone struct{ Tone Tone }

// Ringer turns the ringer on or off. Pattern is the Alert-Info of the call
// being announced ("" = the default ring); the board picks the cadence.
type Ringer struct {
	On      bool
	Pattern string
}

// Dial places an outgoing call to Number (RFC 3261 §13.2), or to the URI
// Target when set (a transfer's Refer-To). ReferredBy and Replaces go into
// the INVITE's headers (RFC 3892, RFC 3891) when set.
type Dial struct {
	Call       CallRef
	Number     string
	Target     string
	ReferredBy string
	Replaces   string
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

// StartMedia starts the RTP leg of a call (or moves it to the answer's
// media when early media runs already).
type StartMedia struct{ Call CallRef }

// StopMedia stops the RTP leg of a call.
type StopMedia struct{ Call CallRef }

// UpdateMedia follows a change of the call's session (a re-INVITE either
// way): send to the new address; Send is false while the far end holds
// the call (we are recvonly or inactive, RFC 3264 §6.1).
type UpdateMedia struct {
	Call CallRef
	Send bool
}

// CheckMedia asks how long the call has been without RTP; the daemon
// answers with a MediaSilence event.
type CheckMedia struct{ Call CallRef }

// Reinvite sends a re-INVITE for the call with our SDP in Direction
// (RFC 3264 §8.4): "sendonly" or "inactive" to hold, "sendrecv" to resume.
type Reinvite struct {
	Call      CallRef
	Direction string
}

// Refer asks the far end of Call to call someone else (RFC 3515): the
// dialled Number (blind transfer), or the far end of Consult with a
// Replaces naming that call (attended transfer, RFC 5589 §7).
type Refer struct {
	Call    CallRef
	Number  string
	Consult CallRef
}

// NotifyRefer reports the progress of the call a REFER made us place to
// the referrer (RFC 3515 §2.4.5 NOTIFY message/sipfrag); a final Code
// (>= 200) ends the subscription.
type NotifyRefer struct {
	Call   CallRef
	Code   int
	Reason string
}

// SetMix says what the handset hears and talks to: the Focus call, or the
// sum of the Conference calls (two or more); Mute sends silence instead
// of the microphone. Emitted whenever it changes.
type SetMix struct {
	Focus      CallRef
	Conference []CallRef
	Mute       bool
}

// Lamp names an indicator the phone drives.
type Lamp string

const (
	LampLine Lamp = "led_line" // blinks while ringing, fast while a call is held, on in use
	LampMute Lamp = "led_mute" // on while the microphone is muted
	LampAmp  Lamp = "amp"      // the audio amplifier: on whenever the phone is not idle
)

// Lamps lists every indicator, in the order Outputs reports them.
var Lamps = []Lamp{LampLine, LampMute, LampAmp}

// LampState is how an indicator shows (drivers/output patterns).
type LampState string

const (
	LampOff   LampState = "off"
	LampOn    LampState = "on"
	LampBlink LampState = "blink"
	LampFast  LampState = "fast"
)

// SetLamp drives an indicator. Emitted whenever it changes.
type SetLamp struct {
	Lamp  Lamp
	State LampState
}

// RingAtOnce lets the SIP layer answer a new INVITE with 180 by itself
// (true exactly while the phone is idle with no call: it would ring for
// any INVITE). Emitted whenever it changes.
type RingAtOnce struct{ On bool }

// StartTimer (re)starts the timer keyed by Timer and Call.
type StartTimer struct {
	Timer TimerID
	Call  CallRef
	After time.Duration
}

// StopTimer cancels a timer; a stopped timer never fires.
type StopTimer struct {
	Timer TimerID
	Call  CallRef
}

// SetAudioPath moves the phone's audio (tones, calls) to a path: "handset",
// "speaker" (hands-free) or "headset". It is an output of the state
// (State.Path).
type SetAudioPath struct{ Path string }

// The audio paths SetAudioPath names.
const (
	PathHandset = "handset"
	PathSpeaker = "speaker"
	PathHeadset = "headset"
)

// StepVolume turns the playback volume of the audio path in use one step
// up or down: the volume keys, in every mode.
type StepVolume struct{ Up bool }

// Ignored reports an event that has no meaning in the current state. The
// loop logs it; nothing else changes.
type Ignored struct {
	Event Event
	Mode  Mode
}

func (PlayTone) effect()     {}
func (Ringer) effect()       {}
func (Dial) effect()         {}
func (SendRinging) effect()  {}
func (Answer) effect()       {}
func (Reject) effect()       {}
func (Hangup) effect()       {}
func (StartMedia) effect()   {}
func (SendDTMF) effect()     {}
func (StopDTMF) effect()     {}
func (StopMedia) effect()    {}
func (UpdateMedia) effect()  {}
func (CheckMedia) effect()   {}
func (Reinvite) effect()     {}
func (Refer) effect()        {}
func (NotifyRefer) effect()  {}
func (SetMix) effect()       {}
func (SetLamp) effect()      {}
func (RingAtOnce) effect()   {}
func (StartTimer) effect()   {}
func (StopTimer) effect()    {}
func (StepVolume) effect()   {}
func (SetAudioPath) effect() {}
func (Ignored) effect()      {}

func (e Ignored) String() string { return fmt.Sprintf("ignored %v in %s", e.Event, e.Mode) }

// CallOfEffect returns the call an effect is about ("" for none).
func CallOfEffect(e Effect) CallRef {
	switch e := e.(type) {
	case Dial:
		return e.Call
	case SendRinging:
		return e.Call
	case Answer:
		return e.Call
	case Reject:
		return e.Call
	case Hangup:
		return e.Call
	case SendDTMF:
		return e.Call
	case StopDTMF:
		return e.Call
	case StartMedia:
		return e.Call
	case StopMedia:
		return e.Call
	case UpdateMedia:
		return e.Call
	case CheckMedia:
		return e.Call
	case Reinvite:
		return e.Call
	case Refer:
		return e.Call
	case NotifyRefer:
		return e.Call
	case StartService:
		return e.Call
	case StartTimer:
		return e.Call
	case StopTimer:
		return e.Call
	}
	return ""
}
