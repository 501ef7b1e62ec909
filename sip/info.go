package sip

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// DTMF is a digit the far end sent by SIP INFO (application/dtmf-relay),
// the fallback for peers without RFC 4733 telephone-events.
type DTMF struct {
	ID       CallID
	Digit    byte // 0-9, *, #, A-D
	Duration time.Duration
}

func (e DTMF) CallID() CallID { return e.ID }

// dtmfRelayType is the de-facto INFO body for DTMF (Cisco's
// application/dtmf-relay: "Signal=5\r\nDuration=160\r\n").
const dtmfRelayType = "application/dtmf-relay"

// SendDTMFInfo sends digit in an INFO within the established call id, for
// a peer that did not negotiate telephone-event. It returns once the INFO
// is answered.
func (u *UA) SendDTMFInfo(id CallID, digit byte, duration time.Duration) error {
	if !validDigit(digit) {
		return fmt.Errorf("sip: DTMF %q: want 0-9, *, #, A-D", digit)
	}
	u.mu.Lock()
	c := u.calls[id]
	if c == nil {
		u.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownCall, id)
	}
	if c.state != stConfirmed {
		u.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrCallState, id)
	}
	req := u.nextInDialog(&c.dialog, gosip.INFO)
	u.mu.Unlock()
	req.AppendHeader(gosip.NewHeader("Content-Type", dtmfRelayType))
	req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", digit, duration.Milliseconds())))
	code, err := u.do(req)
	if err != nil {
		return fmt.Errorf("sip: INFO DTMF: %w", err)
	}
	if code >= 300 {
		return fmt.Errorf("sip: INFO DTMF refused: %d", code)
	}
	return nil
}

// parseDTMFRelay reads an application/dtmf-relay body. It never panics.
func parseDTMFRelay(body []byte) (byte, time.Duration, bool) {
	var digit byte
	var dur time.Duration
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			if len(v) == 1 && validDigit(strings.ToUpper(v)[0]) {
				digit = strings.ToUpper(v)[0]
			} else if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 15 {
				digit = "*#ABCD"[n-10] // some phones send the RFC 4733 event number
			}
		case "duration":
			if ms, err := strconv.Atoi(v); err == nil && ms >= 0 && ms < 60000 {
				dur = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if digit == 0 {
		return 0, 0, false
	}
	return digit, dur, true
}

func validDigit(d byte) bool {
	return d >= '0' && d <= '9' || d == '*' || d == '#' || d >= 'A' && d <= 'D'
}
