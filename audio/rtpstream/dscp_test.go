package rtpstream

import (
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/deskphone/phoned/scripts/tier"
)

func TestSetDSCP(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	for _, ip := range []string{"127.0.0.1", "::1"} {
		c, err := Listen(netip.MustParseAddr(ip), 30000, 39999)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := SetDSCP(c, DefaultDSCP); err != nil {
			t.Fatalf("%s: %v", ip, err)
		}
		level, opt := syscall.IPPROTO_IP, syscall.IP_TOS
		if netip.MustParseAddr(ip).Is6() {
			level, opt = syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS
		}
		if got := sockopt(t, c, level, opt); got != 46<<2 {
			t.Fatalf("%s: TOS/TCLASS %#x, want %#x (EF)", ip, got, 46<<2)
		}
	}
	c, _ := Listen(netip.MustParseAddr("127.0.0.1"), 30000, 39999)
	defer c.Close()
	if err := SetDSCP(c, 64); err == nil {
		t.Fatal("DSCP 64 accepted")
	}
}

func sockopt(t *testing.T, c *net.UDPConn, level, opt int) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	raw.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}
