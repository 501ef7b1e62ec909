package phone

// Local 3-way conference: the conference key joins the focused call and a
// held one (the held one is resumed); the handset hears the sum and each
// member hears the handset and the other (the engine's mix). Hanging up
// ends every member; the conference key again splits it: both held, the
// focused one stays focused. A member that hangs up leaves the other as an
// ordinary call.

func (m Machine) conferenceKey(s State, ev Event) (State, []Effect) {
	c := s.Call()
	if s.Mode != Talking || c == nil || !c.Answered() || s.Xfer.Phase != XferNone {
		return s, ignored(s, ev)
	}
	if c.Conference {
		var fx []Effect
		for i := range s.Calls {
			if cc := &s.Calls[i]; cc.Conference {
				cc.Conference = false
				fx = append(fx, m.hold(cc)...)
			}
		}
		return s, fx
	}
	h := s.held()
	if h == nil || h.Hold != Held || c.Hold == Holding || c.Hold == Resuming {
		return s, ignored(s, ev)
	}
	c.Conference, h.Conference = true, true
	s.Reason = ""
	fx := m.resume(c)
	return s, append(fx, m.resume(h)...)
}

// afterLeave tidies up after a call left: a conference of one is an
// ordinary call again (focused if the handset was in the conference).
func (m Machine) afterLeave(s State) (State, []Effect) {
	var members []*Call
	for i := range s.Calls {
		if s.Calls[i].Conference {
			members = append(members, &s.Calls[i])
		}
	}
	if len(members) == 1 {
		members[0].Conference = false
		if s.Focus == "" && s.Mode == Talking {
			s.Focus = members[0].Ref
		}
	}
	return s, nil
}
