package rtpstream_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/phoned/audio/rtpstream"
	"github.com/deskphone/phoned/firmware/clock"

	"github.com/deskphone/phoned/scripts/tier"
)

// Detach hands the sockets over: the old stream says BYE and stops
// reading, a new stream on the same sockets receives and sends.
func TestDetachHandsSocketsOver(t *testing.T) {
	tier.Component(t, "real UDP sockets on loopback")
	conn, rtcpConn, err := rtpstream.ListenPair(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	peer, peerRTCP := listen(t), listen(t)
	p := rtpstream.Params{Conn: conn, RTCPConn: rtcpConn, Remote: addr(peer), RemoteRTCP: addr(peerRTCP),
		PayloadType: 0, Clock: clock.Real{}, Logger: quiet}
	old, err := rtpstream.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Detach(); err != nil {
		t.Fatal(err)
	}
	// The BYE went out on the RTCP socket (RFC 3550 §6.6).
	buf := make([]byte, 1500)
	peerRTCP.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := peerRTCP.Read(buf); err != nil || n == 0 {
		t.Fatalf("no BYE from the detached stream: %v", err)
	}
	if err := old.Send(make([]int16, 160)); err == nil {
		t.Fatal("Send after Detach succeeded")
	}

	p.PayloadType = 8 // the re-INVITE changed the codec
	s, err := rtpstream.New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 1, Timestamp: 160, SSRC: 7}, Payload: make([]byte, 160)}
	b, _ := pkt.Marshal()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().PacketsReceived == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new stream receives nothing on the handed-over socket")
		}
		if _, err := peer.WriteToUDPAddrPort(b, addr(conn)); err != nil {
			t.Fatal(err)
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 160
		b, _ = pkt.Marshal()
		time.Sleep(5 * time.Millisecond)
	}
	if old.Stats().PacketsReceived != 0 {
		t.Fatal("the detached stream still reads")
	}
	if err := s.Send(make([]int16, 160)); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := peer.Read(buf)
	if err != nil || n != 172 || buf[1]&0x7F != 8 {
		t.Fatalf("new stream's packet: % x %v", buf[:n], err)
	}
}
