package phone

import (
	"strconv"
	"time"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// Machine steps the phone's state. It holds only configuration.
type Machine struct{ cfg Config }

// NewMachine returns a machine with cfg; zero durations take the defaults.
func NewMachine(cfg Config) Machine {
	d := DefaultConfig()
	if cfg.InterDigit <= 0 {
		cfg.InterDigit = d.InterDigit
	}
	if cfg.OffHook <= 0 {
		cfg.OffHook = d.OffHook
	}
	if cfg.NoAnswer <= 0 {
		cfg.NoAnswer = d.NoAnswer
	}
	if cfg.MaxDigits <= 0 {
		cfg.MaxDigits = d.MaxDigits
	}
	if cfg.ShortInterDigit <= 0 {
		cfg.ShortInterDigit = 2 * time.Second
	}
	return Machine{cfg: cfg}
}

// Step applies ev to s and returns the next state and the effects to carry
// out, in order. It never panics and does no I/O.
func (m Machine) Step(s State, ev Event) (State, []Effect) {
	// A second call while the phone is busy is refused at once: call
	// waiting comes later. RFC 3261 §21.4.24 486 Busy Here.
	if e, ok := ev.(IncomingCall); ok && s.Mode != Idle {
		return s, []Effect{Reject{Call: e.Call, Code: 486, Reason: "Busy Here"}}
	}
	// SIP and media events about a call the phone no longer has are stale.
	if ref, ok := callOf(ev); ok {
		if _, incoming := ev.(IncomingCall); !incoming && (s.Call == nil || s.Call.Ref != ref) {
			return s, ignored(s, ev)
		}
	}
	if s, fx, ok := m.panel(s, ev); ok { // hardware front panel (hardware.go)
		return s, fx
	}
	switch s.Mode {
	case Idle:
		return m.idle(s, ev)
	case DialTone, Dialing:
		return m.collecting(s, ev)
	case Calling:
		return m.calling(s, ev)
	case Ringing:
		return m.ringing(s, ev)
	case Talking:
		return m.talking(s, ev)
	case Busy, Congestion, Howler:
		return m.ended(s, ev)
	}
	return s, ignored(s, ev)
}

func (m Machine) idle(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if e.OffHook {
			next := idleFrom(s)
			next.Mode, next.OffHook = DialTone, true
			return next, []Effect{
				PlayTone{ToneDial}, StartTimer{TimerOffHook, m.cfg.OffHook},
			}
		}
	case IncomingCall:
		next := idleFrom(s)
		next.Mode, next.Call = Ringing, &Call{Ref: e.Call, Direction: Incoming, Remote: e.From}
		return next, []Effect{SendRinging{e.Call}, Ringer{On: true, Pattern: e.AlertInfo}, StartTimer{TimerNoAnswer, m.cfg.NoAnswer}}
	}
	return s, ignored(s, ev)
}

// collecting is DialTone and Dialing: the handset is up and digits are
// being gathered.
func (m Machine) collecting(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			return idleFrom(s), []Effect{PlayTone{ToneNone}, StopTimer{TimerOffHook}, StopTimer{TimerInterDigit}}
		}
	case Key:
		if !IsDialKey(e.Key) {
			break
		}
		// '#' is the send key, unless the dial plan uses it as a digit.
		if e.Key == '#' && (m.cfg.DialPlan == nil || m.cfg.DialPlan.Match(s.Digits+"#") == dialplan.NoMatch) {
			if s.Digits == "" {
				break // nothing to send yet
			}
			return m.dial(s)
		}
		if len(s.Digits) >= m.cfg.MaxDigits {
			break
		}
		var fx []Effect
		if s.Mode == DialTone {
			fx = append(fx, PlayTone{ToneNone}, StopTimer{TimerOffHook})
		}
		s.Mode = Dialing
		s.Digits += string(e.Key)
		if m.cfg.DialPlan == nil {
			return s, append(fx, StartTimer{TimerInterDigit, m.cfg.InterDigit})
		}
		// The dial plan decides after every digit (RFC 3435 §2.1.5).
		switch d := m.cfg.DialPlan.Lookup(s.Digits); {
		case d.Result == dialplan.Complete:
			next, more := m.dial(s)
			return next, append(fx, more...)
		case d.Result == dialplan.NoMatch:
			next, more := m.failed(s, 0, "number not in the dial plan")
			return next, append(append(fx, StopTimer{TimerInterDigit}), more...)
		case d.Timer == dialplan.TimerShort:
			return s, append(fx, StartTimer{TimerInterDigit, m.cfg.ShortInterDigit})
		default:
			return s, append(fx, StartTimer{TimerInterDigit, m.cfg.InterDigit})
		}
	case TimerFired:
		switch {
		case e.Timer == TimerInterDigit && s.Mode == Dialing:
			// Without a plan the timeout dials; with one, only a number
			// the plan calls complete is sent.
			if m.cfg.DialPlan != nil {
				if r := m.cfg.DialPlan.Match(s.Digits); r != dialplan.Complete && r != dialplan.CompleteAfterTimeout {
					return m.failed(s, 0, "number incomplete")
				}
			}
			return m.dial(s)
		case e.Timer == TimerOffHook && s.Mode == DialTone:
			return m.howl(s)
		}
	}
	return s, ignored(s, ev)
}

func (m Machine) dial(s State) (State, []Effect) {
	s.seq++
	ref := CallRef("out-" + strconv.FormatUint(s.seq, 10))
	s.Mode = Calling
	s.LastDialed = s.Digits // for the redial key
	s.Call = &Call{Ref: ref, Direction: Outgoing, Remote: s.Digits}
	s.Progress = 0
	return s, []Effect{StopTimer{TimerInterDigit}, Dial{Call: ref, Number: s.Digits}}
}

func (m Machine) calling(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			return idleFrom(s), append(stopEarly(s), PlayTone{ToneNone}, Hangup{s.Call.Ref})
		}
	case CallProgress:
		if e.Code < 100 || e.Code > 199 {
			break
		}
		first := s.Progress != 180 && s.Progress != 183
		s.Progress = e.Code
		switch {
		case e.EarlyMedia && !s.Early:
			// Early media replaces local ringback (RFC 3960 §3).
			s.Early = true
			return s, []Effect{PlayTone{ToneNone}, StartMedia{s.Call.Ref}}
		case s.Early:
			return s, nil // keep playing what the far end sends
		case (e.Code == 180 || e.Code == 183) && first:
			// Local ringback on 180/183 (RFC 3261 §21.1.2).
			return s, []Effect{PlayTone{ToneRingback}}
		}
		return s, nil
	case CallAnswered:
		// With early media the stream runs already: StartMedia moves it
		// to the answer's media.
		s.Mode, s.Early = Talking, false
		s.Call = &Call{Ref: s.Call.Ref, Direction: s.Call.Direction, Remote: s.Call.Remote, Answered: true}
		return s, []Effect{PlayTone{ToneNone}, StartMedia{s.Call.Ref}}
	case CallFailed:
		next, fx := m.failed(s, e.Code, reasonText(e.Code, e.Reason))
		return next, append(stopEarly(s), fx...)
	case CallEnded:
		next, fx := m.failed(s, 0, e.Reason)
		return next, append(stopEarly(s), fx...)
	}
	return s, ignored(s, ev)
}

// failed turns a call that did not connect into busy or congestion tone:
// 486 Busy Here, 600 Busy Everywhere and 603 Decline mean the party is
// busy (RFC 3261 §21.4.24, §21.6.1, §21.6.2); anything else is congestion.
func (m Machine) failed(s State, code int, reason string) (State, []Effect) {
	mode, tone := Congestion, ToneCongestion
	if code == 486 || code == 600 || code == 603 {
		mode, tone = Busy, ToneBusy
	}
	s.Mode = mode
	s.Reason = reason
	s.Call = nil
	s.Early = false
	s.Received = ""
	return s, []Effect{PlayTone{tone}, StartTimer{TimerOffHook, m.cfg.OffHook}}
}

func (m Machine) ringing(s State, ev Event) (State, []Effect) {
	ref := s.Call.Ref
	switch e := ev.(type) {
	case Hook:
		if e.OffHook {
			s.Mode = Talking
			s.OffHook = true
			s.Call = &Call{Ref: ref, Direction: s.Call.Direction, Remote: s.Call.Remote, Answered: true}
			return s, []Effect{Ringer{On: false}, StopTimer{TimerNoAnswer}, Answer{ref}, StartMedia{ref}}
		}
	case CallEnded: // the caller gave up: CANCEL (RFC 3261 §9.2)
		next := idleFrom(s)
		next.Reason = e.Reason
		return next, []Effect{Ringer{On: false}, StopTimer{TimerNoAnswer}}
	case TimerFired:
		if e.Timer == TimerNoAnswer {
			next := idleFrom(s)
			next.Reason = "not answered"
			return next, []Effect{
				Ringer{On: false}, Reject{Call: ref, Code: 480, Reason: "Temporarily Unavailable"},
			}
		}
	}
	return s, ignored(s, ev)
}

func (m Machine) talking(s State, ev Event) (State, []Effect) {
	ref := s.Call.Ref
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			return idleFrom(s), []Effect{StopMedia{ref}, Hangup{ref}}
		}
	case CallEnded: // BYE from the far end (RFC 3261 §15.1.2)
		s, fx := m.failed(s, 486, reasonOr(e.Reason, "remote hung up"))
		return s, append([]Effect{StopMedia{ref}}, fx...)
	case MediaTimeout:
		s, fx := m.failed(s, 0, "no media")
		return s, append([]Effect{StopMedia{ref}, Hangup{ref}}, fx...)
	case Key:
		// A key while talking is DTMF: an RFC 4733 event that lasts
		// while the key is held (KeyRelease ends it).
		if IsDialKey(e.Key) {
			return s, []Effect{SendDTMF{Call: ref, Key: e.Key}}
		}
	case DTMFReceived:
		// Shown on the display; voicemail and IVR menus are the far end's.
		if len(s.Received) < 32 {
			s.Received += string(e.Digit)
		}
		return s, nil
	}
	return s, ignored(s, ev)
}

// ended is Busy, Congestion and Howler: the call is over and the handset is
// still up. Only hanging up leads out.
func (m Machine) ended(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			return idleFrom(s), []Effect{PlayTone{ToneNone}, StopTimer{TimerOffHook}}
		}
	case TimerFired:
		if e.Timer == TimerOffHook && s.Mode != Howler {
			return m.howl(s)
		}
	}
	return s, ignored(s, ev)
}

// stopEarly stops early media when an unanswered call ends.
func stopEarly(s State) []Effect {
	if s.Early && s.Call != nil {
		return []Effect{StopMedia{s.Call.Ref}}
	}
	return nil
}

func (m Machine) howl(s State) (State, []Effect) {
	s.Mode = Howler
	s.Call = nil
	return s, []Effect{PlayTone{ToneOffHookWarning}}
}

// idleFrom is an idle, on-hook phone that keeps what outlives a call: the
// call counter and the number to redial.
func idleFrom(s State) State { return State{seq: s.seq, LastDialed: s.LastDialed} }

func ignored(s State, ev Event) []Effect { return []Effect{Ignored{Event: ev, Mode: s.Mode}} }

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
	case MediaTimeout:
		return e.Call, true
	case DTMFReceived:
		return e.Call, true
	}
	return "", false
}

func reasonText(code int, reason string) string {
	if code == 0 {
		return reasonOr(reason, "call failed")
	}
	if reason == "" {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + reason
}

func reasonOr(r, def string) string {
	if r == "" {
		return def
	}
	return r
}
