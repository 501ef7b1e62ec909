package phone

import (
	"strconv"
	"strings"
)

// Service numbers are calls whose far end is the phone itself, so there is
// something to call with no server: the echo test (what the handset says
// comes back a second later) and the tone test (ringback, then a steady
// test tone). Dialling a configured code (Config.Services) makes a local
// call: it is answered at once, named "svc-N", shown as the service's
// title, and its audio comes from the engine's local leg (StartService).
// Everything else is an ordinary answered call: hold (the daemon answers
// the re-INVITE itself), call waiting, the conference, mute and hanging up
// work unchanged. Keys are not sent as DTMF to a local call. While a
// transfer collects its target, service codes are ordinary numbers.

// Service names a built-in service number.
type Service string

const (
	ServiceEcho Service = "echo" // the echo test
	ServiceTone Service = "tone" // the tone test
)

// Title is how the display and the status name the service's call.
func (v Service) Title() string {
	switch v {
	case ServiceEcho:
		return "Echo test"
	case ServiceTone:
		return "Tone test"
	}
	return "Service " + string(v)
}

// StartService starts the local media of a service call (it is answered
// already): the daemon starts the engine's echo or tone leg.
type StartService struct {
	Call    CallRef
	Service Service
}

func (StartService) effect() {}

// service returns the service dialled as digits, if any.
func (m Machine) service(s State, digits string) (Service, bool) {
	if s.Xfer.Phase == XferDialing || digits == "" {
		return "", false
	}
	v, ok := m.cfg.Services[digits]
	return v, ok
}

// servicePrefix reports whether digits begin a longer service code, so the
// dial plan must not reject them yet.
func (m Machine) servicePrefix(s State, digits string) bool {
	if s.Xfer.Phase == XferDialing {
		return false
	}
	for code := range m.cfg.Services {
		if len(code) > len(digits) && strings.HasPrefix(code, digits) {
			return true
		}
	}
	return false
}

// serviceDigits reports whether digits are a service code or begin one
// (a '#' in a code is a digit, not the send key).
func (m Machine) serviceDigits(s State, digits string) bool {
	_, ok := m.service(s, digits)
	return ok || m.servicePrefix(s, digits)
}

// dialService focuses a new local call to service v, answered at once.
func (m Machine) dialService(s State, v Service) (State, []Effect) {
	if len(s.Calls) >= m.cfg.MaxCalls {
		s, fx := m.failed(s, 0, "too many calls")
		return s, append([]Effect{StopTimer{Timer: TimerInterDigit}}, fx...)
	}
	s.seq++
	ref := CallRef("svc-" + strconv.FormatUint(s.seq, 10))
	s.Mode = Talking
	s.LastDialed = s.Digits
	s.Calls = append(s.Calls, Call{Ref: ref, Direction: Outgoing, Remote: v.Title(), Phase: PhaseTalking, Service: v})
	s.Focus = ref
	return s, []Effect{StopTimer{Timer: TimerInterDigit}, StartService{Call: ref, Service: v}}
}
