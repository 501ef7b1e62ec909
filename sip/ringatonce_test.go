package sip

import (
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// firstResponse returns the status code of the next response the raw
// peer receives for callID.
func firstResponse(raw *rawPeer, callID string) int {
	raw.t.Helper()
	m := raw.read("a response to "+callID, func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.CallID() != nil && r.CallID().Value() == callID
	})
	return m.msg.(*gosip.Response).StatusCode
}

// noResponse checks that nothing more comes for callID within d.
func noResponse(t *testing.T, raw *rawPeer, callID string, d time.Duration) {
	t.Helper()
	buf := make([]byte, 65535)
	raw.conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, _, err := raw.conn.ReadFromUDP(buf)
		if err != nil {
			return // the deadline: nothing came
		}
		if m, err := raw.p.ParseSIP(buf[:n]); err == nil {
			if r, ok := m.(*gosip.Response); ok && r.CallID() != nil && r.CallID().Value() == callID {
				t.Fatalf("unexpected %d for %s", r.StatusCode, callID)
			}
		}
	}
}

// While the phone is idle the UA answers an INVITE with 180 straight away
// (no 100 Trying first), and the phone's own Ring sends no second 180;
// otherwise 100 Trying comes first and 180 waits for Ring.
func TestRingAtOnce(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	to := b.Addr()
	b.SetRingAtOnce(true)
	raw.sendText(to, inviteText(raw, b.UA, "at-once"))
	if code := firstResponse(raw, "at-once"); code != 180 {
		t.Fatalf("first response %d, want 180", code)
	}
	in := next[Incoming](t, b)
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	noResponse(t, raw, "at-once", 200*time.Millisecond)
	// The phone went busy meanwhile: 486 follows the 180.
	if err := b.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if code := firstResponse(raw, "at-once"); code != 486 {
		t.Fatalf("after the 180: %d, want 486", code)
	}
	next[Ended](t, b)

	b.SetRingAtOnce(false)
	raw.sendText(to, inviteText(raw, b.UA, "later"))
	if code := firstResponse(raw, "later"); code != 100 {
		t.Fatalf("first response %d, want 100", code)
	}
	in = next[Incoming](t, b)
	noResponse(t, raw, "later", 200*time.Millisecond)
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	if code := firstResponse(raw, "later"); code != 180 {
		t.Fatalf("after Ring: %d, want 180", code)
	}
}
