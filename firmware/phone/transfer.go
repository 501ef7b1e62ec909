package phone

import (
	"strconv"
	"strings"
)

// Transfer (RFC 3515 REFER, RFC 5589 call transfer):
//
//   - blind: the transfer key holds the focused call and gives dial tone;
//     the number, then '#' or the transfer key again, sends the REFER.
//   - attended: with the transferee held and a consultation call focused
//     (placed after the transfer key by the dial plan or the inter-digit
//     timeout, or after a hook flash), the transfer key sends a REFER
//     whose Refer-To carries Replaces naming the consultation call (RFC
//     5589 §7, RFC 3891). A consultation call still ringing is hung up and
//     the transfer goes blind to its number.
//
// The REFER waits until the transferee's hold has completed: a REFER right
// after the hold re-INVITE draws 491 (RFC 5589 §7). Only the final
// TransferProgress (a NOTIFY with Subscription-State terminated, or the
// REFER's own failure) decides: on success our calls end (RFC 5589 §6.1:
// the transferor sends BYE); on failure a blind transfer resumes the
// original call and the display says why.
//
// Being transferred: a Referred (the UA accepted a REFER with 202) places
// a call to the Refer-To with Referred-By (RFC 3892); its progress goes
// back by NotifyRefer (RFC 3515 §2.4.5), and its answer ends the old call.
// Being replaced: an INVITE with Replaces naming one of our calls is
// answered at once and the replaced call ends (RFC 3891 §3).

// XferPhase is where a transfer we make stands.
type XferPhase int

const (
	XferNone       XferPhase = iota
	XferDialing              // the transferee is held; the target's number is being collected
	XferConsulting           // a consultation call to the target was placed
	XferWaitHold             // the REFER waits for the transferee's hold to complete
	XferSent                 // the REFER is out; waiting for its final outcome
)

// Transfer is a transfer we make.
type Transfer struct {
	Phase   XferPhase
	Call    CallRef // the transferee's call (held)
	Number  string  // blind: the target's number
	Consult CallRef // attended: our call to the target
}

// refer is the REFER of the transfer.
func (x Transfer) refer() Effect {
	if x.Number != "" {
		return Refer{Call: x.Call, Number: x.Number}
	}
	return Refer{Call: x.Call, Consult: x.Consult}
}

// transferKey is the transfer key.
func (m Machine) transferKey(s State, ev Event) (State, []Effect) {
	switch {
	case s.Xfer.Phase == XferDialing && s.Digits != "":
		return m.referBlind(s, s.Digits)
	case s.Xfer.Phase == XferDialing:
		return m.backToHeld(s) // nothing dialled: the transfer is abandoned
	case s.Xfer.Phase == XferConsulting || s.Xfer.Phase == XferNone && s.Mode == Talking && s.held() != nil:
		return m.referAttended(s, ev)
	case s.Xfer.Phase == XferNone && s.Mode == Talking:
		c := s.Call()
		if c == nil || !c.Answered() || c.Conference || len(s.Calls) >= m.cfg.MaxCalls || c.Hold == Resuming {
			break
		}
		fx := m.hold(c)
		s.Xfer = Transfer{Phase: XferDialing, Call: c.Ref}
		s.Mode, s.Focus, s.Digits, s.Reason = DialTone, "", "", ""
		return s, append(fx, PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: m.cfg.OffHook})
	}
	return s, ignored(s, ev)
}

// referBlind sends (or readies) the REFER of a blind transfer to number
// and goes back to the held transferee while it runs.
func (m Machine) referBlind(s State, number string) (State, []Effect) {
	fx := []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}}
	s.Xfer.Number, s.Xfer.Consult = number, ""
	s.Mode, s.Focus, s.Digits = Talking, s.Xfer.Call, ""
	s.Reason = "transferring to " + number
	return s, append(fx, m.sendRefer(&s)...)
}

// referAttended joins the held transferee and the focused consultation
// call.
func (m Machine) referAttended(s State, ev Event) (State, []Effect) {
	consult := s.Call()
	t := s.Get(s.Xfer.Call)
	if s.Xfer.Phase == XferNone {
		t = s.held()
	}
	if consult == nil || t == nil || consult.Ref == t.Ref || consult.Conference || t.Hold == Resuming || t.Hold == NotHeld {
		return s, ignored(s, ev)
	}
	s.Xfer.Call = t.Ref
	var fx []Effect
	switch consult.Phase {
	case PhaseCalling: // semi-attended: the target is still ringing
		number, cref := consult.Remote, consult.Ref
		s.Xfer.Number, s.Xfer.Consult = number, ""
		fx = append(fx, m.end(&s, cref)...)
		s.Focus = t.Ref
		s.Reason = "transferring to " + number
	case PhaseTalking:
		s.Xfer.Number, s.Xfer.Consult = "", consult.Ref
		s.Reason = "transferring " + t.Remote + " to " + consult.Remote
	default:
		return s, ignored(s, ev)
	}
	if s.Mode != Talking {
		s.Mode = Talking
	}
	return s, append(fx, m.sendRefer(&s)...)
}

// sendRefer sends the REFER now if the transferee's hold is complete,
// else when it completes (reinvited).
func (m Machine) sendRefer(s *State) []Effect {
	if t := s.Get(s.Xfer.Call); t != nil && t.Hold == Held {
		s.Xfer.Phase = XferSent
		return []Effect{s.Xfer.refer()}
	}
	s.Xfer.Phase = XferWaitHold
	return nil
}

// transferProgress is the REFER's progress; only the final one counts.
func (m Machine) transferProgress(s State, e TransferProgress) (State, []Effect) {
	if s.Xfer.Phase != XferSent || s.Xfer.Call != e.Call {
		return s, ignored(s, e)
	}
	if !e.Final {
		return s, nil
	}
	x := s.Xfer
	s.Xfer = Transfer{}
	if e.Code >= 200 && e.Code <= 299 {
		target := x.Number
		fx := m.end(&s, x.Call)
		if c := s.Get(x.Consult); c != nil {
			// The target replaced this call by the transferee's (RFC 3891
			// §3) and ends it; ours is done too (a crossing BYE is harmless).
			target = c.Remote
			fx = append(fx, m.end(&s, x.Consult)...)
		}
		s.Reason = "transferred to " + target
		if s.Focus == "" && s.Mode == Talking {
			next, more := m.afterTransfer(s)
			return next, append(fx, more...)
		}
		return s, fx
	}
	s.Reason = "transfer failed: " + reasonText(e.Code, e.Reason)
	if x.Consult != "" {
		return s, nil // attended: stay with the target, the transferee stays held
	}
	t := s.Get(x.Call)
	if s.Focus != x.Call || t == nil {
		return s, nil
	}
	return s, m.resume(t)
}

// afterTransfer is the handset after our call was transferred away: dial
// tone for the next call (the display says where the call went).
func (m Machine) afterTransfer(s State) (State, []Effect) {
	if !s.OffHook {
		s.Mode = Idle
		return s, nil
	}
	s.Mode = DialTone
	return s, []Effect{PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: m.cfg.OffHook}}
}

// referred places the call a REFER asks for (being transferred).
func (m Machine) referred(s State, e Referred) (State, []Effect) {
	old := s.Get(e.Call)
	if !old.Answered() || len(s.Calls) >= m.cfg.MaxCalls {
		return s, []Effect{NotifyRefer{Call: e.Call, Code: 503, Reason: "Service Unavailable"}}
	}
	s.seq++
	ref := CallRef("out-" + strconv.FormatUint(s.seq, 10))
	remote := strings.TrimPrefix(strings.TrimPrefix(e.Target, "sips:"), "sip:")
	if i := strings.IndexAny(remote, "@;?>"); i > 0 {
		remote = remote[:i]
	}
	s.Calls = append(s.Calls, Call{Ref: ref, Direction: Outgoing, Remote: remote, Phase: PhaseCalling, ReferredBy: e.Call})
	if s.Focus == e.Call && !old.Conference {
		s.Focus, s.Mode = ref, Calling
	}
	return s, []Effect{Dial{Call: ref, Target: e.Target, ReferredBy: e.ReferredBy, Replaces: e.Replaces}}
}

// referredCall is the call a REFER made us place that ev is about, or nil.
func referredCall(s State, ev Event) *Call {
	var ref CallRef
	switch e := ev.(type) {
	case CallProgress:
		ref = e.Call
	case CallAnswered:
		ref = e.Call
	case CallFailed:
		ref = e.Call
	default:
		return nil
	}
	if c := s.Get(ref); c != nil && c.ReferredBy != "" && c.Phase == PhaseCalling {
		return c
	}
	return nil
}

// referredProgress carries the new call's progress on as usual and
// reports it to the referrer (RFC 3515 §2.4.5): a final answer ends the
// subscription; on success the old call ends, on failure the handset goes
// back to it.
func (m Machine) referredProgress(s State, ev Event, c *Call) (State, []Effect) {
	old, ref := c.ReferredBy, c.Ref
	switch e := ev.(type) {
	case CallProgress:
		next, fx := m.stepFor(s, ev, ref)
		if e.Code > 100 && e.Code <= 199 && next.Get(old) != nil {
			fx = append(fx, NotifyRefer{Call: old, Code: e.Code, Reason: progressReason(e.Code)})
		}
		return next, fx
	case CallAnswered:
		var next State
		var fx []Effect
		if s.Focus == old && s.Mode == Talking {
			// The handset went back to the old call meanwhile: the new
			// call takes its place.
			c.Phase, c.Early, s.Focus = PhaseTalking, false, ref
			next, fx = s, append([]Effect{StartMedia{ref}}, m.startMediaTimer(ref)...)
		} else {
			next, fx = m.stepFor(s, ev, ref)
		}
		if n := next.Get(ref); n != nil {
			n.ReferredBy = ""
		}
		if next.Get(old) != nil {
			fx = append(fx, NotifyRefer{Call: old, Code: 200, Reason: "OK"})
			fx = append(fx, m.end(&next, old)...)
		}
		return next, fx
	case CallFailed:
		if s.Get(old) == nil { // the referrer's call is gone: an ordinary failed call
			c.ReferredBy = ""
			return m.stepFor(s, ev, ref)
		}
		focused := s.Focus == ref
		fx := stopEarly(c)
		s.remove(ref)
		fx = append(fx, NotifyRefer{Call: old, Code: e.Code, Reason: reasonOr(e.Reason, "Failed")})
		s.Reason = "transfer failed: " + reasonText(e.Code, e.Reason)
		if focused {
			s.Focus, s.Mode = old, Talking
			fx = append(fx, PlayTone{ToneNone})
		}
		return s, fx
	}
	return s, ignored(s, ev)
}

// stepFor steps an event of call ref the usual way: the focused call's
// mode, or the background.
func (m Machine) stepFor(s State, ev Event, ref CallRef) (State, []Effect) {
	if ref == s.Focus && s.Mode == Calling {
		return m.calling(s, ev)
	}
	return m.background(s, ev, ref)
}

func progressReason(code int) string {
	switch code {
	case 180:
		return "Ringing"
	case 181:
		return "Call Is Being Forwarded"
	case 182:
		return "Queued"
	case 183:
		return "Session Progress"
	}
	return "Trying"
}

// replace is an INVITE with Replaces (RFC 3891 §3): answered at once; the
// replaced call ends and the new one takes its place (focus, conference).
func (m Machine) replace(s State, e IncomingCall) (State, []Effect) {
	old := s.Get(e.Replaces)
	if old == nil || !old.Answered() {
		// RFC 3891 §3: no such confirmed dialog.
		return s, []Effect{Reject{Call: e.Call, Code: 481, Reason: "Call/Transaction Does Not Exist"}}
	}
	n := Call{Ref: e.Call, Direction: Incoming, Remote: e.From, Phase: PhaseTalking, Conference: old.Conference}
	focused := s.Focus == old.Ref
	held := old.OnHold()
	oldRef := old.Ref
	fx := []Effect{Answer{e.Call}, StartMedia{e.Call}}
	fx = append(fx, m.startMediaTimer(e.Call)...)
	fx = append(fx, m.end(&s, oldRef)...)
	s.Calls = append(s.Calls, n)
	if focused {
		s.Focus = e.Call
	}
	if held && !focused {
		fx = append(fx, m.hold(s.Get(e.Call))...)
	}
	return s, fx
}
