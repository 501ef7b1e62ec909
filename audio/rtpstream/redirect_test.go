package rtpstream_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// RFC 3264 §8.4: while held nothing is sent; on resume the stream goes to
// the (possibly new) address, the timestamp has kept time and the first
// packet carries the marker (RFC 3551 §4.1).
func TestRedirectHoldAndResume(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	local, first, second := listen(t), listen(t), listen(t)
	s, err := rtpstream.New(rtpstream.Params{Conn: local, Remote: addr(first), PayloadType: 0, Clock: clock.Real{}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := make([]int16, 160)
	read := func(c *net.UDPConn) *rtp.Packet {
		t.Helper()
		buf := make([]byte, 1500)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	if err := s.Send(frame); err != nil {
		t.Fatal(err)
	}
	p1 := read(first)

	s.Redirect(addr(second), netip.AddrPort{}, false) // held
	for i := 0; i < 3; i++ {
		if err := s.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.PacketsSent != 1 {
		t.Fatalf("sent %d packets while held, want only the first", st.PacketsSent)
	}
	s.Redirect(addr(second), netip.AddrPort{}, true) // resumed, at the new address
	if err := s.Send(frame); err != nil {
		t.Fatal(err)
	}
	p2 := read(second)
	if !p2.Marker || p2.SequenceNumber != p1.SequenceNumber+1 || p2.Timestamp != p1.Timestamp+4*160 {
		t.Fatalf("after resume: marker %t seq %d (want %d) ts %d (want %d)", p2.Marker, p2.SequenceNumber, p1.SequenceNumber+1, p2.Timestamp, p1.Timestamp+4*160)
	}
	first.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := first.Read(make([]byte, 1500)); err == nil {
		t.Fatal("a packet still went to the old address")
	}
}
