package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestProxyRewriteSDP(t *testing.T) {
	rtp := netip.MustParseAddrPort("127.0.0.1:46000")
	rtcp := netip.MustParseAddrPort("127.0.0.1:46001")
	crlf := func(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }
	head := []string{"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-"}
	with := func(lines ...string) string { return crlf(append(append([]string{}, head...), lines...)...) }
	cases := []struct {
		name, in, want string
		orig           SDPMedia
	}{
		{"session c= (phoned, baresip)",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 20000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=sendrecv"),
			with("c=IN IP4 127.0.0.1", "t=0 0", "m=audio 46000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=sendrecv"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.1:20001")}},
		{"media c= wins",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 20000 RTP/AVP 0", "c=IN IP4 10.0.0.2/127"),
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 46000 RTP/AVP 0", "c=IN IP4 127.0.0.1"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.2:20000"), netip.MustParseAddrPort("10.0.0.2:20001")}},
		{"a=rtcp port",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 20000 RTP/AVP 0", "a=rtcp:30001"),
			with("c=IN IP4 127.0.0.1", "t=0 0", "m=audio 46000 RTP/AVP 0", "a=rtcp:46001"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.1:30001")}},
		{"a=rtcp with address",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 20000 RTP/AVP 0", "a=rtcp:30001 IN IP4 10.0.0.9"),
			with("c=IN IP4 127.0.0.1", "t=0 0", "m=audio 46000 RTP/AVP 0", "a=rtcp:46001 IN IP4 127.0.0.1"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.9:30001")}},
		{"video shares the session c=: the audio gets its own",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 20000 RTP/AVP 0", "i=voice", "a=sendrecv", "m=video 20002 RTP/AVP 96"),
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 46000 RTP/AVP 0", "i=voice", "c=IN IP4 127.0.0.1", "a=sendrecv", "m=video 20002 RTP/AVP 96"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.1:20001")}},
		{"rejected audio skipped",
			with("c=IN IP4 10.0.0.1", "t=0 0", "m=audio 0 RTP/SAVP 0", "m=audio 20000 RTP/AVP 0"),
			with("c=IN IP4 127.0.0.1", "t=0 0", "m=audio 0 RTP/SAVP 0", "m=audio 46000 RTP/AVP 0"),
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.1:20001")}},
		{"LF line ends kept",
			"v=0\nc=IN IP4 10.0.0.1\nm=audio 20000 RTP/AVP 0\n",
			"v=0\nc=IN IP4 127.0.0.1\nm=audio 46000 RTP/AVP 0\n",
			SDPMedia{netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.1:20001")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, orig, err := RewriteSDP([]byte(c.in), rtp, rtcp)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
			if orig != c.orig {
				t.Fatalf("original %+v, want %+v", orig, c.orig)
			}
		})
	}
	for _, bad := range []string{
		"",
		"garbage",
		with("c=IN IP4 10.0.0.1", "t=0 0", "m=video 20000 RTP/AVP 96"),
		with("t=0 0", "m=audio 20000 RTP/AVP 0"),
		with("c=IN IP4 host.example", "m=audio 20000 RTP/AVP 0"),
		with("c=IN IP4 10.0.0.1", "m=audio x RTP/AVP 0"),
		with("c=IN IP4 10.0.0.1", "m=audio"),
		with("c=IN IP4 10.0.0.1", "m=audio 20000 RTP/AVP 0", "a=rtcp:"),
		with("c=IN IP4 10.0.0.1", "m=audio 20000 RTP/AVP 0", "a=rtcp:99999"),
	} {
		if got, _, err := RewriteSDP([]byte(bad), rtp, rtcp); err == nil {
			t.Errorf("%q rewritten to %q", bad, got)
		}
	}
}

// ua is a raw SIP endpoint of the proxy test: a loopback UDP socket.
type ua struct{ *endpoint }

func newUA(t *testing.T) *ua { return &ua{newEndpoint(t)} }

func (u *ua) send(t *testing.T, to netip.AddrPort, msg string) {
	t.Helper()
	if _, err := u.conn.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
}

// recv returns the next SIP message, its raw text and where it came from.
func (u *ua) recv(t *testing.T) (sip.Message, string, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 65536)
	_ = u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := u.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(buf[:n])
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	return m, raw, from
}

func sdpFor(addr netip.AddrPort) string {
	return fmt.Sprintf("v=0\r\no=- 7 7 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		addr.Addr(), addr.Addr(), addr.Port())
}

// checkLength: Content-Length matches the body received.
func checkLength(t *testing.T, raw string) string {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of headers:\n%s", raw)
	}
	for _, l := range strings.Split(head, "\r\n") {
		name, v, _ := strings.Cut(l, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); n == "content-length" || n == "l" {
			if cl, _ := strconv.Atoi(strings.TrimSpace(v)); cl != len(body) {
				t.Fatalf("Content-Length %d, body %d bytes:\n%s", cl, len(body), raw)
			}
			return body
		}
	}
	t.Fatalf("no Content-Length:\n%s", raw)
	return ""
}

// An INVITE with a preloaded Route through the proxy: the callee gets the
// proxy's Via, no Route, one hop less and an offer pointing at the relay's
// side B; the caller gets the answer pointing at side A without the
// proxy's Via; RTP then flows through the relay both ways. CANCEL gets the
// INVITE's branch.
func TestProxyPutsRelayInMediaPath(t *testing.T) {
	m := StartMediaRelay(t, RelayConfig{Seed: 1}, RelayConfig{})
	p := StartSDPProxy(t, m)
	caller, callee := newUA(t), newUA(t)
	rtpA, rtpB := newEndpoint(t), newEndpoint(t)

	offer := sdpFor(rtpA.addr)
	invite := fmt.Sprintf("INVITE sip:1002@%s SIP/2.0\r\n"+
		"v: SIP/2.0/UDP %s;branch=z9hG4bKcaller1;rport\r\n"+
		"Route: <sip:%s;lr>\r\n"+
		"Max-Forwards: 70\r\n"+
		"f: <sip:1001@127.0.0.1>;tag=a1\r\n"+
		"t: <sip:1002@127.0.0.1>\r\n"+
		"i: call-1@test\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"m: <sip:1001@%s>\r\n"+
		"c: application/sdp\r\n"+
		"l: %d\r\n\r\n%s", callee.addr, caller.addr, p.Addr(), caller.addr, len(offer), offer)
	caller.send(t, p.Addr(), invite)

	msg, raw, from := callee.recv(t)
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.INVITE || from != p.Addr() {
		t.Fatalf("callee got from %v:\n%s", from, raw)
	}
	vias := req.GetHeaders("Via")
	top := vias[0].(*sip.ViaHeader)
	if len(vias) != 2 || top.Port != int(p.Addr().Port()) || !strings.HasPrefix(top.Params.GetOr("branch", ""), proxyBranch) {
		t.Fatalf("Vias %v", vias)
	}
	if rport, _ := vias[1].(*sip.ViaHeader).Params.Get("rport"); rport != strconv.Itoa(int(caller.addr.Port())) {
		t.Fatalf("caller's Via %v: no rport filled in", vias[1])
	}
	if req.GetHeader("Route") != nil || *req.MaxForwards() != 69 {
		t.Fatalf("Route or Max-Forwards not handled:\n%s", raw)
	}
	body := checkLength(t, raw)
	relayB, _ := m.Local(SideB)
	if !strings.Contains(body, fmt.Sprintf("c=IN IP4 %s\r\n", relayB.Addr())) || !strings.Contains(body, fmt.Sprintf("m=audio %d ", relayB.Port())) {
		t.Fatalf("offer not pointed at the relay's side B %v:\n%s", relayB, body)
	}
	if m.RTP.Peer(SideA) != rtpA.addr || m.RTCP.Peer(SideA).Port() != rtpA.addr.Port()+1 {
		t.Fatalf("relay peers A: RTP %v RTCP %v", m.RTP.Peer(SideA), m.RTCP.Peer(SideA))
	}

	// The callee answers 180, then 200 with SDP, to the proxy's Via.
	viaLines := ""
	for _, v := range vias {
		viaLines += "Via: " + v.Value() + "\r\n"
	}
	answer := sdpFor(rtpB.addr)
	common := viaLines + "From: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>;tag=b1\r\nCall-ID: call-1@test\r\nCSeq: 1 INVITE\r\n"
	callee.send(t, p.Addr(), "SIP/2.0 180 Ringing\r\n"+common+"Content-Length: 0\r\n\r\n")
	callee.send(t, p.Addr(), fmt.Sprintf("SIP/2.0 200 OK\r\n%sContact: <sip:1002@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		common, callee.addr, len(answer), answer))
	for _, want := range []int{180, 200} {
		msg, raw, from := caller.recv(t)
		res, ok := msg.(*sip.Response)
		if !ok || res.StatusCode != want || from != p.Addr() {
			t.Fatalf("caller got from %v, want %d:\n%s", from, want, raw)
		}
		if vs := res.GetHeaders("Via"); len(vs) != 1 || vs[0].(*sip.ViaHeader).Params.GetOr("branch", "") != "z9hG4bKcaller1" {
			t.Fatalf("Vias %v", vs)
		}
		if want == 200 {
			body := checkLength(t, raw)
			relayA, _ := m.Local(SideA)
			if !strings.Contains(body, fmt.Sprintf("c=IN IP4 %s\r\n", relayA.Addr())) || !strings.Contains(body, fmt.Sprintf("m=audio %d ", relayA.Port())) {
				t.Fatalf("answer not pointed at the relay's side A %v:\n%s", relayA, body)
			}
		}
	}
	if st := p.Stats(); st.Requests != 1 || st.Responses != 2 || st.Offers != 1 || st.Answers != 1 {
		t.Fatalf("proxy stats %+v", st)
	}

	// Media through the relay, each phone sending where the SDP said.
	relayA, _ := m.Local(SideA)
	rtpA.send(t, relayA, 1)
	if got := rtpB.receive(t, 1, time.Second); len(got) != 1 || got[0].from != relayB {
		t.Fatalf("A→B RTP: %+v", got)
	}
	rtpB.send(t, relayB, 2)
	if got := rtpA.receive(t, 1, time.Second); len(got) != 1 || got[0].from != relayA {
		t.Fatalf("B→A RTP: %+v", got)
	}

	// CANCEL (same upstream branch as the INVITE) gets the same
	// downstream branch.
	caller.send(t, p.Addr(), fmt.Sprintf("CANCEL sip:1002@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKcaller1;rport\r\n"+
		"Route: <sip:%s;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>\r\n"+
		"Call-ID: call-1@test\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n", callee.addr, caller.addr, p.Addr()))
	msg, raw, _ = callee.recv(t)
	if c, ok := msg.(*sip.Request); !ok || c.Method != sip.CANCEL || c.Via().Params.GetOr("branch", "") != top.Params.GetOr("branch", "") {
		t.Fatalf("CANCEL's branch differs from the INVITE's %v:\n%s", top, raw)
	}
}

// Requests the proxy cannot forward are answered by it; garbage and
// responses not for it are dropped.
func TestProxyRejects(t *testing.T) {
	p := StartSDPProxy(t, nil)
	caller := newUA(t)
	req := func(uri string, maxfwd int) string {
		return fmt.Sprintf("OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKx%d\r\nMax-Forwards: %d\r\n"+
			"From: <sip:1001@127.0.0.1>;tag=a\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: r@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			uri, caller.addr, maxfwd, maxfwd)
	}
	caller.send(t, p.Addr(), "not SIP at all\r\n\r\n")
	caller.send(t, p.Addr(), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKother\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	for _, c := range []struct {
		uri    string
		maxfwd int
		code   int
	}{
		{"sip:x@127.0.0.1:5999", 0, 483},
		{"sip:x@host.example", 70, 502},
		{"tel:+4930123", 70, 416},
	} {
		caller.send(t, p.Addr(), req(c.uri, c.maxfwd))
		msg, raw, _ := caller.recv(t)
		if res, ok := msg.(*sip.Response); !ok || res.StatusCode != c.code {
			t.Fatalf("%s: want %d, got:\n%s", c.uri, c.code, raw)
		}
	}
	if st := p.Stats(); st.Rejected != 3 || st.Dropped != 2 || st.Requests != 0 {
		t.Fatalf("stats %+v", st)
	}
}
