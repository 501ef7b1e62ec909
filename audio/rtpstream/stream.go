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
	"github.com/deskphone/phoned/audio/jitter"
	"github.com/deskphone/phoned/firmware/clock"
)

var (
	// ErrParams is returned by New for unusable Params.
	ErrParams = errors.New("rtpstream: invalid parameters")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("rtpstream: stream closed")
	// ErrFrameSize is returned by Send for a frame that does not fit one packet.
	ErrFrameSize = errors.New("rtpstream: frame size")
)

const (
	// maxPayload is the largest G.711 payload sent or accepted: 120 ms,
	// well inside a 1500-byte MTU.
	maxPayload = 960
	// readBufSize exceeds any sane RTP datagram so oversized ones are seen
	// as such rather than silently truncated to a plausible size.
	readBufSize = 2048
	// PlayoutDelay is the fixed jitter buffer delay: two 20 ms frames.
	PlayoutDelay = 2 * audio.FrameSamples
	// rtpVersion is the only version RFC 3550 §5.1 defines.
	rtpVersion = 2
	// headerSize is the fixed RTP header, RFC 3550 §5.1.
	headerSize = 12
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
}

// Stats are the stream's counters.
type Stats struct {
	PacketsSent     uint64
	PacketsReceived uint64 // valid RTP packets of the negotiated payload type
	// PacketsLost is the RFC 3550 §A.3 cumulative loss: packets expected
	// from the extended highest sequence number minus packets received,
	// never negative (duplicates can make the raw difference negative).
	PacketsLost   uint64
	BytesSent     uint64 // payload octets
	BytesReceived uint64 // payload octets
	LastReceived  time.Time

	PacketsInvalid   uint64 // not RTP v2, too short, wrong payload type, empty
	PacketsLate      uint64 // arrived after their playout time
	PacketsDuplicate uint64
	SSRC             uint32 // ours
	RemoteSSRC       uint32 // the peer's, once a packet arrived
}

// playout is what the stream needs of a jitter buffer.
type playout interface {
	Put(ts uint32, samples []int16) jitter.Verdict
	Get(frame []int16) bool
	Reset()
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

	// Send side, owned by the goroutine calling Send.
	hdr     rtp.Header
	marker  atomic.Bool
	payload [maxPayload]byte
	out     [headerSize + maxPayload]byte
	sent    atomic.Uint64
	sentB   atomic.Uint64

	// Receive side, owned by the read goroutine.
	rx      rtp.Packet
	scratch [readBufSize]int16

	mu    sync.Mutex // guards everything below
	buf   playout
	seq   seqState
	ssrc  uint32 // remote
	stats Stats  // receive-side counters

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
		"codec", s.codec.String(), "ssrc", s.localSSRC)
	go s.readLoop()
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
	// RFC 3550 §5.1: the initial sequence number and timestamp SHOULD be
	// random; §8.1: the SSRC is chosen randomly.
	var r [10]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("rtpstream: random: %w", err)
	}
	s := &Stream{
		codec:   c,
		clk:     p.Clock,
		log:     p.Logger.With("component", "rtp"),
		buf:     jitter.NewFixed(PlayoutDelay),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	remote := netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	s.remote.Store(&remote)
	s.hdr = rtp.Header{
		Version:        rtpVersion,
		PayloadType:    c.PayloadType,
		SequenceNumber: binary.BigEndian.Uint16(r[0:2]),
		Timestamp:      binary.BigEndian.Uint32(r[2:6]),
		SSRC:           binary.BigEndian.Uint32(r[6:10]),
	}
	s.localSSRC = s.hdr.SSRC
	s.rx.CSRC = make([]uint32, 0, 15) // so parsing never grows it
	s.marker.Store(true)
	return s, nil
}

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
	if _, err := s.conn.WriteToUDPAddrPort(s.out[:h+n], remote); err != nil {
		if s.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("rtpstream: send to %v: %w", remote, err)
	}
	s.sent.Add(1)
	s.sentB.Add(uint64(n))
	return nil
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
	st.PacketsLost = s.seq.lost()
	s.mu.Unlock()
	st.PacketsSent = s.sent.Load()
	st.BytesSent = s.sentB.Load()
	st.SSRC = s.localSSRC
	return st
}

// Close stops the receiver, closes the socket and waits for the goroutine.
func (s *Stream) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.closing)
		if s.conn != nil {
			err = s.conn.Close()
			<-s.done
		}
		st := s.Stats()
		s.log.Info("rtp stream closed", "sent", st.PacketsSent, "received", st.PacketsReceived,
			"lost", st.PacketsLost, "late", st.PacketsLate, "invalid", st.PacketsInvalid)
	})
	return err
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
	// RFC 3550 §A.1 header validity checks: version 2, length at least
	// the fixed header (CSRC, extension and padding lengths are checked by
	// Unmarshal).
	if len(b) < headerSize || b[0]>>6 != rtpVersion {
		s.invalid()
		return
	}
	if err := s.rx.Unmarshal(b); err != nil {
		s.invalid()
		return
	}
	switch pt := s.rx.PayloadType; {
	case pt == s.codec.PayloadType:
		s.handleAudio(from)
	// RFC 4733 telephone-event: a dynamic payload type negotiated in SDP.
	// Its case goes here, with its own buffer and event callback, when DTMF
	// reception lands.
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
	defer s.mu.Unlock()
	first := s.stats.PacketsReceived == 0
	if first || h.SSRC != s.ssrc {
		if !first {
			// RFC 3550 §8.2: a new SSRC is a new source; start over.
			s.log.Info("rtp source changed", "old_ssrc", s.ssrc, "ssrc", h.SSRC, "from", from)
		} else {
			s.log.Info("rtp first packet", "ssrc", h.SSRC, "from", from)
		}
		s.ssrc = h.SSRC
		s.seq.init(h.SequenceNumber)
		s.buf.Reset()
	} else if !s.seq.update(h.SequenceNumber) {
		// RFC 3550 §A.1: a large jump is believed only when the next packet
		// follows it; until then the packet is dropped.
		s.stats.PacketsInvalid++
		return
	}
	s.stats.PacketsReceived++
	s.stats.BytesReceived += uint64(len(payload))
	s.stats.LastReceived = now
	s.stats.RemoteSSRC = h.SSRC
	switch s.buf.Put(h.Timestamp, s.scratch[:n]) {
	case jitter.Late:
		s.stats.PacketsLate++
	case jitter.Duplicate:
		s.stats.PacketsDuplicate++
	case jitter.Resync:
		s.log.Info("rtp playout resynchronised", "ssrc", h.SSRC, "timestamp", h.Timestamp)
	}
}

// Redirect changes where the stream sends and whether it sends at all, for
// a session changed mid-call (re-INVITE or UPDATE, RFC 3264 §8): a new
// remote address, or send=false while the far end holds the call.
func (s *Stream) Redirect(remote netip.AddrPort, send bool) {
	r := netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.remote.Store(&r)
	s.muted.Store(!send)
}
