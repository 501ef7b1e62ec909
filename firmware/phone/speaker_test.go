package phone

import (
	"slices"
	"testing"
)

// paths lists the SetAudioPath effects in fx.
func paths(fx []Effect) []string {
	var p []string
	for _, e := range fx {
		if a, ok := e.(SetAudioPath); ok {
			p = append(p, a.Path)
		}
	}
	return p
}

// TestSpeakerMovesTheCall: hands-free from on hook, the handset lifted
// and replaced, the speaker key with the handset up, and hanging up
// hands-free; the audio path follows each move, and the call is never
// hung up by a move.
func TestSpeakerMovesTheCall(t *testing.T) {
	m := NewMachine(testCfg)
	var s State
	step := func(what string, ev Event, mode Mode, speaker bool, path ...string) []Effect {
		t.Helper()
		var fx []Effect
		s, fx = m.Step(s, ev)
		if s.Mode != mode || (s.Path == PathSpeaker) != speaker || !slices.Equal(paths(fx), path) {
			t.Fatalf("%s: mode %s speaker %v paths %v (effects %v); want %s %v %v", what, s.Mode, s.Path, paths(fx), fx, mode, speaker, path)
		}
		for _, e := range fx {
			if _, ok := e.(Hangup); ok && mode != Idle {
				t.Fatalf("%s: hung up: %v", what, fx)
			}
		}
		return fx
	}
	step("speaker key on hook", FunctionKey{Name: FnSpeaker}, DialTone, true, PathSpeaker)
	step("handset lifted", Hook{OffHook: true}, DialTone, false, PathHandset)
	step("speaker key, handset up", FunctionKey{Name: FnSpeaker}, DialTone, true, PathSpeaker)
	step("handset replaced", Hook{OffHook: false}, DialTone, true)
	for _, k := range "1002#" {
		s, _ = m.Step(s, Key{Key: byte(k)})
	}
	if s.Mode != Calling || s.Path != PathSpeaker {
		t.Fatalf("dialled hands-free: %s speaker %v", s.Mode, s.Path)
	}
	ref := s.Focus
	s, _ = m.Step(s, CallAnswered{Call: ref})
	step("handset lifted mid-call", Hook{OffHook: true}, Talking, false, PathHandset)
	step("speaker key mid-call", FunctionKey{Name: FnSpeaker}, Talking, true, PathSpeaker)
	step("handset replaced mid-call", Hook{OffHook: false}, Talking, true)
	fx := step("speaker key hands-free: hang up", FunctionKey{Name: FnSpeaker}, Idle, false, PathHandset)
	if !slices.ContainsFunc(fx, func(e Effect) bool { return e == Hangup{Call: ref} }) {
		t.Fatalf("hanging up hands-free sent no BYE: %v", fx)
	}

	// A ringing call answered with the speaker key is hands-free; the
	// far end hanging up leaves the speaker on until the key.
	s, _ = m.Step(State{}, IncomingCall{Call: "c2", From: "1003"})
	step("answer with the speaker key", FunctionKey{Name: FnSpeaker}, Talking, true, PathSpeaker)
	s, _ = m.Step(s, CallEnded{Call: "c2", Reason: "bye"})
	if s.Path != PathSpeaker || !s.OffHook {
		t.Fatalf("far end gone: path %q offhook %v", s.Path, s.OffHook)
	}
	step("speaker key after the call", FunctionKey{Name: FnSpeaker}, Idle, false, PathHandset)
}

// TestHeadsetKey: the headset key answers on the headset, the speaker
// key moves the call from the headset to the speaker and the headset key
// back, the handset lifted takes it, and the headset key on the headset
// hangs up.
func TestHeadsetKey(t *testing.T) {
	m := NewMachine(testCfg)
	s, _ := m.Step(State{}, IncomingCall{Call: "c2", From: "1003"})
	for _, st := range []struct {
		what string
		ev   Event
		mode Mode
		path string // State.Path
		out  string // the SetAudioPath effect, "" for none
	}{
		{"headset key answers", FunctionKey{Name: FnHeadset}, Talking, PathHeadset, PathHeadset},
		{"speaker key moves it", FunctionKey{Name: FnSpeaker}, Talking, PathSpeaker, PathSpeaker},
		{"headset key moves it back", FunctionKey{Name: FnHeadset}, Talking, PathHeadset, PathHeadset},
		{"handset lifted", Hook{OffHook: true}, Talking, "", PathHandset},
		{"headset key from the handset", FunctionKey{Name: FnHeadset}, Talking, PathHeadset, PathHeadset},
		{"handset replaced", Hook{OffHook: false}, Talking, PathHeadset, ""},
		{"headset key on the headset hangs up", FunctionKey{Name: FnHeadset}, Idle, "", PathHandset},
	} {
		var fx []Effect
		s, fx = m.Step(s, st.ev)
		want := []string(nil)
		if st.out != "" {
			want = []string{st.out}
		}
		if s.Mode != st.mode || s.Path != st.path || !slices.Equal(paths(fx), want) {
			t.Fatalf("%s: %s path %q effects %v; want %s %q %v", st.what, s.Mode, s.Path, fx, st.mode, st.path, want)
		}
	}
}
