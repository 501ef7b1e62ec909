package phone

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// The front-panel events join the exhaustive table: every mode gets a row
// for each of them (TestEveryStateEventPair fails on a missing one).
func init() {
	events["flash"] = HookFlash{}
	events["release"] = KeyRelease{Key: '5'}
	events["longpress"] = LongPress{Key: "5"}
	for _, f := range Functions {
		events["fk-"+string(f)] = FunctionKey{Name: f}
	}
	for mode, rows := range table {
		s := states[mode]
		rows["flash"] = want{s, ig}
		rows["release"] = want{s, ig}
		rows["longpress"] = want{s, ig}
		// The representative states have dialled nothing: redial is
		// ignored everywhere here (TestRedial covers the rest).
		rows["fk-redial"] = want{s, ig}
		for _, f := range []Function{FnHold, FnTransfer, FnConference, FnMute, FnMessage} {
			rows["fk-"+string(f)] = want{s, ig}
		}
		// The volume keys step the volume in every mode, state untouched.
		rows["fk-volume_up"] = want{s, []Effect{StepVolume{Up: true}}}
		rows["fk-volume_down"] = want{s, []Effect{StepVolume{Up: false}}}
		// Releasing a digit while talking ends its telephone-event.
		if mode == Talking {
			rows["release"] = want{s, []Effect{StopDTMF{Call: c1}}}
		}
		// Mute toggles the focused call's microphone.
		if s.Call() != nil {
			muted := s
			muted.Calls = slices.Clone(s.Calls)
			muted.Call().Muted = true
			rows["fk-mute"] = want{muted, nil}
		}
		// Talking: hold holds the call; transfer and flash hold it and
		// give dial tone (hold_test.go, transfer_test.go, waiting_test.go).
		if mode == Talking {
			held := s
			held.Calls = []Call{out(true)}
			held.Calls[0].Hold = Holding
			rows["fk-hold"] = want{held, []Effect{Reinvite{Call: c1, Direction: "sendonly"}}}
			dt := held
			dt.Mode, dt.Focus, dt.Digits = DialTone, "", ""
			second := []Effect{Reinvite{Call: c1, Direction: "sendonly"}, PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}
			rows["flash"] = want{dt, second}
			xfer := dt
			xfer.Xfer = Transfer{Phase: XferDialing, Call: c1}
			rows["fk-transfer"] = want{xfer, second}
		}
		// Speaker and headset: with the handset up (every off-hook state
		// here) the audio moves to the key's path and nothing else
		// changes; on hook it is the hook-off row, on that path
		// (speaker_test.go has the rest).
		for _, p := range []string{PathSpeaker, PathHeadset} {
			if s.OffHook {
				moved := s
				moved.Path = p
				rows["fk-"+p] = want{moved, nil}
			} else {
				w := rows["hook-off"]
				if w.state.OffHook {
					w.state.Path = p
				}
				rows["fk-"+p] = w
			}
		}
	}
}

func TestSpeakerRowsAreNotIgnored(t *testing.T) {
	for mode := Mode(0); mode < numModes; mode++ {
		if w := table[mode]["fk-speaker"]; len(w.fx) == 1 && w.fx[0] == (Ignored{}) {
			t.Errorf("%s: speaker key ignored; it is a hook toggle in every state", mode)
		}
	}
}

func TestRedial(t *testing.T) {
	m := NewMachine(testCfg)
	var s State
	s, fx := stepCore(m, s, FunctionKey{FnRedial})
	if s.Mode != Idle || len(fx) != 1 {
		t.Fatalf("redial with nothing dialled: %v %v", s, fx)
	}
	for _, ev := range []Event{Hook{true}, Key{'1'}, Key{'0'}, Key{'2'}, Key{'#'}, CallFailed{Call: "out-1", Code: 486}, Hook{false}} {
		s, _ = m.Step(s, ev)
	}
	if s.Mode != Idle || s.LastDialed != "102" {
		t.Fatalf("after a call: %+v (last %q)", s, s.LastDialed)
	}
	// From idle: hands-free, dialled at once.
	s2, fx := stepCore(m, s, FunctionKey{FnRedial})
	want := []Effect{StopTimer{Timer: TimerInterDigit}, Dial{Call: "out-2", Number: "102"}}
	if s2.Mode != Calling || !s2.OffHook || s2.Digits != "102" || !reflect.DeepEqual(fx, want) {
		t.Fatalf("redial from idle: %+v %#v", s2, fx)
	}
	// From dial tone: the tone and its timer stop first.
	s3, _ := m.Step(s, Hook{true})
	s3, fx = stepCore(m, s3, FunctionKey{FnRedial})
	want = []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}, Dial{Call: "out-2", Number: "102"}}
	if s3.Mode != Calling || !reflect.DeepEqual(fx, want) {
		t.Fatalf("redial from dial tone: %+v %#v", s3, fx)
	}
	// While dialling it is ignored; the last number survives a missed call.
	s4, _ := m.Step(s, Hook{true})
	s4, _ = m.Step(s4, Key{'7'})
	if s5, fx := stepCore(m, s4, FunctionKey{FnRedial}); s5.Mode != Dialing || len(fx) != 1 {
		t.Fatalf("redial while dialling: %+v %v", s5, fx)
	}
	s6, _ := m.Step(s, IncomingCall{Call: "c1", From: "x"})
	s6, _ = m.Step(s6, TimerFired{Timer: TimerNoAnswer, Call: "c1"})
	if s6.LastDialed != "102" {
		t.Fatalf("missed call lost the last number: %+v", s6)
	}
}

func TestSpeakerAnswersAndHangsUp(t *testing.T) {
	m := NewMachine(Config{NoAnswer: time.Minute})
	s, _ := m.Step(State{}, IncomingCall{Call: "c1", From: "x"})
	s, fx := stepCore(m, s, FunctionKey{FnSpeaker})
	if s.Mode != Talking || !s.OffHook || len(fx) != 4 {
		t.Fatalf("speaker while ringing: %+v %v", s, fx)
	}
	s, _ = m.Step(s, FunctionKey{FnSpeaker})
	if s.Mode != Idle || s.OffHook {
		t.Fatalf("speaker while talking: %+v", s)
	}
}
