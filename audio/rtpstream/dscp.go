package rtpstream

import (
	"fmt"
	"net"
	"syscall"
)

// DefaultDSCP is Expedited Forwarding (RFC 3246, RFC 4594 §4.1: telephony).
const DefaultDSCP = 46

// SetDSCP marks the packets conn sends with the DiffServ code point dscp
// (0-63): the IPv4 TOS byte or the IPv6 traffic class, dscp<<2 (RFC 2474
// §3), so switches and routers can queue voice ahead of bulk traffic.
func SetDSCP(conn *net.UDPConn, dscp int) error {
	if dscp < 0 || dscp > 63 {
		return fmt.Errorf("rtpstream: DSCP %d out of range 0-63", dscp)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("rtpstream: DSCP: %w", err)
	}
	level, opt := syscall.IPPROTO_IP, syscall.IP_TOS
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		level, opt = syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), level, opt, dscp<<2)
	}); err != nil {
		return fmt.Errorf("rtpstream: DSCP: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("rtpstream: DSCP %d: %w", dscp, serr)
	}
	return nil
}
