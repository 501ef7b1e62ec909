package rtpstream

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/firmware/clock"
)

// rtcpState is the RTCP side of a stream (RFC 3550 §6), guarded by
// Stream.rtcpMu.
type rtcpState struct {
	sched   *rtcp.Schedule
	timer   clock.Timer
	cname   string
	stopped bool
	// latched: reports go where the peer's reports come from (symmetric
	// RTCP, RFC 4961), set once.
	latched bool
	source  netip.AddrPort // where the latched reports come from
	// sentAt holds our packet count at the last two reports: an SR is
	// sent while we sent RTP since the second-to-last one (RFC 3550 §6.4).
	sentAt [2]uint64

	sent, received, invalid uint64
	srtcpFailed             uint64 // failed SRTCP authentication or replay
	rtt                     time.Duration
	remote                  rtcp.ReceptionReport // the peer's last block about our stream
	remoteOK                bool
}

// rtcpReadSize exceeds any sane compound packet.
const rtcpReadSize = 1500

// startRTCP schedules the first report and starts reading reports.
func (s *Stream) startRTCP(p Params) {
	s.rtcpConn = p.RTCPConn
	s.rtcpDone = make(chan struct{})
	to := p.RemoteRTCP
	if !to.IsValid() {
		r := *s.remote.Load()
		to = netip.AddrPortFrom(r.Addr(), r.Port()+1)
	}
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	s.rtcpRemote.Store(&to)
	cname := p.CNAME
	if cname == "" {
		// RFC 3550 §6.5.1: user@host, host being the address media comes from.
		cname = "phoned@" + p.Conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap().String()
	}
	s.rtcpMu.Lock()
	s.rtcpSt.cname = cname
	// A two-party G.711 call: the RTCP share never limits, so reports come
	// every 5 s on average before randomisation (RFC 3550 §6.2, §6.3.1).
	s.rtcpSt.sched = rtcp.NewSchedule(s.clk.Now(), 0, nil)
	s.armRTCP()
	s.rtcpMu.Unlock()
	go s.readRTCP()
}

// armRTCP sets the timer for the next report. Called with rtcpMu held.
func (s *Stream) armRTCP() {
	d := s.rtcpSt.sched.Next().Sub(s.clk.Now())
	s.rtcpSt.timer = s.clk.AfterFunc(max(d, 0), s.reportTick)
}

// reportTick sends the due report and schedules the next (RFC 3550 §6.3.6).
func (s *Stream) reportTick() {
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	if s.rtcpSt.stopped {
		return
	}
	now := s.clk.Now()
	size := s.sendReport(now, false)
	s.rtcpSt.sched.Sent(now, size)
	s.armRTCP()
}

// sendReport sends one compound packet: an SR or RR with our block about
// the peer, the SDES CNAME, and a BYE when bye is set (RFC 3550 §6.1).
// It returns the octets sent with UDP/IP headers (0 if nothing went out).
// Called with rtcpMu held.
func (s *Stream) sendReport(now time.Time, bye bool) int {
	var blocks []rtcp.ReceptionReport
	if blk, ok := s.recv.Report(now); ok {
		blocks = []rtcp.ReceptionReport{blk}
	}
	sent := s.tx.Stats().Packets
	var first rtcp.Packet
	if sent > s.rtcpSt.sentAt[0] {
		sr := s.tx.SenderReport(now)
		sr.Reports = blocks
		first = sr
	} else {
		first = &rtcp.ReceiverReport{SSRC: s.localSSRC, Reports: blocks}
	}
	s.rtcpSt.sentAt = [2]uint64{s.rtcpSt.sentAt[1], sent}
	var b []byte
	var err error
	if bye {
		b, err = rtcp.MarshalBye(first, s.rtcpSt.cname, "")
	} else {
		b, err = rtcp.MarshalReport(first, s.rtcpSt.cname)
	}
	if err != nil {
		s.log.Warn("rtcp report not built", "err", err)
		return 0
	}
	to := *s.rtcpRemote.Load()
	if to.Addr().IsUnspecified() || to.Port() == 0 {
		return 0
	}
	if s.srtp != nil {
		// RFC 3711 §3.4: SRTCP, encrypted and authenticated (with the
		// 80-bit tag whatever the SRTP tag, RFC 4568 §6.2.2).
		if b, err = s.srtp.txRTCP.EncryptRTCP(nil, b, nil); err != nil {
			s.log.Warn("srtcp protect failed", "err", err)
			return 0
		}
	}
	if _, err := s.rtcpConn.WriteToUDPAddrPort(b, to); err != nil {
		s.log.Debug("rtcp send failed", "to", to, "err", err)
		return 0
	}
	tapped(true, true, s.rtcpConn, to, b)
	s.rtcpSt.sent++
	return len(b) + 28 // IPv4 + UDP headers, RFC 3550 §6.3.1 counts them
}

// stopRTCP sends the BYE (RFC 3550 §6.6), stops the timer and the reader,
// and closes the socket unless keep.
func (s *Stream) stopRTCP(keep bool) {
	if s.rtcpConn == nil {
		return
	}
	s.rtcpMu.Lock()
	s.rtcpSt.stopped = true
	if s.rtcpSt.timer != nil {
		s.rtcpSt.timer.Stop()
	}
	s.sendReport(s.clk.Now(), true)
	s.rtcpMu.Unlock()
	_ = release(s.rtcpConn, keep) // the reader's socket; its error says nothing new
	<-s.rtcpDone
	if keep {
		_ = s.rtcpConn.SetReadDeadline(time.Time{})
	}
}

// readRTCP reads the peer's reports until the socket closes.
func (s *Stream) readRTCP() {
	defer close(s.rtcpDone)
	buf := make([]byte, rtcpReadSize)
	for {
		n, from, err := s.rtcpConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if !s.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		tapped(false, true, s.rtcpConn, from, buf[:n])
		s.handleRTCP(buf[:n], from)
	}
}

// handleRTCP takes one received RTCP packet: the peer's SR for our next
// block's LSR/DLSR, its block about us for the round trip (RFC 3550
// §6.4.1), its BYE.
func (s *Stream) handleRTCP(b []byte, from netip.AddrPort) {
	if !s.rtcpFromPeer(from) {
		return
	}
	if s.srtp != nil {
		// RFC 3711 §3.4: authenticate and check the SRTCP index first.
		var err error
		if b, err = s.srtp.rxRTCP.DecryptRTCP(nil, b, nil); err != nil {
			s.rtcpMu.Lock()
			s.rtcpSt.srtcpFailed++
			n := s.rtcpSt.srtcpFailed
			s.rtcpMu.Unlock()
			if n == 1 { // the first; the count is in the stats
				s.log.Debug("srtcp packet dropped", "from", from, "err", err)
			}
			return
		}
	}
	in, err := rtcp.Parse(b)
	if err != nil {
		s.rtcpMu.Lock()
		s.rtcpSt.invalid++
		s.rtcpMu.Unlock()
		return
	}
	now := s.clk.Now()
	peer := s.recv.Stats().SSRC
	for _, sr := range in.SenderReports {
		if peer == 0 || sr.SSRC == peer {
			s.recv.OnSenderReport(sr, now)
		}
	}
	blk, haveBlock := in.BlockFor(s.localSSRC)
	var rtt time.Duration
	if haveBlock {
		var err error
		if rtt, err = rtcp.RTT(blk, now); err != nil && !errors.Is(err, rtcp.ErrNoLSR) {
			s.log.Debug("rtcp round trip ignored", "err", err)
		}
	}
	s.rtcpMu.Lock()
	s.rtcpSt.received++
	if haveBlock {
		s.rtcpSt.remote, s.rtcpSt.remoteOK = blk, true
		if rtt > 0 {
			s.rtcpSt.rtt = rtt
		}
	}
	// Latch only to a report from the peer's own source (the SSRC its RTP
	// carries), so a stray packet cannot take the reports elsewhere.
	if s.latch && !s.rtcpSt.latched && from.IsValid() && peer != 0 && reporter(in) == peer {
		s.rtcpSt.latched = true
		to := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.rtcpSt.source = to
		if cur := *s.rtcpRemote.Load(); cur != to && !cur.Addr().IsUnspecified() {
			s.rtcpRemote.Store(&to)
			s.log.Info("rtcp latched to the peer's source address", "signalled", cur, "source", to)
		}
	}
	s.rtcpMu.Unlock()
	if len(in.Bye) > 0 {
		s.log.Info("rtcp bye from the peer", "reason", in.ByeReason)
	}
}

// reporter is the SSRC of a compound packet's first report, 0 if none.
func reporter(in *rtcp.Incoming) uint32 {
	if len(in.SenderReports) > 0 {
		return in.SenderReports[0].SSRC
	}
	if len(in.ReceiverReports) > 0 {
		return in.ReceiverReports[0].SSRC
	}
	return 0
}

// redirectRTCP follows a new RTP destination: reports go to rtcp (the
// SDP's a=rtcp, RFC 3605) or, when that is zero, the RTP port + 1 (RFC
// 3550 §11), unless they latched to the peer's source.
// A moved remote (new media address) lets the reports latch again.
func (s *Stream) redirectRTCP(rtp, rtcp netip.AddrPort, moved bool) {
	if s.rtcpConn == nil {
		return
	}
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	if moved {
		s.rtcpSt.latched, s.rtcpSt.source = false, netip.AddrPort{}
	}
	if s.rtcpSt.latched {
		return
	}
	to := netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	switch {
	case rtcp.IsValid():
		to = netip.AddrPortFrom(rtcp.Addr().Unmap(), rtcp.Port())
	case rtp.Port() == 0:
		to = rtp
	}
	s.rtcpRemote.Store(&to)
}

// rtcpStats fills the RTCP part of st.
func (s *Stream) rtcpStats(st *Stats) {
	if s.rtcpConn == nil {
		return
	}
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	st.RTCPSent = s.rtcpSt.sent
	st.RTCPReceived = s.rtcpSt.received
	st.RTT = s.rtcpSt.rtt
	if r := s.rtcpSt.remote; s.rtcpSt.remoteOK {
		st.RemoteReported = true
		st.RemoteJitter = time.Duration(uint64(r.Jitter) * uint64(time.Second) / uint64(s.recv.ClockRate()))
		st.RemoteFractionLost = 100 * float64(r.FractionLost) / 256
	}
	st.RTCPInvalid = s.rtcpSt.invalid
	st.SRTCPFailed = s.rtcpSt.srtcpFailed
}
