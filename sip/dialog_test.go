package sip

import (
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/scripts/tier"
	"github.com/deskphone/phoned/sip/sdp"
)

func componentTier(t *testing.T) {
	t.Helper()
	tier.Component(t, "SIP stacks on loopback UDP")
}

func withClock(clk clock.Clock) func(*Config) { return func(c *Config) { c.Clock = clk } }

func held(m sdp.Media, dir string) sdp.Media { m.Direction = dir; return m }

// rawCall: the raw peer calls ua, ua answers, the raw peer ACKs. It
// returns the call, our To tag and our first SDP.
func rawCall(t *testing.T, raw *rawPeer, p *phone, callID string) (CallID, string, sdp.Session) {
	t.Helper()
	raw.sendText(p.Addr(), inviteText(raw, p.UA, callID))
	in := next[Incoming](t, p)
	if _, err := p.Answer(in.ID, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ok := raw.read("200", isRes(200)).msg.(*gosip.Response)
	tag, _ := ok.To().Params.Get("tag")
	raw.sendText(p.Addr(), strings.Replace(inDialogText(raw, p.UA, "ACK", callID, tag, 1, "", ""), "branch=z9hG4bK-ACK1", "branch=z9hG4bK-ack1", 1))
	return in.ID, tag, mustParse(t, ok.Body())
}

// replyInDialog answers a request of ours within the raw peer's dialog
// (the To tag is there already).
func (r *rawPeer) replyInDialog(req rawMsg, code int, reason string, body []byte) {
	res := gosip.NewResponseFromRequest(req.msg.(*gosip.Request), code, reason, nil)
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: r.addr().Port}})
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	res.SetBody(body)
	r.send(req.from, res)
}

// withHeaders adds header lines after Max-Forwards of a request text.
func withHeaders(text string, lines ...string) string {
	return strings.Replace(text, "Max-Forwards: 70\n", "Max-Forwards: 70\n"+strings.Join(lines, "\n")+"\n", 1)
}

// waitPending waits until n timers are pending on the fake clock.
func waitPending(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for clk.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %d timers pending on the fake clock", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func reqSDP(t *testing.T, m rawMsg) sdp.Session {
	t.Helper()
	return mustParse(t, m.msg.(*gosip.Request).Body())
}

// RFC 3264 §8, §8.4: our hold re-INVITE on the wire (same o= id, version
// +1, sendonly), glare answered 491 (RFC 3261 §14.2), our re-INVITE
// retried after a 491 on the injected clock (§14.1), a refused change
// leaving the session as it was, bounded 491 retries.
func TestReinviteWireGlareAndRetry(t *testing.T) {
	componentTier(t)
	clk := clock.NewFake(time.Unix(1e9, 0))
	b := newPhone(t, "1002", "Bob", withClock(clk))
	raw := newRawPeer(t)
	id, tag, first := rawCall(t, raw, b, "reinv1")

	if err := b.Reinvite(id, held(media(5000, sdp.PCMU), "hold")); err == nil {
		t.Fatal("Reinvite took direction hold")
	}
	if err := b.Reinvite(id, held(media(5000, sdp.PCMU), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	if err := b.Reinvite(id, held(media(5000, sdp.PCMU), sdp.SendOnly)); err == nil {
		t.Fatal("second Reinvite while one is pending accepted")
	}
	inv := raw.read("re-INVITE", isReq(gosip.INVITE))
	req := inv.msg.(*gosip.Request)
	s := reqSDP(t, inv)
	if s.Direction != sdp.SendOnly || s.ID != first.ID || s.Version != first.Version+1 {
		t.Fatalf("hold offer direction %s id %d version %d, first id %d version %d", s.Direction, s.ID, s.Version, first.ID, first.Version)
	}
	if ft, _ := req.From().Params.Get("tag"); ft != tag {
		t.Fatalf("From tag %q, want ours %q", ft, tag)
	}
	if tt, _ := req.To().Params.Get("tag"); tt != "fromraw" || req.Recipient.User != "raw" {
		t.Fatalf("To tag %q, Request-URI %s", tt, req.Recipient.String())
	}
	if !strings.Contains(header(req, "Allow"), "REFER") || header(req, "Supported") != "replaces" {
		t.Fatalf("Allow %q Supported %q", header(req, "Allow"), header(req, "Supported"))
	}
	checkSource(t, "re-INVITE", inv, b.UA)

	// Glare: their re-INVITE crosses ours: 491.
	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INVITE", "reinv1", tag, 2, "application/sdp", holdOffer("sendonly", 2)))
	raw.read("491 to the crossing re-INVITE", isRes(491))

	// Ours gets 491: retried after the §14.1 delay (0-2 s: the raw peer
	// owns the Call-ID), not before the clock moves.
	raw.replyInDialog(inv, 491, "Request Pending", nil)
	waitPending(t, clk, 1)
	clk.Advance(2 * time.Second)
	inv2 := raw.read("retried re-INVITE", isReq(gosip.INVITE))
	req2 := inv2.msg.(*gosip.Request)
	s2 := reqSDP(t, inv2)
	if req2.CSeq().SeqNo <= req.CSeq().SeqNo || s2.ID != first.ID || s2.Version <= s.Version || s2.Direction != sdp.SendOnly {
		t.Fatalf("retry CSeq %d (was %d), o= %d %d (was %d)", req2.CSeq().SeqNo, req.CSeq().SeqNo, s2.ID, s2.Version, s.Version)
	}
	answer := strings.Replace(holdOffer("recvonly", 3), "m=audio 9000", "m=audio 9002", 1)
	raw.replyInDialog(inv2, 200, "OK", []byte(answer))
	ack := raw.read("ACK of the re-INVITE", isReq(gosip.ACK)).msg.(*gosip.Request)
	if ack.CSeq().SeqNo != req2.CSeq().SeqNo {
		t.Fatalf("ACK CSeq %d, re-INVITE %d", ack.CSeq().SeqNo, req2.CSeq().SeqNo)
	}
	r := next[Reinvited](t, b)
	if r.Code != 200 || r.Media == nil || r.Media.Direction != sdp.SendOnly || r.Media.Remote.Port() != 9002 {
		t.Fatalf("reinvited %+v media %+v", r, r.Media)
	}

	// A refused resume: the session stays held, Media nil.
	if err := b.Reinvite(id, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	inv3 := raw.read("resume re-INVITE", isReq(gosip.INVITE))
	if s3 := reqSDP(t, inv3); s3.Direction != sdp.SendRecv || s3.Version != s2.Version+1 {
		t.Fatalf("resume offer %+v", s3)
	}
	raw.replyInDialog(inv3, 488, "Not Acceptable Here", nil)
	if r := next[Reinvited](t, b); r.Code != 488 || r.Media != nil {
		t.Fatalf("refused re-INVITE %+v", r)
	}
	// The far end's offer is now answered from the held session.
	raw.sendText(b.Addr(), inDialogText(raw, b.UA, "INVITE", "reinv1", tag, 3, "application/sdp", holdOffer("sendrecv", 4)))
	ans := raw.read("200 to their re-INVITE", isRes(200)).msg.(*gosip.Response)
	if a := mustParse(t, ans.Body()); a.Direction != sdp.SendOnly || a.ID != first.ID {
		t.Fatalf("answer while we hold: %+v", a)
	}
	if m := next[Modified](t, b); m.Media.Direction != sdp.SendOnly {
		t.Fatalf("modified %+v", m)
	}

	// 491 every time: given up after maxGlareRetries.
	if err := b.Reinvite(id, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= maxGlareRetries; i++ {
		m := raw.read("re-INVITE", isReq(gosip.INVITE))
		raw.replyInDialog(m, 491, "Request Pending", nil)
		if i < maxGlareRetries {
			waitPending(t, clk, 1)
			clk.Advance(2 * time.Second)
		}
	}
	if r := next[Reinvited](t, b); r.Code != 491 || r.Media != nil {
		t.Fatalf("after the retries %+v", r)
	}
	noEvent(t, b)
}

func TestGlareDelay(t *testing.T) {
	for range 200 {
		if d := glareDelay(true); d < 2100*time.Millisecond || d > 4*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("owner delay %v", d)
		}
		if d := glareDelay(false); d < 0 || d > 2*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("non-owner delay %v", d)
		}
	}
}

// RFC 3264 §8.4 between two of our UAs: A holds B (sendonly, B answers
// recvonly), B holds A too (inactive both ways), A resumes (B still
// holds: inactive... B's side stays), B resumes (sendrecv).
func TestHoldResumeBothWays(t *testing.T) {
	componentTier(t)
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	ida, idb := establish(t, a, b)
	ma, mb := media(4000, sdp.PCMU, sdp.PCMA), media(5000, sdp.PCMA, sdp.PCMU)

	step := func(who, other *phone, id, otherID CallID, m sdp.Media, wantOurs, wantTheirs string) {
		t.Helper()
		if err := who.Reinvite(id, m); err != nil {
			t.Fatal(err)
		}
		mod := next[Modified](t, other)
		if mod.ID != otherID || mod.Media.Direction != wantTheirs {
			t.Fatalf("%s: modified %+v, want direction %s", other.cfg.User, mod, wantTheirs)
		}
		r := next[Reinvited](t, who)
		if r.ID != id || r.Code != 200 || r.Media == nil || r.Media.Direction != wantOurs {
			t.Fatalf("%s: reinvited %+v media %+v, want direction %s", who.cfg.User, r, r.Media, wantOurs)
		}
	}
	step(a, b, ida, idb, held(ma, sdp.SendOnly), sdp.SendOnly, sdp.RecvOnly)
	step(b, a, idb, ida, held(mb, sdp.Inactive), sdp.Inactive, sdp.Inactive)
	step(a, b, ida, idb, ma, sdp.Inactive, sdp.Inactive) // B still holds
	step(b, a, idb, ida, mb, sdp.SendRecv, sdp.SendRecv)
	noEvent(t, a)
	noEvent(t, b)
}
