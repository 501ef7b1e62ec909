package phone

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The several-call events join the exhaustive single-call table.
func init() {
	events["remote-hold"] = RemoteHold{Call: c1, Held: true}
	events["reinvited-200"] = Reinvited{Call: c1, Code: 200}
	events["xfer-final"] = TransferProgress{Call: c1, Code: 200, Final: true}
	events["referred"] = Referred{Call: c1, Target: "sip:1003@pbx.test", ReferredBy: "<sip:1002@pbx.test>"}
	events["silence"] = MediaSilence{Call: c1, Silent: 1} // ignored: testCfg has no media timeout
	events["t-media"] = TimerFired{Timer: TimerMedia, Call: c1}
	events["replaces"] = IncomingCall{Call: "c2", From: "1003", Replaces: c1}
	r481 := []Effect{Reject{Call: "c2", Code: 481, Reason: "Call/Transaction Does Not Exist"}}
	for mode, rows := range table {
		s := states[mode]
		for _, n := range []string{"remote-hold", "reinvited-200", "xfer-final", "referred", "silence", "t-media"} {
			rows[n] = want{s, ig}
		}
		rows["replaces"] = want{s, r481}
		if mode == Calling || mode == Ringing { // c1 not answered yet
			rows["referred"] = want{s, []Effect{NotifyRefer{Call: c1, Code: 503, Reason: "Service Unavailable"}}}
		}
	}
	talking := states[Talking]
	held := talking
	held.Calls = []Call{out(true)}
	held.Calls[0].HeldByRemote = true
	table[Talking]["remote-hold"] = want{held, []Effect{UpdateMedia{Call: c1, Send: false}}}
	table[Talking]["t-media"] = want{talking, []Effect{CheckMedia{c1}}}
	referred := talking
	referred.Calls = []Call{out(true), {Ref: "out-2", Direction: Outgoing, Remote: "1003", Phase: PhaseCalling, ReferredBy: c1}}
	referred.Mode, referred.Focus, referred.seq = Calling, "out-2", 2
	table[Talking]["referred"] = want{referred, []Effect{Dial{Call: "out-2", Target: "sip:1003@pbx.test", ReferredBy: "<sip:1002@pbx.test>"}}}
	replaced := talking
	replaced.Calls = []Call{{Ref: "c2", Direction: Incoming, Remote: "1003", Phase: PhaseTalking}}
	replaced.Focus = "c2"
	table[Talking]["replaces"] = want{replaced, []Effect{Answer{"c2"}, StartMedia{"c2"}, StopMedia{c1}, Hangup{c1}}}
}

// multiStates are representative states with several calls, built by
// driving the machine (so they are states it can reach).
func multiStates(t *testing.T) map[string]State {
	t.Helper()
	build := func(f func(x *sc)) State {
		x := newSC(t, mcCfg)
		f(x)
		return x.s
	}
	return map[string]State{
		"held":      build(func(x *sc) { x.talkingOut().do(FunctionKey{FnHold}).held("out-1") }),
		"holding":   build(func(x *sc) { x.talkingOut().do(FunctionKey{FnHold}) }),
		"waiting":   build(func(x *sc) { x.talkingOut().do(IncomingCall{Call: c1, From: "1003"}) }),
		"two-calls": build(func(x *sc) { x.twoCalls() }),
		"conference": build(func(x *sc) {
			x.twoCalls().do(FunctionKey{FnConference}, Reinvited{Call: "out-1", Code: 200})
		}),
		"xfer-dialing": build(func(x *sc) { x.talkingOut().do(FunctionKey{FnTransfer}).held("out-1").do(Key{'7'}) }),
		"xfer-sent": build(func(x *sc) {
			x.talkingOut().do(FunctionKey{FnTransfer}).held("out-1").do(Key{'7'}, Key{'#'})
		}),
		"idle-held": build(func(x *sc) { x.talkingOut().do(HookFlash{}).held("out-1").do(Hook{false}) }),
		"ringing-held": build(func(x *sc) {
			x.talkingOut().do(HookFlash{}).held("out-1").do(Hook{false}, IncomingCall{Call: c1, From: "1003"})
		}),
		"referred": build(func(x *sc) {
			x.do(IncomingCall{Call: "in-1", From: "1002"}, Hook{true}, Referred{Call: "in-1", Target: "sip:1003@x"})
		}),
	}
}

// multiEvents are the events of the sweep: every event of the table, aimed
// at each call of the state in turn.
func multiEvents(s State) map[string]Event {
	evs := map[string]Event{}
	for name, ev := range events {
		evs[name] = ev
		if _, ok := callOf(ev); ok {
			for _, c := range s.Calls {
				evs[name+"@"+string(c.Ref)] = retarget(ev, c.Ref)
			}
		}
	}
	for _, c := range s.Calls {
		for _, code := range []int{200, 491} {
			evs[fmt.Sprintf("reinvited-%d@%s", code, c.Ref)] = Reinvited{Call: c.Ref, Code: code}
		}
		evs["xfer-486@"+string(c.Ref)] = TransferProgress{Call: c.Ref, Code: 486, Final: true}
		evs["xfer-200@"+string(c.Ref)] = TransferProgress{Call: c.Ref, Code: 200, Final: true}
		evs["remote-hold@"+string(c.Ref)] = RemoteHold{Call: c.Ref, Held: true}
		evs["referred@"+string(c.Ref)] = Referred{Call: c.Ref, Target: "sip:9@x"}
		evs["replaces@"+string(c.Ref)] = IncomingCall{Call: "r9", From: "9", Replaces: c.Ref}
		evs["noanswer@"+string(c.Ref)] = TimerFired{Timer: TimerNoAnswer, Call: c.Ref}
		evs["t-media@"+string(c.Ref)] = TimerFired{Timer: TimerMedia, Call: c.Ref}
	}
	return evs
}

// Every several-call state × every event (aimed at each of its calls): no
// panic, the invariants hold, an Ignored event changes nothing, every
// effect names a call the phone had before or has after, and the effects
// are the ones recorded in multiGolden (kinds, in order, outputs apart).
func TestEveryMultiStateEventPair(t *testing.T) {
	m := NewMachine(mcCfg)
	var got []string
	for sname, s := range multiStates(t) {
		checkInvariants(t, m, s)
		for ename, ev := range multiEvents(s) {
			next, fx := m.Step(s, ev)
			checkInvariants(t, m, next)
			known := map[CallRef]bool{"": true}
			for _, c := range s.Calls {
				known[c.Ref] = true
			}
			for _, c := range next.Calls {
				known[c.Ref] = true
			}
			if e, ok := ev.(IncomingCall); ok {
				known[e.Call] = true
			}
			var kinds []string
			for _, e := range fx {
				if !known[CallOfEffect(e)] {
					t.Errorf("%s × %s: %#v names an unknown call", sname, ename, e)
				}
				if _, ok := e.(Ignored); ok && !reflect.DeepEqual(next, s) {
					t.Errorf("%s × %s: ignored but the state changed", sname, ename)
				}
				switch e.(type) {
				case SetMix, SetLamp, RingAtOnce:
					continue
				}
				kinds = append(kinds, kind(e))
			}
			got = append(got, fmt.Sprintf("%s × %s: %s -> %s", sname, ename, strings.Join(kinds, " "), next.Mode))
		}
	}
	sort.Strings(got)
	if *updateGolden {
		writeGolden(t, got)
		return
	}
	wantLines := readGolden(t)
	if !reflect.DeepEqual(got, wantLines) {
		for i := 0; i < len(got) || i < len(wantLines); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Errorf("line %d:\n got  %s\n want %s", i+1, g, w)
				break
			}
		}
		t.Fatalf("%d pairs; the golden file has %d (go test -run Multi -update after checking the change)", len(got), len(wantLines))
	}
}

// kind is an effect's type and its call, with the direction of a re-INVITE.
func kind(e Effect) string {
	name := reflect.TypeOf(e).Name()
	switch e := e.(type) {
	case Reinvite:
		return name + "(" + string(e.Call) + " " + e.Direction + ")"
	case PlayTone:
		return name + "(" + string(e.Tone) + ")"
	case Reject:
		return fmt.Sprintf("%s(%s %d)", name, e.Call, e.Code)
	case Ignored:
		return name
	}
	if c := CallOfEffect(e); c != "" {
		return name + "(" + string(c) + ")"
	}
	return name
}
