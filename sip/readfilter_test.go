package sip

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/scripts/lab"
)

// RFC 3261 §7.3.1 lets LWS around ";" and "=" go; sipgo would otherwise
// take "tag = x" for a parameter named "tag ". Quoted strings keep theirs.
func TestNormalizeHead(t *testing.T) {
	in := "OPTIONS sip:a@example.com;x SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1 ;\r\n branch = z9hG4bKx\r\n" +
		"From: \"a ; b = c\" <sip:b@example.com>\r\n  ;\r\n  tag = 1\r\n" +
		"To: <sip:a@example.com>\r\nCall-ID: n1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 5\r\n\r\na = b"
	out := normalizeHead([]byte(in))
	m, err := gosip.ParseMessage(out)
	if err != nil {
		t.Fatalf("%v\n%q", err, out)
	}
	req := m.(*gosip.Request)
	if tag, _ := req.From().Params.Get("tag"); tag != "1" {
		t.Fatalf("From tag %q in %q", tag, out)
	}
	if req.From().DisplayName != "a ; b = c" {
		t.Fatalf("display name %q: a quoted string was rewritten", req.From().DisplayName)
	}
	if b, _ := req.Via().Params.Get("branch"); b != "z9hG4bKx" {
		t.Fatalf("branch %q", b)
	}
	if string(req.Body()) != "a = b" {
		t.Fatalf("body %q", req.Body())
	}
	plain := []byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n")
	if got := normalizeHead(append([]byte(nil), plain...)); string(got) != string(plain) {
		t.Fatalf("a head with nothing to do changed: %q", got)
	}
}

// The stateless 400 for what does not parse copies Via, From, To,
// Call-ID and CSeq, adds a To tag, and names the fault; a response, an
// ACK or a request missing Call-ID gets nothing.
func TestRefuseAddressesLeniently(t *testing.T) {
	req := "INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKq\r\n" +
		"From: <sip:b@example.com>;tag=f\r\nTo: <sip:a@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n" +
		"Content-Length: -3\r\n\r\n"
	code, reason, res := refuse([]byte(req), true)
	if code != 400 || reason != "Bad Request (malformed Content-Length)" || res == nil {
		t.Fatalf("%d %q %v", code, reason, res)
	}
	out := string(res.bytes())
	for _, want := range []string{"SIP/2.0 400 Bad Request (malformed Content-Length)\r\n",
		"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKq\r\n", "Call-ID: c1\r\n", "CSeq: 1 INVITE\r\n",
		"To: <sip:a@example.com>;tag=", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in\n%s", want, out)
		}
	}
	if p, ok := responsePort(res.via, 40000); !ok || p != 5070 {
		t.Fatalf("port %d %v, want sent-by's 5070", p, ok)
	}
	if p, _ := responsePort([][]byte{[]byte("SIP/2.0/UDP h;rport;branch=z9hG4bK1")}, 40000); p != 40000 {
		t.Fatalf("port %d with rport, want the source's", p)
	}
	for name, msg := range map[string]string{
		"response":   "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: x\r\n\r\n",
		"ACK":        strings.Replace(req, "INVITE sip", "ACK sip", 1),
		"no Call-ID": strings.Replace(req, "Call-ID: c1\r\n", "", 1),
	} {
		if _, _, res := refuse([]byte(msg), true); res != nil {
			t.Errorf("%s: answered %q", name, res.bytes())
		}
	}
	if code, _, _ := refuse([]byte(strings.Replace(req, "sip:a@example.com SIP", "soap.beep://x SIP", 1)), true); code != 416 {
		t.Errorf("unknown scheme: %d, want 416", code)
	}
}

// Content-Length values that overflow a 32-bit int are refused, not
// wrapped (the phone's int is 32 bits).
func TestContentLengthOverflow(t *testing.T) {
	for _, v := range []string{"4294967306", "18446744073709551626", "-1", "1x", ""} {
		h := head{cls: [][]byte{[]byte(v)}}
		if n, ok := h.contentLength(); ok {
			t.Errorf("Content-Length %q read as %d", v, n)
		}
	}
	if n, ok := (head{cls: [][]byte{[]byte("10"), []byte("10")}}).contentLength(); !ok || n != 10 {
		t.Errorf("two equal values: %d %v", n, ok)
	}
}

// Over TCP the filter frames by Content-Length (RFC 3261 §18.3): a message
// split over reads is put together, one with a Content-Length that cannot
// be read gets a 400 and the connection is closed.
func TestStreamFraming(t *testing.T) {
	p := newPhone(t, "1001", "Alice", func(c *Config) { c.Transport = "tcp" })
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	local := c.LocalAddr().String()
	opts := func(id, cl string) string {
		return "OPTIONS sip:1001@" + p.Addr().String() + " SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bK" + id +
			"\r\nMax-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=" + id + "\r\nTo: <sip:1001@example.test>\r\nCall-ID: " + id +
			"\r\nCSeq: 1 OPTIONS\r\nContent-Length: " + cl + "\r\n\r\n"
	}
	whole := opts("split1", "0")
	for _, part := range []string{whole[:17], whole[17:90], whole[90:]} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(c)
	m, err := readRaw(r)
	if err != nil {
		t.Fatal(err)
	}
	if code, id, _ := answerOf(m); code != 200 || id != "split1" {
		t.Fatalf("split OPTIONS answered %d (%s)", code, id)
	}
	c.Write([]byte(opts("neg1", "-1")))
	m, err = readRaw(r)
	if err != nil {
		t.Fatal(err)
	}
	if code, id, _ := answerOf(m); code != 400 || id != "neg1" || !strings.Contains(string(m), "malformed Content-Length") {
		t.Fatalf("negative Content-Length answered %q", m)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("the connection stays open after a framing error: %v", err)
	}
	if n := p.GuardStats().Malformed; n != 1 {
		t.Fatalf("malformed %d, want 1", n)
	}
}

// A stream that never ends its head is cut at maxStreamMessage: no
// unbounded buffer.
func TestStreamHeadBounded(t *testing.T) {
	p := newPhone(t, "1001", "Alice", func(c *Config) { c.Transport = "tcp" })
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	go func() {
		c.Write([]byte("OPTIONS sip:1001@example.test SIP/2.0\r\n"))
		line := []byte("X-Filler: " + strings.Repeat("y", 1000) + "\r\n")
		for range 100 { // 100 KB, no end of head
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	// EOF or a reset: closed either way; a deadline means it was not.
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection was not closed: %v", err)
	}
	if n := p.GuardStats().Malformed; n != 1 {
		t.Fatalf("malformed %d, want 1", n)
	}
}

// Connections holding a partial message are bounded (maxStreams); when all
// the room is taken, a new connection's split message still goes through.
func TestStreamPartialsBounded(t *testing.T) {
	p := newPhone(t, "1001", "Alice", func(c *Config) { c.Transport = "tcp" })
	for range maxStreams + 4 {
		c, err := net.Dial("tcp", p.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("OPTIONS sip:1001@example.test SIP/2.0\r\nVia: SIP/2.0/TCP"))
	}
	held := func() int {
		p.filter.mu.Lock()
		defer p.filter.mu.Unlock()
		return len(p.filter.streams)
	}
	for deadline := time.Now().Add(wait); held() < maxStreams; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d partial messages held, want %d", held(), maxStreams)
		}
	}
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:1001@" + p.Addr().String() + " SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bKfull" +
		"\r\nMax-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=full\r\nTo: <sip:1001@example.test>\r\nCall-ID: full" +
		"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	c.Write([]byte(msg[:40]))
	time.Sleep(50 * time.Millisecond) // two reads, likely; either way the answer must come
	c.Write([]byte(msg[40:]))
	m, err := readRaw(bufio.NewReader(c))
	if err != nil {
		t.Fatalf("a split message with the room full: %v", err)
	}
	if code, id, _ := answerOf(m); code != 200 || id != "full" {
		t.Fatalf("answered %d (%s)", code, id)
	}
	if n := held(); n > maxStreams {
		t.Fatalf("%d partial messages held, more than %d", n, maxStreams)
	}
}

// The same over TLS: the 400 goes back on the TLS connection, which is
// then closed.
func TestStreamFramingTLS(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	cert := ca.Issue(t, "phone", lab.Loopback())
	p := tlsPhone(t, "1001", TLSConfig{RootCAs: ca.Pool(), Certificate: &cert.Pair})
	c, err := tls.Dial("tcp", p.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	c.Write([]byte("OPTIONS sip:1001@" + p.Addr().String() + " SIP/2.0\r\nVia: SIP/2.0/TLS " + c.LocalAddr().String() +
		";branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=t1\r\nTo: <sip:1001@example.test>\r\n" +
		"Call-ID: tls1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 1x\r\n\r\n"))
	r := bufio.NewReader(c)
	m, err := readRaw(r)
	if err != nil {
		t.Fatal(err)
	}
	if code, id, _ := answerOf(m); code != 400 || id != "tls1" {
		t.Fatalf("answered %q", m)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("the TLS connection stays open after a framing error")
	}
}
