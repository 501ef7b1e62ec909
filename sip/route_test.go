package sip

import (
	"fmt"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/phoned/sip/sdp"
)

// RFC 3261 §22.2: a 401 to INVITE (a UAS challenging) is answered with
// Authorization.
func TestInviteWWWAuth(t *testing.T) {
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.Credentials = Credentials{User: "1001", Password: "pw", Realm: "uas"} })
	uas := newRawPeer(t)
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", uas.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	m1 := uas.read("INVITE", isReq(gosip.INVITE))
	res := gosip.NewResponseFromRequest(m1.msg.(*gosip.Request), 401, "Unauthorized", nil)
	res.To().Params.Add("tag", "u1")
	res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="uas", nonce="n401", algorithm=SHA-256`))
	uas.send(m1.from, res)
	m2 := uas.read("authorized INVITE", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Request)
		return ok && r.Method == gosip.INVITE && r.GetHeader("Authorization") != nil
	})
	cred, err := digest.ParseCredentials(m2.msg.(*gosip.Request).GetHeader("Authorization").Value())
	if err != nil || cred.Algorithm != "SHA-256" || cred.Realm != "uas" {
		t.Fatalf("Authorization %+v %v", cred, err)
	}
	uas.reply(m2, 486, "Busy Here", nil)
	if f := next[Failed](t, a); f.Code != 486 {
		t.Fatalf("failed %+v", f)
	}
}

// RFC 3261 §22.2: a 407 to INVITE is answered once with
// Proxy-Authorization on a new transaction (CSeq+1, same Call-ID).
func TestInviteProxyAuth(t *testing.T) {
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.Credentials = Credentials{User: "1001", Password: "pw", Realm: "pbx"} })
	proxy := newRawPeer(t)
	id, err := a.Dial(fmt.Sprintf("sip:1002@%s", proxy.addr()), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	m1 := proxy.read("INVITE", isReq(gosip.INVITE))
	r1 := m1.msg.(*gosip.Request)
	res := gosip.NewResponseFromRequest(r1, 407, "Proxy Authentication Required", nil)
	res.To().Params.Add("tag", "p1")
	res.AppendHeader(gosip.NewHeader("Proxy-Authenticate", `Digest realm="pbx", nonce="abc", qop="auth"`))
	proxy.send(m1.from, res)
	proxy.read("ACK of the 407", isReq(gosip.ACK))

	m2 := proxy.read("authorized INVITE", isReq(gosip.INVITE))
	r2 := m2.msg.(*gosip.Request)
	if r2.CallID().Value() != string(id) || r2.CSeq().SeqNo != r1.CSeq().SeqNo+1 {
		t.Fatalf("retry: Call-ID %s CSeq %d, want %s %d", r2.CallID().Value(), r2.CSeq().SeqNo, id, r1.CSeq().SeqNo+1)
	}
	h := r2.GetHeader("Proxy-Authorization")
	if h == nil {
		t.Fatalf("no Proxy-Authorization:\n%s", m2.raw)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := digest.Digest(&digest.Challenge{Realm: "pbx", Nonce: "abc", QOP: []string{"auth"}},
		digest.Options{Method: "INVITE", URI: cred.URI, Username: "1001", Password: "pw", Cnonce: cred.Cnonce, Count: cred.Nc})
	if cred.Response != want.Response || cred.URI != r2.Recipient.String() {
		t.Fatalf("credentials %+v", cred)
	}
	// A second challenge is not answered again: the call fails.
	res = gosip.NewResponseFromRequest(r2, 407, "Proxy Authentication Required", nil)
	res.To().Params.Add("tag", "p2")
	res.AppendHeader(gosip.NewHeader("Proxy-Authenticate", `Digest realm="pbx", nonce="def"`))
	proxy.send(m2.from, res)
	if f := next[Failed](t, a); f.Code != 407 {
		t.Fatalf("failed %+v, want 407", f)
	}
}

// RFC 3261 §8.1.3.4: a 3xx is followed to its Contact; a loop back to a
// visited target ends the call with the 3xx.
func TestRedirectFollowedAndLoopStopped(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	first, second := newRawPeer(t), newRawPeer(t)
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", first.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	redirect := func(p *rawPeer, to string) {
		m := p.read("INVITE", isReq(gosip.INVITE))
		res := gosip.NewResponseFromRequest(m.msg.(*gosip.Request), 302, "Moved Temporarily", nil)
		res.To().Params.Add("tag", "r")
		res.AppendHeader(gosip.NewHeader("Contact", to))
		p.send(m.from, res)
	}
	redirect(first, fmt.Sprintf("<sip:2002@%s>;q=0.5, <sip:1002@%s>;q=0.9", second.addr(), first.addr()))
	// The q=0.9 contact was visited already (the original target): the
	// q=0.5 one is taken.
	m := second.read("redirected INVITE", isReq(gosip.INVITE))
	if got := m.msg.(*gosip.Request).Recipient.String(); got != fmt.Sprintf("sip:2002@%s", second.addr()) {
		t.Fatalf("redirected to %s", got)
	}
	res := gosip.NewResponseFromRequest(m.msg.(*gosip.Request), 302, "Moved Temporarily", nil)
	res.To().Params.Add("tag", "r2")
	res.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<sip:1002@%s>", first.addr())))
	second.send(m.from, res)
	if f := next[Failed](t, a); f.Code != 302 {
		t.Fatalf("failed %+v, want 302 (loop)", f)
	}
}

// The outbound proxy is a preloaded loose route on the INVITE; the 2xx's
// Record-Route becomes the dialog's route set for ACK and BYE (RFC 3261
// §12.1.2, §12.2.1.1).
func TestOutboundProxyAndRouteSet(t *testing.T) {
	proxy := newRawPeer(t)
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.OutboundProxy = proxy.addr().String() })
	callee := newRawPeer(t)
	target := fmt.Sprintf("sip:1002@%s", callee.addr())
	if _, err := a.Dial(target, media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	m := proxy.read("INVITE at the proxy", isReq(gosip.INVITE))
	inv := m.msg.(*gosip.Request)
	if inv.Recipient.String() != target {
		t.Fatalf("Request-URI %s, want %s", inv.Recipient.String(), target)
	}
	if r := inv.GetHeader("Route"); r == nil || r.Value() != fmt.Sprintf("<sip:%s;lr>", proxy.addr()) {
		t.Fatalf("Route:\n%s", m.raw)
	}
	res := gosip.NewResponseFromRequest(inv, 200, "OK", sdp.Offer(media(5000, sdp.PCMU), 7))
	res.To().Params.Add("tag", "callee")
	res.AppendHeader(gosip.NewHeader("Record-Route", fmt.Sprintf("<sip:%s;lr;r=2>, <sip:%s;lr;r=1>", proxy.addr(), proxy.addr())))
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "1002", Host: "127.0.0.1", Port: callee.addr().Port}})
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	proxy.send(m.from, res)
	next[Answered](t, a)

	ack := proxy.read("ACK via the route set", isReq(gosip.ACK)).msg.(*gosip.Request)
	routes := ack.GetHeaders("Route")
	if len(routes) != 2 || routes[0].Value() != fmt.Sprintf("<sip:%s;lr;r=1>", proxy.addr()) || routes[1].Value() != fmt.Sprintf("<sip:%s;lr;r=2>", proxy.addr()) {
		t.Fatalf("ACK routes %v, want the Record-Route reversed", routes)
	}
	if ack.Recipient.String() != fmt.Sprintf("sip:1002@%s", callee.addr()) {
		t.Fatalf("ACK Request-URI %s, want the remote target", ack.Recipient.String())
	}
}
