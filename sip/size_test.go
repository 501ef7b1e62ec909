package sip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/sdp"
)

// bigRequest is a request of at least n bytes: padding in the
// Request-URI.
func bigRequest(n int) *gosip.Request {
	req := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{Scheme: "sip", User: "x", Host: "127.0.0.1", Port: 5060})
	req.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5070, Params: gosip.NewParams()})
	req.SetBody(nil)
	if pad := n - messageSize(req); pad > 0 {
		req.AppendHeader(gosip.NewHeader("X-Pad", strings.Repeat("p", max(pad-len("X-Pad: \r\n"), 0))))
	}
	return req
}

// RFC 3261 §18.1.1: the transport a request leaves by in UDP mode.
func TestOverTCPChoice(t *testing.T) {
	if r := bigRequest(udpRequestMax); messageSize(r) != udpRequestMax || overTCP(r) {
		t.Fatalf("a %d-byte request went to TCP", messageSize(r))
	}
	r := bigRequest(udpRequestMax + 1)
	r.Laddr = gosip.Addr{Port: 5070}
	if !overTCP(r) || r.Via().Transport != "TCP" || r.Transport() != "TCP" || !gosip.IsReliable(r.Transport()) || r.Laddr.Port != 0 {
		t.Fatalf("a %d-byte request: Via %s transport %s laddr %v", messageSize(r), r.Via().Transport, r.Transport(), r.Laddr)
	}
	// A CANCEL copies its INVITE's Via and goes the same way (§9.1).
	c := bigRequest(0)
	c.Via().Transport = "TCP"
	if !overTCP(c) || c.Transport() != "TCP" {
		t.Fatal("a small request with a TCP Via stayed on UDP")
	}
	// Sent back to UDP after a refused connection: stays there.
	b := bigRequest(2000)
	b.SetTransport(udpAgain)
	if overTCP(b.Clone()) || b.Via().Transport != "UDP" {
		t.Fatal("a request sent back to UDP went to TCP again")
	}
	// A copy (sipgo's Clone names the Via's transport) is sized anew.
	if cl := bigRequest(2000).Clone(); !overTCP(cl) {
		t.Fatalf("a big clone (transport %q) stayed on UDP", cl.MessageData.Transport())
	}
	// A small request whose next hop says ;transport=tcp goes there
	// over TCP, its Via saying so.
	tcpHop := gosip.NewParams()
	tcpHop.Add("transport", "tcp")
	sm := bigRequest(0)
	sm.AppendHeader(&gosip.RouteHeader{Address: gosip.Uri{Scheme: "sip", Host: "127.0.0.1", UriParams: tcpHop}})
	if !overTCP(sm) || sm.Via().Transport != "TCP" {
		t.Fatalf("a small request routed ;transport=tcp: Via %s", sm.Via().Transport)
	}
	// A Route's ;transport=udp does not keep a big request on UDP.
	rt := bigRequest(2000)
	params := gosip.NewParams()
	params.Add("transport", "udp")
	params.Add("lr", "")
	rt.AppendHeader(&gosip.RouteHeader{Address: gosip.Uri{Scheme: "sip", Host: "127.0.0.1", UriParams: params}})
	if !overTCP(rt) || rt.Transport() != "TCP" {
		t.Fatalf("a big request with a Route ;transport=udp goes %s", rt.Transport())
	}
}

// readTCP reads one SIP message from a stream.
func readTCP(t *testing.T, r *bufio.Reader) (*gosip.Request, int) {
	t.Helper()
	var head strings.Builder
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a message over TCP: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if strings.HasPrefix(strings.ToLower(line), "content-length:") {
			fmt.Sscan(strings.TrimSpace(line[len("content-length:"):]), &length)
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	msg, err := gosip.ParseMessage([]byte(head.String() + string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		t.Fatalf("over TCP: %s, want a request", msg.(fmt.Stringer).String()[:40])
	}
	return req, head.Len() + length
}

// A call whose INVITE is over 1300 bytes: it goes over TCP to the callee,
// which listens on TCP beside UDP (RFC 3261 §18), and the call works.
func TestBigInviteCallOverTCP(t *testing.T) {
	a, b := newPhone(t, "1001", "Alice"), newPhone(t, "1002", "Bob")
	target := b.target() + ";x-pad=" + strings.Repeat("p", 1400)
	id, _ := establishTo(t, a, b, target)
	if open, _ := b.TCPConns(); open != 1 {
		t.Fatalf("callee holds %d TCP connections, want the INVITE's 1", open)
	}
	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	next[Ended](t, b)
	next[Ended](t, a)
}

// On the wire: the big INVITE over TCP says TCP in its Via, UDP still in
// its Contact; the answer comes back on the connection and, over TCP, the
// transaction does not retransmit (§17.1.1.2): the peer sees one INVITE
// before its answer, the ACK next.
func TestBigInviteWire(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: raw.addr().Port})
	if err != nil {
		t.Skipf("TCP port of the raw peer taken: %v", err)
	}
	defer ln.Close()
	if _, err := a.Dial(fmt.Sprintf("sip:2000@%s;x-pad=%s", raw.addr(), strings.Repeat("p", 1400)), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ln.SetDeadline(time.Now().Add(wait))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(conn)
	inv, size := readTCP(t, r)
	if inv.Method != gosip.INVITE || size <= udpRequestMax || inv.Via().Transport != "TCP" || strings.Contains(inv.Contact().Value(), "transport") {
		t.Fatalf("%d-byte %s over TCP: Via %s Contact %s", size, inv.Method, inv.Via().Transport, inv.Contact().Value())
	}
	res := gosip.NewResponseFromRequest(inv, 486, "Busy Here", nil)
	res.To().Params.Add("tag", "tcp")
	if _, err := conn.Write([]byte(res.String())); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, a); f.Code != 486 {
		t.Fatalf("failed %+v, want 486 over the same connection", f)
	}
	if ack, _ := readTCP(t, r); ack.Method != gosip.ACK {
		t.Fatalf("after the INVITE: %s, want its ACK (no retransmission over TCP)", ack.Method)
	}
}

// The TCP connection is refused: the big INVITE goes over UDP
// (§18.1.1), with a UDP Via, from our socket.
func TestBigInviteFallsBackToUDP(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t) // nothing listens on TCP at its port
	if _, err := a.Dial(fmt.Sprintf("sip:2000@%s;x-pad=%s", raw.addr(), strings.Repeat("p", 1400)), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE over UDP", isReq(gosip.INVITE))
	if len(inv.raw) <= udpRequestMax || inv.msg.(*gosip.Request).Via().Transport != "UDP" {
		t.Fatalf("%d-byte INVITE, Via %s", len(inv.raw), inv.msg.(*gosip.Request).Via().Transport)
	}
	checkSource(t, "INVITE", inv, a.UA)
	raw.reply(inv, 486, "Busy Here", nil)
	if f := next[Failed](t, a); f.Code != 486 {
		t.Fatalf("failed %+v", f)
	}
}

// recordRoutes is n Record-Route lines to 127.0.0.1:port, padded so that
// the dialog's requests carrying them as Route are over 1300 bytes.
func recordRoutes(n, port int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Record-Route: <sip:127.0.0.1:%d;lr;hop=proxy%02d-%s>\r\n", port, i, strings.Repeat("r", 80))
	}
	return b.String()
}

// In-dialog requests with a long route set (12 Record-Route from a 2xx):
// the ACK, a re-INVITE and the BYE go over TCP to the first route.
func TestLongRouteSetInDialogOverTCP(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: raw.addr().Port})
	if err != nil {
		t.Skipf("TCP port of the raw peer taken: %v", err)
	}
	defer ln.Close()
	id, err := a.Dial(fmt.Sprintf("sip:2000@%s", raw.addr()), media(4000, sdp.PCMU))
	if err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE", isReq(gosip.INVITE))
	if len(inv.raw) > udpRequestMax {
		t.Fatalf("the INVITE is %d bytes already", len(inv.raw))
	}
	body := sdp.Offer(media(9000, sdp.PCMU), 1)
	res := gosip.NewResponseFromRequest(inv.msg.(*gosip.Request), 200, "OK", nil)
	res.To().Params.Add("tag", "rawtag")
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: raw.addr().Port}})
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.SetBody(body)
	text := strings.Replace(res.String(), "\r\n\r\n", "\r\n"+recordRoutes(12, raw.addr().Port)+"\r\n", 1)
	if _, err := raw.conn.WriteToUDP([]byte(text), inv.from); err != nil {
		t.Fatal(err)
	}
	next[Answered](t, a)

	ln.SetDeadline(time.Now().Add(wait))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(conn)
	check := func(m *gosip.Request, size int, want gosip.RequestMethod) {
		t.Helper()
		if m.Method != want || size <= udpRequestMax || m.Via().Transport != "TCP" || len(m.GetHeaders("Route")) != 12 {
			t.Fatalf("over TCP: %d-byte %s, want %s with a TCP Via and 12 Route", size, m.Method, want)
		}
	}
	ack, n := readTCP(t, r)
	check(ack, n, gosip.ACK)

	if err := a.Reinvite(id, held(media(4000, sdp.PCMU), sdp.SendOnly)); err != nil {
		t.Fatal(err)
	}
	re, n := readTCP(t, r)
	check(re, n, gosip.INVITE)
	ok := gosip.NewResponseFromRequest(re, 200, "OK", nil)
	ok.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: raw.addr().Port}})
	ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	ok.SetBody(sdp.OfferOrigin(held(media(9000, sdp.PCMU), sdp.RecvOnly), 1, 2))
	if _, err := conn.Write([]byte(ok.String())); err != nil {
		t.Fatal(err)
	}
	next[Reinvited](t, a)
	ack, n = readTCP(t, r)
	check(ack, n, gosip.ACK)

	if err := a.Hangup(id); err != nil {
		t.Fatal(err)
	}
	bye, n := readTCP(t, r)
	check(bye, n, gosip.BYE)
	if _, err := conn.Write([]byte(gosip.NewResponseFromRequest(bye, 200, "OK", nil).String())); err != nil {
		t.Fatal(err)
	}
	next[Ended](t, a)
}

// RFC 3261 §18.2.2: a response goes back the way the request came, over
// UDP too, whatever its size: an INVITE with 12 Record-Route gets its 180
// and 200 (each over 1300 bytes, copying the Record-Route) over UDP.
func TestBigResponsesOverUDP(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	text := inviteText(raw, b.UA, "bigrr")
	text = strings.Replace(text, "\nMax-Forwards", "\n"+strings.ReplaceAll(recordRoutes(12, raw.addr().Port), "\r\n", "\n")+"Max-Forwards", 1)
	raw.sendText(b.Addr(), text)
	in := next[Incoming](t, b)
	if err := b.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	ring := raw.read("180", isRes(180))
	if len(ring.raw) <= udpRequestMax || len(ring.msg.GetHeaders("Record-Route")) != 12 {
		t.Fatalf("180 of %d bytes with %d Record-Route", len(ring.raw), len(ring.msg.GetHeaders("Record-Route")))
	}
	checkSource(t, "180", ring, b.UA)
	if _, err := b.Answer(in.ID, media(5000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	ok := raw.read("200", isRes(200))
	if len(ok.raw) <= udpRequestMax {
		t.Fatalf("200 of %d bytes", len(ok.raw))
	}
}

// bigOptions is an OPTIONS from raw over transport with a body of n
// bytes.
func bigOptions(raw *rawPeer, ua *UA, transport, callID string, n int) string {
	return fmt.Sprintf("OPTIONS sip:1002@%[1]s SIP/2.0\r\nVia: SIP/2.0/%[5]s %[2]s;branch=z9hG4bK-%[3]s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:raw@127.0.0.1>;tag=fromraw\r\nTo: <sip:1002@%[1]s>\r\nCall-ID: %[3]s\r\nCSeq: 1 OPTIONS\r\n"+
		"Content-Type: text/plain\r\nContent-Length: %[4]d\r\n\r\n%[6]s",
		ua.Addr(), raw.addr(), callID, n, transport, strings.Repeat("b", n))
}

// §18.1.1: a UA takes messages up to 65,535 bytes: a 60,000-byte OPTIONS
// datagram gets its 200 (sipgo read 32 KiB at most).
func TestLargeDatagramAnswered(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	text := bigOptions(raw, b.UA, "UDP", "big60k", 60000)
	if _, err := raw.conn.WriteToUDPAddrPort([]byte(text), b.Addr()); err != nil {
		t.Fatal(err)
	}
	ok := raw.read("200 to the 60 KB OPTIONS", isRes(200))
	if ok.msg.CallID().Value() != "big60k" {
		t.Fatalf("answer to %s", ok.msg.CallID().Value())
	}
	t.Logf("OPTIONS of %d bytes answered", len(text))
}

// A UA in UDP mode listens on TCP at the same port (RFC 3261 §18): an
// OPTIONS over TCP, 60 KB in one message, is answered on the connection.
func TestTCPListenerInUDPMode(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	conn, err := net.DialTimeout("tcp", b.Addr().String(), wait)
	if err != nil {
		t.Fatalf("no TCP listener beside UDP: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, bigOptions(raw, b.UA, "TCP", "tcp60k", 60000)); err != nil {
		t.Fatal(err)
	}
	res, err := gosip.NewParser().ParseSIP(readAll(t, conn))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := res.(*gosip.Response); !ok || r.StatusCode != 200 {
		t.Fatalf("answer over TCP: %s", res.String())
	}
}

// readAll reads one response head off conn (no body expected).
func readAll(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	r := bufio.NewReader(conn)
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return []byte(b.String())
		}
	}
}

// A flood of TCP connections costs at most maxTCPConns read buffers: the
// one beyond is closed at once; when one closes, a new one is served.
func TestTCPConnCap(t *testing.T) {
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	conns := make([]net.Conn, 0, maxTCPConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range maxTCPConns {
		c, err := net.DialTimeout("tcp", b.Addr().String(), wait)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitFor(t, "all held", func() bool { open, _ := b.TCPConns(); return open == maxTCPConns })
	extra, err := net.DialTimeout("tcp", b.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetDeadline(time.Now().Add(wait))
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset") {
		t.Fatalf("connection %d: read %v, want it closed", maxTCPConns+1, err)
	}
	if open, refused := b.TCPConns(); open != maxTCPConns || refused != 1 {
		t.Fatalf("open %d refused %d", open, refused)
	}
	conns[0].Close()
	waitFor(t, "one freed", func() bool { open, _ := b.TCPConns(); return open == maxTCPConns-1 })
	c, err := net.DialTimeout("tcp", b.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	conns[0] = c
	c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, bigOptions(raw, b.UA, "TCP", "after-cap", 10)); err != nil {
		t.Fatal(err)
	}
	if res, err := gosip.NewParser().ParseSIP(readAll(t, c)); err != nil || res.(*gosip.Response).StatusCode != 200 {
		t.Fatalf("after a slot freed: %v %v", res, err)
	}
}

// A connection a peer opened and left silent (here a TLS-less TCP
// connection that never sends a byte) is closed after tcpIdle, freeing
// its slot; one that talks is not.
func TestTCPIdleClosed(t *testing.T) {
	old := tcpIdle
	tcpIdle = 300 * time.Millisecond
	defer func() { tcpIdle = old }()
	b := newPhone(t, "1002", "Bob")
	raw := newRawPeer(t)
	silent, err := net.DialTimeout("tcp", b.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetDeadline(time.Now().Add(wait))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !strings.Contains(fmt.Sprint(err), "reset") {
		t.Fatalf("silent connection: read %v, want it closed by the phone", err)
	}
	waitFor(t, "the slot freed", func() bool { open, _ := b.TCPConns(); return open == 0 })
	// A connection in use stays open past tcpIdle while it talks.
	c, err := net.DialTimeout("tcp", b.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		c.SetDeadline(time.Now().Add(wait))
		if _, err := io.WriteString(c, bigOptions(raw, b.UA, "TCP", fmt.Sprintf("idle-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
		if res, err := gosip.NewParser().ParseSIP(readAll(t, c)); err != nil || res.(*gosip.Response).StatusCode != 200 {
			t.Fatalf("request %d on a connection in use: %v %v", i, res, err)
		}
		time.Sleep(tcpIdle / 2)
	}
}

// A response that does not fit a UDP datagram over IPv4 (65,507 bytes) is
// not sent, and the log says so plainly: an OPTIONS of 65,4xx bytes made
// of Via headers, which the 200 copies and adds its own headers to.
func TestResponseTooBigForUDPLogged(t *testing.T) {
	logs := &lockedBuf{}
	b := newPhone(t, "1002", "Bob", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	raw := newRawPeer(t)
	var vias strings.Builder
	for i := 0; vias.Len() < 65100; i++ {
		fmt.Fprintf(&vias, "Via: SIP/2.0/UDP 10.0.%d.%d:5060;branch=z9hG4bK-hop%d\r\n", i/250, i%250, i)
	}
	text := bigOptions(raw, b.UA, "UDP", "toobig", 0)
	text = strings.Replace(text, "Max-Forwards", strings.TrimSuffix(vias.String(), "\r\n")+"\r\nMax-Forwards", 1)
	// Our Via first: the response goes to the raw peer.
	if _, err := raw.conn.WriteToUDPAddrPort([]byte(text), b.Addr()); err != nil {
		t.Fatalf("%d bytes: %v", len(text), err)
	}
	waitFor(t, "the failed response in the log", func() bool { return strings.Contains(logs.String(), "message too long") })
	t.Logf("OPTIONS of %d bytes: %s", len(text), logs.String()[strings.Index(logs.String(), "level=WARN"):][:200])
}

// A REGISTER over 1300 bytes (a long User-Agent) goes over TCP; the
// registrar's received/rport over TCP names the connection's port, not a
// NAT binding: no re-registration with it, registered at once.
func TestBigRegisterOverTCP(t *testing.T) {
	p := newPhone(t, "1001", "Alice", func(c *Config) { c.UserAgent = "phoned-test " + strings.Repeat("u", 1400) })
	raw := newRawPeer(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: raw.addr().Port})
	if err != nil {
		t.Skipf("TCP port of the raw peer taken: %v", err)
	}
	defer ln.Close()
	err = p.StartRegistration(RegConfig{Registrars: []string{fmt.Sprintf("sip:%s", raw.addr())},
		Credentials: Credentials{User: "1001", Password: "s3cret"}, Expires: 120 * time.Second,
		Clock: clock.NewFake(time.Unix(1e9, 0))})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetDeadline(time.Now().Add(wait))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	reg, n := readTCP(t, bufio.NewReader(conn))
	if reg.Method != gosip.REGISTER || n <= udpRequestMax || reg.Via().Transport != "TCP" {
		t.Fatalf("over TCP: %d-byte %s, Via %s", n, reg.Method, reg.Via().Transport)
	}
	res := gosip.NewResponseFromRequest(reg, 200, "OK", nil)
	res.Via().Params.Add("received", "127.0.0.1")
	res.Via().Params.Add("rport", fmt.Sprint(conn.RemoteAddr().(*net.TCPAddr).Port))
	res.AppendHeader(gosip.HeaderClone(reg.Contact()))
	res.AppendHeader(gosip.NewHeader("Expires", "120"))
	if _, err := conn.Write([]byte(res.String())); err != nil {
		t.Fatal(err)
	}
	nextReg(t, p, RegRegistered)
}

// The ACK to a 2xx (no transaction: sent by write) is big for its route
// set and the first route takes no TCP: it goes over UDP (§18.1.1).
func TestBigAckFallsBackToUDP(t *testing.T) {
	a := newPhone(t, "1001", "Alice")
	raw := newRawPeer(t) // nothing listens on TCP at its port
	if _, err := a.Dial(fmt.Sprintf("sip:2000@%s", raw.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	inv := raw.read("INVITE", isReq(gosip.INVITE))
	res := gosip.NewResponseFromRequest(inv.msg.(*gosip.Request), 200, "OK", nil)
	res.To().Params.Add("tag", "rawtag")
	res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "raw", Host: "127.0.0.1", Port: raw.addr().Port}})
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.SetBody(sdp.Offer(media(9000, sdp.PCMU), 1))
	text := strings.Replace(res.String(), "\r\n\r\n", "\r\n"+recordRoutes(12, raw.addr().Port)+"\r\n", 1)
	if _, err := raw.conn.WriteToUDP([]byte(text), inv.from); err != nil {
		t.Fatal(err)
	}
	next[Answered](t, a)
	ack := raw.read("ACK over UDP", isReq(gosip.ACK))
	if len(ack.raw) <= udpRequestMax || ack.msg.(*gosip.Request).Via().Transport != "UDP" {
		t.Fatalf("%d-byte ACK, Via %s", len(ack.raw), ack.msg.(*gosip.Request).Via().Transport)
	}
}
