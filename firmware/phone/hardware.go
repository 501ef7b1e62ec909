package phone

import "fmt"

// Events of a hardware front panel (hook switch and keys on GPIO, see
// drivers/hook and keypad). A key press is Key (dial pad) or FunctionKey;
// releases and long presses are events of their own so that the machine
// can ignore them until a feature needs them (RFC 4733 event durations use
// press and release).

// HookFlash is a short on-hook (drivers/hook: between flash_min and
// flash_max): not a hang-up. It answers a waiting call, swaps two calls,
// or holds the call for a second one (waiting.go).
type HookFlash struct{}

// KeyRelease is a dial-pad key let go; the press was Key.
type KeyRelease struct{ Key byte }

// LongPress is a key held past the board's long-press time. Key is the
// keypad key name: "0"-"9", "*", "#" or a Function. It comes after the
// press (Key or FunctionKey) and before the release. Ignored for now.
type LongPress struct{ Key string }

// Function names a function key.
type Function string

// The function keys a desk phone has.
const (
	FnSpeaker    Function = "speaker"    // hands-free (pathKey)
	FnHeadset    Function = "headset"    // the headset (pathKey)
	FnRedial     Function = "redial"     // dial the last dialled number again
	FnHold       Function = "hold"       // hold/resume; answers a waiting call (hold.go)
	FnTransfer   Function = "transfer"   // blind or attended transfer (transfer.go)
	FnConference Function = "conference" // join the held and the focused call, or split them (conference.go)
	FnVolumeUp   Function = "volume_up"
	FnVolumeDown Function = "volume_down"
	FnMute       Function = "mute"    // the microphone (mute.go)
	FnMessage    Function = "message" // voicemail; ignored until MWI lands
)

// Functions lists every function key, for board-file and API validation.
var Functions = []Function{FnSpeaker, FnRedial, FnHold, FnTransfer, FnConference, FnVolumeUp, FnVolumeDown, FnMute, FnMessage, FnHeadset}

// FunctionKey is a press of a function key.
type FunctionKey struct{ Name Function }

func (HookFlash) event()   {}
func (KeyRelease) event()  {}
func (LongPress) event()   {}
func (FunctionKey) event() {}

func (HookFlash) String() string     { return "hookflash" }
func (e KeyRelease) String() string  { return fmt.Sprintf("release(%c)", e.Key) }
func (e LongPress) String() string   { return fmt.Sprintf("longpress(%s)", e.Key) }
func (e FunctionKey) String() string { return "fkey(" + string(e.Name) + ")" }

// panel handles the front-panel events whose meaning does not depend on
// the mode's own handler; ok is false for the others.
//
//   - speaker, headset: hands-free on the speaker path, or the headset
//     (State.Path). On hook the key goes off hook on its path (dial tone,
//     or answers a ringing call); on its own path it hangs up; from the
//     handset or the other path it moves the call (or dial tone) to its
//     path. Off the handset, lifting the handset moves the audio back to
//     it and replacing the handset is ignored. The audio path follows as
//     SetAudioPath, without a gap.
//   - redial: from Idle (hands-free, as speaker) or DialTone, dials
//     State.LastDialed when there is one; ignored elsewhere.
//   - volume_up, volume_down: StepVolume, in every mode (the daemon turns
//     the volume of the audio path in use).
//   - hold, transfer, conference, mute and the hook flash: the features'
//     files. LongPress and the other function keys are ignored.
func (m Machine) panel(s State, ev Event) (State, []Effect, bool) {
	switch e := ev.(type) {
	case Hook:
		if s.Path == "" {
			return s, nil, false
		}
		if e.OffHook {
			// The handset lifted during hands-free or on the headset:
			// the call (or dial tone) moves to it, nothing else changes.
			s.Path = ""
			return s, nil, true
		}
		// The handset replaced after the call moved off it.
		return s, ignored(s, ev), true
	case KeyRelease:
		if c := s.Call(); s.Mode == Talking && c != nil && !c.OnHold() && IsDialKey(e.Key) {
			return s, []Effect{StopDTMF{c.Ref}}, true // the key's telephone-event ends
		}
		return s, ignored(s, ev), true
	case HookFlash:
		s, fx := m.flash(s, ev)
		return s, fx, true
	case LongPress:
		return s, ignored(s, ev), true
	case FunctionKey:
		var fx []Effect
		switch {
		case e.Name == FnSpeaker:
			s, fx = m.pathKey(s, PathSpeaker)
		case e.Name == FnHeadset:
			s, fx = m.pathKey(s, PathHeadset)
		case e.Name == FnHold:
			s, fx = m.holdKey(s, ev)
		case e.Name == FnTransfer:
			s, fx = m.transferKey(s, ev)
		case e.Name == FnConference:
			s, fx = m.conferenceKey(s, ev)
		case e.Name == FnMute:
			s, fx = m.muteKey(s, ev)
		case e.Name == FnVolumeUp || e.Name == FnVolumeDown:
			fx = []Effect{StepVolume{Up: e.Name == FnVolumeUp}}
		case e.Name == FnRedial && s.LastDialed != "" && (s.Mode == Idle && len(s.Calls) == 0 || s.Mode == DialTone):
			if s.Mode == DialTone {
				fx = []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}}
			}
			s.OffHook = true
			s.Digits, s.Reason = s.LastDialed, ""
			var dfx []Effect
			s, dfx = m.dial(s)
			fx = append(fx, dfx...)
		default:
			fx = ignored(s, ev)
		}
		return s, fx, true
	}
	return s, nil, false
}

// pathKey is the speaker key (path PathSpeaker) and the headset key
// (PathHeadset): see panel.
func (m Machine) pathKey(s State, path string) (State, []Effect) {
	switch {
	case !s.OffHook:
		s, fx := m.step(s, Hook{OffHook: true})
		if s.OffHook {
			s.Path = path
		}
		return s, fx
	case s.Path == path:
		s.Path = ""
		return m.step(s, Hook{OffHook: false})
	default:
		s.Path = path
		return s, nil
	}
}
