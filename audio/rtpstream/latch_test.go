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
		for s.Stats().PacketsReceived < 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
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
			for i := 0; i < 3; i++ {
				intruder.WriteToUDP(packet(t, 0, uint16(13+i), uint32(160*(3+i)), 42, 100, 160), to)
			}
			for s.Stats().PacketsReceived < 6 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			s.Send(frame)
			if !gotPacket(peer, time.Second) || gotPacket(intruder, 100*time.Millisecond) {
				t.Fatal("a later source moved the latched stream")
			}
		}
		s.Close()
	}
}
