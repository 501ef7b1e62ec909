package lab

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/scripts/tier"
)

// SDPProxy puts a media relay into a call's media path. Phones put their
// own RTP address in their SDP, so a relay between them needs a SIP hop
// that rewrites it: phone A uses the proxy as its outbound proxy (a
// preloaded loose route); the proxy forwards A's requests to their
// Request-URI (phone B) and B's responses back, statelessly (RFC 3261
// §16.11), and in every SDP body it passes replaces the audio stream's
// address:
//
//   - SDP in a request travels A → B: it holds phone A's RTP (and RTCP)
//     address, which becomes the relay's peer on side A, and is replaced
//     by the relay's side B, where phone B will send.
//   - SDP in a response travels B → A: phone B's address becomes the
//     peer on side B and is replaced by the relay's side A.
//
// Content-Length is recomputed. The proxy adds its Via and removes it
// from responses; it does not Record-Route, so ACK, BYE and other
// in-dialog requests go directly between the phones (an in-dialog request
// that does reach it is forwarded like any other). CANCEL and the ACK of
// a non-2xx response get the same branch as their INVITE (a hash of the
// upstream branch), as a stateless proxy must. The proxy is for one call
// at a time: every SDP re-points the one relay. IPv4 literals only; no
// DNS.
type SDPProxy struct {
	conn  *net.UDPConn
	addr  netip.AddrPort
	media MediaPath
	log   *slog.Logger

	mu      sync.Mutex
	stats   ProxyStats
	history []string // the last messages, for a failing test

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// MediaPath is what the proxy points SDP at: a MediaRelay.
type MediaPath interface {
	// Local returns where the phone facing side s must send RTP and RTCP.
	Local(s Side) (rtp, rtcp netip.AddrPort)
	// SetPeer sets where the phone facing side s receives them.
	SetPeer(s Side, rtp, rtcp netip.AddrPort)
}

// ProxyStats count what the proxy did.
type ProxyStats struct {
	Requests, Responses uint64 // forwarded (counted as they leave)
	Offers              uint64 // SDP bodies rewritten in requests (A → B)
	Answers             uint64 // SDP bodies rewritten in responses (B → A)
	Rejected            uint64 // requests answered by the proxy itself (483, 502, 416)
	Dropped             uint64 // unparsable, responses not for us, send errors
}

// proxyBranch prefixes the branches of the proxy's Via (RFC 3261 magic
// cookie first).
const proxyBranch = "z9hG4bK-sdpproxy-"

// proxyTag is the To tag of the responses the proxy makes itself; their
// ACK ends here.
const proxyTag = "sdpproxy"

// StartSDPProxy starts a proxy on 127.0.0.1 that points SDP at media (nil:
// forward unchanged) and closes it in t.Cleanup; when the test failed,
// Cleanup logs the last messages it forwarded.
func StartSDPProxy(t testing.TB, media MediaPath) *SDPProxy {
	t.Helper()
	tier.Component(t, "a UDP relay on loopback, in real time")
	p, err := NewSDPProxy(media, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("lab: SDP proxy %s %+v; last messages:\n%s", p.addr, p.Stats(), strings.Join(p.History(), "\n"))
		}
	})
	return p
}

// NewSDPProxy listens on 127.0.0.1 at a port of the kernel's choosing.
func NewSDPProxy(media MediaPath, logger *slog.Logger) (*SDPProxy, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("lab: SDP proxy: %w: %w", ErrStart, err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	p := &SDPProxy{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), media: media, log: logger}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's SIP address (UDP), e.g. for account.outbound_proxy.
func (p *SDPProxy) Addr() netip.AddrPort { return p.addr }

// Stats returns the counters so far.
func (p *SDPProxy) Stats() ProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// History returns one line per message handled, the last 100.
func (p *SDPProxy) History() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.history...)
}

// Close stops the proxy and waits for it. Idempotent.
func (p *SDPProxy) Close() error {
	p.closeOnce.Do(func() { p.conn.Close() })
	p.wg.Wait()
	return nil
}

func (p *SDPProxy) note(f func(*ProxyStats), format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	p.mu.Lock()
	if f != nil {
		f(&p.stats)
	}
	p.history = append(p.history, line)
	if len(p.history) > 100 {
		p.history = p.history[1:]
	}
	p.mu.Unlock()
	p.log.Debug("lab: sdp proxy: " + line)
}

func (p *SDPProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		data := bytes.TrimLeft(buf[:n], "\r\n")
		if len(data) == 0 {
			continue // keep-alive
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		msg, err := sip.ParseMessage(append([]byte(nil), data...))
		if err != nil {
			p.note(func(s *ProxyStats) { s.Dropped++ }, "drop %d bytes from %s: %v", n, from, err)
			continue
		}
		switch m := msg.(type) {
		case *sip.Request:
			p.request(m, from)
		case *sip.Response:
			p.response(m, from)
		}
	}
}

func (p *SDPProxy) send(msg sip.Message, to netip.AddrPort) error {
	_, err := p.conn.WriteToUDPAddrPort([]byte(msg.String()), to)
	return err
}

// request forwards a request from upstream (RFC 3261 §16.6, stateless).
func (p *SDPProxy) request(req *sip.Request, from netip.AddrPort) {
	via := req.Via()
	if via == nil || req.CallID() == nil || req.CSeq() == nil || req.From() == nil || req.To() == nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "drop %s from %s: missing mandatory headers", req.Method, from)
		return
	}
	if req.IsAck() {
		if tag, _ := req.To().Params.Get("tag"); tag == proxyTag {
			p.note(nil, "absorb ACK of our own response from %s", from)
			return
		}
	}
	// §18.2.1: received, and rport (RFC 3581) when asked for.
	if via.Host != from.Addr().String() {
		via.Params.Add("received", from.Addr().String())
	}
	if v, ok := via.Params.Get("rport"); ok && v == "" {
		via.Params.Add("rport", strconv.Itoa(int(from.Port())))
	}
	// §16.3 step 3 / §16.6 step 3: Max-Forwards.
	if mf := req.MaxForwards(); mf != nil {
		if *mf == 0 {
			p.reject(req, from, 483, "Too Many Hops")
			return
		}
		*mf--
	} else {
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	// §16.4: a Route naming us is removed; the next hop is the next
	// Route, else the Request-URI.
	if r, ok := req.GetHeader("Route").(*sip.RouteHeader); ok && p.isUs(r.Address) {
		req.RemoveHeader("Route")
	}
	target := req.Recipient
	if r, ok := req.GetHeader("Route").(*sip.RouteHeader); ok {
		target = r.Address
	}
	if s := strings.ToLower(target.Scheme); s != "sip" {
		p.reject(req, from, 416, "Unsupported URI Scheme")
		return
	}
	next, err := hostPort(target.Host, target.Port)
	if err != nil {
		p.reject(req, from, 502, "Bad Gateway")
		return
	}
	// §16.11: a branch computed from the upstream one, so that a CANCEL
	// or a non-2xx ACK gets the same branch as its INVITE.
	h := fnv.New64a()
	branch, _ := via.Params.Get("branch")
	h.Write([]byte(branch + "|" + via.SentBy() + "|" + req.CallID().Value()))
	if req.IsAck() && !strings.HasPrefix(branch, "z9hG4bK") {
		h.Write([]byte("ack")) // RFC 2543 peers: no branch to match on
	}
	ours := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: p.addr.Addr().String(), Port: int(p.addr.Port()), Params: sip.NewParams()}
	ours.Params.Add("branch", fmt.Sprintf("%s%x", proxyBranch, h.Sum64()))
	req.PrependHeader(ours)

	rewrote := false
	if body, ok := p.rewrite(req, SideA); ok {
		req.SetBody(body)
		rewrote = true
	}
	// Counted before it leaves, so that whoever receives it sees it counted.
	p.note(func(s *ProxyStats) {
		s.Requests++
		if rewrote {
			s.Offers++
		}
	}, "%s %s from %s to %s (SDP rewritten: %t)", req.Method, &req.Recipient, from, next, rewrote)
	if err := p.send(req, next); err != nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "%s %s to %s: %v", req.Method, &req.Recipient, next, err)
	}
}

// response forwards a response to the next Via (RFC 3261 §16.7, §18.2.2).
func (p *SDPProxy) response(res *sip.Response, from netip.AddrPort) {
	via := res.Via()
	if via == nil || !strings.HasPrefix(via.Params.GetOr("branch", ""), proxyBranch) || via.Port != int(p.addr.Port()) {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "drop %d from %s: top Via is not ours", res.StatusCode, from)
		return
	}
	res.RemoveHeader("Via")
	next := res.Via()
	if next == nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "drop %d from %s: no Via left", res.StatusCode, from)
		return
	}
	host, port := next.Host, next.Port
	if v, ok := next.Params.Get("received"); ok && v != "" {
		host = v
	}
	if v, ok := next.Params.Get("rport"); ok && v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			port = n
		}
	}
	to, err := hostPort(host, port)
	if err != nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "drop %d from %s: %v", res.StatusCode, from, err)
		return
	}
	rewrote := false
	if body, ok := p.rewrite(res, SideB); ok {
		res.SetBody(body)
		rewrote = true
	}
	p.note(func(s *ProxyStats) {
		s.Responses++
		if rewrote {
			s.Answers++
		}
	}, "%d %s (%s) from %s to %s (SDP rewritten: %t)", res.StatusCode, res.Reason, res.CSeq().MethodName, from, to, rewrote)
	if err := p.send(res, to); err != nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "%d to %s: %v", res.StatusCode, to, err)
	}
}

// rewrite points the SDP of msg, sent by the phone facing side s, at the
// relay's other side and makes the relay send to that phone.
func (p *SDPProxy) rewrite(msg sip.Message, s Side) ([]byte, bool) {
	if p.media == nil || len(msg.Body()) == 0 {
		return nil, false
	}
	ct := msg.GetHeaders("Content-Type")
	if len(ct) == 0 || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct[0].Value())), "application/sdp") {
		return nil, false
	}
	rtp, rtcp := p.media.Local(s.other())
	body, orig, err := RewriteSDP(msg.Body(), rtp, rtcp)
	if err != nil {
		p.note(nil, "SDP left as it is: %v", err)
		return nil, false
	}
	p.media.SetPeer(s, orig.RTP, orig.RTCP)
	return body, true
}

// reject answers a request statelessly (not an ACK: dropped).
func (p *SDPProxy) reject(req *sip.Request, from netip.AddrPort, code int, reason string) {
	if req.IsAck() {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "drop ACK from %s: %d %s", from, code, reason)
		return
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil {
		if _, ok := to.Params.Get("tag"); !ok {
			to.Params.Add("tag", proxyTag)
		}
	}
	p.note(func(s *ProxyStats) { s.Rejected++ }, "%s %s from %s: answered %d %s", req.Method, &req.Recipient, from, code, reason)
	if err := p.send(res, from); err != nil {
		p.note(func(s *ProxyStats) { s.Dropped++ }, "%d to %s: %v", code, from, err)
	}
}

func (p *SDPProxy) isUs(u sip.Uri) bool {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	a, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	return err == nil && a.Unmap() == p.addr.Addr() && port == int(p.addr.Port())
}

// hostPort: an IP literal host and a port (0: 5060); no DNS in the lab.
func hostPort(host string, port int) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("lab: %w: host %q is not an IP literal", ErrOption, host)
	}
	if port == 0 {
		port = 5060
	}
	if port < 1 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("lab: %w: port %d", ErrOption, port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// SDPMedia is where an SDP says its audio stream receives.
type SDPMedia struct {
	RTP, RTCP netip.AddrPort
}

// ErrSDP: an SDP body the rewriter cannot use.
var ErrSDP = errors.New("SDP not rewritable")

// RewriteSDP points the first active audio stream (m=audio, port not 0)
// of body at rtp, its RTCP at rtcp (RFC 3605 a=rtcp, when present), and
// returns the new body and where the stream was pointed before: the
// connection address of the media section, else of the session
// (RFC 4566 §5.7), the m= port, and a=rtcp or the RTP port + 1 (RFC 3550
// §11). The connection address changes where it applies to the audio
// only: a media-level c= is replaced; a session-level c= is replaced when
// no other stream depends on it, else a media-level c= is added to the
// audio. Everything else is kept byte for byte, line ends included.
func RewriteSDP(body []byte, rtp, rtcp netip.AddrPort) ([]byte, SDPMedia, error) {
	eol := "\r\n"
	if !bytes.Contains(body, []byte("\r\n")) {
		eol = "\n"
	}
	text := strings.TrimRight(string(body), "\r\n")
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	// Sections: [0] is the session, then one per m= line.
	type section struct {
		start, end int // lines[start:end]; start is the m= line
		conn       int // index of its c= line, -1 none
		rtcp       int // index of its a=rtcp line, -1 none
		port       int // m= port
		audio      bool
	}
	var secs []section
	cur := section{start: 0, conn: -1, rtcp: -1}
	for i, l := range lines {
		if strings.HasPrefix(l, "m=") {
			cur.end = i
			secs = append(secs, cur)
			f := strings.Fields(l[2:])
			if len(f) < 3 {
				return nil, SDPMedia{}, fmt.Errorf("%w: media line %q", ErrSDP, l)
			}
			port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || port < 0 || port > 65535 {
				return nil, SDPMedia{}, fmt.Errorf("%w: media port in %q", ErrSDP, l)
			}
			cur = section{start: i, conn: -1, rtcp: -1, port: port, audio: f[0] == "audio"}
			continue
		}
		if strings.HasPrefix(l, "c=") && cur.conn < 0 {
			cur.conn = i
		}
		if strings.HasPrefix(l, "a=rtcp:") && cur.start > 0 && cur.rtcp < 0 {
			cur.rtcp = i
		}
	}
	cur.end = len(lines)
	secs = append(secs, cur)
	if len(secs) < 2 || !strings.HasPrefix(lines[0], "v=") {
		return nil, SDPMedia{}, fmt.Errorf("%w: no v= line or no media", ErrSDP)
	}
	sess := secs[0]
	ai := -1
	for i := 1; i < len(secs); i++ {
		if secs[i].audio && secs[i].port != 0 {
			ai = i
			break
		}
	}
	if ai < 0 {
		return nil, SDPMedia{}, fmt.Errorf("%w: no active audio stream", ErrSDP)
	}
	a := secs[ai]
	connLine := a.conn
	if connLine < 0 {
		connLine = sess.conn
	}
	if connLine < 0 {
		return nil, SDPMedia{}, fmt.Errorf("%w: no c= for the audio stream", ErrSDP)
	}
	addr, err := parseConn(lines[connLine])
	if err != nil {
		return nil, SDPMedia{}, err
	}
	var orig SDPMedia
	orig.RTP = netip.AddrPortFrom(addr, uint16(a.port))
	orig.RTCP = netip.AddrPortFrom(addr, uint16(a.port+1))
	if a.rtcp >= 0 {
		// a=rtcp:port [nettype addrtype connection-address]
		f := strings.Fields(strings.TrimPrefix(lines[a.rtcp], "a=rtcp:"))
		if len(f) == 0 {
			return nil, SDPMedia{}, fmt.Errorf("%w: %q", ErrSDP, lines[a.rtcp])
		}
		port, err := strconv.Atoi(f[0])
		if err != nil || port < 1 || port > 65535 {
			return nil, SDPMedia{}, fmt.Errorf("%w: %q", ErrSDP, lines[a.rtcp])
		}
		raddr := addr
		if len(f) >= 4 {
			if raddr, err = netip.ParseAddr(f[3]); err != nil {
				return nil, SDPMedia{}, fmt.Errorf("%w: %q", ErrSDP, lines[a.rtcp])
			}
		}
		orig.RTCP = netip.AddrPortFrom(raddr.Unmap(), uint16(port))
		l := fmt.Sprintf("a=rtcp:%d", rtcp.Port())
		if len(f) >= 4 {
			l += " " + connValue(rtcp.Addr())
		}
		lines[a.rtcp] = l
	}
	// The m= port.
	f := strings.Fields(lines[a.start])
	pp := strings.SplitN(f[1], "/", 2)
	pp[0] = strconv.Itoa(int(rtp.Port()))
	f[1] = strings.Join(pp, "/")
	lines[a.start] = strings.Join(f, " ")
	// The connection address, where it applies to the audio only.
	newConn := "c=" + connValue(rtp.Addr())
	insertAt := -1
	switch {
	case a.conn >= 0:
		lines[a.conn] = newConn
	default:
		shared := false
		for i := 1; i < len(secs); i++ {
			if i != ai && secs[i].conn < 0 && secs[i].port != 0 {
				shared = true
			}
		}
		if shared {
			// After m= and an i= line (RFC 4566 §5 order: m, i, c).
			insertAt = a.start + 1
			if insertAt < a.end && strings.HasPrefix(lines[insertAt], "i=") {
				insertAt++
			}
		} else {
			lines[sess.conn] = newConn
		}
	}
	if insertAt >= 0 {
		lines = append(lines[:insertAt], append([]string{newConn}, lines[insertAt:]...)...)
	}
	return []byte(strings.Join(lines, eol) + eol), orig, nil
}

// parseConn reads "c=IN IP4 127.0.0.1" (a /ttl suffix allowed).
func parseConn(line string) (netip.Addr, error) {
	f := strings.Fields(strings.TrimPrefix(line, "c="))
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: %q", ErrSDP, line)
	}
	a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %q is not an IP literal", ErrSDP, line)
	}
	return a.Unmap(), nil
}

func connValue(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return "IN IP4 " + a.Unmap().String()
	}
	return "IN IP6 " + a.String()
}
