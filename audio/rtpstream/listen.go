package rtpstream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

var (
	// ErrPortRange is returned for a port range that cannot hold an RTP/RTCP pair.
	ErrPortRange = errors.New("rtpstream: bad port range")
	// ErrNoPort is returned when every even port in the range is in use.
	ErrNoPort = errors.New("rtpstream: no free RTP port")
)

// Listen binds a UDP socket on ip at the first free even port p in
// [portMin, portMax] such that p+1 (its RTCP port, RFC 3550 §11: "RTP
// SHOULD use an even destination port number and the corresponding RTCP
// stream SHOULD use the next higher (odd) destination port number") is in
// the range too. Busy ports are skipped; any other bind error is returned.
func Listen(ip netip.Addr, portMin, portMax int) (*net.UDPConn, error) {
	rtp, _, err := listen(ip, portMin, portMax, false)
	return rtp, err
}

// ListenPair is Listen that also binds the RTCP socket on p+1, skipping
// pairs of which either port is busy.
func ListenPair(ip netip.Addr, portMin, portMax int) (rtp, rtcp *net.UDPConn, err error) {
	return listen(ip, portMin, portMax, true)
}

func listen(ip netip.Addr, portMin, portMax int, pair bool) (rtp, rtcp *net.UDPConn, err error) {
	if !ip.IsValid() {
		return nil, nil, fmt.Errorf("%w: no address", ErrPortRange)
	}
	if portMin < 1 || portMax > 65535 || portMin > portMax {
		return nil, nil, fmt.Errorf("%w: %d-%d", ErrPortRange, portMin, portMax)
	}
	first := portMin + portMin&1
	if first+1 > portMax {
		return nil, nil, fmt.Errorf("%w: %d-%d holds no even port with its odd RTCP partner", ErrPortRange, portMin, portMax)
	}
	bind := func(p int) (*net.UDPConn, bool, error) {
		addr := netip.AddrPortFrom(ip, uint16(p))
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		if err == nil {
			return c, true, nil
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("rtpstream: listen %v: %w", addr, err)
	}
	for p := first; p+1 <= portMax; p += 2 {
		c, ok, err := bind(p)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		if !pair {
			return c, nil, nil
		}
		r, ok, err := bind(p + 1)
		if ok {
			return c, r, nil
		}
		c.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("%w: every even port in %v %d-%d is in use", ErrNoPort, ip, portMin, portMax)
}
