package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

// okText is a 200 OK to an INVITE as a forger (or a fork) would send it,
// naming contact as the dialog's remote target.
func okText(ua *UA, via *net.UDPAddr, callID, fromTag, toTag string, contact *net.UDPAddr) string {
	return fmt.Sprintf(`
SIP/2.0 200 OK
Via: SIP/2.0/UDP %[1]s;branch=z9hG4bK-forged%[3]s
From: <sip:1001@example.test>;tag=%[4]s
To: <sip:1002@%[2]s>;tag=%[5]s
Call-ID: %[3]s
CSeq: 1 INVITE
Contact: <sip:victim@%[6]s>
Content-Length: 0

`, ua.Addr(), via, callID, fromTag, toTag, contact)
}

// waitDropped waits until the UA has dropped n stray responses.
func waitDropped(t *testing.T, ua *UA, n int64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for ua.strayDropped.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d stray responses dropped, want %d", ua.strayDropped.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A forged 200 OK for a Call-ID the phone never created is dropped: no
// ACK, no BYE to the address it names (the reflection of the security
// issue). Mutation: the old handler (ACK and BYE any Call-ID) never counts
// a drop and sends the victim an ACK.
func TestForgedOKIsDropped(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	attacker, victim := newRawPeer(t), newRawPeer(t)
	attacker.sendText(a.Addr(), okText(a.UA, attacker.addr(), "forged-call", "x", "y", victim.addr()))
	waitDropped(t, a.UA, 1)

	// The right Call-ID of a live call but not our From tag: dropped too.
	raw := newRawPeer(t)
	id, err := a.Dial(fmt.Sprintf("sip:1002@%s", raw.addr()), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	raw.read("INVITE", isReq(gosip.INVITE))
	attacker.sendText(a.Addr(), okText(a.UA, attacker.addr(), string(id), "not-our-tag", "y", victim.addr()))
	waitDropped(t, a.UA, 2)

	victim.conn.SetReadDeadline(time.Now())
	if n, _, err := victim.conn.ReadFromUDP(make([]byte, 2048)); err == nil {
		t.Fatalf("the victim got %d bytes from the phone", n)
	}
}

// A second fork's 200 to our INVITE is ACKed and BYEd once (RFC 3261
// §13.2.2.4); after the call ends, its own 200 retransmitted is ACKed
// again, not BYEd, and not dropped.
func TestForkAnswerAckedAndByed(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw, fork := newRawPeer(t), newRawPeer(t)
	id, err := a.Dial(fmt.Sprintf("sip:1002@%s", raw.addr()), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE", isReq(gosip.INVITE))
	req := inv.msg.(*gosip.Request)
	answer, _, err := sdp.Answer(mustParse(t, req.Body()), media(7000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	raw.reply(inv, 200, "OK", answer)
	raw.read("ACK", isReq(gosip.ACK))
	next[Answered](t, a)
	fromTag, _ := req.From().Params.Get("tag")

	fork.sendText(a.Addr(), okText(a.UA, fork.addr(), string(id), fromTag, "forktag", fork.addr()))
	ack := fork.read("ACK to the fork", isReq(gosip.ACK))
	bye := fork.read("BYE to the fork", isReq(gosip.BYE))
	if tag, _ := bye.msg.(*gosip.Request).To().Params.Get("tag"); tag != "forktag" {
		t.Fatalf("BYE To tag %q", tag)
	}
	checkSource(t, "ACK", ack, a.UA)
	fork.replyInDialog(bye, 200, "OK", nil)

	// Our own hang-up; then the far end's 200 retransmitted: ACKed again.
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	raw.replyInDialog(raw.read("BYE", isReq(gosip.BYE)), 200, "OK", nil)
	next[Ended](t, a)
	raw.reply(inv, 200, "OK", answer)
	raw.read("ACK to the retransmitted 200", isReq(gosip.ACK))
	if n := a.strayDropped.Load(); n != 0 {
		t.Fatalf("%d of our own responses dropped", n)
	}
}

// The decisions behind the handler, without a network.
func TestSpentCalls(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	var s spentCalls
	s.add("a", &sentInvite{localTag: "l", remoteTag: "r", ended: clk.Now()})
	e := s.get("a", clk.Now())
	if e == nil {
		t.Fatal("just added, not found")
	}
	if e.forked("r") {
		t.Error("the call's own dialog counted as a fork")
	}
	if !e.forked("f1") || e.forked("f1") {
		t.Error("a fork must be BYEd exactly once")
	}
	for _, f := range []string{"f2", "f3", "f4"} {
		e.forked(f)
	}
	if e.forked("f5") {
		t.Errorf("more than %d forks BYEd", maxForks)
	}
	if s.get("a", clk.Now().Add(spentTTL)) != nil {
		t.Error("kept after 64*T1")
	}
	for i := range maxSpent + 10 {
		s.add(CallID(fmt.Sprint(i)), &sentInvite{ended: clk.Now()})
	}
	if len(s.m) != maxSpent || len(s.order) != maxSpent || s.get("0", clk.Now()) != nil || s.get(CallID(fmt.Sprint(maxSpent+9)), clk.Now()) == nil {
		t.Errorf("bound: %d entries, want %d, oldest evicted", len(s.m), maxSpent)
	}

	r := rateLog{clk: clk, every: time.Second}
	if ok, _ := r.allow(); !ok {
		t.Fatal("first line held back")
	}
	for range 5 {
		if ok, _ := r.allow(); ok {
			t.Fatal("a line within the second let through")
		}
	}
	clk.Advance(time.Second)
	if ok, n := r.allow(); !ok || n != 5 {
		t.Fatalf("after a second: %t, %d held back (want 5)", ok, n)
	}
}

// In-dialog requests must match the dialog: Call-ID, our tag and the
// peer's tag (RFC 3261 §12.2.2). One with the right Call-ID but a wrong
// tag gets 481 and leaves the call alone, whatever its method; here they
// come from another port than the peer's, as a spoofer's would.
// Mutation: dropping the From-tag comparison in dialog.matches lets the
// spoofed BYE end the call.
func TestSpoofedInDialogRequests481(t *testing.T) {
	p := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	id, tag, _ := rawCall(t, raw, p, "spoofme")
	spoofer := newRawPeer(t)
	for i, m := range []string{"BYE", "INFO", "UPDATE", "REFER", "NOTIFY", "INVITE"} {
		for _, spoof := range []struct{ what, from, to string }{
			{"wrong From tag", "tag=fromraw", "tag=other"},
			{"wrong To tag", "tag=fromraw", "tag=" + tag + "x"},
		} {
			text := inDialogText(spoofer, p.UA, m, "spoofme", tag, 10+i, "", "")
			text = strings.Replace(text, "tag=fromraw", spoof.to, 1)
			if spoof.what == "wrong To tag" {
				text = strings.Replace(inDialogText(spoofer, p.UA, m, "spoofme", tag+"x", 10+i, "", ""), "tag=fromraw", spoof.from, 1)
			}
			spoofer.sendText(p.Addr(), text)
			res := spoofer.read(m+" "+spoof.what, func(msg gosip.Message) bool {
				r, ok := msg.(*gosip.Response)
				return ok && r.CSeq().MethodName == gosip.RequestMethod(m) && r.StatusCode >= 200
			}).msg.(*gosip.Response)
			if res.StatusCode != 481 {
				t.Errorf("%s with a %s: %d, want 481", m, spoof.what, res.StatusCode)
			}
		}
	}
	noEvent(t, p)
	if err := p.Hangup(id); err != nil {
		t.Fatalf("the call did not survive the spoofed requests: %v", err)
	}
}
