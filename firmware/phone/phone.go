package phone

import (
	"fmt"
	"strconv"
	"time"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// Mode is the phone's state as a person at the handset sees it: what the
// handset and the focused call do. The other calls (held, waiting) are in
// State.Calls.
type Mode int

const (
	Idle       Mode = iota // on-hook, no focused call (held calls may wait)
	DialTone               // off-hook, dial tone, no digit yet
	Dialing                // collecting digits
	Calling                // the focused call is ours, INVITE sent, no answer yet
	Ringing                // the focused call is theirs, ringer on, handset on-hook
	Talking                // the focused call is answered (maybe held, maybe a conference)
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

// Phase is where one call stands.
type Phase int

const (
	PhaseCalling Phase = iota + 1 // ours, not answered yet
	PhaseRinging                  // theirs, not answered yet (call waiting included)
	PhaseTalking                  // answered; Hold and HeldByRemote say who holds it
)

func (p Phase) String() string {
	switch p {
	case PhaseCalling:
		return "calling"
	case PhaseRinging:
		return "ringing"
	case PhaseTalking:
		return "talking"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// HoldState is our side of a call's hold (RFC 3264 §8.4): each change is a
// re-INVITE whose answer completes it.
type HoldState int

const (
	NotHeld  HoldState = iota
	Holding            // our hold re-INVITE (sendonly/inactive) is out
	Held               // we hold the call
	Resuming           // our resume re-INVITE (sendrecv) is out
)

func (h HoldState) String() string {
	switch h {
	case NotHeld:
		return "none"
	case Holding:
		return "holding"
	case Held:
		return "held"
	case Resuming:
		return "resuming"
	}
	return "hold(" + strconv.Itoa(int(h)) + ")"
}

// Call is one of the phone's calls.
type Call struct {
	Ref          CallRef
	Direction    Direction
	Remote       string // dialled number, or the caller as "Name <user>"
	Phase        Phase
	Hold         HoldState // our hold
	HeldByRemote bool      // the far end holds the call (its SDP is sendonly or inactive)
	Early        bool      // early media is playing (an outgoing call, RFC 3960)
	Progress     int       // last provisional response code (outgoing)
	Conference   bool      // a member of the local 3-way conference
	Received     string    // digits the far end sent during this call (DTMF)
	ReferredBy   CallRef   // the call whose REFER made us place this one (until answered)
	Service      Service   // a local call to a service number (service.go); "" for SIP calls
	Muted        bool      // the microphone is muted towards this call (mute.go)
}

// Answered reports whether the call is established.
func (c Call) Answered() bool { return c.Phase == PhaseTalking }

// OnHold reports whether we hold the call or are about to (a resume not
// yet answered counts as held: no audio until it completes).
func (c Call) OnHold() bool { return c.Hold != NotHeld }

// State is everything the machine remembers. The zero State is an idle,
// on-hook phone.
type State struct {
	Mode    Mode
	OffHook bool
	Digits  string  // collected in DialTone/Dialing; the number of an outgoing call
	Calls   []Call  // every call the phone has, oldest first
	Focus   CallRef // the call the handset is on ("" = none)
	Reason  string  // why the last call ended, or a feature failed; shown on the display
	// Path is where the audio is when not on the handset: PathSpeaker
	// (hands-free) or PathHeadset; "" is the handset (hardware.go). Reset
	// on hook.
	Path string
	Xfer Transfer // a transfer in progress (zero: none)
	// LastDialed is the number of the last outgoing call, for the redial
	// key; it survives hanging up.
	LastDialed string
	seq        uint64 // numbers outgoing calls
}

// Call returns the focused call, or nil.
func (s State) Call() *Call { return s.Get(s.Focus) }

// Get returns the call ref, or nil. The pointer is into s.Calls.
func (s State) Get(ref CallRef) *Call {
	if ref == "" {
		return nil
	}
	for i := range s.Calls {
		if s.Calls[i].Ref == ref {
			return &s.Calls[i]
		}
	}
	return nil
}

// ringingCall is the unanswered incoming call other than the focused one
// (a waiting call), or nil.
func (s State) waiting() *Call {
	for i := range s.Calls {
		if c := &s.Calls[i]; c.Phase == PhaseRinging && c.Ref != s.Focus {
			return c
		}
	}
	return nil
}

// held returns the first call other than the focused one that we hold, or nil.
func (s State) held() *Call {
	for i := range s.Calls {
		if c := &s.Calls[i]; c.Ref != s.Focus && c.Answered() && c.OnHold() {
			return c
		}
	}
	return nil
}

// remove drops the call ref; a focus on it is cleared.
func (s *State) remove(ref CallRef) {
	for i := range s.Calls {
		if s.Calls[i].Ref == ref {
			s.Calls = append(s.Calls[:i:i], s.Calls[i+1:]...)
			break
		}
	}
	if s.Focus == ref {
		s.Focus = ""
	}
	for i := range s.Calls {
		if s.Calls[i].ReferredBy == ref {
			s.Calls[i].ReferredBy = "" // nobody to NOTIFY any more
		}
	}
	if s.Xfer.Call == ref || s.Xfer.Consult == ref {
		s.Xfer = Transfer{}
	}
	if len(s.Calls) == 0 {
		s.Calls = nil
	}
}

// TimerID names one of the phone's timers. A timer is keyed by its id and
// its call ("" for the handset's timers); starting a timer that is already
// running restarts it.
type TimerID int

const (
	TimerInterDigit TimerID = iota // dial after the last digit
	TimerOffHook                   // off-hook too long without dialling: howler
	TimerNoAnswer                  // incoming call not answered: reject 480 (per call)
	TimerMedia                     // check the call's RTP for the media timeout (per call)
)

func (t TimerID) String() string {
	switch t {
	case TimerInterDigit:
		return "interdigit"
	case TimerOffHook:
		return "offhook"
	case TimerNoAnswer:
		return "noanswer"
	case TimerMedia:
		return "media"
	}
	return "timer(" + strconv.Itoa(int(t)) + ")"
}

// Config holds the machine's timeouts and limits.
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
	// MediaTimeout hangs up an answered call that receives no RTP this
	// long, unless it is on hold (either side); 0 never does.
	MediaTimeout time.Duration
	// MaxCalls is the most calls the phone has at once; an INVITE beyond
	// it gets 486. 0 = 4.
	MaxCalls int
	// CallWaiting lets a second call in while busy (a call-waiting tone
	// in the handset); false refuses it with 486. DefaultConfig sets it.
	CallWaiting bool
	// Services maps dialled codes to built-in service numbers (service.go):
	// "*43" -> ServiceEcho. Checked before the dial plan.
	Services map[string]Service
}

// DefaultMaxCalls is MaxCalls when the config gives none.
const DefaultMaxCalls = 4

// DefaultConfig is what the config file's defaults give.
func DefaultConfig() Config {
	return Config{InterDigit: 5 * time.Second, OffHook: 15 * time.Second, NoAnswer: 60 * time.Second,
		MaxDigits: 32, MaxCalls: DefaultMaxCalls, CallWaiting: true}
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
	ToneCallWaiting    Tone = "call-waiting"
)

func (s State) String() string {
	return fmt.Sprintf("%s(offhook=%t digits=%q calls=%d focus=%q)", s.Mode, s.OffHook, s.Digits, len(s.Calls), s.Focus)
}
