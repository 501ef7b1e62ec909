package rtpstream

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

func udpPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func gotPacket(c *net.UDPConn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := c.Read(make([]byte, 1500))
	return err == nil
}

// RFC 4961 §4: with latching the stream sends where the peer's packets
// come from (a NAT rewrote the address in its SDP); without it, to the
// signalled address; and it latches once, so a later source cannot move it.
func TestLatching(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	for _, latch := range []bool{true, false} {
		conn, err := Listen(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Params{Conn: conn, Remote: netip.MustParseAddrPort("127.0.0.1:9"), PayloadType: 0,
			Latch: latch, Clock: clock.Real{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		peer, intruder := udpPeer(t), udpPeer(t)
		to := conn.LocalAddr().(*net.UDPAddr)
		for i := 0; i < 3; i++ {
			peer.WriteToUDP(packet(t, 0, uint16(10+i), uint32(160*i), 42, 100, 160), to)
		}
		deadline := time.Now().Add(5 * time.Second)
		// Without latching the peer is not at the signalled address:
		// its packets are dropped (source.go).
		for st := s.Stats(); st.PacketsReceived+st.PacketsFiltered < 3 && time.Now().Before(deadline); st = s.Stats() {
			time.Sleep(time.Millisecond)
		}
		if st := s.Stats(); (st.PacketsFiltered == 3) == latch {
			t.Fatalf("latch=%t: filtered %d of the peer's packets", latch, st.PacketsFiltered)
		}
		frame := make([]int16, 160)
		s.Send(frame)
		if got := gotPacket(peer, 300*time.Millisecond); got != latch {
			t.Fatalf("latch=%t: the peer got our packet: %t", latch, got)
		}
		if st := s.Stats(); st.Latched != latch || (st.Remote == peer.LocalAddr().(*net.UDPAddr).AddrPort()) != latch {
			t.Fatalf("latch=%t: stats say latched %t, remote %v", latch, st.Latched, st.Remote)
		}
		if latch {
			// Injected RTP from another port, in sequence and with the
			// peer's SSRC, is dropped once latched: not counted, not
			// played, and it moves nothing.
			for i := 0; i < 3; i++ {
				intruder.WriteToUDP(packet(t, 0, uint16(13+i), uint32(160*(3+i)), 42, 100, 160), to)
			}
			st := waitStats(t, s, "the injected packets dropped", func(st Stats) bool { return st.PacketsFiltered == 3 })
			if st.PacketsReceived != 3 || st.Playout.Received != 3 {
				t.Fatalf("injected packets were taken: received %d, played %d", st.PacketsReceived, st.Playout.Received)
			}
			s.Send(frame)
			if !gotPacket(peer, time.Second) || gotPacket(intruder, 100*time.Millisecond) {
				t.Fatal("a later source moved the latched stream")
			}
			// The peer's own packets still come in.
			peer.WriteToUDP(packet(t, 0, 13, 160*3, 42, 100, 160), to)
			waitStats(t, s, "the peer's next packet", func(st Stats) bool { return st.PacketsReceived == 4 })
		}
		s.Close()
	}
}

// Without latching the stream takes RTP from the signalled address only,
// from the first packet on.
func TestSignalledSourceOnly(t *testing.T) {
	s, _ := testStream(t, 0) // Remote: peer, no latching
	other := netip.AddrPortFrom(peer.Addr(), peer.Port()+2)
	s.handle(packet(t, 0, 1, 160, 5, 300, 160), other)
	s.handle(packet(t, 0, 2, 320, 5, 300, 160), peer)
	s.handle(packet(t, 0, 3, 480, 5, 300, 160), netip.MustParseAddrPort("198.51.100.1:40000"))
	if st := s.Stats(); st.PacketsReceived != 1 || st.PacketsFiltered != 2 || st.PacketsInvalid != 0 {
		t.Fatalf("received %d, filtered %d; want 1 and 2", st.PacketsReceived, st.PacketsFiltered)
	}
}

// A latched stream latches again only after a re-INVITE/UPDATE moved the
// remote media (Redirect to a new address); a hold or resume to the same
// address keeps the latched source.
func TestRelatchOnlyOnNewRemote(t *testing.T) {
	s, err := newStream(Params{Remote: peer, PayloadType: 0, Clock: clock.NewFake(time.Unix(1000, 0)), Logger: quiet, Latch: true})
	if err != nil {
		t.Fatal(err)
	}
	natted := netip.MustParseAddrPort("198.51.100.1:5000")
	moved := netip.MustParseAddrPort("198.51.100.9:6000")
	seq := uint16(0)
	send := func(from netip.AddrPort) {
		seq++
		s.handle(packet(t, 0, seq, uint32(seq)*160, 5, 300, 160), from)
	}
	send(natted)
	send(natted)                              // latched to the NAT's address
	s.Redirect(peer, netip.AddrPort{}, false) // hold: same address
	s.Redirect(peer, netip.AddrPort{}, true)  // resume
	send(moved)
	if st := s.Stats(); !st.Latched || st.Remote != natted || st.PacketsFiltered != 1 {
		t.Fatalf("after hold/resume: latched %t to %v, filtered %d", st.Latched, st.Remote, st.PacketsFiltered)
	}
	s.Redirect(moved, netip.AddrPort{}, true) // the peer moved (re-INVITE)
	send(moved)                               // taken, and the signalled address latches at once
	if st := s.Stats(); st.PacketsReceived != 3 || st.PacketsFiltered != 1 {
		t.Fatalf("the moved peer's packet: received %d, filtered %d; want 3 and 1", st.PacketsReceived, st.PacketsFiltered)
	}
	send(natted) // the old source is now the stranger
	st := s.Stats()
	if !st.Latched || st.Remote != moved || st.PacketsFiltered != 2 || st.PacketsReceived != 3 {
		t.Fatalf("after the move: latched %t to %v, filtered %d, received %d", st.Latched, st.Remote, st.PacketsFiltered, st.PacketsReceived)
	}
}
