package phone

import "slices"

// outputs are what follows from a state alone: the handset's mix, the
// lamps and ring-at-once. Step emits an effect for each that changed, so
// no one else decides them (no comparing status strings).
type outputs struct {
	mix        SetMix
	lamps      [3]LampState // in the order of Lamps
	ringAtOnce bool
	path       string // the audio path: PathHandset or PathSpeaker
}

// audible reports whether the handset may hear c: answered and not held
// by us (a resume being answered counts), or early media of a call ringing.
func audible(c Call) bool {
	return c.Answered() && (c.Hold == NotHeld || c.Hold == Resuming) || c.Phase == PhaseCalling && c.Early
}

func derive(s State) outputs {
	var o outputs
	if c := s.Call(); c != nil && audible(*c) {
		o.mix.Focus = c.Ref
	}
	for _, c := range s.Calls {
		if c.Conference && audible(c) {
			o.mix.Conference = append(o.mix.Conference, c.Ref)
		}
	}
	if len(o.mix.Conference) < 2 {
		o.mix.Conference = nil
	}
	o.mix.Mute = s.MicMuted()
	busy := s.Mode != Idle || len(s.Calls) > 0
	line := LampOff
	held := false
	for _, c := range s.Calls {
		held = held || c.Answered() && c.OnHold() && c.Ref != s.Focus
	}
	if c := s.Call(); c != nil && c.Answered() && c.OnHold() {
		held = true
	}
	switch {
	case s.Mode == Ringing:
		line = LampBlink
	case held:
		line = LampFast
	case busy:
		line = LampOn
	}
	o.lamps[0] = line
	o.lamps[1] = LampOff
	if o.mix.Mute {
		o.lamps[1] = LampOn
	}
	o.lamps[2] = LampOff
	if busy {
		o.lamps[2] = LampOn
	}
	o.ringAtOnce = s.Mode == Idle && len(s.Calls) == 0
	o.path = PathHandset
	if s.Path != "" {
		o.path = s.Path
	}
	return o
}

// changes lists the effects that take the outputs from a to b.
func changes(a, b outputs) []Effect {
	var fx []Effect
	if a.mix.Focus != b.mix.Focus || a.mix.Mute != b.mix.Mute || !slices.Equal(a.mix.Conference, b.mix.Conference) {
		fx = append(fx, b.mix)
	}
	for i, l := range Lamps {
		if a.lamps[i] != b.lamps[i] {
			fx = append(fx, SetLamp{Lamp: l, State: b.lamps[i]})
		}
	}
	if a.ringAtOnce != b.ringAtOnce {
		fx = append(fx, RingAtOnce{On: b.ringAtOnce})
	}
	if a.path != b.path {
		fx = append(fx, SetAudioPath{Path: b.path})
	}
	return fx
}

// Outputs returns every output of s as effects: what the daemon applies
// once at start, before the first Step (later Steps emit the changes).
func Outputs(s State) []Effect {
	o := derive(s)
	fx := []Effect{o.mix}
	for i, l := range Lamps {
		fx = append(fx, SetLamp{Lamp: l, State: o.lamps[i]})
	}
	return append(fx, RingAtOnce{On: o.ringAtOnce}, SetAudioPath{Path: o.path})
}
