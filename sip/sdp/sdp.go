package sdp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
)

// Codec is an RTP payload type (RFC 3551 §6 static assignments).
type Codec uint8

// Static G.711 payload types (RFC 3551 Table 4).
const (
	PCMU Codec = 0
	PCMA Codec = 8
)

// String returns the encoding name of well-known codecs.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "PT" + strconv.Itoa(int(c))
}

// rtpmap returns the a=rtpmap encoding for a codec we can send.
func (c Codec) rtpmap() string {
	switch c {
	case PCMU:
		return "PCMU/8000"
	case PCMA:
		return "PCMA/8000"
	}
	return ""
}

// DefaultPtime is the packetisation time used when the peer states none
// (RFC 3551 §4.5: 20 ms for G.711).
const DefaultPtime = 20

// Direction attribute values (RFC 3264 §5.1, §6.1).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Sentinel errors. Returned errors wrap them with %w.
var (
	ErrMalformed     = errors.New("sdp: malformed session description")
	ErrNoAudio       = errors.New("sdp: no audio stream")
	ErrRejected      = errors.New("sdp: audio stream rejected (port 0)")
	ErrNoCommonCodec = errors.New("sdp: no common codec")
	// ErrLayout: an answer whose m= lines are not the offer's, in number
	// or order (RFC 3264 §6).
	ErrLayout = errors.New("sdp: the answer's m= lines do not match the offer's")
)

// Media is our side of the audio stream.
type Media struct {
	Addr   netip.AddrPort // our RTP address (c= and m= port)
	Codecs []Codec        // preference order
	DTMF   uint8          // telephone-event payload type to offer, 0 = none
	Ptime  int            // a=ptime we ask for, in ms: 10, 20, 30 or 40; 0 = DefaultPtime
	// Direction is the direction we offer or accept (RFC 3264 §5.1, §8.4):
	// "" or sendrecv, sendonly (we hold the far end), recvonly, or
	// inactive (we hold a far end that holds us).
	Direction string
	// SRTP is our SRTP policy and Crypto our keys (srtp.go): an offer
	// carries the ones of OfferSuites as a=crypto lines; an answer picks
	// the key of the suite it accepts. Make them fresh per call (NewKeys).
	SRTP   SRTPMode
	Crypto []Crypto
	// Layout is the session's m= lines when a peer's offer had more than
	// our audio stream, and AudioIndex ours among them: our new offers in
	// the session keep every line, the others rejected with port 0, and
	// an answer to them must have the same lines (RFC 3264 §8). Nil for
	// one audio line.
	Layout     []Stream
	AudioIndex int
}

// layout is the m= lines our offers have: Layout, or one audio line.
func (m Media) layout() ([]Stream, int) {
	if len(m.Layout) > 1 && m.AudioIndex >= 0 && m.AudioIndex < len(m.Layout) {
		return m.Layout, m.AudioIndex
	}
	return []Stream{{Media: "audio"}}, 0
}

// ValidDirection reports whether d is "" or one of the four direction
// attributes.
func ValidDirection(d string) bool { return d == "" || isDirection(d) }

func (m Media) direction() string {
	if m.Direction == "" {
		return SendRecv
	}
	return m.Direction
}

// Session is a parsed remote SDP, reduced to its first audio stream.
type Session struct {
	ID, Version uint64         // o= sess-id and sess-version
	Addr        netip.AddrPort // connection address and m= port; port 0 = rejected stream
	Payloads    []uint8        // payload types in the order the peer listed them
	RTPMap      map[uint8]string
	DTMF        uint8  // telephone-event/8000 payload type, 0 if none
	Direction   string // sendrecv, sendonly, recvonly or inactive
	Ptime       int    // a=ptime in ms, 0 if absent
	MaxPtime    int    // a=maxptime in ms (RFC 4566 §6), 0 if absent
	// RTCP is the address of a=rtcp (RFC 3605), invalid if absent.
	RTCP netip.AddrPort
	// Proto is the m= line's profile, e.g. RTP/AVP or RTP/SAVP.
	Proto string
	// Crypto are the audio stream's usable a=crypto lines in order (RFC
	// 4568); CryptoRefused counts the lines ParseCrypto refused.
	Crypto        []Crypto
	CryptoRefused int
	// Streams are all the m= lines of the description in order (RFC 3264
	// §6: an answer has exactly these), and Index the one this Session
	// describes.
	Streams []Stream
	Index   int
	// alts are the later audio streams with a port, in order: Answer
	// uses the first it can when it cannot use this one.
	alts []Session
}

// Rejected reports whether the audio stream has port 0 (RFC 3264 §6).
func (s Session) Rejected() bool { return s.Addr.Port() == 0 }

// Has reports whether the session lists payload type pt.
func (s Session) Has(pt uint8) bool {
	for _, p := range s.Payloads {
		if p == pt {
			return true
		}
	}
	return false
}

// supports reports whether the peer can use codec c: the payload type is
// listed and, if an rtpmap is present for it, it names the same encoding.
func (s Session) supports(c Codec) bool {
	if !s.Has(uint8(c)) {
		return false
	}
	if name, ok := s.RTPMap[uint8(c)]; ok && c.rtpmap() != "" {
		return strings.EqualFold(clockName(name), c.rtpmap())
	}
	return true
}

// clockName trims an rtpmap encoding to "NAME/rate" (drops channels).
func clockName(enc string) string {
	parts := strings.SplitN(enc, "/", 3)
	if len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return enc
}

// Negotiated is the outcome of offer/answer for the audio stream.
type Negotiated struct {
	Remote    netip.AddrPort // where to send RTP
	RTCP      netip.AddrPort // where to send RTCP: a=rtcp, else the RTP port + 1 (RFC 3550 §11)
	Codec     Codec
	DTMF      uint8    // negotiated telephone-event PT, 0 if none
	Ptime     int      // packet time to send with, ms: 10, 20, 30 or 40 (SendPtime)
	Direction string   // our direction, from our point of view
	SRTP      SRTPKeys // the SDES outcome; zero for plain RTP
}

// Packet times we send, in ms.
var ptimes = [...]int{10, 20, 30, 40}

// SendPtime is the packet time to send to a peer that asked for ptime and
// at most maxptime (0 when absent): the longest of 10, 20, 30 and 40 ms
// within both (a=ptime is what the peer wants to receive, RFC 4566 §6), or
// 10 ms if both are shorter; DefaultPtime when the peer states neither.
func SendPtime(ptime, maxptime int) int {
	want := ptime
	if want <= 0 {
		want = DefaultPtime
	}
	if maxptime > 0 {
		want = min(want, maxptime)
	}
	best := ptimes[0]
	for _, p := range ptimes {
		if p <= want {
			best = p
		}
	}
	return best
}

// rtcpAddr is where the peer takes RTCP: its a=rtcp, else the RTP port + 1.
func (s Session) rtcpAddr() netip.AddrPort {
	if s.RTCP.IsValid() {
		return s.RTCP
	}
	if p := s.Addr.Port(); p == 0 || p == 65535 {
		return netip.AddrPortFrom(s.Addr.Addr(), 0)
	}
	return netip.AddrPortFrom(s.Addr.Addr(), s.Addr.Port()+1)
}

// Offer builds our SDP offer (RFC 3264 §5). sessionID is used for both the
// o= session id and version.
func Offer(local Media, sessionID uint64) []byte {
	return OfferOrigin(local, sessionID, sessionID)
}

// OfferOrigin is Offer with the o= version given: a new offer within a
// session (re-INVITE, e.g. hold) keeps the session id and has the previous
// version plus one (RFC 3264 §8). The direction is local.Direction.
func OfferOrigin(local Media, sessionID, version uint64) []byte {
	proto, lines := local.offerCrypto()
	var b strings.Builder
	writeHeader(&b, local, sessionID, version)
	streams, audio := local.layout()
	for i, st := range streams {
		if i == audio {
			writeAudio(&b, local, local.Codecs, local.DTMF, local.direction(), proto, lines)
			continue
		}
		writeRejected(&b, st)
	}
	return []byte(b.String())
}

// writeHeader writes the session-level lines; c= is at session level and
// so applies to every m= line (RFC 4566 §5.7).
func writeHeader(b *strings.Builder, local Media, sessionID, version uint64) {
	ip := local.Addr.Addr().Unmap()
	at := "IP4"
	if ip.Is6() {
		at = "IP6"
	}
	b.WriteString("v=0\r\n")
	fmt.Fprintf(b, "o=- %d %d IN %s %s\r\n", sessionID, version, at, ip)
	b.WriteString("s=-\r\n")
	fmt.Fprintf(b, "c=IN %s %s\r\n", at, ip)
	b.WriteString("t=0 0\r\n")
}

func writeAudio(b *strings.Builder, local Media, codecs []Codec, dtmf uint8, dir, proto string, crypto []Crypto) {
	fmt.Fprintf(b, "m=audio %d %s", local.Addr.Port(), proto)
	for _, c := range codecs {
		fmt.Fprintf(b, " %d", c)
	}
	if dtmf != 0 {
		fmt.Fprintf(b, " %d", dtmf)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		if name := c.rtpmap(); name != "" {
			fmt.Fprintf(b, "a=rtpmap:%d %s\r\n", c, name)
		}
	}
	if dtmf != 0 {
		// RFC 4733 §7.1.1: events 0-15 are the DTMF digits.
		fmt.Fprintf(b, "a=rtpmap:%d telephone-event/8000\r\n", dtmf)
		fmt.Fprintf(b, "a=fmtp:%d 0-15\r\n", dtmf)
	}
	ptime := local.Ptime
	if ptime == 0 {
		ptime = DefaultPtime
	}
	fmt.Fprintf(b, "a=ptime:%d\r\n", ptime)
	fmt.Fprintf(b, "a=%s\r\n", dir)
	for _, c := range crypto {
		// RFC 4568 §9.1.
		fmt.Fprintf(b, "a=crypto:%s\r\n", c.attribute())
	}
}

// Parse parses a remote SDP body. It never panics.
func Parse(body []byte) (s Session, err error) {
	defer func() {
		// Belt and braces: a parser bug must not take the phone down.
		if r := recover(); r != nil {
			s, err = Session{}, fmt.Errorf("%w: parser panic: %v", ErrMalformed, r)
		}
	}()
	if len(strings.TrimSpace(string(body))) == 0 {
		return Session{}, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	d, err := parseDesc(body)
	if err != nil {
		return Session{}, err
	}
	s.ID, s.Version = d.ID, d.Version
	s.Streams = layout(d.Media)

	// The first audio m= line with a port is the stream we use; the later
	// ones are alternatives Answer falls back to when it cannot use it
	// (RFC 3264 §6: "the first usable audio stream"). With no audio line
	// with a port, the first (rejected) audio line is reported.
	first := -1
	for i, md := range d.Media {
		if md.Media != "audio" {
			continue
		}
		if first < 0 {
			first = i
		}
		if md.Port == 0 {
			continue
		}
		a, aerr := parseAudio(d, md)
		a.Index = i
		if s.Addr.IsValid() {
			// An alternative: a malformed one is simply not used.
			if aerr == nil {
				s.alts = append(s.alts, a)
			}
			continue
		}
		if aerr != nil {
			return Session{}, aerr
		}
		a.ID, a.Version, a.Streams = s.ID, s.Version, s.Streams
		s = a
	}
	if first < 0 {
		return Session{}, ErrNoAudio
	}
	if !s.Addr.IsValid() {
		a, aerr := parseAudio(d, d.Media[first])
		if aerr != nil {
			return Session{}, aerr
		}
		a.ID, a.Version, a.Streams, a.Index = s.ID, s.Version, s.Streams, first
		s = a
	}
	for i := range s.alts {
		s.alts[i].ID, s.alts[i].Version, s.alts[i].Streams = s.ID, s.Version, s.Streams
	}
	return s, nil
}

// parseAudio reads one audio m= line and its attributes.
func parseAudio(d *desc, m *media) (s Session, err error) {
	port := m.Port

	// RFC 4566 §5.7: media-level c= overrides the session-level one.
	conn := m.Conn
	if conn == "" {
		conn = d.Conn
	}
	var ip netip.Addr
	if conn != "" {
		a, perr := netip.ParseAddr(conn)
		if perr != nil {
			if port != 0 {
				return Session{}, fmt.Errorf("%w: connection address %q: %w", ErrMalformed, conn, perr)
			}
		} else {
			ip = a.Unmap()
		}
	} else if port != 0 {
		return Session{}, fmt.Errorf("%w: no c= line for audio", ErrMalformed)
	}
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	s.Addr = netip.AddrPortFrom(ip, uint16(port))
	s.Proto = m.Proto

	s.RTPMap = make(map[uint8]string)
	for _, f := range m.Formats {
		pt, perr := strconv.ParseUint(f, 10, 8)
		if perr != nil || pt > 127 {
			return Session{}, fmt.Errorf("%w: payload type %q", ErrMalformed, f)
		}
		s.Payloads = append(s.Payloads, uint8(pt))
	}

	s.Direction = SendRecv
	for _, a := range d.Attrs {
		if isDirection(a.Key) {
			s.Direction = a.Key
		}
	}
	for _, a := range m.Attrs {
		switch {
		case isDirection(a.Key):
			s.Direction = a.Key
		case a.Key == "rtpmap":
			// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<params>]
			ptStr, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
			if !ok {
				continue
			}
			pt, perr := strconv.ParseUint(ptStr, 10, 8)
			if perr != nil || pt > 127 {
				continue
			}
			enc = strings.TrimSpace(enc)
			s.RTPMap[uint8(pt)] = enc
			if strings.EqualFold(clockName(enc), "telephone-event/8000") && s.Has(uint8(pt)) && s.DTMF == 0 {
				s.DTMF = uint8(pt)
			}
		case a.Key == "ptime":
			if v, perr := strconv.Atoi(strings.TrimSpace(a.Value)); perr == nil && v > 0 && v <= 1000 {
				s.Ptime = v
			}
		case a.Key == "maxptime":
			if v, perr := strconv.Atoi(strings.TrimSpace(a.Value)); perr == nil && v > 0 && v <= 1000 {
				s.MaxPtime = v
			}
		case a.Key == "rtcp":
			s.RTCP = parseRTCP(a.Value, ip)
		case a.Key == "crypto":
			// RFC 4568 §7.1.2: lines we cannot use are ignored.
			if c, perr := ParseCrypto(a.Value); perr == nil {
				s.Crypto = append(s.Crypto, c)
			} else {
				s.CryptoRefused++
			}
		}
	}
	return s, nil
}

// parseRTCP reads a=rtcp:<port> [IN IP4|IP6 <address>] (RFC 3605 §2.1);
// without an address the media's connection address applies. Anything
// malformed gives an invalid address: RTCP then goes to the RTP port + 1.
func parseRTCP(v string, media netip.Addr) netip.AddrPort {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}
	}
	ip := media
	if len(f) == 4 && f[1] == "IN" && (f[2] == "IP4" || f[2] == "IP6") {
		a, err := netip.ParseAddr(f[3])
		if err != nil {
			return netip.AddrPort{}
		}
		ip = a.Unmap()
	}
	return netip.AddrPortFrom(ip, uint16(port))
}

func isDirection(k string) bool {
	return k == SendRecv || k == SendOnly || k == RecvOnly || k == Inactive
}

// answerDirectionFor is the direction of an answer to an offered direction
// given the direction we want ourselves: the mirror of the offer, narrowed
// by ours (RFC 3264 §6.1): a far-end sendonly (hold) is answered recvonly,
// inactive with inactive; when we hold (sendonly) and they offer sendrecv
// we answer sendonly, and when both hold, inactive.
func answerDirectionFor(offered, ours string) string {
	mirror := answerDirection(offered)
	send := canSend(mirror) && canSend(ours)
	recv := canRecv(mirror) && canRecv(ours)
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

func canSend(d string) bool { return d == "" || d == SendRecv || d == SendOnly }
func canRecv(d string) bool { return d == "" || d == SendRecv || d == RecvOnly }

// answerDirection mirrors the offered direction (RFC 3264 §6.1).
func answerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// Answer builds our answer to a remote offer (RFC 3264 §6.1): the first of
// our preferred codecs that the offer supports, plus the offer's
// telephone-event payload type if we want DTMF. The answer lists only the
// chosen codec, so the peer has exactly one codec to send.
func Answer(offer Session, local Media) ([]byte, Negotiated, error) {
	id := rand.Uint64() >> 1
	return AnswerOrigin(offer, local, id, id)
}

// AnswerOrigin is Answer with our o= session id and version given: a new
// answer within a session (re-INVITE, UPDATE) keeps the id and has the
// previous version plus one (RFC 3264 §8).
//
// The answer has exactly the offer's m= lines in the offer's order (RFC
// 3264 §6): the audio stream we use is accepted, every other line (video,
// another audio stream, application, an unknown profile) is rejected with
// port 0. The audio stream is the offer's first one we can use: when
// offer's own cannot be answered (codec, SRTP), the later audio streams
// are tried in order, and the first error is returned if none can.
func AnswerOrigin(offer Session, local Media, sessionID, version uint64) ([]byte, Negotiated, error) {
	body, n, err := answerStream(offer, local, sessionID, version)
	if err == nil {
		return body, n, nil
	}
	for _, alt := range offer.alts {
		if b, an, aerr := answerStream(alt, local, sessionID, version); aerr == nil {
			return b, an, nil
		}
	}
	return nil, Negotiated{}, err
}

// answerStream answers offer's audio stream and rejects every other m=
// line of its layout.
func answerStream(offer Session, local Media, sessionID, version uint64) ([]byte, Negotiated, error) {
	if offer.Rejected() {
		return nil, Negotiated{}, ErrRejected
	}
	var chosen Codec
	found := false
	for _, c := range local.Codecs {
		if offer.supports(c) {
			chosen, found = c, true
			break
		}
	}
	if !found {
		return nil, Negotiated{}, fmt.Errorf("%w: offered %v, we support %v", ErrNoCommonCodec, offer.Payloads, local.Codecs)
	}
	var dtmf uint8
	if local.DTMF != 0 && offer.DTMF != 0 {
		// RFC 3264 §6.1: the answer uses the offerer's payload type numbers.
		dtmf = offer.DTMF
	}
	proto, line, keys, err := answerCrypto(offer, local)
	if err != nil {
		return nil, Negotiated{}, err
	}
	var lines []Crypto
	if line != nil {
		lines = []Crypto{*line}
	}
	dir := answerDirectionFor(offer.Direction, local.Direction)
	n := Negotiated{
		SRTP:      keys,
		Remote:    offer.Addr,
		RTCP:      offer.rtcpAddr(),
		Codec:     chosen,
		DTMF:      dtmf,
		Ptime:     SendPtime(offer.Ptime, offer.MaxPtime),
		Direction: dir,
	}
	var b strings.Builder
	writeHeader(&b, local, sessionID, version)
	if len(offer.Streams) == 0 {
		// A Session not from Parse: the audio stream alone.
		writeAudio(&b, local, []Codec{chosen}, dtmf, dir, proto, lines)
	}
	for i, st := range offer.Streams {
		if i == offer.Index {
			writeAudio(&b, local, []Codec{chosen}, dtmf, dir, proto, lines)
			continue
		}
		writeRejected(&b, st)
	}
	return []byte(b.String()), n, nil
}

// Accept negotiates from the answer to our offer (RFC 3264 §6.1): the first
// payload type in the answer that we offered is the codec to send.
//
// Our offers have one m=audio line (or local.Layout), so an answer with
// other m= lines (more, fewer, another order) is refused with ErrLayout
// (RFC 3264 §6: the answer has the offer's m= lines in the same order).
func Accept(answer Session, local Media) (Negotiated, error) {
	if answer.Streams != nil {
		want, audio := local.layout()
		if !sameLayout(answer.Streams, want) {
			return Negotiated{}, fmt.Errorf("%w: we offered %s, the answer has %s", ErrLayout, describe(want), describe(answer.Streams))
		}
		if !answer.Rejected() && answer.Index != audio {
			return Negotiated{}, fmt.Errorf("%w: the answer accepts m= line %d, we offered audio on line %d", ErrLayout, answer.Index+1, audio+1)
		}
	}
	if answer.Rejected() {
		return Negotiated{}, ErrRejected
	}
	n := Negotiated{Remote: answer.Addr, RTCP: answer.rtcpAddr(), Ptime: SendPtime(answer.Ptime, answer.MaxPtime),
		Direction: answerDirection(answer.Direction)}
	found := false
	for _, pt := range answer.Payloads {
		for _, c := range local.Codecs {
			if uint8(c) == pt && answer.supports(c) {
				n.Codec, found = c, true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return Negotiated{}, fmt.Errorf("%w: answered %v, we offered %v", ErrNoCommonCodec, answer.Payloads, local.Codecs)
	}
	if local.DTMF != 0 && answer.DTMF != 0 {
		n.DTMF = answer.DTMF
	}
	keys, err := acceptCrypto(answer, local)
	if err != nil {
		return Negotiated{}, err
	}
	n.SRTP = keys
	return n, nil
}
