package sip

import (
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

// RFC 3515 blind transfer between three of our UAs: A refers B to C; B
// gets Referred, NOTIFY 100 reaches A; B calls C with Referred-By; its
// outcome goes back to A in the final NOTIFY.
func TestBlindTransfer(t *testing.T) {
	componentTier(t)
	a, b, c := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob"), newPhone(t, "1003", "Carol")
	ida, idb := establish(t, a, b)
	if err := a.Refer(ida, "not a uri", ""); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("Refer to a bad target: %v", err)
	}
	if err := a.Refer(ida, c.target(), "nosuchcall"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("Refer replacing an unknown call: %v", err)
	}
	if err := a.Refer(ida, c.target(), ""); err != nil {
		t.Fatal(err)
	}
	ref := next[Referred](t, b)
	if ref.ID != idb || ref.Target != c.target() || ref.Replaces != "" || !strings.Contains(ref.ReferredBy, "sip:1001@example.test") {
		t.Fatalf("referred %+v", ref)
	}
	if p := next[TransferProgress](t, a); p.Code != 100 || p.Final || p.ID != ida {
		t.Fatalf("first progress %+v", p)
	}
	idbc, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{ReferredBy: ref.ReferredBy})
	if err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, c)
	if in.Replaces != "" || in.From.User != "1002" {
		t.Fatalf("incoming at C %+v", in)
	}
	if _, err := c.Answer(in.ID, media(7000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	if an := next[Answered](t, b); an.ID != idbc {
		t.Fatalf("answered %+v", an)
	}
	if err := b.NotifyRefer(idb, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	if p := next[TransferProgress](t, a); p.Code != 200 || p.Reason != "OK" || !p.Final {
		t.Fatalf("final progress %+v", p)
	}
	if err := b.NotifyRefer(idb, 200, "OK"); !errors.Is(err, ErrCallState) {
		t.Fatalf("NotifyRefer after the final one: %v", err)
	}
	// The transferor ends its call; the new call stays.
	if err := a.Hangup(ida); err != nil {
		t.Fatal(err)
	}
	next[Ended](t, b)
	next[Ended](t, a)
	noEvent(t, b)
	noEvent(t, c)
}

// The transfer target is busy: the 486 reaches A in the final NOTIFY's
// sipfrag, A's call with B stays up.
func TestBlindTransferTargetBusy(t *testing.T) {
	componentTier(t)
	a, b, c := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob"), newPhone(t, "1003", "Carol")
	ida, idb := establish(t, a, b)
	if err := a.Refer(ida, c.target(), ""); err != nil {
		t.Fatal(err)
	}
	ref := next[Referred](t, b)
	next[TransferProgress](t, a)
	if _, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{ReferredBy: ref.ReferredBy}); err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, c)
	if err := c.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	next[Ended](t, c)
	f := next[Failed](t, b)
	if f.Code != 486 {
		t.Fatalf("failed %+v", f)
	}
	if err := b.NotifyRefer(idb, f.Code, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if p := next[TransferProgress](t, a); p.Code != 486 || p.Reason != "Busy Here" || !p.Final {
		t.Fatalf("final progress %+v", p)
	}
	// The original call still works: a second transfer may be tried.
	if err := a.Refer(ida, c.target(), ""); err != nil {
		t.Fatal(err)
	}
	next[Referred](t, b)
	next[TransferProgress](t, a)
}

// RFC 5589 §7 attended transfer: A talks to B and to C, refers B to C
// with Replaces naming A's call with C; C gets Incoming.Replaces = that
// call. Replaces naming no dialog gets 481, early-only on a confirmed
// dialog 486 (RFC 3891 §3).
func TestAttendedTransferReplaces(t *testing.T) {
	componentTier(t)
	a, b, c := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob"), newPhone(t, "1003", "Carol")
	ida, idb := establish(t, a, b)
	idac, idca := establish(t, a, c)
	if err := a.Refer(ida, c.target(), idac); err != nil {
		t.Fatal(err)
	}
	ref := next[Referred](t, b)
	if ref.Target != c.target() || !strings.HasPrefix(ref.Replaces, string(idac)+";to-tag=") || !strings.Contains(ref.Replaces, ";from-tag=") {
		t.Fatalf("referred %+v", ref)
	}
	next[TransferProgress](t, a)

	// Replaces naming nothing, and early-only on a confirmed dialog.
	if _, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{Replaces: "nosuch;to-tag=x;from-tag=y"}); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, b); f.Code != 481 {
		t.Fatalf("Replaces naming no dialog: %+v", f)
	}
	if _, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{Replaces: ref.Replaces + ";early-only"}); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, b); f.Code != 486 {
		t.Fatalf("early-only on a confirmed dialog: %+v", f)
	}
	if _, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{Replaces: "bad"}); err == nil {
		t.Fatal("DialWith took a bad Replaces")
	}

	idbc, err := b.DialWith(ref.Target, media(6000, sdp.PCMU), DialOptions{ReferredBy: ref.ReferredBy, Replaces: ref.Replaces})
	if err != nil {
		t.Fatal(err)
	}
	in := next[Incoming](t, c)
	if in.Replaces != idca {
		t.Fatalf("incoming at C replaces %q, want %q", in.Replaces, idca)
	}
	if _, err := c.Answer(in.ID, media(7000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	next[Answered](t, b)
	if err := c.Hangup(idca); err != nil { // C's firmware ends the replaced call
		t.Fatal(err)
	}
	if e := next[Ended](t, a); e.ID != idac || !e.Remote {
		t.Fatalf("A's call with C %+v", e)
	}
	next[Ended](t, c)
	if err := b.NotifyRefer(idb, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	if p := next[TransferProgress](t, a); p.Code != 200 || !p.Final || p.ID != ida {
		t.Fatalf("final progress %+v", p)
	}
	_ = idbc
}

// referText is an in-dialog REFER from the raw peer.
func referText(raw *rawPeer, ua *UA, callID, tag string, cseq int, lines ...string) string {
	return withHeaders(inDialogText(raw, ua, "REFER", callID, tag, cseq, "", ""), lines...)
}

// Receiving REFER: out of a dialog 403, unknown dialog 481, not exactly
// one readable Refer-To 400 (RFC 3515 §2.4.1); accepted: 202, then NOTIFY
// 100 Trying, then NotifyRefer's final NOTIFY terminating the
// subscription.
func TestReferReceived(t *testing.T) {
	componentTier(t)
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	id, tag, _ := rawCall(t, raw, b, "refin1")
	to := "Refer-To: <sip:1003@127.0.0.1:5999>"

	raw.sendText(b.Addr(), strings.Replace(referText(raw, b.UA, "refout", "", 2, to), ";tag=\n", "\n", 1))
	raw.read("403 to REFER outside a dialog", isRes(403))
	raw.sendText(b.Addr(), referText(raw, b.UA, "refin1", "notours", 3, to))
	raw.read("481 to REFER in an unknown dialog", isRes(481))
	raw.sendText(b.Addr(), referText(raw, b.UA, "refin1", tag, 4))
	raw.read("400 to REFER without Refer-To", isRes(400))
	raw.sendText(b.Addr(), referText(raw, b.UA, "refin1", tag, 5, to, "Refer-To: <sip:1004@127.0.0.1>"))
	raw.read("400 to REFER with two Refer-To", isRes(400))
	raw.sendText(b.Addr(), referText(raw, b.UA, "refin1", tag, 6, "Refer-To: <sip:1003@127.0.0.1?Replaces=junk>"))
	raw.read("400 to REFER with a bad Replaces", isRes(400))
	if err := b.NotifyRefer(id, 200, "OK"); !errors.Is(err, ErrCallState) {
		t.Fatalf("NotifyRefer with no REFER: %v", err)
	}

	raw.sendText(b.Addr(), referText(raw, b.UA, "refin1", tag, 7,
		"Refer-To: \"Carol\" <sip:1003@127.0.0.1:5999?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>",
		"Referred-By: <sip:raw@127.0.0.1>"))
	raw.read("202 to REFER", isRes(202))
	ref := next[Referred](t, b)
	if ref.ID != id || ref.Target != "sip:1003@127.0.0.1:5999" || ref.Replaces != "abc@h;to-tag=1;from-tag=2" || ref.ReferredBy != "<sip:raw@127.0.0.1>" {
		t.Fatalf("referred %+v", ref)
	}
	n := raw.read("NOTIFY 100", isReq(gosip.NOTIFY))
	nr := n.msg.(*gosip.Request)
	if string(nr.Body()) != "SIP/2.0 100 Trying\r\n" || !strings.HasPrefix(header(nr, "Subscription-State"), "active") ||
		header(nr, "Event") != "refer;id=7" || !strings.HasPrefix(header(nr, "Content-Type"), "message/sipfrag") {
		t.Fatalf("first NOTIFY:\n%s", n.raw)
	}
	if tt, _ := nr.To().Params.Get("tag"); tt != "fromraw" {
		t.Fatalf("NOTIFY outside the dialog:\n%s", n.raw)
	}
	raw.replyInDialog(n, 200, "OK", nil)
	if err := b.NotifyRefer(id, 180, "Ringing"); err != nil {
		t.Fatal(err)
	}
	if err := b.NotifyRefer(id, 200, "OK"); err != nil {
		t.Fatal(err)
	}
	n2 := raw.read("NOTIFY 180", isReq(gosip.NOTIFY))
	if string(n2.msg.(*gosip.Request).Body()) != "SIP/2.0 180 Ringing\r\n" {
		t.Fatalf("second NOTIFY:\n%s", n2.raw)
	}
	raw.replyInDialog(n2, 200, "OK", nil)
	n3 := raw.read("NOTIFY 200", isReq(gosip.NOTIFY)).msg.(*gosip.Request)
	if string(n3.Body()) != "SIP/2.0 200 OK\r\n" || !strings.HasPrefix(header(n3, "Subscription-State"), "terminated") ||
		n3.CSeq().SeqNo <= n2.msg.(*gosip.Request).CSeq().SeqNo {
		t.Fatalf("final NOTIFY %s %q", header(n3, "Subscription-State"), n3.Body())
	}
	noEvent(t, b)
}

// notifyText is a NOTIFY of the raw peer's refer subscription.
func notifyText(raw *rawPeer, ua *UA, callID, tag string, cseq int, state, frag string) string {
	return withHeaders(inDialogText(raw, ua, "NOTIFY", callID, tag, cseq, "message/sipfrag;version=2.0", frag),
		"Event: refer", "Subscription-State: "+state)
}

// Our REFER towards a raw peer: its failure, the NOTIFYs of the implicit
// subscription (a bad sipfrag 400 and unreported, a NOTIFY for no
// subscription 481), and no final NOTIFY within referTimeout: 408 Final.
func TestReferSentFailures(t *testing.T) {
	componentTier(t)
	clk := clock.NewFake(time.Unix(1e9, 0))
	b := newPhone(t, "1002", "Bob", withClock(clk))
	raw := newRawPeer(t)
	id, tag, _ := rawCall(t, raw, b, "refout1")

	raw.sendText(b.Addr(), notifyText(raw, b.UA, "refout1", tag, 2, "active", "SIP/2.0 100 Trying\r\n"))
	raw.read("481 to NOTIFY without a subscription", isRes(481))

	if err := b.Refer(id, "sip:1003@127.0.0.1:5999", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Refer(id, "sip:1003@127.0.0.1:5999", ""); !errors.Is(err, ErrCallState) {
		t.Fatalf("second REFER: %v", err)
	}
	m := raw.read("REFER", isReq(gosip.REFER))
	req := m.msg.(*gosip.Request)
	if header(req, "Refer-To") != "<sip:1003@127.0.0.1:5999>" || !strings.Contains(header(req, "Referred-By"), "sip:1002@") {
		t.Fatalf("REFER:\n%s", m.raw)
	}
	raw.replyInDialog(m, 403, "Forbidden", nil)
	if p := next[TransferProgress](t, b); p.Code != 403 || !p.Final {
		t.Fatalf("refused REFER %+v", p)
	}

	if err := b.Refer(id, "sip:1003@127.0.0.1:5999", ""); err != nil {
		t.Fatal(err)
	}
	m = raw.read("REFER", isReq(gosip.REFER))
	raw.replyInDialog(m, 202, "Accepted", nil)
	raw.sendText(b.Addr(), notifyText(raw, b.UA, "refout1", tag, 3, "active;expires=60", "SIP/2.0 abc\r\n"))
	raw.read("400 to a bad sipfrag", isRes(400))
	raw.sendText(b.Addr(), withHeaders(inDialogText(raw, b.UA, "NOTIFY", "refout1", tag, 4, "message/sipfrag", "SIP/2.0 100 Trying\r\n"),
		"Event: presence", "Subscription-State: active"))
	raw.read("489 to another event package", isRes(489))
	raw.sendText(b.Addr(), notifyText(raw, b.UA, "refout1", tag, 5, "active;expires=60", "SIP/2.0 183 Session Progress\r\n"))
	raw.read("200 to NOTIFY", isRes(200))
	if p := next[TransferProgress](t, b); p.Code != 183 || p.Reason != "Session Progress" || p.Final {
		t.Fatalf("progress %+v", p)
	}
	// No final NOTIFY: the bound on the injected clock ends it.
	clk.Advance(referTimeout)
	if p := next[TransferProgress](t, b); p.Code != 408 || !p.Final {
		t.Fatalf("timeout progress %+v", p)
	}
	raw.sendText(b.Addr(), notifyText(raw, b.UA, "refout1", tag, 6, "terminated", "SIP/2.0 200 OK\r\n"))
	raw.read("481 to a NOTIFY after the timeout", isRes(481))
	noEvent(t, b)
}

func TestParseSipfrag(t *testing.T) {
	for _, tt := range []struct {
		in     string
		code   int
		reason string
		ok     bool
	}{
		{"SIP/2.0 200 OK\r\n", 200, "OK", true},
		{"SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n", 486, "Busy Here", true},
		{"SIP/2.0 100 Trying", 100, "Trying", true},
		{"SIP/2.0 180", 180, "", true},
		{"sip/2.0 603 Declined\n", 603, "Declined", true},
		{"SIP/2.0 99 Low\r\n", 0, "", false},
		{"SIP/2.0 1000 High\r\n", 0, "", false},
		{"SIP/1.0 200 OK\r\n", 0, "", false},
		{"INVITE sip:a@b SIP/2.0\r\n", 0, "", false},
		{"", 0, "", false},
		{"SIP/2.0 200 O\x00K", 0, "", false},
	} {
		code, reason, err := parseSipfrag([]byte(tt.in))
		if (err == nil) != tt.ok || code != tt.code || reason != tt.reason {
			t.Errorf("parseSipfrag(%q) = %d %q %v", tt.in, code, reason, err)
		}
	}
}

func TestParseReplacesAndReferTo(t *testing.T) {
	r, err := parseReplaces("abc@host ;to-tag=1; from-tag=2;early-only")
	if err != nil || r.callID != "abc@host" || r.toTag != "1" || r.fromTag != "2" || !r.earlyOnly {
		t.Fatalf("parseReplaces = %+v %v", r, err)
	}
	for _, bad := range []string{"", "abc", "abc;to-tag=1", ";to-tag=1;from-tag=2", "a b;to-tag=1;from-tag=2", "abc;to-tag=;from-tag=2"} {
		if _, err := parseReplaces(bad); !errors.Is(err, ErrBadHeader) {
			t.Errorf("parseReplaces(%q) = %v", bad, err)
		}
	}
	// Round trip: our escaping is read back by our parser.
	d := dialog{id: "x;y@h=1", local: party{Tag: "L"}, remote: party{Tag: "R"}}
	target, rep, err := parseReferTo("<sip:c@h:5060?Replaces=" + escapeHeaderValue(d.replaces()) + ">")
	if err != nil || target != "sip:c@h:5060" || rep != d.replaces() {
		t.Fatalf("round trip: %q %q %v", target, rep, err)
	}
	for _, tt := range []struct{ in, target, replaces string }{
		{"sip:c@h", "sip:c@h", ""},
		{"sip:c@h;x=y", "sip:c@h", ""},
		{`"C" <sip:c@h;transport=udp?Foo=bar&Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>;p=1`, "sip:c@h;transport=udp", "a;to-tag=1;from-tag=2"},
	} {
		target, rep, err := parseReferTo(tt.in)
		if err != nil || target != tt.target || rep != tt.replaces {
			t.Errorf("parseReferTo(%q) = %q %q %v", tt.in, target, rep, err)
		}
	}
	for _, bad := range []string{"", "<sip:c@h", "<tel:+123>", "<sip:>", "sip:c@h?Replaces=x", "<sip:c@h?Replaces=%zz>",
		"<sip:c@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>", "<sip:c d@h>"} {
		if _, _, err := parseReferTo(bad); !errors.Is(err, ErrBadHeader) {
			t.Errorf("parseReferTo(%q) = %v", bad, err)
		}
	}
}

func FuzzParseSipfrag(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK\r\n", "SIP/2.0 486 Busy Here\r\nCSeq: 1 INVITE\r\n", "SIP/2.0 1", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, reason, err := parseSipfrag(b)
		if err == nil && (code < 100 || code > 699 || strings.ContainsAny(reason, "\r\n")) {
			t.Fatalf("accepted %q as %d %q", b, code, reason)
		}
	})
}

func FuzzParseReplaces(f *testing.F) {
	for _, s := range []string{"abc@h;to-tag=1;from-tag=2", "a;from-tag=2;to-tag=1;early-only", ";;", "x;to-tag"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReplaces(s)
		if err == nil && (r.callID == "" || r.toTag == "" || r.fromTag == "") {
			t.Fatalf("accepted %q as %+v", s, r)
		}
	})
}

func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:c@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>", `"C" <sip:c@h;x?A=b&Replaces=%41>;p`, "sip:c@h", "<", "<sip:?&=>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, rep, err := parseReferTo(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(target, "sip:") {
			t.Fatalf("accepted %q as target %q", s, target)
		}
		if rep != "" {
			if _, err := parseReplaces(rep); err != nil {
				t.Fatalf("accepted %q with Replaces %q: %v", s, rep, err)
			}
		}
	})
}

// A REFER asked for while our hold re-INVITE is pending goes only once
// the re-INVITE is answered (RFC 5589 §7: a REFER crossing it draws 491).
func TestReferWaitsForReinvite(t *testing.T) {
	componentTier(t)
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	id, _, _ := rawCall(t, raw, b, "refhold1")
	if err := b.Reinvite(id, held(media(5000, sdp.PCMU), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	if err := b.Refer(id, "sip:1003@127.0.0.1:5999", ""); err != nil {
		t.Fatal(err)
	}
	inv := raw.read("re-INVITE", isReq(gosip.INVITE))
	raw.replyInDialog(inv, 200, "OK", []byte(holdOffer("recvonly", 2)))
	first := raw.read("ACK or REFER", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Request)
		return ok && (r.Method == gosip.ACK || r.Method == gosip.REFER)
	})
	if first.msg.(*gosip.Request).Method != gosip.ACK {
		t.Fatalf("REFER went before the re-INVITE was done:\n%s", first.raw)
	}
	if r := next[Reinvited](t, b); r.Code != 200 {
		t.Fatalf("reinvited %+v", r)
	}
	ref := raw.read("REFER", isReq(gosip.REFER))
	if ref.msg.(*gosip.Request).CSeq().SeqNo <= inv.msg.(*gosip.Request).CSeq().SeqNo {
		t.Fatalf("REFER CSeq not above the re-INVITE's")
	}
	raw.replyInDialog(ref, 202, "Accepted", nil)
	noEvent(t, b)
}

// RFC 3891 §3: Replaces naming an early dialog we did not place gets 481;
// Require: replaces is accepted (no 420); a bad Replaces gets 400.
func TestReplacesEarlyAndRequire(t *testing.T) {
	componentTier(t)
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	raw.sendText(b.Addr(), inviteText(raw, b.UA, "early1"))
	in := next[Incoming](t, b)
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	ring := raw.read("180", isRes(180)).msg.(*gosip.Response)
	tag, _ := ring.To().Params.Get("tag")

	inv := func(callID, replaces string) string {
		return withHeaders(strings.Replace(inviteText(raw, b.UA, callID), "tag=fromraw", "tag=fromraw2", 1),
			"Require: replaces", "Replaces: "+replaces)
	}
	raw.sendText(b.Addr(), inv("early2", "early1;to-tag="+tag+";from-tag=fromraw"))
	if res := raw.read("final to the INVITE with Replaces", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode >= 300 && r.CallID().Value() == "early2"
	}).msg.(*gosip.Response); res.StatusCode != 481 {
		t.Fatalf("Replaces naming an early incoming dialog: %d", res.StatusCode)
	}
	raw.sendText(b.Addr(), inv("early3", "early1"))
	if res := raw.read("final to a bad Replaces", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode >= 300 && r.CallID().Value() == "early3"
	}).msg.(*gosip.Response); res.StatusCode != 400 {
		t.Fatalf("bad Replaces: %d", res.StatusCode)
	}
	noEvent(t, b)
}
