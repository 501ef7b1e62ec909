package phone

import (
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/dialplan"
)

// The dial plan decides after each digit: dial at once, wait for the
// short or long timer, or refuse (RFC 3435 §2.1.5 digit maps).
func TestDialPlanDecisions(t *testing.T) {
	plan, err := dialplan.Parse("1xxx|911|0T|011x.T|8x.|*xx#")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testCfg
	cfg.DialPlan = plan
	cfg.ShortInterDigit = 2 * time.Second
	m := NewMachine(cfg)
	cases := []struct {
		keys     string
		timeout  bool   // let the inter-digit timer fire after the keys
		mode     Mode   // then
		dialled  string // the Dial effect's number, "" for none
		lastWait time.Duration
	}{
		{"1002", false, Calling, "1002", 0},           // complete: no '#' needed
		{"911", false, Calling, "911", 0},             // complete at once
		{"100", false, Dialing, "", 4 * time.Second},  // partial: long timer
		{"100", true, Congestion, "", 0},              // ... which finds it incomplete
		{"0", false, Dialing, "", 4 * time.Second},    // "0T": long timer then send
		{"0", true, Calling, "0", 0},                  //
		{"0114", false, Dialing, "", 4 * time.Second}, // "011x.T": long timer then send
		{"0114", true, Calling, "0114", 0},            //
		{"85", false, Dialing, "", 2 * time.Second},   // complete but could grow: short timer
		{"85", true, Calling, "85", 0},                //
		{"5", false, Congestion, "", 0},               // no pattern can match: refuse
		{"*72#", false, Calling, "*72#", 0},           // '#' is a digit of this plan
		{"10#", false, Calling, "10", 0},              // elsewhere '#' sends as typed
	}
	for _, c := range cases {
		s := State{Mode: DialTone, OffHook: true}
		var fx []Effect
		var all []Effect
		for i := 0; i < len(c.keys); i++ {
			s, fx = m.Step(s, Key{Key: c.keys[i]})
			all = append(all, fx...)
		}
		if c.timeout {
			s, fx = m.Step(s, TimerFired{Timer: TimerInterDigit})
			all = append(all, fx...)
		}
		dialled, wait := "", time.Duration(0)
		for _, e := range all {
			switch e := e.(type) {
			case Dial:
				dialled = e.Number
			case StartTimer:
				if e.Timer == TimerInterDigit {
					wait = e.After
				}
			}
		}
		if s.Mode != c.mode || dialled != c.dialled || (c.lastWait != 0 && wait != c.lastWait) {
			t.Errorf("%q timeout=%t: %s dialled %q wait %v, want %s %q %v", c.keys, c.timeout, s.Mode, dialled, wait, c.mode, c.dialled, c.lastWait)
		}
		if s.Mode == Congestion && s.Reason == "" {
			t.Errorf("%q: congestion without a reason", c.keys)
		}
	}
}
