package phone

import "testing"

// Received DTMF joins the exhaustive table (a released key ending the
// telephone-event is in hardware_test.go, with the other release rows).
func init() {
	events["dtmf-in"] = DTMFReceived{Call: c1, Digit: '7'}
	for mode, rows := range table {
		rows["dtmf-in"] = want{states[mode], ig}
	}
	talking := states[Talking]
	talking.Calls = []Call{out(true)}
	talking.Calls[0].Received = "7"
	table[Talking]["dtmf-in"] = want{talking, nil}
}

// Digits received in a call are kept for the display, bounded, and
// forgotten when the call ends.
func TestReceivedDigits(t *testing.T) {
	m := NewMachine(testCfg)
	s := states[Talking]
	for i := 0; i < 40; i++ {
		s, _ = m.Step(s, DTMFReceived{Call: c1, Digit: '1'})
	}
	if len(s.Call().Received) != 32 {
		t.Fatalf("kept %d digits, want 32", len(s.Call().Received))
	}
	s, _ = m.Step(s, CallEnded{Call: c1, Reason: "bye"})
	if len(s.Calls) != 0 {
		t.Fatalf("the call outlived its end: %+v", s.Calls)
	}
}
