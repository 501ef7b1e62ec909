package phone

// Mute: the mute key silences the microphone towards every call (the
// engine sends silence instead; conference members still hear each
// other) and lights the mute lamp. It toggles while the phone has a call
// and is reset when the last call ends.

func (m Machine) muteKey(s State, ev Event) (State, []Effect) {
	if len(s.Calls) == 0 {
		return s, ignored(s, ev)
	}
	s.Muted = !s.Muted
	return s, nil // SetMix and SetLamp follow from the state (outputs.go)
}
