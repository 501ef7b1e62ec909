package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/sip/sdp"
)

func tlsPhone(t *testing.T, user string, conf TLSConfig) *phone {
	display := map[string]string{"1001": "Alice", "1002": "Bob"}[user]
	return newPhone(t, user, display, func(c *Config) {
		c.Transport = "tls"
		c.TLS = conf
	})
}

// tlsRegistrar is a registrar of the test's own over TLS: it accepts one
// connection and reads and writes SIP on it.
type tlsRegistrar struct {
	t    *testing.T
	tcp  *net.TCPListener
	ln   net.Listener
	conn net.Conn
	r    *bufio.Reader
}

func newTLSRegistrar(t *testing.T, cert tls.Certificate) *tlsRegistrar {
	t.Helper()
	tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	g := &tlsRegistrar{t: t, tcp: tcp, ln: tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{cert}})}
	// Registered before the phone's: runs after the phone closed, so its
	// unregistering finds the connection still there.
	t.Cleanup(func() {
		tcp.Close()
		if g.conn != nil {
			g.conn.Close()
		}
	})
	return g
}

func (g *tlsRegistrar) addr() string { return g.ln.Addr().String() }

// accept takes the phone's connection (and finishes the handshake).
func (g *tlsRegistrar) accept() {
	g.t.Helper()
	g.tcp.SetDeadline(time.Now().Add(wait))
	c, err := g.ln.Accept()
	if err != nil {
		g.t.Fatal(err)
	}
	if g.conn != nil {
		g.conn.Close()
	}
	c.SetDeadline(time.Now().Add(wait))
	if err := c.(*tls.Conn).Handshake(); err != nil {
		g.t.Fatalf("handshake: %v", err)
	}
	g.conn, g.r = c, bufio.NewReader(c)
}

// read reads the next SIP message, skipping keep-alive CRLFs.
func (g *tlsRegistrar) read() gosip.Message {
	g.t.Helper()
	m, err := readStream(g.r)
	if err != nil {
		g.t.Fatal(err)
	}
	return m
}

func readStream(r *bufio.Reader) (gosip.Message, error) {
	var head strings.Builder
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if head.Len() == 0 && line == "\r\n" {
			continue // keep-alive (RFC 5626 §3.5.1)
		}
		head.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return gosip.ParseMessage([]byte(head.String() + string(body)))
}

func (g *tlsRegistrar) write(m gosip.Message) {
	g.t.Helper()
	if _, err := g.conn.Write([]byte(m.String())); err != nil {
		g.t.Fatal(err)
	}
}

// RFC 3261 §26, RFC 5626: the phone registers over TLS with the
// certificate checked against the registrar's IP literal, keeps the
// connection open, and takes an INVITE arriving on it: no connection is
// opened to its own listener. Its answer goes back on the same connection.
func TestTLSRegisterAndIncomingOnFlow(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	srv := ca.Issue(t, "registrar", lab.Loopback())
	reg := newTLSRegistrar(t, srv.Pair)
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}}); err != nil {
		t.Fatal(err)
	}
	reg.accept()
	req := reg.read().(*gosip.Request)
	if req.Method != gosip.REGISTER || req.Via().Transport != "TLS" || !strings.Contains(req.Contact().Value(), "transport=tls") {
		t.Fatalf("REGISTER over TLS:\n%s", req)
	}
	ok := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	ok.SetBody(nil)
	reg.write(ok)
	nextReg(t, p, RegRegistered)

	inv := tlsInvite(t, p, reg.conn.LocalAddr().String())
	reg.write(inv)
	in := next[Incoming](t, p)
	if err := p.Ring(in.ID); err != nil {
		t.Fatal(err)
	}
	res := reg.read().(*gosip.Response)
	for res.StatusCode == 100 {
		res = reg.read().(*gosip.Response)
	}
	if res.StatusCode != 180 {
		t.Fatalf("over the flow: %d, want 180", res.StatusCode)
	}
	if err := p.Reject(in.ID, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if res := reg.read().(*gosip.Response); res.StatusCode != 486 {
		t.Fatalf("over the flow: %d, want 486", res.StatusCode)
	}
	if n := p.TLSAccepted(); n != 0 {
		t.Fatalf("%d connections to the phone's TLS listener; the INVITE should use the flow", n)
	}
}

// RFC 5626 §4.4.1: when the registration's connection closes, the phone
// registers again at once over a new one, so the registrar can reach it.
// Mutation: no kick in flowClosed leaves the phone unreachable until the
// refresh (the second Accept times out).
func TestTLSFlowClosedReregisters(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	reg := newTLSRegistrar(t, ca.Issue(t, "registrar", lab.Loopback()).Pair)
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}, Clock: clock.NewFake(time.Unix(1e9, 0))}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		reg.accept()
		req := reg.read().(*gosip.Request)
		if req.Method != gosip.REGISTER {
			t.Fatalf("connection %d: %s, want REGISTER", i, req.Method)
		}
		ok := gosip.NewResponseFromRequest(req, 200, "OK", nil)
		ok.SetBody(nil)
		reg.write(ok)
		nextReg(t, p, RegRegistered)
		reg.conn.Close() // the registrar (or a NAT) drops the flow
	}
}

// tlsInvite is an INVITE from the registrar to the phone, as a proxy
// sends it over the flow.
func tlsInvite(t *testing.T, p *phone, from string) *gosip.Request {
	t.Helper()
	text := fmt.Sprintf("INVITE sip:1001@%s;transport=tls SIP/2.0\r\n"+
		"Via: SIP/2.0/TLS %s;branch=z9hG4bK-flow1\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:2000@example.test>;tag=f1\r\n"+
		"To: <sip:1001@example.test>\r\n"+
		"Call-ID: flow-call-1\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:2000@%s;transport=tls>\r\n"+
		"Content-Type: application/sdp\r\n", p.Addr(), from, from)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	text += fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	m, err := gosip.ParseMessage([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*gosip.Request)
}

// Fails closed: a registrar whose certificate comes from another CA is
// never registered with, and the status says why in plain words.
// Mutation: InsecureSkipVerify in clientTLS makes this register.
func TestTLSRegisterWrongCA(t *testing.T) {
	ca, other := lab.NewTestCA(t, "test"), lab.NewTestCA(t, "other")
	srv := other.Issue(t, "registrar", lab.Loopback())
	reg := newTLSRegistrar(t, srv.Pair)
	go acceptAndDrain(reg.ln)
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}}); err != nil {
		t.Fatal(err)
	}
	f := nextReg(t, p, RegFailed)
	if want := "TLS: registrar certificate not trusted (signed by unknown authority)"; f.Reason != want {
		t.Fatalf("reason %q, want %q", f.Reason, want)
	}
}

// Fails closed on a certificate for another name: the registrar is an IP
// literal that is not in the certificate's IP SANs.
// Mutation: ServerName left unset in ensureFlow gives another reason.
func TestTLSRegisterWrongName(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	srv := ca.Issue(t, "wrong", nil, "wrong.example")
	reg := newTLSRegistrar(t, srv.Pair)
	go acceptAndDrain(reg.ln)
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}}); err != nil {
		t.Fatal(err)
	}
	f := nextReg(t, p, RegFailed)
	if want := "TLS: certificate is for wrong.example, not 127.0.0.1"; f.Reason != want {
		t.Fatalf("reason %q, want %q", f.Reason, want)
	}
}

func acceptAndDrain(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(io.Discard, c)
		}()
	}
}

// A whole call over TLS between two phones, the callee's certificate
// issued by the caller's CA for 127.0.0.1.
func TestCallOverTLS(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	cert := ca.Issue(t, "phone", lab.Loopback())
	conf := TLSConfig{RootCAs: ca.Pool(), Certificate: &cert.Pair}
	a, b := tlsPhone(t, "1001", conf), tlsPhone(t, "1002", conf)
	id, inID := establishTo(t, a, b, b.target()+";transport=tls")
	if n := b.TLSAccepted(); n != 1 {
		t.Fatalf("callee accepted %d TLS connections, want 1", n)
	}
	if err := b.Hangup(inID); err != nil { // BYE back over the caller's connection
		t.Fatal(err)
	}
	if e := next[Ended](t, a); !e.Remote || e.ID != id {
		t.Fatalf("caller ended %+v", e)
	}
	next[Ended](t, b)
	if n := a.TLSAccepted(); n != 0 {
		t.Fatalf("the callee opened %d connections back; the BYE should use the caller's", n)
	}
}

// A call to a peer whose certificate is self-signed (not from our CA)
// fails with a clear reason, and nothing goes in clear.
func TestCallOverTLSUntrusted(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	a := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	b := tlsPhone(t, "1002", TLSConfig{}) // self-signed listener certificate
	if _, err := a.Dial(b.target()+";transport=tls", media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err) // dialling returns at once; the failure comes as an event
	}
	if f := next[Failed](t, a); !strings.Contains(f.Reason, "TLS: peer certificate not trusted") {
		t.Fatalf("failed %+v, want an untrusted-certificate reason", f)
	}
	noEvent(t, b)
}

// A phone set up for TLS refuses plain SIP on its UDP socket.
func TestTLSRefusesPlainUDP(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	raw := newRawPeer(t)
	raw.sendText(p.Addr(), inviteText(raw, p.UA, "plain-1"))
	raw.read("403", isRes(403))
	noEvent(t, p)
}

// sips: needs TLS; a UA on UDP refuses such a registrar.
func TestSipsRegistrarNeedsTLS(t *testing.T) {
	p := newPhone(t, "1001", "Alice")
	if err := p.StartRegistration(RegConfig{Registrars: []string{"sips:127.0.0.1"}}); err == nil {
		t.Fatal("a sips: registrar accepted on UDP")
	}
}

// Registrars as configured: sips: and upper-case schemes (RFC 3261
// §19.1.4: case-insensitive).
func TestParseTargetSchemes(t *testing.T) {
	for in, want := range map[string]string{
		"sips:pbx.example.com":      "sips:pbx.example.com",
		"SIPS:pbx.example.com:5061": "sips:pbx.example.com:5061",
		"SIP:127.0.0.1":             "sip:127.0.0.1",
		"127.0.0.1:5061":            "sip:127.0.0.1:5061",
	} {
		u, err := parseTarget(in)
		if err != nil || u.String() != want {
			t.Errorf("parseTarget(%q) = %v, %v; want %s", in, u.String(), err, want)
		}
	}
}

// RFC 3263 §4.2 for TLS: SRV _sips._tcp, default port 5061.
func TestResolveTLS(t *testing.T) {
	addrs, err := resolveTargets(t.Context(), nil, "tls", "127.0.0.1", 0, true)
	if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddrPort("127.0.0.1:5061") {
		t.Fatalf("IP literal: %v %v, want 127.0.0.1:5061", addrs, err)
	}
	r := &srvResolver{}
	if _, err := resolveTargets(t.Context(), r, "tls", "example.test", 0, true); err == nil {
		t.Fatal("resolved with no records")
	}
	if r.asked != "_sips._tcp.example.test" {
		t.Fatalf("looked up %q, want _sips._tcp.example.test", r.asked)
	}
}

// The keep-alive goes over the TLS flow: an OPTIONS to our AOR through
// the registrar (alive.go), which keeps the flow open (RFC 5626 §4.4) and
// expects an answer.
func TestTLSKeepAliveOnFlow(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	srv := ca.Issue(t, "registrar", lab.Loopback())
	reg := newTLSRegistrar(t, srv.Pair)
	clk := clock.NewFake(time.Unix(1e9, 0))
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}, KeepAlive: 30 * time.Second, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	reg.accept()
	req := reg.read().(*gosip.Request)
	ok := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	ok.SetBody(nil)
	reg.write(ok)
	nextReg(t, p, RegRegistered)
	waitTimer(t, clk, 2)
	clk.Advance(30 * time.Second)
	if req, _ := reg.read().(*gosip.Request); req == nil || req.Method != gosip.OPTIONS || req.Recipient.User != "1001" {
		t.Fatalf("keep-alive %v, want an OPTIONS to the AOR on the flow", req)
	}
}

// srvResolver records the SRV name asked for and knows no names.
type srvResolver struct{ asked string }

func (r *srvResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	r.asked = "_" + service + "._" + proto + "." + name
	return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *srvResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Mutual TLS: a registrar that asks for a client certificate gets the
// configured one (TLSConfig.Certificate), checked against its CA.
func TestTLSClientCertificate(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	client := ca.Issue(t, "phone", lab.Loopback())
	tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	reg := &tlsRegistrar{t: t, tcp: tcp, ln: tls.NewListener(tcp, &tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "registrar", lab.Loopback()).Pair},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()})}
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool(), Certificate: &client.Pair})
	if err := p.StartRegistration(RegConfig{Registrars: []string{reg.addr()}}); err != nil {
		t.Fatal(err)
	}
	reg.accept()
	peer := reg.conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(peer) == 0 || peer[0].Subject.CommonName != "phone" {
		t.Fatalf("client certificate %v, want the configured one", peer)
	}
	if req := reg.read().(*gosip.Request); req.Method != gosip.REGISTER {
		t.Fatalf("got %s", req.Method)
	}
}

// A registrar that wants a client certificate we do not have fails the
// registration at once with the reason, not after a transaction timeout.
func TestTLSClientCertificateRefused(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	ln := tls.NewListener(tcp, &tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "registrar", lab.Loopback()).Pair},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()})
	go acceptAndDrain(ln)
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool()}) // no client certificate
	if err := p.StartRegistration(RegConfig{Registrars: []string{tcp.Addr().String()}}); err != nil {
		t.Fatal(err)
	}
	f := nextReg(t, p, RegFailed)
	if !strings.HasPrefix(f.Reason, "TLS: registrar refused our client certificate") {
		t.Fatalf("reason %q, want the refused client certificate", f.Reason)
	}
}
