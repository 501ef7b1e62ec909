package daemon

import (
	"testing"

	"github.com/deskphone/phoned/firmware/phone"
)

func TestDisplay(t *testing.T) {
	call := &CallStatus{Remote: "1002", Codec: "PCMA", Duration: 83.4}
	cases := []struct {
		s    phone.State
		st   Status
		want string
	}{
		{phone.State{}, Status{}, "[1001 direct] idle"},
		{phone.State{}, Status{Reason: "not answered"}, "[1001 direct] idle (not answered)"},
		{phone.State{Mode: phone.DialTone}, Status{}, "[1001 direct] dial tone"},
		{phone.State{Mode: phone.Dialing, Digits: "10"}, Status{}, "[1001 direct] dialing 10"},
		{phone.State{Mode: phone.Calling}, Status{Call: call}, "[1001 direct] calling 1002"},
		{phone.State{Mode: phone.Calling, Focus: "c1", Calls: []phone.Call{{Ref: "c1", Phase: phone.PhaseCalling, Progress: 183}}}, Status{Call: call}, "[1001 direct] ringing 1002"},
		{phone.State{Mode: phone.Ringing}, Status{Call: &CallStatus{Remote: "Bob <1002>"}}, "[1001 direct] incoming call from Bob <1002>"},
		{phone.State{Mode: phone.Talking}, Status{Call: call}, "[1001 direct] talking 1002 PCMA 01:23"},
		{phone.State{Mode: phone.Talking}, Status{Call: &CallStatus{Remote: "1002"}}, "[1001 direct] talking 1002"},
		{phone.State{Mode: phone.Talking}, Status{Call: &CallStatus{Remote: "1002", Codec: "PCMU", Held: true}}, "[1001 direct] talking 1002 PCMU 00:00 (held)"},
		{phone.State{Mode: phone.Busy, Reason: "486 Busy Here"}, Status{}, "[1001 direct] busy: 486 Busy Here"},
		{phone.State{Mode: phone.Congestion, Reason: "503"}, Status{}, "[1001 direct] call failed: 503"},
		{phone.State{Mode: phone.Howler}, Status{}, "[1001 direct] please hang up"},
		{phone.State{}, Status{Registration: Registration{State: "registered"}}, "[1001 registered] idle"},
		{phone.State{}, Status{Registration: Registration{State: "unconfirmed"}}, "[1001 unconfirmed] idle"},
	}
	for _, c := range cases {
		if got := display("1001", c.st, c.s); got != c.want {
			t.Errorf("display(%s) = %q, want %q", c.s.Mode, got, c.want)
		}
	}
}
