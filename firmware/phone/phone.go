package phone

import (
	"fmt"
	"strconv"
	"time"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// Mode is the phone's state as a person sees it.
type Mode int

const (
	Idle       Mode = iota // on-hook, no call
	DialTone               // off-hook, dial tone, no digit yet
	Dialing                // collecting digits
	Calling                // INVITE sent, waiting for an answer (ringback after 180)
	Ringing                // incoming call, ringer on, handset on-hook
	Talking                // call established, media flowing
	Busy                   // failed call (busy) or far end hung up: busy tone until on-hook
	Congestion             // failed call (any other reason): congestion tone until on-hook
	Howler                 // handset left off-hook: off-hook warning tone
	numModes
)

var modeNames = [...]string{
	Idle: "idle", DialTone: "dialtone", Dialing: "dialing", Calling: "calling",
	Ringing: "ringing", Talking: "talking", Busy: "busy", Congestion: "congestion",
	Howler: "howler",
}

func (m Mode) String() string {
	if m >= 0 && m < numModes {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Direction of a call.
type Direction string

const (
	Outgoing Direction = "outgoing"
	Incoming Direction = "incoming"
)

// CallRef names a call within the phone (not the SIP Call-ID).
type CallRef string

// Call is the call the phone is busy with.
type Call struct {
	Ref       CallRef
	Direction Direction
	Remote    string // dialled number, or the caller as "Name <user>"
	Answered  bool
}

// State is everything the machine remembers. The zero State is an idle,
// on-hook phone.
type State struct {
	Mode     Mode
	OffHook  bool
	Digits   string // collected in DialTone/Dialing; the number of an outgoing call
	Call     *Call  // nil when there is no call
	Reason   string // why the last call ended, shown in Busy/Congestion
	Progress int    // last provisional response code of an outgoing call
	Early    bool   // early media is playing on the outgoing call
	Received string // digits the far end sent during this call (DTMF)
	// LastDialed is the number of the last outgoing call, for the redial
	// key; it survives hanging up.
	LastDialed string
	seq        uint64 // numbers outgoing calls
}

// TimerID names one of the phone's timers. Starting a timer that is already
// running restarts it.
type TimerID int

const (
	TimerInterDigit TimerID = iota // dial after the last digit
	TimerOffHook                   // off-hook too long without dialling: howler
	TimerNoAnswer                  // incoming call not answered: reject 480
)

func (t TimerID) String() string {
	switch t {
	case TimerInterDigit:
		return "interdigit"
	case TimerOffHook:
		return "offhook"
	case TimerNoAnswer:
		return "noanswer"
	}
	return "timer(" + strconv.Itoa(int(t)) + ")"
}

// Config holds the machine's timeouts.
type Config struct {
	// DialPlan decides after each digit whether to dial (a digit map,
	// package dialplan); nil: '#' or the inter-digit timeout dials.
	DialPlan *dialplan.Plan
	// ShortInterDigit is the timer after a number that is complete but
	// could still grow (dial plan "short timer"); 0 = 2 s.
	ShortInterDigit time.Duration
	InterDigit      time.Duration // after the last digit, the number is dialled (the long timer)
	OffHook         time.Duration // dial/busy tone this long, then the howler
	NoAnswer        time.Duration // an incoming call rings this long, then 480
	MaxDigits       int           // digits beyond this are ignored; 0 = 32
}

// DefaultConfig is what the config file's defaults give.
func DefaultConfig() Config {
	return Config{InterDigit: 5 * time.Second, OffHook: 15 * time.Second, NoAnswer: 60 * time.Second, MaxDigits: 32}
}

// Tone names a call-progress tone; the daemon maps it to the tone plan.
type Tone string

const (
	ToneNone           Tone = ""
	ToneDial           Tone = "dial"
	ToneRingback       Tone = "ringback"
	ToneBusy           Tone = "busy"
	ToneCongestion     Tone = "congestion"
	ToneOffHookWarning Tone = "offhook-warning"
)

func (s State) String() string {
	return fmt.Sprintf("%s(offhook=%t digits=%q)", s.Mode, s.OffHook, s.Digits)
}
