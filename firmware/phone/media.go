package phone

// The media of answered calls: the far end's hold and the RTP timeout.
// The daemon reports facts (the far end's SDP direction, how long a call
// has been silent); the policy is here.

// startMediaTimer starts the RTP watch of a call that just got its media.
func (m Machine) startMediaTimer(ref CallRef) []Effect {
	if m.cfg.MediaTimeout <= 0 {
		return nil
	}
	return []Effect{StartTimer{Timer: TimerMedia, Call: ref, After: m.cfg.MediaTimeout}}
}

// remoteHold is the far end changing the session (re-INVITE or UPDATE):
// sendonly or inactive from its side holds us (RFC 3264 §8.4), and then
// we send nothing (recvonly/inactive is our answer, the UA's part).
func (m Machine) remoteHold(s State, e RemoteHold) (State, []Effect) {
	c := s.Get(e.Call)
	if !c.Answered() {
		return s, ignored(s, e)
	}
	c.HeldByRemote = e.Held
	return s, []Effect{UpdateMedia{Call: c.Ref, Send: !e.Held}}
}

// mediaSilence decides on a call's RTP watch: a call on hold (either side)
// gets no RTP by design and is watched again a whole timeout later; a call
// that heard something recently is watched again when the timeout could
// next run out; a call silent for the whole timeout is hung up.
func (m Machine) mediaSilence(s State, e MediaSilence) (State, []Effect) {
	c := s.Get(e.Call)
	if !c.Answered() || m.cfg.MediaTimeout <= 0 {
		return s, ignored(s, e)
	}
	switch {
	case c.OnHold() || c.HeldByRemote:
		return s, m.startMediaTimer(c.Ref)
	case e.Silent < m.cfg.MediaTimeout:
		return s, []Effect{StartTimer{Timer: TimerMedia, Call: c.Ref, After: m.cfg.MediaTimeout - e.Silent}}
	}
	ref := c.Ref
	if ref == s.Focus && !c.Conference {
		fx := m.end(&s, ref)
		next, more := m.failed(s, 0, "no media")
		return next, append(fx, more...)
	}
	fx := m.end(&s, ref)
	s.Reason = "no media"
	next, more := m.afterLeave(s)
	return next, append(fx, more...)
}
