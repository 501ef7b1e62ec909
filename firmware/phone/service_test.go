package phone

import (
	"testing"

	"github.com/deskphone/phoned/firmware/dialplan"
)

var svcCodes = map[string]Service{"*43": ServiceEcho, "*44": ServiceTone}

func svcCfg() Config {
	c := mcCfg
	c.Services = svcCodes
	return c
}

func (x *sc) keys(digits string) *sc {
	x.t.Helper()
	for i := range len(digits) {
		x.do(Key{digits[i]})
	}
	return x
}

// Dialling *43 is a local call answered at once: no SIP, the engine's
// echo leg, the handset on it; hanging up ends it.
func TestServiceEchoIsALocalCall(t *testing.T) {
	x := newSC(t, svcCfg())
	x.do(Hook{true}).keys("*4")
	x.mode(Dialing)
	x.do(Key{'3'}).mode(Talking).focus("svc-1").
		has(StopTimer{Timer: TimerInterDigit}, StartService{Call: "svc-1", Service: ServiceEcho}, SetMix{Focus: "svc-1"}).
		lacks(Dial{Call: "svc-1"})
	if c := x.call("svc-1"); c.Remote != "Echo test" || !c.Answered() || c.Direction != Outgoing || c.Service != ServiceEcho {
		t.Fatalf("echo call %+v", c)
	}
	if x.s.LastDialed != "*43" {
		t.Fatalf("redial would dial %q", x.s.LastDialed)
	}
	// Keys are not DTMF to the phone itself.
	x.do(Key{'5'}).lacks(SendDTMF{Call: "svc-1"})
	x.do(Hook{false}).mode(Idle).has(StopMedia{"svc-1"}, Hangup{"svc-1"}).gone("svc-1")
	// The redial key calls it again.
	x.do(FunctionKey{FnRedial}).mode(Talking).has(StartService{Call: "svc-2", Service: ServiceEcho})
}

func TestServiceToneAndTheSendKey(t *testing.T) {
	// With the inter-digit timer, '#' or a code that is a prefix of
	// another, the service is still found.
	cfg := svcCfg()
	cfg.Services = map[string]Service{"*4": ServiceTone, "*43": ServiceEcho}
	x := newSC(t, cfg)
	x.do(Hook{true}).keys("*4").mode(Dialing) // "*43" may follow
	x.do(TimerFired{Timer: TimerInterDigit}).mode(Talking).has(StartService{Call: "svc-1", Service: ServiceTone})
	if c := x.call("svc-1"); c.Remote != "Tone test" {
		t.Fatalf("tone call %+v", c)
	}
	x.do(Hook{false}, Hook{true}).keys("*4#").has(StartService{Call: "svc-2", Service: ServiceTone})
	x.do(Hook{false}, Hook{true}).keys("*43").has(StartService{Call: "svc-3", Service: ServiceEcho})
}

// '#' in a service code is a digit, not the send key.
func TestServiceCodeWithHash(t *testing.T) {
	cfg := svcCfg()
	cfg.Services = map[string]Service{"#99": ServiceEcho, "*43#": ServiceTone}
	x := newSC(t, cfg)
	x.do(Hook{true}).keys("#99").mode(Talking).has(StartService{Call: "svc-1", Service: ServiceEcho})
	x.do(Hook{false}, Hook{true}).keys("*43").mode(Dialing)
	x.do(Key{'#'}).mode(Talking).has(StartService{Call: "svc-2", Service: ServiceTone})
	x.do(Hook{false}, Hook{true}).keys("12#").mode(Calling).has(Dial{Call: "out-3", Number: "12"})
}

// A code not configured ("" turns a service off) is an ordinary number.
func TestServiceOffDialsSIP(t *testing.T) {
	x := newSC(t, mcCfg)
	x.do(Hook{true}).keys("*43#").mode(Calling).has(Dial{Call: "out-1", Number: "*43"}).lacks(StartService{Call: "out-1"})
}

// The dial plan does not refuse a service code it does not know.
func TestServiceBeforeDialPlan(t *testing.T) {
	plan, err := dialplan.Parse("1xxx|911")
	if err != nil {
		t.Fatal(err)
	}
	cfg := svcCfg()
	cfg.DialPlan = plan
	x := newSC(t, cfg)
	x.do(Hook{true}).keys("*43").mode(Talking).has(StartService{Call: "svc-1", Service: ServiceEcho})
	x.do(Hook{false}, Hook{true}).keys("*5").mode(Congestion) // not a service, not in the plan
}

// The several-calls rules hold: a call arriving during the echo test
// waits; the hold key answers it and holds the echo call (a re-INVITE the
// daemon answers itself), and going back resumes it.
func TestServiceEchoCallWaiting(t *testing.T) {
	x := newSC(t, svcCfg())
	x.do(Hook{true}).keys("*43").focus("svc-1")
	x.do(IncomingCall{Call: "c2", From: "Carol <1003>"}).mode(Talking).focus("svc-1").
		has(SendRinging{"c2"}, PlayTone{ToneCallWaiting})
	x.do(FunctionKey{FnHold}).focus("c2").
		has(Answer{"c2"}, StartMedia{"c2"}, Reinvite{Call: "svc-1", Direction: "sendonly"}, SetMix{Focus: "c2"})
	x.held("svc-1")
	x.do(CallEnded{Call: "c2", Reason: "remote hung up"}).gone("c2")
	x.do(Hook{false}, Hook{true}, FunctionKey{FnHold}).focus("svc-1").mode(Talking).
		has(Reinvite{Call: "svc-1", Direction: "sendrecv"}, SetMix{Focus: "svc-1"})
	x.do(Reinvited{Call: "svc-1", Code: 200})
	if c := x.call("svc-1"); c.Hold != NotHeld {
		t.Fatalf("echo call after resuming %+v", c)
	}
}

// While a transfer collects its target, *43 is an ordinary number.
func TestServiceNotATransferTarget(t *testing.T) {
	m := NewMachine(svcCfg())
	s := State{Xfer: Transfer{Phase: XferDialing}}
	if _, ok := m.service(s, "*43"); ok {
		t.Fatal("a service code during a transfer's dialling")
	}
	if _, ok := m.service(State{}, "*43"); !ok {
		t.Fatal("*43 is not the echo test")
	}
}
