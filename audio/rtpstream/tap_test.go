package rtpstream

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/scripts/tier"
)

type tapRec struct {
	sent, rtcp    bool
	local, remote netip.AddrPort
	b             []byte
}

type recTap struct {
	mu   sync.Mutex
	pkts []tapRec
}

func (r *recTap) Packet(sent, rtcp bool, local, remote netip.AddrPort, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, tapRec{sent, rtcp, local, remote, bytes.Clone(b)})
}

func (r *recTap) find(sent bool) (tapRec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pkts {
		if p.sent == sent && !p.rtcp {
			return p, true
		}
	}
	return tapRec{}, false
}

// The tap sees the packets the stream sends and receives, exactly as on
// the wire, with both addresses.
func TestTapSeesBothDirections(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	rec := &recTap{}
	SetTap(rec)
	t.Cleanup(func() { SetTap(nil) })
	conn, err := Listen(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	peer := udpPeer(t)
	peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	s, err := New(Params{Conn: conn, Remote: peerAddr, PayloadType: 0, Clock: clock.Real{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := s.Send(make([]int16, s.FrameSamples())); err != nil {
		t.Fatal(err)
	}
	wire := make([]byte, 2048)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := peer.Read(wire)
	if err != nil {
		t.Fatal(err)
	}
	in := packet(t, 0, 7, 160, 42, 100, 160)
	peer.WriteToUDPAddrPort(in, local)

	deadline := time.Now().Add(10 * time.Second)
	var got, sent tapRec
	var okIn, okOut bool
	for ; time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, okIn = rec.find(false); okIn {
			break
		}
	}
	sent, okOut = rec.find(true)
	if !okOut || sent.local != local || sent.remote != peerAddr || !bytes.Equal(sent.b, wire[:n]) {
		t.Errorf("sent packet tapped: %v %+v, want %s -> %s, %d bytes", okOut, sent, local, peerAddr, n)
	}
	if !okIn || got.local != local || got.remote != peerAddr || !bytes.Equal(got.b, in) {
		t.Errorf("received packet tapped: %v %+v", okIn, got)
	}
}
