package sip

import (
	"testing"

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
	// The phone went busy meanwhile: 486 follows the 180, and is the next
	// response (a second 180 from Ring would come before it: one socket,
	// in order, on loopback).
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
	// A retransmitted INVITE draws the most recent provisional response
	// again (RFC 3261 §17.2.1): still 100, so no 180 went before Ring.
	raw.sendText(to, inviteText(raw, b.UA, "later"))
	if code := firstResponse(raw, "later"); code != 100 {
		t.Fatalf("the retransmission drew %d, want 100 again", code)
	}
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	if code := firstResponse(raw, "later"); code != 180 {
		t.Fatalf("after Ring: %d, want 180", code)
	}
}
