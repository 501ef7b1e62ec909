package phone

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

var testCfg = Config{InterDigit: 4 * time.Second, OffHook: 10 * time.Second, NoAnswer: 30 * time.Second, MaxDigits: 32}

const c1 CallRef = "c1"

func out(answered bool) Call {
	c := Call{Ref: c1, Direction: Outgoing, Remote: "1002", Phase: PhaseCalling}
	if answered {
		c.Phase = PhaseTalking
	}
	return c
}
func in(answered bool) Call {
	c := Call{Ref: c1, Direction: Incoming, Remote: "Bob <1002>", Phase: PhaseRinging}
	if answered {
		c.Phase = PhaseTalking
	}
	return c
}

// stepCore is Step without the outputs (SetMix, SetLamp, RingAtOnce), which
// TestOutputs covers: the table lists what each event itself does.
func stepCore(m Machine, s State, ev Event) (State, []Effect) {
	s.Calls = slices.Clone(s.Calls)
	return m.step(s, ev)
}

// One representative state per mode.
var states = map[Mode]State{
	Idle:       {},
	DialTone:   {Mode: DialTone, OffHook: true},
	Dialing:    {Mode: Dialing, OffHook: true, Digits: "10"},
	Calling:    {Mode: Calling, OffHook: true, Digits: "1002", Calls: []Call{out(false)}, Focus: c1, seq: 1},
	Ringing:    {Mode: Ringing, Calls: []Call{in(false)}, Focus: c1},
	Talking:    {Mode: Talking, OffHook: true, Digits: "1002", Calls: []Call{out(true)}, Focus: c1, seq: 1},
	Busy:       {Mode: Busy, OffHook: true, Reason: "486 Busy Here"},
	Congestion: {Mode: Congestion, OffHook: true, Reason: "503"},
	Howler:     {Mode: Howler, OffHook: true},
}

// Every kind of event the phone gets, by name.
var events = map[string]Event{
	"hook-off":     Hook{OffHook: true},
	"hook-on":      Hook{OffHook: false},
	"digit":        Key{Key: '5'},
	"star":         Key{Key: '*'},
	"pound":        Key{Key: '#'},
	"bad-key":      Key{Key: 'x'},
	"incoming":     IncomingCall{Call: "c2", From: "Carol <1003>", AlertInfo: "<urn:alert:service:normal>"},
	"progress-100": CallProgress{Call: c1, Code: 100},
	"progress-180": CallProgress{Call: c1, Code: 180},
	"progress-183": CallProgress{Call: c1, Code: 183},
	"answered":     CallAnswered{Call: c1},
	"failed-486":   CallFailed{Call: c1, Code: 486, Reason: "Busy Here"},
	"failed-503":   CallFailed{Call: c1, Code: 503, Reason: "Service Unavailable"},
	"ended":        CallEnded{Call: c1, Reason: "bye"},
	"stale":        CallAnswered{Call: "c9"},
	"media-tmo":    MediaSilence{Call: c1, Silent: time.Hour}, // ignored: testCfg has no media timeout
	"t-interdigit": TimerFired{Timer: TimerInterDigit},
	"t-offhook":    TimerFired{Timer: TimerOffHook},
	"t-noanswer":   TimerFired{Timer: TimerNoAnswer, Call: c1},
}

// ig marks an event that must be ignored: same state, one Ignored effect.
var ig = []Effect{Ignored{}}

type want struct {
	state State
	fx    []Effect
}

func busy486() []Effect { return []Effect{Reject{Call: "c2", Code: 486, Reason: "Busy Here"}} }

// table lists every mode × event pair. A missing pair fails the test.
var table = map[Mode]map[string]want{
	Idle: {
		"hook-off": {State{Mode: DialTone, OffHook: true}, []Effect{PlayTone{ToneDial}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}},
		"hook-on":  {states[Idle], ig}, "digit": {states[Idle], ig}, "star": {states[Idle], ig}, "pound": {states[Idle], ig},
		"bad-key": {states[Idle], ig},
		"incoming": {State{Mode: Ringing, Calls: []Call{{Ref: "c2", Direction: Incoming, Remote: "Carol <1003>", Phase: PhaseRinging}}, Focus: "c2"},
			[]Effect{SendRinging{"c2"}, Ringer{On: true, Pattern: "<urn:alert:service:normal>"}, StartTimer{Timer: TimerNoAnswer, Call: "c2", After: 30 * time.Second}}},
		"progress-100": {states[Idle], ig}, "progress-180": {states[Idle], ig}, "progress-183": {states[Idle], ig},
		"answered": {states[Idle], ig}, "failed-486": {states[Idle], ig}, "failed-503": {states[Idle], ig},
		"ended": {states[Idle], ig}, "stale": {states[Idle], ig}, "media-tmo": {states[Idle], ig},
		"t-interdigit": {states[Idle], ig}, "t-offhook": {states[Idle], ig}, "t-noanswer": {states[Idle], ig},
	},
	DialTone: {
		"hook-off": {states[DialTone], ig},
		"hook-on":  {State{}, []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}}},
		"digit": {State{Mode: Dialing, OffHook: true, Digits: "5"},
			[]Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StartTimer{Timer: TimerInterDigit, After: 4 * time.Second}}},
		"star": {State{Mode: Dialing, OffHook: true, Digits: "*"},
			[]Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StartTimer{Timer: TimerInterDigit, After: 4 * time.Second}}},
		"pound": {states[DialTone], ig}, "bad-key": {states[DialTone], ig},
		"incoming":     {states[DialTone], busy486()},
		"progress-100": {states[DialTone], ig}, "progress-180": {states[DialTone], ig}, "progress-183": {states[DialTone], ig},
		"answered": {states[DialTone], ig}, "failed-486": {states[DialTone], ig}, "failed-503": {states[DialTone], ig},
		"ended": {states[DialTone], ig}, "stale": {states[DialTone], ig}, "media-tmo": {states[DialTone], ig},
		"t-interdigit": {states[DialTone], ig},
		"t-offhook":    {State{Mode: Howler, OffHook: true}, []Effect{PlayTone{ToneOffHookWarning}}},
		"t-noanswer":   {states[DialTone], ig},
	},
	Dialing: {
		"hook-off": {states[Dialing], ig},
		"hook-on":  {State{}, []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}, StopTimer{Timer: TimerInterDigit}}},
		"digit":    {State{Mode: Dialing, OffHook: true, Digits: "105"}, []Effect{StartTimer{Timer: TimerInterDigit, After: 4 * time.Second}}},
		"star":     {State{Mode: Dialing, OffHook: true, Digits: "10*"}, []Effect{StartTimer{Timer: TimerInterDigit, After: 4 * time.Second}}},
		"pound": {State{Mode: Calling, OffHook: true, Digits: "10", LastDialed: "10", Calls: []Call{{Ref: "out-1", Direction: Outgoing, Remote: "10", Phase: PhaseCalling}}, Focus: "out-1", seq: 1},
			[]Effect{StopTimer{Timer: TimerInterDigit}, Dial{Call: "out-1", Number: "10"}}},
		"bad-key":      {states[Dialing], ig},
		"incoming":     {states[Dialing], busy486()},
		"progress-100": {states[Dialing], ig}, "progress-180": {states[Dialing], ig}, "progress-183": {states[Dialing], ig},
		"answered": {states[Dialing], ig}, "failed-486": {states[Dialing], ig}, "failed-503": {states[Dialing], ig},
		"ended": {states[Dialing], ig}, "stale": {states[Dialing], ig}, "media-tmo": {states[Dialing], ig},
		"t-interdigit": {State{Mode: Calling, OffHook: true, Digits: "10", LastDialed: "10", Calls: []Call{{Ref: "out-1", Direction: Outgoing, Remote: "10", Phase: PhaseCalling}}, Focus: "out-1", seq: 1},
			[]Effect{StopTimer{Timer: TimerInterDigit}, Dial{Call: "out-1", Number: "10"}}},
		"t-offhook": {states[Dialing], ig}, "t-noanswer": {states[Dialing], ig},
	},
	Calling: {
		"hook-off": {states[Calling], ig},
		"hook-on":  {State{seq: 1}, []Effect{PlayTone{ToneNone}, Hangup{c1}}},
		"digit":    {states[Calling], ig}, "star": {states[Calling], ig}, "pound": {states[Calling], ig}, "bad-key": {states[Calling], ig},
		"incoming":     {states[Calling], busy486()},
		"progress-100": {withProgress(states[Calling], 100), nil},
		"progress-180": {withProgress(states[Calling], 180), []Effect{PlayTone{ToneRingback}}},
		"progress-183": {withProgress(states[Calling], 183), []Effect{PlayTone{ToneRingback}}},
		"answered":     {State{Mode: Talking, OffHook: true, Digits: "1002", Calls: []Call{out(true)}, Focus: c1, seq: 1}, []Effect{PlayTone{ToneNone}, StartMedia{c1}}},
		"failed-486": {State{Mode: Busy, OffHook: true, Digits: "1002", Reason: "486 Busy Here", seq: 1},
			[]Effect{PlayTone{ToneBusy}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}},
		"failed-503": {State{Mode: Congestion, OffHook: true, Digits: "1002", Reason: "503 Service Unavailable", seq: 1},
			[]Effect{PlayTone{ToneCongestion}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}},
		"ended": {State{Mode: Congestion, OffHook: true, Digits: "1002", Reason: "bye", seq: 1},
			[]Effect{PlayTone{ToneCongestion}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}},
		"stale": {states[Calling], ig}, "media-tmo": {states[Calling], ig},
		"t-interdigit": {states[Calling], ig}, "t-offhook": {states[Calling], ig}, "t-noanswer": {states[Calling], ig},
	},
	Ringing: {
		"hook-off": {State{Mode: Talking, OffHook: true, Calls: []Call{in(true)}, Focus: c1},
			[]Effect{Ringer{On: false}, StopTimer{Timer: TimerNoAnswer, Call: c1}, Answer{c1}, StartMedia{c1}}},
		"hook-on": {states[Ringing], ig},
		"digit":   {states[Ringing], ig}, "star": {states[Ringing], ig}, "pound": {states[Ringing], ig}, "bad-key": {states[Ringing], ig},
		"incoming":     {states[Ringing], busy486()},
		"progress-100": {states[Ringing], ig}, "progress-180": {states[Ringing], ig}, "progress-183": {states[Ringing], ig},
		"answered": {states[Ringing], ig}, "failed-486": {states[Ringing], ig}, "failed-503": {states[Ringing], ig},
		"ended": {State{Reason: "bye"}, []Effect{Ringer{On: false}, StopTimer{Timer: TimerNoAnswer, Call: c1}}},
		"stale": {states[Ringing], ig}, "media-tmo": {states[Ringing], ig},
		"t-interdigit": {states[Ringing], ig}, "t-offhook": {states[Ringing], ig},
		"t-noanswer": {State{Reason: "not answered"},
			[]Effect{Ringer{On: false}, Reject{Call: c1, Code: 480, Reason: "Temporarily Unavailable"}}},
	},
	Talking: {
		"hook-off": {states[Talking], ig},
		"hook-on":  {State{seq: 1}, []Effect{StopMedia{c1}, Hangup{c1}}},
		"digit":    {states[Talking], []Effect{SendDTMF{Call: c1, Key: '5'}}}, "star": {states[Talking], []Effect{SendDTMF{Call: c1, Key: '*'}}},
		"pound": {states[Talking], []Effect{SendDTMF{Call: c1, Key: '#'}}}, "bad-key": {states[Talking], ig},
		"incoming":     {states[Talking], busy486()},
		"progress-100": {states[Talking], ig}, "progress-180": {states[Talking], ig}, "progress-183": {states[Talking], ig},
		"answered": {states[Talking], ig}, "failed-486": {states[Talking], ig}, "failed-503": {states[Talking], ig},
		"ended": {State{Mode: Busy, OffHook: true, Digits: "1002", Reason: "bye", seq: 1},
			[]Effect{StopMedia{c1}, PlayTone{ToneBusy}, StartTimer{Timer: TimerOffHook, After: 10 * time.Second}}},
		"stale":        {states[Talking], ig},
		"media-tmo":    {states[Talking], ig},
		"t-interdigit": {states[Talking], ig}, "t-offhook": {states[Talking], ig}, "t-noanswer": {states[Talking], ig},
	},
	Busy:       endedRows(Busy),
	Congestion: endedRows(Congestion),
	Howler:     endedRows(Howler),
}

func withProgress(s State, code int) State {
	s.Calls = slices.Clone(s.Calls)
	s.Calls[0].Progress = code
	return s
}

func endedRows(m Mode) map[string]want {
	s := states[m]
	rows := map[string]want{
		"hook-on":  {State{}, []Effect{PlayTone{ToneNone}, StopTimer{Timer: TimerOffHook}}},
		"incoming": {s, busy486()},
	}
	if m == Howler {
		rows["t-offhook"] = want{s, ig}
	} else {
		rows["t-offhook"] = want{State{Mode: Howler, OffHook: true, Reason: s.Reason}, []Effect{PlayTone{ToneOffHookWarning}}}
	}
	for name := range events {
		if _, ok := rows[name]; !ok {
			rows[name] = want{s, ig}
		}
	}
	return rows
}

func TestEveryStateEventPair(t *testing.T) {
	m := NewMachine(testCfg)
	for mode := Mode(0); mode < numModes; mode++ {
		rows, ok := table[mode]
		if !ok {
			t.Errorf("no table rows for mode %s", mode)
			continue
		}
		for name, ev := range events {
			w, ok := rows[name]
			if !ok {
				t.Errorf("%s × %s: missing from the table", mode, name)
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", mode, name), func(t *testing.T) {
				got, fx := stepCore(m, states[mode], ev)
				if !reflect.DeepEqual(got, w.state) {
					t.Errorf("state = %+v\nwant    %+v", got, w.state)
				}
				if len(w.fx) == 1 && w.fx[0] == (Ignored{}) {
					if len(fx) != 1 || fx[0] != (Ignored{Event: ev, Mode: mode}) {
						t.Errorf("effects = %v, want one Ignored", fx)
					}
					return
				}
				if !reflect.DeepEqual(fx, w.fx) {
					t.Errorf("effects = %#v\nwant      %#v", fx, w.fx)
				}
			})
		}
	}
}

// A whole outgoing call, step by step.
func TestOutgoingCallSequence(t *testing.T) {
	m := NewMachine(testCfg)
	var s State
	var fx []Effect
	for _, ev := range []Event{Hook{true}, Key{'1'}, Key{'0'}, Key{'0'}, Key{'2'}, Key{'#'}} {
		s, fx = m.Step(s, ev)
	}
	if s.Mode != Calling || s.Call() == nil || s.Call().Remote != "1002" {
		t.Fatalf("after dialling: %+v", s)
	}
	d, ok := fx[len(fx)-1].(Dial)
	if !ok || d.Number != "1002" || d.Call != "out-1" {
		t.Fatalf("last effect %#v, want Dial out-1 1002", fx[len(fx)-1])
	}
	s, _ = m.Step(s, CallProgress{Call: d.Call, Code: 180})
	s, _ = m.Step(s, CallProgress{Call: d.Call, Code: 180}) // a retransmitted 180 keeps ringback
	s, _ = m.Step(s, CallAnswered{Call: d.Call})
	if s.Mode != Talking || !s.Call().Answered() {
		t.Fatalf("after answer: %+v", s)
	}
	s, fx = stepCore(m, s, Hook{false})
	if s.Mode != Idle || !reflect.DeepEqual(fx, []Effect{StopMedia{d.Call}, Hangup{d.Call}}) {
		t.Fatalf("after hang-up: %+v %v", s, fx)
	}
	// The next call gets a new ref, so late events of the first are stale.
	for _, ev := range []Event{Hook{true}, Key{'7'}, TimerFired{Timer: TimerInterDigit}} {
		s, fx = m.Step(s, ev)
	}
	if d2 := fx[len(fx)-1].(Dial); d2.Call == d.Call {
		t.Fatalf("second call reused ref %s", d.Call)
	}
	if s2, fx := m.Step(s, CallAnswered{Call: d.Call}); s2.Mode != Calling || len(fx) != 1 {
		t.Fatalf("stale answer changed the state: %+v %v", s2, fx)
	}
}

func TestMaxDigits(t *testing.T) {
	m := NewMachine(Config{MaxDigits: 3})
	s := State{Mode: DialTone, OffHook: true}
	for _, k := range "12345" {
		s, _ = m.Step(s, Key{byte(k)})
	}
	if s.Digits != "123" {
		t.Fatalf("digits = %q, want 123", s.Digits)
	}
}

func TestDefaultsFillZeroConfig(t *testing.T) {
	m := NewMachine(Config{})
	_, fx := m.Step(State{}, Hook{true})
	if st := fx[1].(StartTimer); st.After != DefaultConfig().OffHook {
		t.Fatalf("off-hook timer = %v", st.After)
	}
}

// FuzzStep drives the machine with arbitrary event sequences: it must never
// panic and must keep its invariants.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 2, 2, 4, 8, 9, 1})
	f.Add([]byte{6, 0, 1, 6, 10, 12})
	names := make([]Event, 0, len(events))
	for _, n := range []string{"hook-off", "hook-on", "digit", "star", "pound", "bad-key", "incoming",
		"progress-100", "progress-180", "progress-183", "answered", "failed-486", "failed-503", "ended",
		"stale", "media-tmo", "t-interdigit", "t-offhook", "t-noanswer"} {
		names = append(names, events[n])
	}
	names = append(names, HookFlash{}, KeyRelease{Key: '5'}, LongPress{Key: "5"},
		FunctionKey{Name: FnSpeaker}, FunctionKey{Name: FnRedial}, FunctionKey{Name: FnHold},
		FunctionKey{Name: FnTransfer}, FunctionKey{Name: FnConference}, FunctionKey{Name: FnMute},
		Reinvited{Call: c1, Code: 200}, Reinvited{Call: c1, Code: 491}, RemoteHold{Call: c1, Held: true},
		TransferProgress{Call: c1, Code: 200, Final: true}, TransferProgress{Call: c1, Code: 486, Final: true},
		Referred{Call: c1, Target: "sip:9@x"}, IncomingCall{Call: "c3", From: "x", Replaces: c1},
		IncomingCall{Call: "c4", From: "y"}, MediaSilence{Call: c1, Silent: time.Hour},
		TimerFired{Timer: TimerMedia, Call: c1}, TimerFired{Timer: TimerNoAnswer, Call: c1})
	f.Add([]byte{6, 0, 0x82, 2, 0x8a, 22, 0x9a, 2, 4, 0x8a, 23, 0x9b, 24})
	f.Fuzz(func(t *testing.T, seq []byte) {
		cfg := mcCfg
		cfg.MediaTimeout = time.Minute
		m := NewMachine(cfg)
		var s State
		for _, b := range seq {
			ev := names[int(b)%len(names)]
			// Route call events to the current call half the time.
			if b&0x80 != 0 && len(s.Calls) > 0 {
				ev = retarget(ev, s.Calls[int(b>>4)%len(s.Calls)].Ref)
			}
			s, _ = m.Step(s, ev)
			checkInvariants(t, m, s)
			if s.Mode != Idle && s.Mode != Ringing && !s.OffHook {
				t.Fatalf("mode %s with the handset down", s.Mode)
			}
		}
	})
}

func retarget(ev Event, ref CallRef) Event {
	switch e := ev.(type) {
	case CallProgress:
		e.Call = ref
		return e
	case CallAnswered:
		e.Call = ref
		return e
	case CallFailed:
		e.Call = ref
		return e
	case CallEnded:
		e.Call = ref
		return e
	case MediaSilence:
		e.Call = ref
		return e
	case Reinvited:
		e.Call = ref
		return e
	case RemoteHold:
		e.Call = ref
		return e
	case TransferProgress:
		e.Call = ref
		return e
	case Referred:
		e.Call = ref
		return e
	case IncomingCall:
		if e.Replaces != "" {
			e.Replaces = ref
		}
		return e
	case TimerFired:
		if e.Timer == TimerNoAnswer || e.Timer == TimerMedia {
			e.Call = ref
		}
		return e
	}
	return ev
}

// checkInvariants holds after every step: the focus names a call, a
// ringing or talking mode has one, at most MaxCalls calls, no two with one
// ref, the handset is up outside Idle and Ringing.
func checkInvariants(t *testing.T, m Machine, s State) {
	t.Helper()
	if s.Focus != "" && s.Get(s.Focus) == nil {
		t.Fatalf("focus %q names no call: %+v", s.Focus, s)
	}
	if (s.Mode == Calling || s.Mode == Ringing) && s.Call() == nil {
		t.Fatalf("mode %s without a focused call: %+v", s.Mode, s)
	}
	if s.Mode == Talking && s.Call() == nil {
		t.Fatalf("talking without a focused call: %+v", s)
	}
	if len(s.Calls) > m.cfg.MaxCalls {
		t.Fatalf("%d calls, max %d", len(s.Calls), m.cfg.MaxCalls)
	}
	seen := map[CallRef]bool{}
	for _, c := range s.Calls {
		if seen[c.Ref] {
			t.Fatalf("call %s twice: %+v", c.Ref, s.Calls)
		}
		seen[c.Ref] = true
	}
	if s.Mode != Idle && s.Mode != Ringing && !s.OffHook {
		t.Fatalf("mode %s with the handset down", s.Mode)
	}
	if s.Xfer.Phase != XferNone && s.Get(s.Xfer.Call) == nil {
		t.Fatalf("transfer of a call the phone does not have: %+v", s.Xfer)
	}
}
