package phone

import (
	"slices"
	"strconv"
	"time"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// Machine steps the phone's state. It holds only configuration.
type Machine struct{ cfg Config }

// NewMachine returns a machine with cfg; zero durations and limits take the
// defaults.
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
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = d.MaxCalls
	}
	return Machine{cfg: cfg}
}

// Step applies ev to s and returns the next state and the effects to carry
// out, in order. It never panics, does no I/O and does not modify s.
// After the effects of the event come those of the outputs that changed
// (SetMix, SetLamp, RingAtOnce; see Outputs).
func (m Machine) Step(s State, ev Event) (State, []Effect) {
	s.Calls = slices.Clone(s.Calls)
	before := derive(s)
	next, fx := m.step(s, ev)
	return next, append(fx, changes(before, derive(next))...)
}

// step is Step without the outputs.
func (m Machine) step(s State, ev Event) (State, []Effect) {
	if e, ok := ev.(IncomingCall); ok {
		return m.incoming(s, e)
	}
	// SIP, media and timer events about a call the phone no longer has
	// are stale.
	if ref, ok := callOf(ev); ok && s.Get(ref) == nil {
		return s, ignored(s, ev)
	}
	if c := referredCall(s, ev); c != nil { // progress of a call a REFER made us place (transfer.go)
		return m.referredProgress(s, ev, c)
	}
	if s, fx, ok := m.panel(s, ev); ok { // hardware front panel (hardware.go)
		return s, fx
	}
	if s, fx, ok := m.anyCall(s, ev); ok {
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

// anyCall handles the events that mean the same in every mode, and the
// events of calls other than the focused one; ok is false for the others.
func (m Machine) anyCall(s State, ev Event) (State, []Effect, bool) {
	switch e := ev.(type) {
	case RemoteHold:
		s, fx := m.remoteHold(s, e) // media.go
		return s, fx, true
	case MediaSilence:
		s, fx := m.mediaSilence(s, e) // media.go
		return s, fx, true
	case Reinvited:
		s, fx := m.reinvited(s, e) // hold.go
		return s, fx, true
	case TransferProgress:
		s, fx := m.transferProgress(s, e) // transfer.go
		return s, fx, true
	case Referred:
		s, fx := m.referred(s, e) // transfer.go
		return s, fx, true
	case TimerFired:
		if e.Timer == TimerMedia {
			if c := s.Get(e.Call); c != nil && c.Answered() {
				return s, []Effect{CheckMedia{e.Call}}, true
			}
			return s, ignored(s, ev), true
		}
	case DTMFReceived:
		// Shown on the display; voicemail and IVR menus are the far end's.
		if c := s.Get(e.Call); c.Answered() {
			if len(c.Received) < 32 {
				c.Received += string(e.Digit)
			}
			return s, nil, true
		}
	}
	if ref, ok := callOf(ev); ok && ref != s.Focus {
		s, fx := m.background(s, ev, ref)
		return s, fx, true
	}
	return s, nil, false
}

// background handles an event of a call that is not the focused one: a
// waiting call, a held call, a conference member or a call placed by a
// transfer.
func (m Machine) background(s State, ev Event, ref CallRef) (State, []Effect) {
	c := s.Get(ref)
	switch e := ev.(type) {
	case CallEnded, CallFailed:
		reason := ""
		if e, ok := e.(CallEnded); ok {
			reason = e.Reason
		}
		if e, ok := e.(CallFailed); ok {
			reason = reasonText(e.Code, e.Reason)
		}
		var fx []Effect
		if c.Phase == PhaseRinging && c.Ref != s.Focus && s.Mode == Talking {
			fx = append(fx, PlayTone{ToneNone}) // the call-waiting tone stops
		}
		fx = append(fx, m.forget(&s, ref)...)
		if s.Xfer.Call == ref {
			reason = reasonOr(reason, "transferred call ended")
		}
		s.Reason = reasonOr(reason, "call ended")
		s, more := m.afterLeave(s)
		return s, append(fx, more...)
	case TimerFired:
		if e.Timer == TimerNoAnswer && c.Phase == PhaseRinging {
			s, fx := m.unanswered(s, ref)
			return s, fx
		}
	case CallProgress:
		if c.Phase == PhaseCalling && e.Code >= 100 && e.Code <= 199 {
			c.Progress = e.Code
			return s, nil
		}
	case CallAnswered:
		if c.Phase == PhaseCalling {
			// Answered while the handset is elsewhere: the call is
			// established but not heard, so we hold it at once.
			c.Phase = PhaseTalking
			fx := []Effect{StartMedia{ref}}
			fx = append(fx, m.startMediaTimer(ref)...)
			return s, append(fx, m.hold(c)...)
		}
	}
	return s, ignored(s, ev)
}

func (m Machine) idle(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if e.OffHook {
			s = handsetUp(s)
			s.Mode = DialTone
			return s, []Effect{PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: m.cfg.OffHook}}
		}
	}
	return s, ignored(s, ev)
}

// handsetUp is s with the handset lifted and last call's leftovers gone.
func handsetUp(s State) State {
	s.OffHook, s.Digits, s.Reason = true, "", ""
	return s
}

// collecting is DialTone and Dialing: the handset is up and digits are
// being gathered (for a new call, or the target of a transfer).
func (m Machine) collecting(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			next, fx := m.handsetDown(s)
			return next, append([]Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}}, fx...)
		}
	case Key:
		if !IsDialKey(e.Key) {
			break
		}
		// '#' is the send key, unless the dial plan or a service code
		// (service.go) uses it as a digit;
		// while a transfer collects its target, '#' sends the REFER.
		if e.Key == '#' && !m.serviceDigits(s, s.Digits+"#") && (s.Xfer.Phase == XferDialing || m.cfg.DialPlan == nil || m.cfg.DialPlan.Match(s.Digits+"#") == dialplan.NoMatch) {
			if s.Digits == "" {
				break // nothing to send yet
			}
			if s.Xfer.Phase == XferDialing {
				return m.referBlind(s, s.Digits) // transfer.go
			}
			return m.dial(s)
		}
		if len(s.Digits) >= m.cfg.MaxDigits {
			break
		}
		var fx []Effect
		if s.Mode == DialTone {
			fx = append(fx, PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook})
		}
		s.Mode = Dialing
		s.Digits += string(e.Key)
		if v, ok := m.service(s, s.Digits); ok && !m.servicePrefix(s, s.Digits) {
			next, more := m.dialService(s, v) // a service code is complete (service.go)
			return next, append(fx, more...)
		}
		if m.cfg.DialPlan == nil {
			return s, append(fx, StartTimer{Timer: TimerInterDigit, After: m.cfg.InterDigit})
		}
		// The dial plan decides after every digit (RFC 3435 §2.1.5).
		switch d := m.cfg.DialPlan.Lookup(s.Digits); {
		case d.Result == dialplan.Complete:
			next, more := m.dial(s)
			return next, append(fx, more...)
		case d.Result == dialplan.NoMatch && m.servicePrefix(s, s.Digits):
			return s, append(fx, StartTimer{Timer: TimerInterDigit, After: m.cfg.InterDigit})
		case d.Result == dialplan.NoMatch:
			next, more := m.failed(s, 0, "number not in the dial plan")
			return next, append(append(fx, StopTimer{Timer: TimerInterDigit}), more...)
		case d.Timer == dialplan.TimerShort:
			return s, append(fx, StartTimer{Timer: TimerInterDigit, After: m.cfg.ShortInterDigit})
		default:
			return s, append(fx, StartTimer{Timer: TimerInterDigit, After: m.cfg.InterDigit})
		}
	case TimerFired:
		switch {
		case e.Timer == TimerInterDigit && s.Mode == Dialing:
			// Without a plan the timeout dials; with one, only a number
			// the plan calls complete is sent.
			if _, ok := m.service(s, s.Digits); ok {
				return m.dial(s)
			}
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

// dial places a call to the collected digits and focuses it. While a
// transfer collects its target, this is the consultation call of an
// attended transfer.
func (m Machine) dial(s State) (State, []Effect) {
	if v, ok := m.service(s, s.Digits); ok {
		return m.dialService(s, v)
	}
	if len(s.Calls) >= m.cfg.MaxCalls {
		s, fx := m.failed(s, 0, "too many calls")
		return s, append([]Effect{StopTimer{Timer: TimerInterDigit}}, fx...)
	}
	s.seq++
	ref := CallRef("out-" + strconv.FormatUint(s.seq, 10))
	s.Mode = Calling
	s.LastDialed = s.Digits // for the redial key
	s.Calls = append(s.Calls, Call{Ref: ref, Direction: Outgoing, Remote: s.Digits, Phase: PhaseCalling})
	s.Focus = ref
	if s.Xfer.Phase == XferDialing {
		s.Xfer.Phase, s.Xfer.Consult = XferConsulting, ref
	}
	return s, []Effect{StopTimer{Timer: TimerInterDigit}, Dial{Call: ref, Number: s.Digits}}
}

func (m Machine) calling(s State, ev Event) (State, []Effect) {
	c := s.Call()
	if c == nil {
		return s, ignored(s, ev)
	}
	ref := c.Ref
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			fx := append(stopEarly(c), PlayTone{ToneNone}, Hangup{ref})
			s.remove(ref)
			next, more := m.handsetDown(s)
			return next, append(fx, more...)
		}
	case CallProgress:
		if e.Code < 100 || e.Code > 199 {
			break
		}
		first := c.Progress != 180 && c.Progress != 183
		c.Progress = e.Code
		switch {
		case e.EarlyMedia && !c.Early:
			// Early media replaces local ringback (RFC 3960 §3).
			c.Early = true
			return s, []Effect{PlayTone{ToneNone}, StartMedia{ref}}
		case c.Early:
			return s, nil // keep playing what the far end sends
		case (e.Code == 180 || e.Code == 183) && first:
			// Local ringback on 180/183 (RFC 3261 §21.1.2).
			return s, []Effect{PlayTone{ToneRingback}}
		}
		return s, nil
	case CallAnswered:
		// With early media the stream runs already: StartMedia moves it
		// to the answer's media.
		s.Mode = Talking
		c.Phase, c.Early = PhaseTalking, false
		return s, append([]Effect{PlayTone{ToneNone}, StartMedia{ref}}, m.startMediaTimer(ref)...)
	case CallFailed:
		fx := stopEarly(c)
		s.remove(ref)
		next, more := m.failed(s, e.Code, reasonText(e.Code, e.Reason))
		return next, append(fx, more...)
	case CallEnded:
		fx := stopEarly(c)
		s.remove(ref)
		next, more := m.failed(s, 0, e.Reason)
		return next, append(fx, more...)
	}
	return s, ignored(s, ev)
}

// failed turns a call that did not connect into busy or congestion tone:
// 486 Busy Here, 600 Busy Everywhere and 603 Decline mean the party is
// busy (RFC 3261 §21.4.24, §21.6.1, §21.6.2); anything else is congestion.
// The call is already gone from s.
func (m Machine) failed(s State, code int, reason string) (State, []Effect) {
	mode, tone := Congestion, ToneCongestion
	if code == 486 || code == 600 || code == 603 {
		mode, tone = Busy, ToneBusy
	}
	s.Mode = mode
	s.Reason = reason
	s.Focus = ""
	if s.Xfer.Phase == XferDialing {
		s.Xfer = Transfer{}
	}
	return s, []Effect{PlayTone{tone}, StartTimer{Timer: TimerOffHook, After: m.cfg.OffHook}}
}

func (m Machine) ringing(s State, ev Event) (State, []Effect) {
	c := s.Call()
	if c == nil {
		return s, ignored(s, ev)
	}
	ref := c.Ref
	switch e := ev.(type) {
	case Hook:
		if e.OffHook {
			s.Mode = Talking
			s.OffHook, s.Reason = true, ""
			c.Phase = PhaseTalking
			fx := []Effect{Ringer{On: false}, StopTimer{Timer: TimerNoAnswer, Call: ref}, Answer{ref}, StartMedia{ref}}
			return s, append(fx, m.startMediaTimer(ref)...)
		}
	case CallEnded: // the caller gave up: CANCEL (RFC 3261 §9.2)
		s.remove(ref)
		s.Mode = Idle
		s.Reason = e.Reason
		return s, []Effect{Ringer{On: false}, StopTimer{Timer: TimerNoAnswer, Call: ref}}
	case TimerFired:
		if e.Timer == TimerNoAnswer {
			return m.unanswered(s, ref)
		}
	}
	return s, ignored(s, ev)
}

// unanswered rejects a call that rang too long with 480.
func (m Machine) unanswered(s State, ref CallRef) (State, []Effect) {
	var fx []Effect
	switch {
	case ref == s.Focus && s.Mode == Ringing:
		fx = []Effect{Ringer{On: false}}
		s.Mode = Idle
		s.Reason = "not answered"
	case s.Mode == Talking:
		fx = []Effect{PlayTone{ToneNone}} // the call-waiting tone stops
	}
	s.remove(ref)
	return s, append(fx, Reject{Call: ref, Code: 480, Reason: "Temporarily Unavailable"})
}

func (m Machine) talking(s State, ev Event) (State, []Effect) {
	c := s.Call()
	if c == nil {
		return s, ignored(s, ev)
	}
	ref := c.Ref
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			return m.hangUp(s)
		}
	case CallEnded: // BYE from the far end (RFC 3261 §15.1.2)
		if c.Conference {
			fx := m.forget(&s, ref)
			s, more := m.afterLeave(s)
			return s, append(fx, more...)
		}
		fx := m.forget(&s, ref)
		next, more := m.failed(s, 486, reasonOr(e.Reason, "remote hung up"))
		return next, append(fx, more...)
	case Key:
		// A key while talking is DTMF to the focused call only: an RFC
		// 4733 event that lasts while the key is held (KeyRelease ends it).
		if IsDialKey(e.Key) && !c.OnHold() && c.Service == "" {
			return s, []Effect{SendDTMF{Call: ref, Key: e.Key}}
		}
	}
	return s, ignored(s, ev)
}

// hangUp is the handset replaced while talking: the focused call ends (in
// a conference, every member; a transferee whose REFER is out stays), and
// a waiting call starts ringing.
func (m Machine) hangUp(s State) (State, []Effect) {
	c := s.Call()
	var fx []Effect
	switch {
	case c.Ref == s.Xfer.Call && (s.Xfer.Phase == XferWaitHold || s.Xfer.Phase == XferSent):
		// Hanging up after a blind transfer's REFER completes it: the
		// transferee stays held until the outcome (transfer.go).
	case c.Phase == PhaseTalking && c.Conference:
		for _, cc := range slices.Clone(s.Calls) {
			if cc.Conference {
				fx = append(fx, m.end(&s, cc.Ref)...)
			}
		}
	default:
		fx = m.end(&s, c.Ref)
	}
	next, more := m.handsetDown(s)
	return next, append(fx, more...)
}

// end hangs up the call ref and forgets it.
func (m Machine) end(s *State, ref CallRef) []Effect { return m.drop(s, ref, true) }

// forget drops a call that is over (the far end ended it).
func (m Machine) forget(s *State, ref CallRef) []Effect { return m.drop(s, ref, false) }

// drop stops a call's media, hangs it up when asked, cancels its timers
// and removes it from s.
func (m Machine) drop(s *State, ref CallRef, hangup bool) []Effect {
	c := s.Get(ref)
	if c == nil {
		return nil
	}
	var fx []Effect
	if c.Answered() || c.Early {
		fx = append(fx, StopMedia{ref})
	}
	if hangup {
		fx = append(fx, Hangup{ref})
	}
	if c.Phase == PhaseRinging {
		fx = append(fx, StopTimer{Timer: TimerNoAnswer, Call: ref})
	}
	if c.Answered() && m.cfg.MediaTimeout > 0 {
		fx = append(fx, StopTimer{Timer: TimerMedia, Call: ref})
	}
	s.remove(ref)
	return fx
}

// handsetDown is the handset replaced with no focused call left: a
// waiting call rings now; otherwise the phone is idle (held calls stay
// held).
func (m Machine) handsetDown(s State) (State, []Effect) {
	s.OffHook, s.Digits, s.Reason = false, "", ""
	s.Focus, s.Path = "", ""
	if s.Xfer.Phase == XferDialing {
		s.Xfer = Transfer{}
	}
	if w := s.waiting(); w != nil {
		s.Mode, s.Focus = Ringing, w.Ref
		return s, []Effect{Ringer{On: true}}
	}
	s.Mode = Idle
	return s, nil
}

// ended is Busy, Congestion and Howler: the call is over and the handset is
// still up. Only hanging up leads out (or the hold key back to a held call).
func (m Machine) ended(s State, ev Event) (State, []Effect) {
	switch e := ev.(type) {
	case Hook:
		if !e.OffHook {
			next, fx := m.handsetDown(s)
			return next, append([]Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}}, fx...)
		}
	case TimerFired:
		if e.Timer == TimerOffHook && s.Mode != Howler {
			return m.howl(s)
		}
	}
	return s, ignored(s, ev)
}

// stopEarly stops early media when an unanswered call ends.
func stopEarly(c *Call) []Effect {
	if c.Early {
		return []Effect{StopMedia{c.Ref}}
	}
	return nil
}

func (m Machine) howl(s State) (State, []Effect) {
	s.Mode = Howler
	s.Focus = ""
	return s, []Effect{PlayTone{ToneOffHookWarning}}
}

func ignored(s State, ev Event) []Effect { return []Effect{Ignored{Event: ev, Mode: s.Mode}} }

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

// MediaTimeout is the configured RTP timeout (0: none).
func (m Machine) MediaTimeout() time.Duration { return m.cfg.MediaTimeout }
