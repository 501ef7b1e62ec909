package sip

import (
	"errors"
	"testing"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
	"github.com/deskphone/phoned/sip/sdp"
)

func interopTier(t *testing.T) {
	t.Helper()
	tier.Interop(t, "baresip")
}

// dialBaresip calls an auto-answering baresip and returns our call.
func dialBaresip(t *testing.T, a *phone, bs *lab.Baresip) CallID {
	t.Helper()
	id, err := a.Dial(bs.URI(), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	for {
		switch e := next[Event](t, a).(type) {
		case Progress:
		case Answered:
			bs.WaitEvent(t, "CALL_ESTABLISHED", wait)
			return id
		default:
			t.Fatalf("dialling baresip: %T %+v", e, e)
		}
	}
}

// Hold and resume both ways against baresip (RFC 3264 §8.4): our
// sendonly is answered recvonly; baresip's hold reaches us as a sendonly
// offer that we answer recvonly (Modified), its resume as sendrecv.
func TestInteropBaresipHoldResume(t *testing.T) {
	interopTier(t)
	a := newPhone(t, "1001", "Alice")
	bs := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, Logger: testLogger(t)})
	id := dialBaresip(t, a, bs)

	if err := a.Reinvite(id, held(media(4000, sdp.PCMU), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	if r := next[Reinvited](t, a); r.Code != 200 || r.Media == nil || r.Media.Direction != sdp.SendOnly {
		t.Fatalf("our hold: %+v", r)
	}
	if err := a.Reinvite(id, media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	if r := next[Reinvited](t, a); r.Code != 200 || r.Media == nil || r.Media.Direction != sdp.SendRecv {
		t.Fatalf("our resume: %+v", r)
	}

	if _, err := bs.Command("hold", ""); err != nil {
		t.Fatal(err)
	}
	if m := next[Modified](t, a); m.ID != id || m.Media.Direction != sdp.RecvOnly {
		t.Fatalf("baresip's hold: %+v", m)
	}
	if _, err := bs.Command("resume", ""); err != nil {
		t.Fatal(err)
	}
	if m := next[Modified](t, a); m.ID != id || m.Media.Direction != sdp.SendRecv {
		t.Fatalf("baresip's resume: %+v", m)
	}
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	next[Ended](t, a)
}

// baresip transfers us (its "transfer" command: REFER, RFC 3515): we get
// Referred, call the target (another UA of ours) and tell baresip the
// outcome by NOTIFY; baresip then ends its call with us.
func TestInteropBaresipRefersUs(t *testing.T) {
	interopTier(t)
	a, c := newPhone(t, "1001", "Alice"), newPhone(t, "1003", "Carol")
	bs := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, Logger: testLogger(t)})
	id := dialBaresip(t, a, bs)

	if _, err := bs.Command("transfer", c.target()); err != nil {
		t.Fatal(err)
	}
	ref := next[Referred](t, a)
	if ref.ID != id || ref.Target != c.target() {
		t.Fatalf("referred %+v, want target %s", ref, c.target())
	}
	nid, err := a.DialWith(ref.Target, media(4002, sdp.PCMU), DialOptions{ReferredBy: ref.ReferredBy})
	if err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, c)
	if _, err := c.Answer(in.ID, media(7000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	if an := next[Answered](t, a); an.ID != nid {
		t.Fatalf("answered %+v", an)
	}
	if err := a.NotifyRefer(id, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	// baresip ends the transferred call once the final NOTIFY says 200.
	if e := next[Ended](t, a); e.ID != id || !e.Remote {
		t.Fatalf("after the transfer: %+v", e)
	}
	noEvent(t, c)
}

// We transfer baresip (blind, REFER to our third UA): baresip calls it and
// its NOTIFYs bring the outcome.
func TestInteropWeReferBaresip(t *testing.T) {
	interopTier(t)
	a, c := newPhone(t, "1001", "Alice"), newPhone(t, "1003", "Carol")
	bs := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", AnswerMode: lab.AnswerAuto, Logger: testLogger(t)})
	id := dialBaresip(t, a, bs)
	if err := a.Refer(id, c.target(), ""); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, c)
	if err := c.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Answer(in.ID, media(7000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	for {
		p := next[TransferProgress](t, a)
		if p.Code < 200 && !p.Final {
			continue
		}
		if p.Code != 200 || !p.Final {
			t.Fatalf("final progress %+v", p)
		}
		break
	}
	// Either side may end the old call first.
	if err := a.Hangup(id); err != nil && !errors.Is(err, ErrUnknownCall) {
		t.Fatal(err)
	}
	if e := next[Ended](t, a); e.ID != id {
		t.Fatalf("ended %+v", e)
	}
}
