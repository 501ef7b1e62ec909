package phone

// Call waiting: a second INVITE while talking rings as the call-waiting
// tone in the handset (no ringer), and shows on the display and status.
// Hook flash or the hold key answers it and holds the focused call; flash
// again swaps the two. phone.call_waiting = false, or MaxCalls reached,
// refuses it with 486 (RFC 3261 §21.4.24).

// incoming is a new INVITE.
func (m Machine) incoming(s State, e IncomingCall) (State, []Effect) {
	if s.Get(e.Call) != nil {
		return s, ignored(s, e) // a retransmission the UA let through
	}
	if e.Replaces != "" {
		return m.replace(s, e) // transfer.go
	}
	busy := []Effect{Reject{Call: e.Call, Code: 486, Reason: "Busy Here"}}
	if len(s.Calls) >= m.cfg.MaxCalls {
		return s, busy
	}
	c := Call{Ref: e.Call, Direction: Incoming, Remote: e.From, Phase: PhaseRinging}
	ring := []Effect{SendRinging{e.Call}, Ringer{On: true, Pattern: e.AlertInfo}, StartTimer{Timer: TimerNoAnswer, Call: e.Call, After: m.cfg.NoAnswer}}
	switch {
	case s.Mode == Idle && len(s.Calls) == 0:
		s.Reason = ""
		s.Mode, s.Calls, s.Focus = Ringing, append(s.Calls, c), e.Call
		return s, ring
	case !m.cfg.CallWaiting || s.waiting() != nil:
		return s, busy
	case s.Mode == Idle:
		// The handset is down with calls on hold: ring as usual.
		s.Reason = ""
		s.Mode, s.Calls, s.Focus = Ringing, append(s.Calls, c), e.Call
		return s, ring
	case s.Mode == Talking:
		s.Calls = append(s.Calls, c)
		return s, []Effect{SendRinging{e.Call}, PlayTone{ToneCallWaiting}, StartTimer{Timer: TimerNoAnswer, Call: e.Call, After: m.cfg.NoAnswer}}
	}
	return s, busy
}

// answerWaiting answers the waiting call, holding every call the handset
// hears, and focuses it.
func (m Machine) answerWaiting(s State) (State, []Effect) {
	w := s.waiting()
	fx := []Effect{PlayTone{ToneNone}}
	for i := range s.Calls {
		if c := &s.Calls[i]; c.Ref != w.Ref {
			c.Conference = false
			fx = append(fx, m.hold(c)...)
		}
	}
	w.Phase = PhaseTalking
	s.Focus, s.Reason = w.Ref, ""
	fx = append(fx, StopTimer{Timer: TimerNoAnswer, Call: w.Ref}, Answer{w.Ref}, StartMedia{w.Ref})
	return s, append(fx, m.startMediaTimer(w.Ref)...)
}

// flash is a hook flash (a short on-hook):
//   - a waiting call: answer it, holding the focused one;
//   - talking with a held call: swap them;
//   - talking alone: hold the call and give dial tone for a second call;
//   - dial tone or busy tone with a held call: back to it;
//   - while a REFER is out: nothing (the transferee stays held).
func (m Machine) flash(s State, ev Event) (State, []Effect) {
	c := s.Call()
	switch {
	case s.Xfer.Phase == XferWaitHold || s.Xfer.Phase == XferSent:
		return s, ignored(s, ev) // the transferee stays held until the outcome
	case s.Mode == Talking && s.waiting() != nil:
		return m.answerWaiting(s)
	case s.Mode == Talking && c != nil && c.Conference:
		return s, ignored(s, ev)
	case s.Mode == Talking && c != nil && (c.Hold == NotHeld || c.Hold == Held) && s.held() != nil:
		h := s.held()
		fx := append(m.hold(c), m.resume(h)...)
		s.Focus, s.Reason = h.Ref, ""
		return s, fx
	case s.Mode == Talking && c != nil && c.Hold == Held && s.held() == nil:
		return s, m.resume(c)
	case s.Mode == Talking && c != nil && c.Hold == NotHeld && len(s.Calls) < m.cfg.MaxCalls:
		fx := m.hold(c)
		s.Mode, s.Focus, s.Digits, s.Reason = DialTone, "", "", ""
		return s, append(fx, PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: m.cfg.OffHook})
	case s.Focus == "" && s.OffHook && s.held() != nil:
		return m.backToHeld(s)
	}
	return s, ignored(s, ev)
}
