package sip

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// The read filter sees every datagram and every stream read before sipgo
// parses it (sipgo's TransportReadFilter). sipgo drops what it cannot parse
// with no answer; RFC 3261 §8.2 and RFC 4475 want a 400 for a request
// whose fault is in its syntax. The filter parses each message once: what
// parses goes on to sipgo unchanged; a request that does not parse gets a
// stateless 400 (or 505, 416) built from a lenient reading of its
// Via/From/To/Call-ID/CSeq, sent where RFC 3261 §18.2.2 says, and is
// dropped; anything else that does not parse (responses, ACKs, requests
// too broken to address) is dropped. Each is counted (GuardStats.Malformed)
// and logged at debug, rate-limited, truncated.

// maxStreamMessage bounds what a stream connection may hold buffered for
// one message (head and body): RFC 3261 §18.1.1's 65,535 bytes. A longer
// message is refused (413) and its connection closed.
const maxStreamMessage = maxMessage

// maxStreams bounds the connections holding a partial message at once
// (32 × 64 KiB at most); beyond it one is dropped to make room. Half the
// connections peers may hold open (maxTCPConns), so the bound is reached
// while new connections are still accepted.
const maxStreams = maxTCPConns / 2

// errStreamClosed is returned to sipgo to close a stream connection whose
// framing cannot be trusted any more (RFC 3261 §18.3).
var errStreamClosed = errors.New("sip: malformed message on a stream: connection closed")

// readFilter holds the filter's state; its methods are safe for concurrent
// use (one goroutine per connection on streams).
type readFilter struct {
	u      *UA
	parser *gosip.Parser

	mu      sync.Mutex
	streams map[string][]byte // partial message per stream connection
}

func newReadFilter(u *UA) *readFilter {
	return &readFilter{u: u, parser: gosip.NewParser(), streams: make(map[string][]byte)}
}

// read is the gosip.TransportReadFilter.
func (f *readFilter) read(info gosip.TransportReadProps, data []byte) ([]byte, error) {
	switch info.Transport {
	case "udp", "UDP":
		return f.datagram(info, data), nil
	}
	return f.stream(info, data)
}

// datagram passes a datagram that parses (or a keep-alive); anything else
// is answered if it can be and dropped.
func (f *readFilter) datagram(info gosip.TransportReadProps, data []byte) []byte {
	if keepAlive(data) {
		return data // RFC 5626 §3.5.1 keep-alive: sipgo's business
	}
	data = normalizeHead(data)
	if m, err := f.parser.ParseSIP(data); err == nil {
		if b := withBranch(m); b != nil {
			return b
		}
		return data
	}
	code, reason, res := refuse(data, true)
	src := addrPort(info.RemoteAddr)
	if res != nil && f.mayAnswer(src) {
		dst := src
		if p, ok := responsePort(res.via, src.Port()); ok {
			// RFC 3261 §18.2.2 and RFC 3581: the source address, and the
			// port of sent-by unless rport asks for the source port. Never
			// maddr or sent-by's host: a forged Via cannot aim our answer
			// at a third party.
			dst = netip.AddrPortFrom(src.Addr(), p)
		}
		if _, err := f.u.conn.WriteToUDPAddrPort(res.bytes(), dst); err != nil {
			code = 0
		}
	} else {
		code = 0
	}
	f.count(info, data, code, reason)
	return nil
}

// stream frames a stream read into whole messages (RFC 3261 §18.3: by
// Content-Length), keeping a partial message for the next read. Whole
// messages that parse are passed on; at the first that does not, the
// connection gets a 400 if it can be addressed and is closed, since its
// framing is not to be trusted.
func (f *readFilter) stream(info gosip.TransportReadProps, data []byte) ([]byte, error) {
	key := ""
	if info.RemoteAddr != nil {
		key = info.RemoteAddr.String()
	}
	f.mu.Lock()
	buf, held := f.streams[key]
	f.mu.Unlock()
	if held {
		buf = append(buf, data...)
	} else {
		if keepAlive(data) {
			return data, nil // RFC 5626 §3.5.1 keep-alive between messages
		}
		buf = data
	}
	off := 0
	for {
		// RFC 3261 §7.5: CRLFs before a start line are ignored.
		for off < len(buf) && (buf[off] == '\r' || buf[off] == '\n') {
			off++
		}
		if off == len(buf) {
			break
		}
		n, code, reason := frame(buf[off:])
		if code == 0 && n == 0 {
			break // partial: wait for more
		}
		if code == 0 {
			if _, err := f.parser.ParseSIP(buf[off : off+n]); err == nil {
				off += n
				continue
			}
			code, reason = 0, ""
		}
		f.forget(key)
		f.refuseStream(info, buf[off:], code, reason)
		return nil, errStreamClosed
	}
	rest := buf[off:]
	if len(rest) == 0 {
		if held {
			f.forget(key)
		}
		return buf[:off], nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !held && len(f.streams) >= maxStreams {
		// No close reaches us from sipgo: a connection gone mid-message
		// leaves its entry. Make room by dropping one at random (map
		// order); should that connection still live, its next read
		// starts no message, gets a 400 and it is closed.
		for k := range f.streams {
			delete(f.streams, k)
			break
		}
	}
	// Keep a copy: sipgo reuses data for the next read.
	f.streams[key] = append([]byte(nil), rest...)
	return buf[:off], nil
}

// keepAlive: one or two CRLFs (RFC 5626 §3.5.1), which sipgo takes as
// such (up to 4 bytes of CR and LF).
func keepAlive(b []byte) bool {
	return len(b) <= 4 && len(bytes.Trim(b, "\r\n")) == 0
}

func (f *readFilter) forget(key string) {
	f.mu.Lock()
	delete(f.streams, key)
	f.mu.Unlock()
}

// refuseStream answers a message that failed on a stream, if it can be
// addressed, on its own connection, and counts it. code 0 means: classify
// it as a parse failure.
func (f *readFilter) refuseStream(info gosip.TransportReadProps, msg []byte, code int, reason string) {
	var res *rawResponse
	if code == 0 {
		code, reason, res = refuse(msg, false)
	} else {
		res = stateless(scanHead(msg), code, reason)
	}
	src := addrPort(info.RemoteAddr)
	answered := 0
	if res != nil && f.mayAnswer(src) && f.u.sua != nil {
		if c, err := f.u.sua.TransportLayer().GetConnection(info.Transport, info.RemoteAddr.String()); err == nil {
			if w, ok := c.(io.Writer); ok {
				if _, err := w.Write(res.bytes()); err == nil {
					answered = code
				}
			}
			c.TryClose() // GetConnection took a reference
		}
	}
	f.count(info, msg, answered, reason)
}

// mayAnswer applies the guard (guard.go) to a source we would answer:
// strangers get nothing when only the trusted server may talk to us, and
// nothing beyond their rate.
func (f *readFilter) mayAnswer(src netip.AddrPort) bool {
	u := f.u
	trusted := u.checkSyncFrom(src.Addr())
	if u.cfg.Guard.ProxyOnly && !trusted {
		return false
	}
	return trusted || u.guard.limiter == nil || u.guard.limiter.allow(src.Addr(), u.clk.Now())
}

// count records a malformed message: the status counter and a debug line,
// at most one a second, with the data cut to badPacketMax bytes.
func (f *readFilter) count(info gosip.TransportReadProps, data []byte, code int, reason string) {
	u := f.u
	u.guard.malformed.Add(1)
	if ok, held := u.badLog.allow(); ok {
		u.log.Debug("unparseable SIP message", "source", info.RemoteAddr, "bytes", len(data), "answered", code,
			"reason", reason, "data", truncate(string(data[:min(len(data), badPacketMax+1)]), badPacketMax), "not_logged", held)
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if a, ok := a.(interface{ AddrPort() netip.AddrPort }); ok { // *net.UDPAddr, *net.TCPAddr
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// frame finds the length of the message at the start of b by its
// Content-Length (RFC 3261 §18.3). n 0 and code 0: not all of it is there
// yet. code != 0: the message cannot be framed, with the response to give.
func frame(b []byte) (n, code int, reason string) {
	end := headEnd(b)
	if end < 0 {
		if len(b) > maxStreamMessage {
			return 0, 413, "Message Too Large"
		}
		return 0, 0, ""
	}
	h := scanHead(b[:end])
	cl, ok := h.contentLength()
	if !ok {
		return 0, 400, "Bad Request (malformed Content-Length)"
	}
	if end+cl > maxStreamMessage {
		return 0, 413, "Message Too Large"
	}
	if len(b) < end+cl {
		return 0, 0, ""
	}
	return end + cl, 0, ""
}

// headEnd is the offset of the body: just past the empty line ending the
// head, or -1 when there is none yet.
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// head is a lenient reading of a message's head: slices of the message,
// for addressing a response to what the parser refused.
type head struct {
	start                  []byte
	vias                   [][]byte
	from, to, callID, cseq []byte
	cls                    [][]byte // Content-Length values
	body                   int      // offset of the body, -1 when the head does not end
}

// scanHead reads the start line and the headers a response copies (RFC
// 3261 §8.2.6.2), with their compact forms (§7.3.3), unfolding nothing:
// a folded value keeps its line breaks, which bytes() turns into spaces.
func scanHead(b []byte) head {
	h := head{body: -1}
	line := func(i int) (int, int) { // line from i: end without CR, next line's start
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b), len(b)
		}
		e := i + j
		if e > i && b[e-1] == '\r' {
			return e - 1, i + j + 1
		}
		return e, i + j + 1
	}
	e, i := line(0)
	h.start = b[:e]
	var cur *[]byte
	for i < len(b) {
		e, next := line(i)
		if e == i { // the empty line
			h.body = next
			break
		}
		if (b[i] == ' ' || b[i] == '\t') && cur != nil {
			// A continuation (RFC 3261 §7.3.1): extend the value in place.
			v := *cur
			*cur = b[len(b)-cap(v) : e : len(b)]
			i = next
			continue
		}
		cur = nil
		colon := bytes.IndexByte(b[i:e], ':')
		if colon < 0 {
			i = next
			continue
		}
		name := bytes.TrimRight(b[i:i+colon], " \t")
		val := bytes.TrimLeft(b[i+colon+1:e], " \t")
		// val aliases b up to e; cap reaches the end of b so a continuation
		// can extend it.
		val = b[e-len(val) : e : len(b)]
		k := -1
		for j, n := range headNames {
			if eq(name, n) {
				k = j
				break
			}
		}
		switch {
		case k == 0 || k == 1:
			h.vias = append(h.vias, val)
			cur = &h.vias[len(h.vias)-1]
		case k == 9 || k == 10:
			h.cls = append(h.cls, val)
			cur = &h.cls[len(h.cls)-1]
		case k >= 2:
			if p := [...]*[]byte{&h.from, &h.to, &h.callID, &h.cseq}[(k-2)/2]; *p == nil {
				*p, cur = val, p
			}
		}
		i = next
	}
	return h
}

// headNames are the headers scanHead keeps, long and compact forms (RFC
// 3261 §7.3.3): Via, From, To, Call-ID, CSeq, Content-Length.
var headNames = [...]string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "content-length", "l"}

// eq compares a header name, ASCII case-insensitively.
func eq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// contentLength is the message's Content-Length: 0 when absent; not ok
// when a value is not a decimal number or two values differ (RFC 4475
// §3.1.2.3, §3.3.9).
func (h head) contentLength() (int, bool) {
	n := -1
	for _, v := range h.cls {
		m, ok := decimal(bytes.TrimRight(v, " \t\r\n"), maxStreamMessage*16)
		if !ok || (n >= 0 && m != n) {
			return 0, false
		}
		n = m
	}
	return max(n, 0), true
}

// decimal parses 1*DIGIT up to limit.
func decimal(b []byte, limit int) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		// Checked at each digit: int is 32 bits on the phone.
		if n = n*10 + int(c-'0'); n > limit {
			return 0, false
		}
	}
	return n, len(b) > 0
}

// refuse decides what to answer to a message the parser refused: the
// code, the reason, and the response when it is a request we can address
// (nil for a response, an ACK, or a request missing what a response
// copies). datagram: the message is the whole datagram, so a body shorter
// than Content-Length is an error (RFC 3261 §18.3).
func refuse(msg []byte, datagram bool) (int, string, *rawResponse) {
	h := scanHead(msg)
	code, reason := refusal(h, msg, datagram)
	return code, reason, stateless(h, code, reason)
}

// refusal names the fault in a request the parser refused.
func refusal(h head, msg []byte, datagram bool) (int, string) {
	_, uri, version, ok := requestLine(h.start)
	switch {
	case !ok:
		return 400, "Bad Request (malformed Request-Line)"
	case version != "SIP/2.0":
		return 505, "Version Not Supported"
	case !validScheme(uri):
		return 400, "Bad Request (malformed Request-URI)"
	case !sipScheme(uri):
		return 416, "Unsupported URI Scheme" // RFC 3261 §8.2.2.1
	}
	cl, ok := h.contentLength()
	if !ok {
		return 400, "Bad Request (malformed Content-Length)"
	}
	if datagram && h.body >= 0 && len(msg)-h.body < cl {
		return 400, "Bad Request (Content-Length larger than the message)"
	}
	if _, ok := cseqNumber(h.cseq); !ok {
		return 400, "Bad Request (malformed CSeq)"
	}
	return 400, "Bad Request (malformed header)"
}

// requestLine splits a Request-Line (RFC 3261 §7.1): exactly one SP
// between its three parts and nothing after the version.
func requestLine(l []byte) (method, uri []byte, version string, ok bool) {
	a := bytes.IndexByte(l, ' ')
	if a <= 0 {
		return nil, nil, "", false
	}
	b := bytes.IndexByte(l[a+1:], ' ')
	if b <= 0 {
		return nil, nil, "", false
	}
	b += a + 1
	v := l[b+1:]
	if len(v) == 0 || bytes.ContainsAny(v, " \t") || bytes.HasPrefix(l, []byte("SIP/")) {
		return nil, nil, "", false
	}
	return l[:a], l[a+1 : b], string(v), true
}

// validScheme: the URI starts with a scheme (RFC 3986 §3.1) and a colon.
func validScheme(uri []byte) bool {
	c := bytes.IndexByte(uri, ':')
	if c <= 0 {
		return false
	}
	for i, ch := range uri[:c] {
		alpha := ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z')
		if !alpha && (i == 0 || !(('0' <= ch && ch <= '9') || ch == '+' || ch == '-' || ch == '.')) {
			return false
		}
	}
	return true
}

func sipScheme(uri []byte) bool {
	c := bytes.IndexByte(uri, ':')
	return eq(uri[:c], "sip") || eq(uri[:c], "sips")
}

// cseqNumber reads the sequence number of a CSeq value: 32 bits at most
// (RFC 3261 §8.1.1.5).
func cseqNumber(v []byte) (uint32, bool) {
	v = bytes.TrimLeft(v, " \t")
	e := 0
	for e < len(v) && v[e] >= '0' && v[e] <= '9' {
		e++
	}
	n, err := strconv.ParseUint(string(v[:e]), 10, 32)
	return uint32(n), err == nil
}

// rawResponse is a stateless response to a request that did not parse.
type rawResponse struct {
	code                          int
	reason                        string
	via                           [][]byte
	from, to, toTag, callID, cseq []byte
}

// stateless builds the response RFC 3261 §8.2.6.2 asks for from a lenient
// reading: the request's Vias, From, To (with a tag of ours when it had
// none), Call-ID and CSeq. nil when the message is a response or an ACK
// (RFC 3261 §17.1.1.3), or lacks one of those.
func stateless(h head, code int, reason string) *rawResponse {
	method, _, _, ok := requestLine(h.start)
	if !ok {
		// A start line too broken to split still names a request when it
		// does not start with the version (RFC 3261 §7.1, §7.2).
		if bytes.HasPrefix(h.start, []byte("SIP/")) || len(h.start) == 0 {
			return nil
		}
		method = h.start[:max(bytes.IndexByte(h.start, ' '), 0)]
	}
	if string(method) == "ACK" || len(h.vias) == 0 || len(h.from) == 0 || len(h.to) == 0 ||
		len(h.callID) == 0 || len(h.cseq) == 0 {
		return nil
	}
	if _, _, ok := viaPort(h.vias[0]); !ok {
		return nil
	}
	r := &rawResponse{code: code, reason: reason, via: h.vias, from: h.from, to: h.to, callID: h.callID, cseq: h.cseq}
	if !bytes.Contains(bytes.ToLower(h.to), []byte("tag")) {
		r.toTag = strconv.AppendUint(nil, rand.Uint64()&0xffffffff, 16)
	}
	return r
}

// bytes renders the response; line breaks in copied values become spaces.
func (r *rawResponse) bytes() []byte {
	b := []byte("SIP/2.0 " + strconv.Itoa(r.code) + " " + r.reason + "\r\n")
	for _, v := range r.via {
		b = headerLine(b, "Via: ", v, nil)
	}
	b = headerLine(b, "From: ", r.from, nil)
	b = headerLine(b, "To: ", r.to, r.toTag)
	b = headerLine(b, "Call-ID: ", r.callID, nil)
	b = headerLine(b, "CSeq: ", r.cseq, nil)
	return append(b, "Content-Length: 0\r\n\r\n"...)
}

func headerLine(b []byte, name string, v, tag []byte) []byte {
	b = append(b, name...)
	for _, c := range v {
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	if tag != nil {
		b = append(append(b, ";tag="...), tag...)
	}
	return append(b, "\r\n"...)
}

// viaPort reads the first Via value (RFC 3261 §20.42, "SIP / 2.0 / UDP
// host[:port];params", LWS allowed around the slashes): its sent-by port,
// 0 when none, and whether it asks for rport (RFC 3581).
func viaPort(v []byte) (port int, rport, ok bool) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	var params []byte
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v, params = v[:i], v[i:]
	}
	if bytes.Count(v, []byte("/")) != 2 {
		return 0, false, false
	}
	// The transport token, LWS, then sent-by.
	v = bytes.TrimSpace(v[bytes.LastIndexByte(v, '/')+1:])
	i := bytes.IndexAny(v, " \t\r\n")
	if i <= 0 {
		return 0, false, false
	}
	hp := bytes.TrimSpace(v[i:])
	if len(hp) == 0 || bytes.ContainsAny(hp, " \t\r\n") {
		return 0, false, false
	}
	if j := bytes.LastIndexByte(hp, ':'); j >= 0 && hp[len(hp)-1] != ']' {
		p, err := strconv.Atoi(string(hp[j+1:]))
		if err != nil || p <= 0 || p > 65535 {
			return 0, false, false
		}
		port = p
	}
	return port, bytes.Contains(bytes.ToLower(params), []byte(";rport")), true
}

// responsePort is where a stateless response over UDP goes (RFC 3261
// §18.2.2, RFC 3581 §4): the source port with rport, else sent-by's port,
// else 5060.
func responsePort(vias [][]byte, srcPort uint16) (uint16, bool) {
	if len(vias) == 0 {
		return 0, false
	}
	p, rport, ok := viaPort(vias[0])
	switch {
	case !ok:
		return 0, false
	case rport:
		return srcPort, true
	case p == 0:
		return 5060, true
	}
	return uint16(p), true
}

// normalizeHead rewrites a datagram's head in place, as RFC 3261 §7.3.1
// allows: folded lines joined and the optional white space around ";" and
// "=" (SEMI, EQUAL in §25.1) dropped outside quoted strings and the start
// line. sipgo takes "tag = x" for a parameter named "tag " (RFC 4475
// §3.1.1.1) and then finds no From tag. The body moves up; the message
// shrinks. A head with none of it is rewritten as it was.
func normalizeHead(b []byte) []byte {
	end := headEnd(b)
	if end < 0 {
		return b
	}
	first := bytes.IndexByte(b, '\n') + 1
	w := first
	quoted, escaped := false, false
	lws := func(c byte) bool { return c == ' ' || c == '\t' }
	for r := first; r < end; r++ {
		c := b[r]
		switch {
		case quoted:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '\r' && r+2 < end && b[r+1] == '\n' && lws(b[r+2]):
			c = ' ' // a fold: CRLF and the white space become one space
			r++
			for r+1 < end && lws(b[r+1]) {
				r++
			}
		case c == '\n' && r+1 < end && lws(b[r+1]):
			c = ' '
			for r+1 < end && lws(b[r+1]) {
				r++
			}
		}
		if !quoted && (c == ';' || c == '=') {
			for w > first && lws(b[w-1]) {
				w--
			}
			b[w] = c
			w++
			for r+1 < end && lws(b[r+1]) {
				r++
			}
			// a fold right after ; or = is white space too
			for r+2 < end && b[r+1] == '\r' && b[r+2] == '\n' && r+3 < end && lws(b[r+3]) {
				r += 2
				for r+1 < end && lws(b[r+1]) {
					r++
				}
			}
			continue
		}
		if c == ' ' && !quoted && w > first && lws(b[w-1]) {
			continue // runs of white space become one
		}
		b[w] = c
		w++
	}
	n := copy(b[w:], b[end:])
	return b[:w+n]
}

// withBranch gives a request from an RFC 2543 element (a top Via without
// the z9hG4bK magic cookie, RFC 3261 §8.1.1.7) a branch of its own, so
// that sipgo, which keys transactions by branch, can match it: RFC 3261
// §17.2.3 matches such requests by Request-URI, From, Call-ID, CSeq
// number and the top Via's sent-by instead, so the branch is a hash of
// exactly those. An ACK or CANCEL for the same INVITE gets the same
// branch and finds its transaction. The extra Via parameter comes back in
// our responses, which RFC 2543 elements ignore. nil when m needs none.
func withBranch(m gosip.Message) []byte {
	req, ok := m.(*gosip.Request)
	if !ok {
		return nil
	}
	via := req.Via()
	if via == nil {
		return nil
	}
	if b, _ := via.Params.Get("branch"); strings.HasPrefix(b, magicCookie) {
		return nil
	}
	var from, callID string
	if f := req.From(); f != nil {
		from = f.Value()
	}
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	h := fnv.New64a()
	for _, part := range []string{req.Recipient.String(), from, callID, via.Host, strconv.Itoa(via.Port)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	if cs := req.CSeq(); cs != nil {
		h.Write([]byte(strconv.FormatUint(uint64(cs.SeqNo), 10)))
	}
	via.Params.Add("branch", magicCookie+"2543."+strconv.FormatUint(h.Sum64(), 16))
	return []byte(req.String())
}

// magicCookie starts every RFC 3261 branch (§8.1.1.7).
const magicCookie = "z9hG4bK"
