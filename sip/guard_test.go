package sip

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

func rawPeerAt(t *testing.T, ip string) *rawPeer {
	r := newRawPeer(t) // the tier check
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r.conn = c
	return r
}

func optionsText(raw *rawPeer, ua *UA, n int) string {
	return requestText(raw, ua, "OPTIONS", "SIP/2.0", fmt.Sprintf("sip:1002@%s", ua.Addr()), "", "", "", n)
}

func finalTo(raw *rawPeer, n int) int {
	raw.t.Helper()
	callID := fmt.Sprintf("validate-%d", n)
	m := raw.read("a final response", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode >= 200 && r.CallID() != nil && r.CallID().Value() == callID
	})
	return m.msg.(*gosip.Response).StatusCode
}

func guardedUA(t *testing.T, g Guard, logger *slog.Logger, clk clock.Clock) *UA {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ua, err := New(Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: "1002", Domain: "example.test",
		OutboundProxy: "sip:127.0.0.1:5999", Guard: g, Logger: logger, Clock: clk,
	}, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	return ua
}

// Issue 18 item 5: with ProxyOnly, the outbound proxy's host is answered,
// a stranger gets 403; with DropUntrusted the stranger gets nothing (the
// counter says it was seen), and the proxy is still answered after it.
func TestGuardAcceptFromProxy(t *testing.T) {
	ua := guardedUA(t, Guard{ProxyOnly: true}, nil, nil)
	proxy, stranger := rawPeerAt(t, "127.0.0.1"), rawPeerAt(t, "127.0.0.2")
	stranger.sendText(ua.Addr(), optionsText(stranger, ua, 1))
	if c := finalTo(stranger, 1); c != 403 {
		t.Fatalf("stranger got %d, want 403", c)
	}
	proxy.sendText(ua.Addr(), optionsText(proxy, ua, 2))
	if c := finalTo(proxy, 2); c != 200 {
		t.Fatalf("proxy got %d, want 200", c)
	}
	if n := ua.GuardStats().Untrusted; n != 1 {
		t.Fatalf("untrusted = %d, want 1", n)
	}

	drop := guardedUA(t, Guard{ProxyOnly: true, DropUntrusted: true}, nil, nil)
	stranger.sendText(drop.Addr(), optionsText(stranger, drop, 3))
	waitFor(t, "the stranger's request counted", func() bool { return drop.GuardStats().Untrusted == 1 })
	stranger.sendText(drop.Addr(), optionsText(stranger, drop, 4))
	proxy.sendText(drop.Addr(), optionsText(proxy, drop, 5))
	if c := finalTo(proxy, 5); c != 200 {
		t.Fatalf("proxy got %d, want 200", c)
	}
	waitFor(t, "both stranger's requests counted", func() bool { return drop.GuardStats().Untrusted == 2 })
	// A round trip to the other UA after both were counted: an answer
	// from the dropping UA would have reached the stranger's socket first.
	stranger.sendText(ua.Addr(), optionsText(stranger, ua, 6))
	m := stranger.read("the other UA's 403", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.StatusCode >= 200
	})
	if id := m.msg.(*gosip.Response).CallID().Value(); id != "validate-6" {
		t.Fatalf("the stranger got an answer to %s while untrusted requests are dropped:\n%s", id, m.raw)
	}
}

// Issue 18 item 6: a source over its rate is dropped; the trusted server
// never is. The fake clock does not move, so the burst is all there is.
func TestGuardRatePerSource(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	ua := guardedUA(t, Guard{Rate: 1, Burst: 3}, nil, clk)
	proxy, stranger := rawPeerAt(t, "127.0.0.1"), rawPeerAt(t, "127.0.0.2")
	for i := range 5 {
		stranger.sendText(ua.Addr(), optionsText(stranger, ua, 10+i))
	}
	waitFor(t, "2 of 5 requests over the burst dropped", func() bool { return ua.GuardStats().RateLimited == 2 })
	// sipgo serves requests concurrently: which 3 passed is not known.
	for i := range 3 {
		m := stranger.read("a final response", func(m gosip.Message) bool {
			r, ok := m.(*gosip.Response)
			return ok && r.StatusCode >= 200
		})
		if c := m.msg.(*gosip.Response).StatusCode; c != 200 {
			t.Fatalf("request %d within the burst got %d", i, c)
		}
	}
	for i := range 5 {
		proxy.sendText(ua.Addr(), optionsText(proxy, ua, 20+i))
		if c := finalTo(proxy, 20+i); c != 200 {
			t.Fatalf("proxy request %d got %d", i, c)
		}
	}
	clk.Advance(time.Second) // one token back
	stranger.sendText(ua.Addr(), optionsText(stranger, ua, 30))
	if c := finalTo(stranger, 30); c != 200 {
		t.Fatalf("after a second the stranger got %d", c)
	}
	if n := ua.GuardStats().RateLimited; n != 2 {
		t.Fatalf("rate_limited = %d, want 2", n)
	}
}

func TestLimiterTableBounded(t *testing.T) {
	l := newLimiter(1, 2)
	now := time.Unix(1e9, 0)
	for i := range 5000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(a, now)
		l.allow(a, now)
	}
	if n := l.sources(); n > maxSources {
		t.Fatalf("%d sources in the table, want at most %d", n, maxSources)
	}
	// The sources beyond the table share the overflow bucket: empty now.
	if l.allow(netip.MustParseAddr("192.0.2.1"), now) {
		t.Fatal("a new source beyond the table was let through a spent overflow bucket")
	}
	// Once the buckets refill, the table makes room again.
	if !l.allow(netip.MustParseAddr("192.0.2.1"), now.Add(10*time.Second)) {
		t.Fatal("after the buckets refilled a new source was refused")
	}
}

// Issue 18 item 6: with MaxServerTx, INVITEs beyond the cap of pending
// server transactions get 503 with Retry-After at once.
func TestGuardServerTxCap(t *testing.T) {
	ua := guardedUA(t, Guard{MaxServerTx: 2}, nil, nil)
	raw := rawPeerAt(t, "127.0.0.1")
	for i := range 4 {
		raw.sendText(ua.Addr(), inviteText(raw, ua, fmt.Sprintf("cap-%d", i)))
	}
	// sipgo serves requests concurrently: which 2 are refused is not known.
	refused := map[string]bool{}
	for len(refused) < 2 {
		m := raw.read("503", func(m gosip.Message) bool {
			r, ok := m.(*gosip.Response)
			return ok && r.StatusCode == 503 && !refused[r.CallID().Value()]
		})
		refused[m.msg.(*gosip.Response).CallID().Value()] = true
		if h := m.msg.(*gosip.Response).GetHeader("Retry-After"); h == nil {
			t.Fatalf("503 without Retry-After:\n%s", m.raw)
		}
	}
	st := ua.GuardStats()
	if st.TxCapped != 2 || st.ServerTx != 2 {
		t.Fatalf("stats %+v, want 2 capped and 2 in progress", st)
	}
}

// Issue 18 item 6: 1000 unparseable 30 KB datagrams write one short
// DEBUG line (the clock does not move), no ERROR, and the UA still works.
func TestBadPacketLogBounded(t *testing.T) {
	var buf lockedBuf
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ua := guardedUA(t, Guard{}, logger, clock.NewFake(time.Unix(1e9, 0)))
	raw := rawPeerAt(t, "127.0.0.1")
	junk := "JUNK " + strings.Repeat("x", 30<<10) + "\r\n\r\n"
	for i := range 1000 {
		raw.sendText(ua.Addr(), junk)
		if i%4 == 3 { // let the UA keep up: the socket buffer is finite
			raw.sendText(ua.Addr(), optionsText(raw, ua, i))
			finalTo(raw, i)
		}
	}
	out := buf.String()
	if n := strings.Count(out, "unparseable SIP message"); n != 1 {
		t.Fatalf("%d bad-packet lines, want 1:\n%.2000s", n, out)
	}
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "failed to parse") {
		t.Fatalf("a bad packet logged at error:\n%.2000s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "unparseable") && len(l) > 2*badPacketMax+200 {
			t.Fatalf("bad-packet line of %d bytes: not truncated", len(l))
		}
	}
	if len(out) > 256<<10 {
		t.Fatalf("%d bytes of log for 1000 bad packets", len(out))
	}
	t.Logf("%d bytes of log for 1000 unparseable 30 KB datagrams", len(out))
}

// With ProxyOnly, a call dialled straight to another host (no proxy in
// its route set) still takes in-dialog requests from that host: its BYE
// ends the call; the same BYE from a third address gets 403 first.
func TestGuardTrustsDirectPeer(t *testing.T) {
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.Guard = Guard{ProxyOnly: true} })
	peer, stranger := rawPeerAt(t, "127.0.0.1"), rawPeerAt(t, "127.0.0.2")
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", peer.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	inv := peer.read("INVITE", isReq(gosip.INVITE))
	req := inv.msg.(*gosip.Request)
	answer, _, err := sdp.Answer(mustParse(t, req.Body()), media(7000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	peer.reply(inv, 200, "OK", answer)
	next[Answered](t, a)
	ourTag, _ := req.From().Params.Get("tag")
	bye := func(from *rawPeer, cseq int) string {
		return fmt.Sprintf(`
BYE sip:1001@%[1]s SIP/2.0
Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-directbye%[5]d
Max-Forwards: 70
From: <sip:1002@%[6]s>;tag=rawtag
To: <sip:1001@example.test>;tag=%[3]s
Call-ID: %[4]s
CSeq: %[5]d BYE
Content-Length: 0

`, a.Addr(), from.addr(), ourTag, req.CallID().Value(), cseq, peer.addr())
	}
	isBye := func(code int) func(gosip.Message) bool {
		return func(m gosip.Message) bool {
			r, ok := m.(*gosip.Response)
			return ok && r.StatusCode == code && r.CSeq().MethodName == gosip.BYE
		}
	}
	stranger.sendText(a.Addr(), bye(stranger, 100))
	stranger.read("403 to the stranger's BYE", isBye(403))
	peer.sendText(a.Addr(), bye(peer, 101))
	peer.read("200 to the peer's BYE", isBye(200))
	if e := next[Ended](t, a); !e.Remote {
		t.Fatalf("ended = %+v", e)
	}
}

// A call whose dialog has a route set (a proxy Record-Routed it) takes no
// request straight from the far end's address: it must come through the
// trusted server.
func TestGuardRouteSetNotBypassed(t *testing.T) {
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.Guard = Guard{ProxyOnly: true} })
	peer := rawPeerAt(t, "127.0.0.2")
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", peer.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	inv := peer.read("INVITE", isReq(gosip.INVITE))
	req := inv.msg.(*gosip.Request)
	answer, _, err := sdp.Answer(mustParse(t, req.Body()), media(7000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", "rawtag")
	res.AppendHeader(gosip.NewHeader("Record-Route", "<sip:127.0.0.9:5060;lr>"))
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.2", Port: peer.addr().Port}})
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.SetBody(answer)
	peer.send(inv.from, res)
	next[Answered](t, a)
	ourTag, _ := req.From().Params.Get("tag")
	peer.sendText(a.Addr(), fmt.Sprintf(`
BYE sip:1001@%[1]s SIP/2.0
Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-rrbye
Max-Forwards: 70
From: <sip:1002@%[2]s>;tag=rawtag
To: <sip:1001@example.test>;tag=%[3]s
Call-ID: %[4]s
CSeq: 100 BYE
Content-Length: 0

`, a.Addr(), peer.addr(), ourTag, req.CallID().Value()))
	m := peer.read("the answer to a BYE around the proxy", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Response)
		return ok && r.CSeq().MethodName == gosip.BYE && r.StatusCode >= 200
	})
	if c := m.msg.(*gosip.Response).StatusCode; c != 403 {
		t.Fatalf("BYE around the proxy got %d, want 403", c)
	}
}
