package phone

// Hold and resume (RFC 3264 §8.4, RFC 6337 §5): each is a re-INVITE with
// our SDP's direction changed; the hold completes with the re-INVITE's 2xx
// (Reinvited). While one is out, the hold key does nothing: pressing it
// twice never sends sendrecv by accident. A held call keeps its timers
// (media timeout, RTCP in the engine).

// hold puts c on hold: sendonly, or inactive when the far end already
// holds us (RFC 3264 §8.4: we must not offer to receive from a party
// that is not sending). Only an answered call that is not held is held.
func (m Machine) hold(c *Call) []Effect {
	if !c.Answered() || c.Hold != NotHeld {
		return nil
	}
	c.Hold = Holding
	dir := "sendonly"
	if c.HeldByRemote {
		dir = "inactive"
	}
	return []Effect{Reinvite{Call: c.Ref, Direction: dir}}
}

// resume takes c off hold: sendrecv (the far end's own hold, if any, is
// its answer's to keep).
func (m Machine) resume(c *Call) []Effect {
	if c.Hold != Held {
		return nil
	}
	c.Hold = Resuming
	return []Effect{Reinvite{Call: c.Ref, Direction: "sendrecv"}}
}

// holdKey is the hold key:
//   - a waiting call: answer it and hold the focused one (waiting.go);
//   - the focused call talking: hold it; held: resume it; a hold or resume
//     still out: nothing;
//   - no focused call and a held one (dial tone after a flash, busy tone
//     of a consultation call): back to the held call.
func (m Machine) holdKey(s State, ev Event) (State, []Effect) {
	if s.Xfer.Phase == XferWaitHold || s.Xfer.Phase == XferSent {
		return s, ignored(s, ev) // the transferee stays held until the outcome
	}
	if s.waiting() != nil && s.Mode == Talking {
		return m.answerWaiting(s)
	}
	if c := s.Call(); c != nil && c.Answered() && s.Mode == Talking {
		if c.Conference {
			return s, ignored(s, ev) // the conference key splits it first
		}
		switch c.Hold {
		case NotHeld:
			return s, m.hold(c)
		case Held:
			s.Reason = ""
			return s, m.resume(c)
		}
		return s, ignored(s, ev)
	}
	if s.Focus == "" && s.OffHook && s.held() != nil {
		return m.backToHeld(s)
	}
	return s, ignored(s, ev)
}

// backToHeld leaves dial, busy or congestion tone for the first held call.
// While a transfer collects its target, that is the transferee.
func (m Machine) backToHeld(s State) (State, []Effect) {
	h := s.held()
	if s.Xfer.Phase == XferDialing {
		h = s.Get(s.Xfer.Call)
		s.Xfer = Transfer{}
	}
	if h == nil {
		return s, nil
	}
	fx := []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}}
	s.Mode, s.Focus, s.Digits = Talking, h.Ref, ""
	return s, append(fx, m.resume(h)...)
}

// reinvited completes (2xx) or undoes (anything else) a hold or resume.
// A transfer waiting for the hold to complete sends its REFER now (RFC 5589
// §7: a REFER right after a re-INVITE draws 491).
func (m Machine) reinvited(s State, e Reinvited) (State, []Effect) {
	c := s.Get(e.Call)
	ok := e.Code >= 200 && e.Code <= 299
	var fx []Effect
	switch {
	case c.Hold == Holding && ok:
		c.Hold = Held
	case c.Hold == Holding:
		c.Hold = NotHeld
		s.Reason = "hold failed: " + reasonText(e.Code, e.Reason)
	case c.Hold == Resuming && ok:
		c.Hold = NotHeld
	case c.Hold == Resuming:
		c.Hold = Held
		s.Reason = "resume failed: " + reasonText(e.Code, e.Reason)
	default:
		return s, ignored(s, e)
	}
	if ok {
		fx = append(fx, UpdateMedia{Call: c.Ref, Send: !c.HeldByRemote})
	}
	if s.Xfer.Phase == XferDialing && s.Xfer.Call == c.Ref && c.Hold == NotHeld {
		// The transferee could not be held: the transfer is abandoned
		// and the handset goes back to the call.
		reason := "transfer failed: " + s.Reason
		s, more := m.backToHeld(s)
		s.Reason = reason
		return s, append(fx, more...)
	}
	if s.Xfer.Phase == XferWaitHold && s.Xfer.Call == c.Ref {
		if c.Hold == Held {
			s.Xfer.Phase = XferSent
			fx = append(fx, s.Xfer.refer())
		} else {
			s.Reason = "transfer failed: " + s.Reason
			s.Xfer = Transfer{}
		}
	}
	return s, fx
}
