package rtpstream

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio"
	"github.com/deskphone/phoned/audio/codec"
	"github.com/deskphone/phoned/audio/dtmf"
	"github.com/deskphone/phoned/audio/jitter"
	"github.com/deskphone/phoned/audio/plc"
	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/firmware/clock"
)

var (
	// ErrParams is returned by New for unusable Params.
	ErrParams = errors.New("rtpstream: invalid parameters")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("rtpstream: stream closed")
	// ErrFrameSize is returned by Send for a frame that does not fit one packet.
	ErrFrameSize = errors.New("rtpstream: frame size")
	// ErrNoDTMF is returned by StartDTMF on a stream without a
	// telephone-event payload type.
	ErrNoDTMF = errors.New("rtpstream: no telephone-event payload type negotiated")
)

const (
	// maxPayload is the largest G.711 payload sent or accepted: 120 ms,
	// well inside a 1500-byte MTU.
	maxPayload = 960
	// readBufSize exceeds any sane RTP datagram so oversized ones are seen
	// as such rather than silently truncated to a plausible size.
	readBufSize = 2048
	// DefaultPtime is the packet time without a=ptime (RFC 3551 §4.5: 20
	// ms for G.711).
	DefaultPtime = 20 * time.Millisecond
	// MaxFrameSamples is the longest packet time sent, 40 ms.
	MaxFrameSamples = 2 * audio.FrameSamples
	// rtpVersion is the only version RFC 3550 §5.1 defines.
	rtpVersion = 2
	// headerSize is the fixed RTP header, RFC 3550 §5.1.
	headerSize = 12
	// DTMFMinDuration is the shortest event StartDTMF sends, however quick
	// the key press: 100 ms, in 8000 Hz timestamp units. Receivers and
	// gateways commonly need 40 ms or more to detect a digit.
	DTMFMinDuration = 800
	// Dynamic RTP payload types, RFC 3551 §3: telephone-event has no
	// static one (RFC 4733 §7.1.1).
	minDynamicPT = 96
	maxDynamicPT = 127
)

// Params configures a Stream.
type Params struct {
	// Conn is the bound RTP socket, e.g. from Listen. The Stream owns it.
	Conn *net.UDPConn
	// Remote is where packets are sent. An unspecified address (SDP
	// c=0.0.0.0, RFC 3264 §8.4 hold) sends nothing.
	Remote netip.AddrPort
	// PayloadType is the negotiated codec: 0 (PCMU) or 8 (PCMA).
	PayloadType uint8
	// Clock stamps received packets; nil means clock.Real.
	Clock clock.Clock
	// Logger receives stream events (never per packet); nil means slog.Default.
	Logger *slog.Logger
	// DTMFPayloadType is the negotiated RFC 4733 telephone-event payload
	// type (a dynamic one, 96-127, typically 101); 0 means none: events are
	// neither sent nor accepted.
	DTMFPayloadType uint8
	// Latch turns on symmetric RTP (RFC 4961, "latching"): once valid
	// packets arrive from an address other than Remote, the stream sends
	// there, as a phone behind NAT is only reachable where it sends from.
	Latch bool
	// Ptime is the packet time to send with, from the peer's a=ptime
	// (RFC 4566 §6): 10, 20, 30 or 40 ms; 0 means DefaultPtime. Send
	// takes frames of FrameSamples.
	Ptime time.Duration
	// JitterMin and JitterMax bound the adaptive playout delay (0 takes
	// the jitter package's defaults, 40 and 200 ms).
	JitterMin, JitterMax time.Duration
	// RTCPConn is the bound RTCP socket (the RTP port + 1, RFC 3550 §11),
	// e.g. from ListenRTCP; the Stream owns it. nil sends no RTCP.
	RTCPConn *net.UDPConn
	// RemoteRTCP is where reports go; zero means Remote's port + 1.
	RemoteRTCP netip.AddrPort
	// CNAME is our SDES canonical name, RFC 3550 §6.5.1 (user@host);
	// "" means "phoned@" and the local address.
	CNAME string
	// OnDTMF is called once per digit received ('0'-'9', '*', '#',
	// 'A'-'D'), from the stream's receive goroutine, never concurrently
	// with itself. It must return quickly (post an event and return) and
	// must not call Close. nil ignores received digits.
	OnDTMF func(digit byte)
	// SRTP, when set, protects RTP and RTCP (RFC 3711, srtp.go) with the
	// keys SDES negotiated; nil is plain RTP.
	SRTP *SRTP
}

// Stats are the stream's counters.
type Stats struct {
	PacketsSent     uint64
	PacketsReceived uint64 // valid RTP packets of the negotiated payload types (audio and telephone-event)
	// PacketsLost is the RFC 3550 §A.3 cumulative loss: packets expected
	// from the extended highest sequence number minus packets received,
	// never negative (duplicates can make the raw difference negative).
	PacketsLost   uint64
	BytesSent     uint64 // payload octets
	BytesReceived uint64 // payload octets
	LastReceived  time.Time
	// Jitter is the RFC 3550 §A.8 interarrival jitter of the peer's stream.
	Jitter time.Duration

	PacketsInvalid uint64 // not RTP v2, too short, wrong payload type, empty
	// Dropped by source filtering (source.go): RTP and RTCP from an
	// address other than the latched or signalled one.
	PacketsFiltered, RTCPFiltered uint64
	// SRTP (RFC 3711): the suite ("" for plain RTP), and received packets
	// dropped for a failed authentication tag or a replayed index;
	// SRTCPFailed counts SRTCP packets dropped for either.
	SRTP                         string
	SRTPAuthFailed, SRTPReplayed uint64
	SRTCPFailed                  uint64
	SSRC                         uint32 // ours
	RemoteSSRC                   uint32 // the peer's, once a packet arrived

	// Where the media goes: our RTP socket, where RTP and RTCP are sent
	// now (after a re-INVITE or latching), whether the stream latched to
	// the peer's source (RFC 4961), and the packet time sent.
	Local, Remote, RemoteRTCP netip.AddrPort
	Latched                   bool
	Ptime                     time.Duration

	// Telephone-events (RFC 4733). Their packets are also counted in
	// PacketsSent/PacketsReceived and the byte counts above.
	DTMFSent            uint64 // events begun on the wire
	DTMFPacketsSent     uint64
	DTMFReceived        uint64 // digits reported through OnDTMF
	DTMFPacketsReceived uint64

	// Playout is the adaptive jitter buffer's state: its delay, and the
	// frames it lost, concealed, inserted and dropped.
	Playout jitter.AdaptiveStats

	// RTCP (RFC 3550 §6): compound packets sent, valid and invalid ones
	// received, the last round trip from the peer's report blocks (0
	// until one came), and what the peer's last block says of our stream.
	RTCPSent     uint64
	RTCPReceived uint64
	RTCPInvalid  uint64
	RTT          time.Duration
	// RemoteReported: a report block about our stream arrived; then
	// RemoteFractionLost is the percentage of our packets it lost in its
	// last interval and RemoteJitter the jitter it sees (§6.4.1).
	RemoteReported     bool
	RemoteFractionLost float64
	RemoteJitter       time.Duration
}

// Quality summarises the call so far (RFC 3550 counters and a G.107
// E-model MOS for G.711 with concealment).
func (st Stats) Quality() rtcp.Summary {
	rx := rtcp.ReceiverStats{
		Received: st.PacketsReceived,
		Expected: st.PacketsReceived + st.PacketsLost,
		Lost:     int64(st.PacketsLost),
		Jitter:   st.Jitter,
	}
	tx := rtcp.SenderStats{SSRC: st.SSRC, Packets: st.PacketsSent, Octets: st.BytesSent}
	return rtcp.Summarize(tx, rx, st.RTT, st.Playout.Current+audio.Duration(plc.Delay))
}

// Stream is one RTP media stream. See the package comment for its contract.
type Stream struct {
	conn *net.UDPConn
	// remote and muted change mid-call (re-INVITE: new address, hold) while
	// the media loop sends: atomics, read once per frame.
	remote atomic.Pointer[netip.AddrPort]
	muted  atomic.Bool
	codec  codec.Codec
	clk    clock.Clock
	log    *slog.Logger

	localSSRC uint32
	frame     int // samples per packet (Params.Ptime)

	// Send side, owned by the goroutine calling Send.
	hdr     rtp.Header
	marker  atomic.Bool
	payload [maxPayload]byte
	out     [headerSize + maxPayload]byte
	sout    [headerSize + maxPayload + srtpOverhead]byte // out, SRTP-protected
	encHdr  rtp.Header                                   // scratch for protect

	// srtp is nil for plain RTP.
	srtp   *srtpContexts
	plain  [readBufSize]byte // the read goroutine's decrypted packet
	decHdr rtp.Header
	tx     *rtcp.Sender // counts what was sent, for Stats and the SR

	// DTMF send side: dtmfBusy is the one atomic the media loop loads per
	// frame; the sender itself is guarded by dtmfMu (StartDTMF and
	// StopDTMF come from the phone's goroutine).
	dtmfPT      uint8
	dtmfBusy    atomic.Bool
	dtmfMu      sync.Mutex
	dtmfTx      dtmf.Sender
	dtmfSent    atomic.Uint64
	dtmfSentPkt atomic.Uint64

	// DTMF receive side, owned by the read goroutine.
	onDTMF     func(digit byte)
	dtmfRx     dtmf.Receiver
	dtmfDigits [2]dtmf.Digit

	// Receive side, owned by the read goroutine.
	rx      rtp.Packet
	scratch [readBufSize]int16

	recv *rtcp.Receiver // RFC 3550 §A.1/§A.3/§A.8 statistics of the peer's stream

	// RTCP, when Params.RTCPConn is set (rtcp.go).
	rtcpConn   *net.UDPConn
	rtcpRemote atomic.Pointer[netip.AddrPort]
	rtcpDone   chan struct{}
	rtcpSt     rtcpState // guarded by rtcpMu
	rtcpMu     sync.Mutex

	mu   sync.Mutex // guards everything below
	buf  *jitter.Adaptive
	ssrc uint32 // remote
	// Latching state (Params.Latch): the source seen and how many valid
	// packets in a row came from it; latched once the stream moved.
	latch      bool
	latchFrom  netip.AddrPort
	latchCount int
	latched    bool
	// signalled is the remote address the SDP gave (Params.Remote, then
	// Redirect); filterLogAt rate-limits the log of filtered packets.
	signalled   netip.AddrPort
	filterLogAt time.Time
	stats       Stats // receive-side counters

	closed  atomic.Bool
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New starts a stream on p.Conn. On error the caller keeps p.Conn.
func New(p Params) (*Stream, error) {
	if p.Conn == nil {
		return nil, fmt.Errorf("%w: no socket", ErrParams)
	}
	if !p.Remote.IsValid() {
		return nil, fmt.Errorf("%w: remote %v", ErrParams, p.Remote)
	}
	s, err := newStream(p)
	if err != nil {
		return nil, err
	}
	s.conn = p.Conn
	s.log.Info("rtp stream started", "local", p.Conn.LocalAddr(), "remote", *s.remote.Load(),
		"codec", s.codec.String(), "ptime", audio.Duration(s.frame),
		"ssrc", s.localSSRC, "rtcp", p.RTCPConn != nil, "srtp", s.stats.SRTP)
	go s.readLoop()
	if p.RTCPConn != nil {
		s.startRTCP(p)
	}
	return s, nil
}

// newStream builds a stream without a socket or goroutine (tests and
// fuzzing drive handle directly).
func newStream(p Params) (*Stream, error) {
	c, err := codec.ForPayloadType(p.PayloadType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParams, err)
	}
	if p.Clock == nil {
		p.Clock = clock.Real{}
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if pt := p.DTMFPayloadType; pt != 0 && (pt < minDynamicPT || pt > maxDynamicPT) {
		return nil, fmt.Errorf("%w: telephone-event payload type %d, want %d-%d", ErrParams, pt, minDynamicPT, maxDynamicPT)
	}
	frame, err := frameSamples(p.Ptime)
	if err != nil {
		return nil, err
	}
	if p.JitterMin < 0 || p.JitterMax < 0 || (p.JitterMax > 0 && p.JitterMin > p.JitterMax) {
		return nil, fmt.Errorf("%w: jitter buffer %v-%v", ErrParams, p.JitterMin, p.JitterMax)
	}
	// RFC 3550 §5.1: the initial sequence number and timestamp SHOULD be
	// random; §8.1: the SSRC is chosen randomly.
	var r [10]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("rtpstream: random: %w", err)
	}
	s := &Stream{
		codec: c,
		clk:   p.Clock,
		log:   p.Logger.With("component", "rtp"),
		frame: frame,
		buf: jitter.NewAdaptive(jitter.AdaptiveConfig{
			MinDelay: p.JitterMin, MaxDelay: p.JitterMax,
			Rate: audio.SampleRate, Frame: frame,
		}),
		recv:    rtcp.NewReceiver(audio.SampleRate),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		dtmfPT:  p.DTMFPayloadType,
		latch:   p.Latch,
		onDTMF:  p.OnDTMF,
	}
	remote := netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	s.remote.Store(&remote)
	s.signalled = remote
	if p.SRTP != nil {
		if s.srtp, err = newSRTP(p.SRTP); err != nil {
			return nil, err
		}
		s.stats.SRTP = s.srtp.suite
	}
	s.hdr = rtp.Header{
		Version:        rtpVersion,
		PayloadType:    c.PayloadType,
		SequenceNumber: binary.BigEndian.Uint16(r[0:2]),
		Timestamp:      binary.BigEndian.Uint32(r[2:6]),
		SSRC:           binary.BigEndian.Uint32(r[6:10]),
	}
	s.localSSRC = s.hdr.SSRC
	s.tx = rtcp.NewSender(s.localSSRC, audio.SampleRate)
	s.rx.CSRC = make([]uint32, 0, 15) // so parsing never grows it
	s.marker.Store(true)
	return s, nil
}

// frameSamples converts a packet time to samples per packet: 10, 20, 30 or
// 40 ms (0 is DefaultPtime).
func frameSamples(ptime time.Duration) (int, error) {
	if ptime == 0 {
		ptime = DefaultPtime
	}
	switch ptime {
	case 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond:
		return int(ptime * audio.SampleRate / time.Second), nil
	}
	return 0, fmt.Errorf("%w: ptime %v, want 10, 20, 30 or 40 ms", ErrParams, ptime)
}

// FrameSamples is how many samples each packet carries (Params.Ptime):
// the frame size for Send and Receive.
func (s *Stream) FrameSamples() int { return s.frame }

// StartTalkspurt sets the marker bit on the next packet sent, for the
// first packet after a silence period (RFC 3551 §4.1) or a hold.
func (s *Stream) StartTalkspurt() { s.marker.Store(true) }

// Send encodes frame and sends it as one RTP packet.
func (s *Stream) Send(frame []int16) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(frame) == 0 || len(frame) > maxPayload {
		return fmt.Errorf("%w: %d samples, want 1 to %d", ErrFrameSize, len(frame), maxPayload)
	}
	remote := *s.remote.Load()
	if s.dtmfBusy.Load() {
		if sent, err := s.sendDTMF(len(frame), remote); sent {
			return err
		}
	}
	if s.muted.Load() || remote.Addr().IsUnspecified() {
		// On hold (RFC 3264 §8.4): nothing is sent, but the timestamp
		// keeps time so the stream resumes on the right timeline, and the
		// first packet after it is a new talkspurt (RFC 3551 §4.1).
		s.hdr.Timestamp += uint32(len(frame))
		s.marker.Store(true)
		return nil
	}
	n := s.codec.EncodeFrame(s.payload[:], frame)
	// RFC 3550 §5.1 / RFC 3551 §4.1: marker on the first packet of a talkspurt.
	s.hdr.Marker = s.marker.Swap(false)
	h, err := s.hdr.MarshalTo(s.out[:])
	if err != nil {
		return fmt.Errorf("rtpstream: marshal: %w", err)
	}
	copy(s.out[h:], s.payload[:n])
	// The packet is counted and the timeline advances even if the write
	// fails: the samples' time has passed either way (RFC 3550 §5.1: the
	// timestamp reflects the sampling instant).
	s.hdr.SequenceNumber++
	s.hdr.Timestamp += uint32(n)
	if err := s.writeRTP(h+n, remote); err != nil {
		if s.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("rtpstream: send to %v: %w", remote, err)
	}
	s.tx.OnPacket(n, s.hdr.Timestamp-uint32(n), s.clk.Now())
	return nil
}

// sendDTMF sends this frame's telephone-event packet in place of its
// audio; false when the event is over and the frame's audio is to be sent.
func (s *Stream) sendDTMF(samples int, remote netip.AddrPort) (bool, error) {
	s.dtmfMu.Lock()
	p, ok := s.dtmfTx.Next(s.hdr.Timestamp, uint32(samples))
	if !s.dtmfTx.Active() {
		s.dtmfBusy.Store(false)
	}
	s.dtmfMu.Unlock()
	if !ok {
		return false, nil
	}
	// RFC 4733 §2.5.1.2: the key's audio is not sent alongside the event;
	// the audio after it starts a new talkspurt (RFC 3551 §4.1).
	s.marker.Store(true)
	if s.muted.Load() || remote.Addr().IsUnspecified() {
		s.hdr.Timestamp += uint32(samples)
		return true, nil
	}
	// Same SSRC and sequence space, own payload type; the timestamp is
	// the event's start (RFC 4733 §2.5.1.1), the marker its first packet.
	h := s.hdr
	h.PayloadType = s.dtmfPT
	h.Marker = p.Marker
	h.Timestamp = p.Timestamp
	n, err := h.MarshalTo(s.out[:])
	if err != nil {
		return true, fmt.Errorf("rtpstream: marshal: %w", err)
	}
	m, err := p.Event.MarshalTo(s.out[n:])
	if err != nil {
		return true, fmt.Errorf("rtpstream: marshal telephone-event: %w", err)
	}
	s.hdr.SequenceNumber++
	s.hdr.Timestamp += uint32(samples)
	if err := s.writeRTP(n+m, remote); err != nil {
		if s.closed.Load() {
			return true, ErrClosed
		}
		return true, fmt.Errorf("rtpstream: send to %v: %w", remote, err)
	}
	// The media clock stands at this frame's start, whatever the event's
	// timestamp says (RFC 3550 §6.4.1 wants the SR to follow the clock).
	s.tx.OnPacket(m, s.hdr.Timestamp-uint32(samples), s.clk.Now())
	s.dtmfSentPkt.Add(1)
	if p.Marker {
		s.dtmfSent.Add(1)
	}
	return true, nil
}

// StartDTMF presses digit ('0'-'9', '*', '#', 'A'-'D'): from the next
// frame Send sends RFC 4733 telephone-event packets instead of audio,
// until StopDTMF and for at least DTMFMinDuration. A key pressed while the
// previous one's event is still on the wire follows it. Safe from any
// goroutine.
func (s *Stream) StartDTMF(digit byte) error {
	if s.dtmfPT == 0 {
		return ErrNoDTMF
	}
	if s.closed.Load() {
		return ErrClosed
	}
	code, err := dtmf.Code(digit)
	if err != nil {
		return fmt.Errorf("rtpstream: %w", err)
	}
	s.dtmfMu.Lock()
	defer s.dtmfMu.Unlock()
	if err := s.dtmfTx.Start(code, DTMFMinDuration); err != nil {
		return fmt.Errorf("rtpstream: %w", err)
	}
	s.dtmfBusy.Store(true)
	return nil
}

// StopDTMF releases the key pressed last; its event ends once it has
// lasted DTMFMinDuration. Safe from any goroutine; a no-op without one.
func (s *Stream) StopDTMF() {
	s.dtmfMu.Lock()
	s.dtmfTx.Stop()
	s.dtmfMu.Unlock()
}

// Receive fills frame with the next len(frame) samples of received audio,
// silence where none arrived in time.
func (s *Stream) Receive(frame []int16) {
	if s.closed.Load() {
		clear(frame)
		return
	}
	s.mu.Lock()
	s.buf.Get(frame)
	s.mu.Unlock()
}

// Stats returns the current counters.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	st.Playout = s.buf.Stats()
	st.Latched = s.latched
	s.mu.Unlock()
	rx := s.recv.Stats()
	st.PacketsLost = uint64(max(rx.Lost, 0))
	st.Jitter = rx.Jitter
	tx := s.tx.Stats()
	st.PacketsSent = tx.Packets
	st.BytesSent = tx.Octets
	st.SSRC = s.localSSRC
	st.Remote = *s.remote.Load()
	if s.conn != nil {
		st.Local = s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	if r := s.rtcpRemote.Load(); r != nil {
		st.RemoteRTCP = *r
	}
	st.Ptime = audio.Duration(s.frame)
	s.rtcpStats(&st)
	st.DTMFSent = s.dtmfSent.Load()
	st.DTMFPacketsSent = s.dtmfSentPkt.Load()
	return st
}

// Close sends an RTCP BYE (RFC 3550 §6.6), stops the receivers, closes the
// sockets and waits for the goroutines.
func (s *Stream) Close() error { return s.shutdown(false) }

// Detach is Close without closing the sockets: the BYE is sent, the
// receivers stop and the goroutines are gone when it returns, and the
// sockets are left open, with no read deadline, for a new Stream to take
// over (a re-INVITE changing the codec keeps the port in the SDP).
func (s *Stream) Detach() error { return s.shutdown(true) }

func (s *Stream) shutdown(keep bool) error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		s.stopRTCP(keep)
		if s.conn != nil {
			err = release(s.conn, keep)
			<-s.done
			if keep {
				err = errors.Join(err, s.conn.SetReadDeadline(time.Time{}))
			}
		}
		st := s.Stats()
		s.log.Info("rtp stream closed", "sent", st.PacketsSent, "received", st.PacketsReceived,
			"lost", st.PacketsLost, "late", st.Playout.Late, "invalid", st.PacketsInvalid,
			"concealed", st.Playout.Concealed, "rtcp_sent", st.RTCPSent, "rtcp_received", st.RTCPReceived,
			"sockets_kept", keep)
	})
	return err
}

// release ends a socket's use by its reader: it closes it, or with keep
// wakes the reader with a read deadline in the past (the reader sees the
// stream closed and returns) and leaves it open.
func release(c *net.UDPConn, keep bool) error {
	if keep {
		return c.SetReadDeadline(time.Unix(1, 0))
	}
	return c.Close()
}

func (s *Stream) readLoop() {
	defer close(s.done)
	buf := make([]byte, readBufSize)
	errs := 0
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Log the first of a run of errors; back off so a persistent
			// error cannot spin the CPU.
			if errs == 0 {
				s.log.Warn("rtp read failed", "err", err)
			}
			errs++
			if !s.pause(min(time.Duration(errs)*10*time.Millisecond, time.Second)) {
				return
			}
			continue
		}
		errs = 0
		tapped(false, false, s.conn, from, buf[:n])
		s.handle(buf[:n], from)
	}
}

// pause waits d on the stream's clock; false if the stream closed meanwhile.
func (s *Stream) pause(d time.Duration) bool {
	ch := make(chan struct{})
	t := s.clk.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-s.closing:
		t.Stop()
		return false
	}
}

// handle validates one datagram and queues its audio. It runs on the read
// goroutine; b is the read buffer, reused for the next datagram.
func (s *Stream) handle(b []byte, from netip.AddrPort) {
	// Only the peer's source, once known (source.go).
	if !s.rtpFromPeer(from) {
		return
	}
	// RFC 3550 §A.1 header validity checks: version 2, length at least
	// the fixed header (CSRC, extension and padding lengths are checked by
	// Unmarshal).
	if len(b) < headerSize || b[0]>>6 != rtpVersion {
		s.invalid()
		return
	}
	// RFC 3711 §3.3: authenticate (and check for replay) before anything
	// in the packet is believed.
	b, ok := s.unprotect(b)
	if !ok {
		return
	}
	if err := s.rx.Unmarshal(b); err != nil {
		s.invalid()
		return
	}
	switch pt := s.rx.PayloadType; {
	case pt == s.codec.PayloadType:
		s.handleAudio(from)
	case s.dtmfPT != 0 && pt == s.dtmfPT:
		// RFC 4733 telephone-event: the dynamic payload type negotiated
		// in SDP.
		s.handleDTMF(from)
	default:
		s.invalid()
	}
}

func (s *Stream) invalid() {
	s.mu.Lock()
	s.stats.PacketsInvalid++
	s.mu.Unlock()
}

func (s *Stream) handleAudio(from netip.AddrPort) {
	payload := s.rx.Payload
	if len(payload) == 0 || len(payload) > len(s.scratch) {
		s.invalid()
		return
	}
	// Decoding is the copy out of the read buffer.
	n := s.codec.DecodeFrame(s.scratch[:], payload)
	now := s.clk.Now()
	h := &s.rx.Header

	s.mu.Lock()
	ok := s.account(h, len(payload), now, from)
	if ok {
		// Late and duplicate packets are counted by the buffer (Playout).
		if s.buf.Put(jitter.Packet{SSRC: h.SSRC, Seq: h.SequenceNumber, Timestamp: h.Timestamp,
			Arrival: now, Samples: s.scratch[:n]}) == jitter.Resync {
			s.log.Info("rtp playout resynchronised", "ssrc", h.SSRC, "timestamp", h.Timestamp)
		}
	}
	s.mu.Unlock()
	if ok && s.dtmfPT != 0 && s.dtmfRx.Pending() {
		// An event whose end packets were lost times out here, as the
		// peer's audio resumes.
		s.reportDigits(s.dtmfRx.Tick(s.dtmfDigits[:0], now))
	}
}

// handleDTMF accounts for one telephone-event packet and reports the
// digits it completes (RFC 4733 §2.5.2).
func (s *Stream) handleDTMF(from netip.AddrPort) {
	payload := s.rx.Payload
	if len(payload) < dtmf.PayloadSize {
		s.invalid()
		return
	}
	now := s.clk.Now()
	h := &s.rx.Header
	s.mu.Lock()
	ok := s.account(h, len(payload), now, from)
	if ok {
		s.stats.DTMFPacketsReceived++
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	digits, _ := s.dtmfRx.Feed(s.dtmfDigits[:0], h.Timestamp, payload, now) // length checked above
	s.reportDigits(digits)
}

func (s *Stream) reportDigits(digits []dtmf.Digit) {
	if len(digits) == 0 {
		return
	}
	s.mu.Lock()
	s.stats.DTMFReceived += uint64(len(digits))
	s.mu.Unlock()
	for _, d := range digits {
		s.log.Debug("dtmf received", "digit", string(rune(d.Key)), "duration", d.Duration, "ended", d.Ended)
		if s.onDTMF != nil {
			s.onDTMF(d.Key)
		}
	}
}

// account checks one packet's source and sequence number and counts it;
// false if it is to be dropped. The caller holds s.mu.
func (s *Stream) account(h *rtp.Header, payloadLen int, now time.Time, from netip.AddrPort) bool {
	first := s.stats.PacketsReceived == 0
	if first || h.SSRC != s.ssrc {
		if !first {
			// RFC 3550 §8.2: a new SSRC is a new source; start over (the
			// jitter buffer resynchronises on it by itself).
			s.log.Info("rtp source changed", "old_ssrc", s.ssrc, "ssrc", h.SSRC, "from", from)
		} else {
			s.log.Info("rtp first packet", "ssrc", h.SSRC, "from", from)
		}
		s.ssrc = h.SSRC
		s.dtmfRx.Reset() // only the read goroutine calls account
	}
	// RFC 3550 §A.1: a large jump is believed only when the next packet
	// follows it; until then the packet is dropped. The receiver also
	// keeps the §A.3 loss and §A.8 jitter the RTCP reports carry.
	if !s.recv.OnPacket(h.SSRC, h.SequenceNumber, h.Timestamp, now) {
		s.stats.PacketsInvalid++
		return false
	}
	s.stats.PacketsReceived++
	s.stats.BytesReceived += uint64(payloadLen)
	s.stats.LastReceived = now
	s.stats.RemoteSSRC = h.SSRC
	s.maybeLatch(from)
	return true
}

// latchAfter is how many valid packets in a row from one address make the
// stream send there.
const latchAfter = 2

// maybeLatch moves the stream's destination to where the peer's valid
// packets come from (symmetric RTP, RFC 4961 §4), once per stream, so a
// packet injected later cannot redirect the call. Called with s.mu held.
func (s *Stream) maybeLatch(from netip.AddrPort) {
	if !s.latch || s.latched || !from.IsValid() {
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if from != s.latchFrom {
		s.latchFrom, s.latchCount = from, 0
	}
	s.latchCount++
	// A packet from the signalled address needs no second one: that is
	// where the SDP said the peer is.
	if s.latchCount < latchAfter && from != s.signalled {
		return
	}
	s.latched = true
	if cur := *s.remote.Load(); cur != from && !cur.Addr().IsUnspecified() {
		to := from // its own variable: only this branch puts one on the heap
		s.remote.Store(&to)
		s.log.Info("rtp latched to the peer's source address", "signalled", cur, "source", to)
	}
}

// Redirect changes where the stream sends and whether it sends at all, for
// a session changed mid-call (re-INVITE or UPDATE, RFC 3264 §8): a new
// remote address (and RTCP address; zero means its port + 1), or
// send=false while the far end holds the call.
//
// A new remote address is the only thing that lets a latched stream
// latch again (source.go): a same-address Redirect (hold, resume) keeps
// the latched source and its filter.
func (s *Stream) Redirect(remote, rtcp netip.AddrPort, send bool) {
	r := netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.mu.Lock()
	moved := r != s.signalled
	if moved {
		s.signalled = r
		s.latched, s.latchFrom, s.latchCount = false, netip.AddrPort{}, 0
	}
	s.mu.Unlock()
	if moved || !s.latch {
		s.remote.Store(&r)
	}
	s.muted.Store(!send)
	s.redirectRTCP(r, rtcp, moved)
}
