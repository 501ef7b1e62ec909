package rtpstream

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// Tap sees every RTP and RTCP packet the phone's streams send and
// receive, as they are on the wire (SRTP and SRTCP still protected), for
// a packet capture. Packet is called from the streams' send and receive
// paths: it must copy b if it keeps it, and return at once.
type Tap interface {
	Packet(sent bool, rtcp bool, local, remote netip.AddrPort, b []byte)
}

type tapBox struct{ t Tap }

// tap is process-wide: a capture takes every stream's packets. nil (the
// usual case) costs one atomic load per packet.
var tap atomic.Pointer[tapBox]

// SetTap installs t for every stream (nil removes it).
func SetTap(t Tap) {
	if t == nil {
		tap.Store(nil)
		return
	}
	tap.Store(&tapBox{t})
}

// tapped hands one packet to the tap, if any.
func tapped(sent, rtcp bool, c *net.UDPConn, remote netip.AddrPort, b []byte) {
	t := tap.Load()
	if t == nil {
		return
	}
	var local netip.AddrPort
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		local = a.AddrPort()
	}
	t.t.Packet(sent, rtcp, local, remote, b)
}
