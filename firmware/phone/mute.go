package phone

// Mute is per call: the mute key silences the microphone towards the
// focused call (the engine sends silence instead) and lights the mute
// lamp; another call keeps its own setting, so swapping calls or taking a
// waiting one shows and applies that call's. In a local conference the
// key mutes or unmutes every member at once (they share the microphone;
// members still hear each other). A call's mute ends with it. Without a
// focused call the key is ignored.

func (m Machine) muteKey(s State, ev Event) (State, []Effect) {
	c := s.Call()
	if c == nil {
		return s, ignored(s, ev)
	}
	on := !s.MicMuted()
	c.Muted = on
	if c.Conference {
		for i := range s.Calls {
			if s.Calls[i].Conference {
				s.Calls[i].Muted = on
			}
		}
	}
	return s, nil // SetMix and SetLamp follow from the state (outputs.go)
}

// MicMuted reports whether the microphone is muted: towards the focused
// call, or, in a conference, towards its members.
func (s State) MicMuted() bool {
	c := s.Call()
	if c == nil {
		return false
	}
	if c.Conference {
		for _, o := range s.Calls {
			if o.Conference && o.Muted {
				return true
			}
		}
	}
	return c.Muted
}
