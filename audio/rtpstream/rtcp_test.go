package rtpstream

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/rtcp"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// readRTCP reads one compound packet from c within a real-time bound.
func readRTCP(t *testing.T, c *net.UDPConn) *rtcp.Incoming {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP packet: %v", err)
	}
	in, err := rtcp.Parse(buf[:n])
	if err != nil {
		t.Fatalf("our RTCP packet does not parse: %v", err)
	}
	return in
}

// untilRTCP advances clk in 100 ms steps (at most 10 s of clock) until c
// receives a compound packet.
func untilRTCP(t *testing.T, clk *clock.Fake, c *net.UDPConn) *rtcp.Incoming {
	t.Helper()
	buf := make([]byte, 1500)
	for i := 0; i < 100; i++ {
		clk.Advance(100 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			in, err := rtcp.Parse(buf[:n])
			if err != nil {
				t.Fatalf("our RTCP packet does not parse: %v", err)
			}
			return in
		}
	}
	t.Fatal("no RTCP report in 10 s of clock")
	return nil
}

func waitStats(t *testing.T, s *Stream, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// rtcpStream is a stream on the fake clock with RTCP, facing a raw peer
// (RTP and RTCP sockets).
func rtcpStream(t *testing.T, latch bool) (s *Stream, clk *clock.Fake, peerRTP, peerRTCP *net.UDPConn) {
	tier.Component(t, "real sockets on loopback, in real time")
	t.Helper()
	conn, rc, err := ListenPair(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	peerRTP, peerRTCP = udpPeer(t), udpPeer(t)
	clk = clock.NewFake(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s, err = New(Params{Conn: conn, RTCPConn: rc, PayloadType: 0, Clock: clk, Logger: quiet, Latch: latch,
		Remote:     peerRTP.LocalAddr().(*net.UDPAddr).AddrPort(),
		RemoteRTCP: peerRTCP.LocalAddr().(*net.UDPAddr).AddrPort(), CNAME: "1001@127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, peerRTP, peerRTCP
}

// RFC 3550 §6.4: a sender's report is an SR with its counts and a block
// about the peer; the peer's block about us gives the round trip
// (§6.4.1: A - LSR - DLSR); the peer's SR shows in our next LSR; Close
// ends with a BYE (§6.6).
func TestRTCPReportsRoundTripAndBye(t *testing.T) {
	s, clk, peerRTP, peerRTCP := rtcpStream(t, false)
	rtpTo := s.conn.LocalAddr().(*net.UDPAddr)
	// The peer sends 10 packets with one lost (seq 13); we send 5.
	for i := uint16(10); i < 21; i++ {
		if i != 13 {
			peerRTP.WriteToUDP(packet(t, 0, i, uint32(i)*160, 0xBEEF, 100, 160), rtpTo)
		}
	}
	waitStats(t, s, "10 packets", func(st Stats) bool { return st.PacketsReceived == 10 })
	frame := make([]int16, 160)
	for i := 0; i < 5; i++ {
		s.Send(frame)
	}

	in := untilRTCP(t, clk, peerRTCP)
	if len(in.SenderReports) != 1 || in.CNAME != "1001@127.0.0.1" {
		t.Fatalf("first report %+v, want an SR with our CNAME", in)
	}
	sr := in.SenderReports[0]
	if sr.SSRC != s.localSSRC || sr.PacketCount != 5 || sr.OctetCount != 800 {
		t.Fatalf("SR %+v, want 5 packets, 800 octets from %#x", sr, s.localSSRC)
	}
	blk, ok := in.BlockFor(0xBEEF)
	if !ok || rtcp.TotalLost(blk) != 1 || blk.FractionLost != 256/11 || blk.LastSequenceNumber != 20 || blk.LastSenderReport != 0 {
		t.Fatalf("block %+v, want 1 of 11 lost, highest 20, no LSR", blk)
	}

	// 40 ms on the way, 250 ms at the peer, 40 ms back: RTT 80 ms. (The
	// report went out when its timer fired, inside the last step.)
	sentAt := rtcp.FromNTP(sr.NTPTime)
	rr := &rtcp.ReceiverReport{SSRC: 0xBEEF, Reports: []rtcp.ReceptionReport{{
		SSRC: s.localSSRC, FractionLost: 64, LastSenderReport: rtcp.NTPShort(sr.NTPTime), Delay: 250 * 65536 / 1000,
	}}}
	peerSR := &rtcp.SenderReport{SSRC: 0xBEEF, NTPTime: 0x1122334455667788, Reports: rr.Reports}
	b, err := rtcp.MarshalReport(peerSR, "peer@127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(sentAt.Add(330 * time.Millisecond).Sub(clk.Now()))
	rtcpTo := s.rtcpConn.LocalAddr().(*net.UDPAddr)
	peerRTCP.WriteToUDP([]byte("garbage, not RTCP"), rtcpTo)
	peerRTCP.WriteToUDP(b, rtcpTo)
	st := waitStats(t, s, "the peer's report", func(st Stats) bool { return st.RTCPReceived == 1 && st.RTCPInvalid == 1 })
	if d := st.RTT - 80*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("RTT %v, want 80 ms", st.RTT)
	}
	if !st.RemoteReported || st.RemoteFractionLost != 25 {
		t.Fatalf("remote view %+v, want 25 %% lost", st)
	}
	if q := st.Quality(); q.RTTMs < 79 || q.RTTMs > 81 || q.PacketsLost != 1 || q.MOS < 3 || q.MOS > 4 { // 9 % loss: "fair"
		t.Fatalf("quality %+v", q)
	}

	// Nothing more sent: the next report is an RR whose block carries the
	// peer's SR (LSR = middle 32 bits) and the time since (DLSR).
	in = untilRTCP(t, clk, peerRTCP)
	in2 := in
	if len(in.SenderReports) == 1 { // the SR rule looks two reports back
		in2 = untilRTCP(t, clk, peerRTCP)
	}
	if len(in2.ReceiverReports) != 1 {
		t.Fatalf("report after silence %+v, want an RR", in2)
	}
	blk, _ = in2.BlockFor(0xBEEF)
	if blk.LastSenderReport != 0x33445566 || blk.Delay == 0 {
		t.Fatalf("block %+v, want LSR 0x33445566 and a DLSR", blk)
	}

	s.Close()
	in = readRTCP(t, peerRTCP)
	if len(in.Bye) != 1 || in.Bye[0] != s.localSSRC {
		t.Fatalf("on close %+v, want a BYE from %#x", in, s.localSSRC)
	}
}

// Reports follow a re-INVITE's new address (port + 1), and with latching
// they go where the peer's reports come from (RFC 4961). Without
// latching, RTP and RTCP from anywhere but the signalled addresses are
// dropped (source.go).
func TestRTCPRedirectAndLatch(t *testing.T) {
	for _, latch := range []bool{false, true} {
		s, clk, _, peerRTCP := rtcpStream(t, latch)
		other := udpPeer(t)
		otherAddr := other.LocalAddr().(*net.UDPAddr).AddrPort()
		// A re-INVITE moves RTP to the port below other's: RTCP to other.
		s.Redirect(netip.AddrPortFrom(otherAddr.Addr(), otherAddr.Port()-1), netip.AddrPort{}, true)
		untilRTCP(t, clk, other)
		// One with a=rtcp (RFC 3605) names the RTCP address itself.
		third := udpPeer(t)
		s.Redirect(netip.MustParseAddrPort("127.0.0.1:9"), third.LocalAddr().(*net.UDPAddr).AddrPort(), true)
		untilRTCP(t, clk, third)
		s.Redirect(netip.AddrPortFrom(otherAddr.Addr(), otherAddr.Port()-1), netip.AddrPort{}, true)

		// The peer's RTP (SSRC 7) comes in; a report from another source
		// (SSRC 8) moves nothing; the peer's own report from peerRTCP does,
		// with latching.
		rtpPeer := udpPeer(t)
		for i := uint16(0); i < 2; i++ {
			rtpPeer.WriteToUDP(packet(t, 0, i, uint32(i)*160, 7, 100, 160), s.conn.LocalAddr().(*net.UDPAddr))
		}
		if latch {
			waitStats(t, s, "the peer's RTP", func(st Stats) bool { return st.PacketsReceived == 2 })
		} else {
			waitStats(t, s, "RTP from an unsignalled source dropped", func(st Stats) bool {
				return st.PacketsFiltered == 2 && st.PacketsReceived == 0
			})
		}
		stray, err := rtcp.MarshalReport(&rtcp.ReceiverReport{SSRC: 8}, "stray")
		if err != nil {
			t.Fatal(err)
		}
		intruder := udpPeer(t)
		intruder.WriteToUDP(stray, s.rtcpConn.LocalAddr().(*net.UDPAddr))
		if latch {
			waitStats(t, s, "the stray report", func(st Stats) bool { return st.RTCPReceived == 1 })
		} else {
			waitStats(t, s, "the stray report dropped", func(st Stats) bool { return st.RTCPFiltered == 1 })
		}
		untilRTCP(t, clk, other)
		b, err := rtcp.MarshalReport(&rtcp.ReceiverReport{SSRC: 7}, "peer")
		if err != nil {
			t.Fatal(err)
		}
		peerRTCP.WriteToUDP(b, s.rtcpConn.LocalAddr().(*net.UDPAddr))
		if latch {
			waitStats(t, s, "the report", func(st Stats) bool { return st.RTCPReceived == 2 })
		} else {
			waitStats(t, s, "the unsignalled report dropped", func(st Stats) bool { return st.RTCPFiltered == 2 && st.RTCPReceived == 0 })
		}
		target := other
		if latch {
			target = peerRTCP
		}
		untilRTCP(t, clk, target)
		s.Close()
	}
}

// Reports average about 5 s apart, randomised over [0.5, 1.5] of the
// interval / (e - 3/2) (RFC 3550 §6.3.1), the first at half of it.
func TestRTCPInterval(t *testing.T) {
	s, clk, _, peerRTCP := rtcpStream(t, false)
	_ = s
	var times []time.Time
	for len(times) < 6 {
		untilRTCP(t, clk, peerRTCP)
		times = append(times, clk.Now())
	}
	for i := 1; i < len(times); i++ {
		d := times[i].Sub(times[i-1])
		if d < rtcp.MinRandomInterval-100*time.Millisecond || d > rtcp.MaxRandomInterval+100*time.Millisecond {
			t.Fatalf("report %d came %v after the previous, want %v-%v", i, d, rtcp.MinRandomInterval, rtcp.MaxRandomInterval)
		}
	}
}

func TestPtime(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	for _, tt := range []struct {
		ptime time.Duration
		want  int
	}{{0, 160}, {10 * time.Millisecond, 80}, {20 * time.Millisecond, 160}, {30 * time.Millisecond, 240}, {40 * time.Millisecond, 320}} {
		s, err := newStream(Params{Remote: peer, Ptime: tt.ptime, Logger: quiet})
		if err != nil || s.FrameSamples() != tt.want {
			t.Fatalf("ptime %v: %v samples, err %v; want %d", tt.ptime, s.FrameSamples(), err, tt.want)
		}
	}
	for _, bad := range []time.Duration{5 * time.Millisecond, 25 * time.Millisecond, 60 * time.Millisecond, -time.Millisecond} {
		if _, err := newStream(Params{Remote: peer, Ptime: bad, Logger: quiet}); err == nil {
			t.Fatalf("ptime %v accepted", bad)
		}
	}
	if _, err := newStream(Params{Remote: peer, JitterMin: 100 * time.Millisecond, JitterMax: 50 * time.Millisecond, Logger: quiet}); err == nil {
		t.Fatal("jitter min above max accepted")
	}
}
