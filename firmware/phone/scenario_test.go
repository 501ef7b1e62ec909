package phone

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mcCfg is testCfg with call waiting and a media timeout, for the
// several-call scenarios.
var mcCfg = Config{InterDigit: 4 * time.Second, OffHook: 10 * time.Second, NoAnswer: 30 * time.Second,
	MaxDigits: 32, MaxCalls: 4, CallWaiting: true}

// sc drives the machine through a scenario, checking the invariants after
// every step.
type sc struct {
	t  *testing.T
	m  Machine
	s  State
	fx []Effect // of the last step, outputs included
}

func newSC(t *testing.T, cfg Config) *sc { return &sc{t: t, m: NewMachine(cfg)} }

func (x *sc) do(evs ...Event) *sc {
	x.t.Helper()
	for _, ev := range evs {
		before := x.s
		x.s, x.fx = x.m.Step(x.s, ev)
		checkInvariants(x.t, x.m, x.s)
		if len(before.Calls) > 0 && len(x.s.Calls) > 0 && &before.Calls[0] == &x.s.Calls[0] {
			x.t.Fatalf("%v: Step shares the input's call list", ev)
		}
	}
	return x
}

// has fails unless the last step's effects include every one of want.
func (x *sc) has(want ...Effect) *sc {
	x.t.Helper()
	for _, w := range want {
		found := false
		for _, e := range x.fx {
			if reflect.DeepEqual(e, w) {
				found = true
			}
		}
		if !found {
			x.t.Fatalf("effects %s lack %#v", fxString(x.fx), w)
		}
	}
	return x
}

// lacks fails if the last step's effects include an effect of w's type
// about the same call (for Reinvite: with the same direction).
func (x *sc) lacks(w Effect) *sc {
	x.t.Helper()
	for _, e := range x.fx {
		if reflect.TypeOf(e) == reflect.TypeOf(w) && CallOfEffect(e) == CallOfEffect(w) {
			if r, ok := w.(Reinvite); ok && e.(Reinvite).Direction != r.Direction {
				continue
			}
			x.t.Fatalf("effects %s include %#v", fxString(x.fx), e)
		}
	}
	return x
}

func (x *sc) mode(m Mode) *sc {
	x.t.Helper()
	if x.s.Mode != m {
		x.t.Fatalf("mode %s, want %s (%+v)", x.s.Mode, m, x.s)
	}
	return x
}

func (x *sc) focus(ref CallRef) *sc {
	x.t.Helper()
	if x.s.Focus != ref {
		x.t.Fatalf("focus %q, want %q (%+v)", x.s.Focus, ref, x.s)
	}
	return x
}

func (x *sc) call(ref CallRef) Call {
	x.t.Helper()
	c := x.s.Get(ref)
	if c == nil {
		x.t.Fatalf("no call %s in %+v", ref, x.s.Calls)
	}
	return *c
}

func (x *sc) gone(ref CallRef) *sc {
	x.t.Helper()
	if x.s.Get(ref) != nil {
		x.t.Fatalf("call %s still there: %+v", ref, x.s.Calls)
	}
	return x
}

func fxString(fx []Effect) string {
	var b strings.Builder
	for _, e := range fx {
		fmt.Fprintf(&b, "\n  %#v", e)
	}
	return b.String()
}

// talkingOut: an outgoing call out-1 to 1002, answered.
func (x *sc) talkingOut() *sc {
	x.t.Helper()
	return x.do(Hook{true}, Key{'1'}, Key{'0'}, Key{'0'}, Key{'2'}, Key{'#'}, CallAnswered{Call: "out-1"}).mode(Talking).focus("out-1")
}

// held completes the hold of ref.
func (x *sc) held(ref CallRef) *sc {
	x.t.Helper()
	x.do(Reinvited{Call: ref, Code: 200})
	if c := x.call(ref); c.Hold != Held {
		x.t.Fatalf("%s hold %s after 200, want held", ref, c.Hold)
	}
	return x
}
