package phone

import (
	"reflect"
	"testing"
)

// Early media (183 with SDP) joins the exhaustive table.
func init() {
	events["progress-183-sdp"] = CallProgress{Call: c1, Code: 183, EarlyMedia: true}
	for mode, rows := range table {
		rows["progress-183-sdp"] = want{states[mode], ig}
	}
	early := withProgress(states[Calling], 183)
	early.Calls[0].Early = true
	table[Calling]["progress-183-sdp"] = want{early, []Effect{PlayTone{ToneNone}, StartMedia{c1}}}
}

// RFC 3960: early media replaces local ringback, survives a later 180, is
// stopped when the call fails or is abandoned, and moves to the answer.
func TestEarlyMediaSequences(t *testing.T) {
	m := NewMachine(testCfg)
	start := func() State {
		s, _ := m.Step(states[Calling], CallProgress{Call: c1, Code: 183, EarlyMedia: true})
		return s
	}
	steps := []struct {
		name string
		ev   Event
		mode Mode
		fx   []Effect
	}{
		{"180 after early media", CallProgress{Call: c1, Code: 180}, Calling, nil},
		{"busy", CallFailed{Call: c1, Code: 486, Reason: "Busy Here"}, Busy,
			[]Effect{StopMedia{c1}, PlayTone{ToneBusy}, StartTimer{Timer: TimerOffHook, After: testCfg.OffHook}}},
		{"hang up", Hook{OffHook: false}, Idle, []Effect{StopMedia{c1}, PlayTone{ToneNone}, Hangup{c1}}},
		{"answered", CallAnswered{Call: c1}, Talking, []Effect{PlayTone{ToneNone}, StartMedia{c1}}},
	}
	for _, st := range steps {
		s, fx := stepCore(m, start(), st.ev)
		if s.Mode != st.mode || s.Call() != nil && s.Call().Early && s.Mode != Calling || !reflect.DeepEqual(fx, st.fx) {
			t.Errorf("%s: %s %v, want %s %v", st.name, s.Mode, fx, st.mode, st.fx)
		}
	}
}
