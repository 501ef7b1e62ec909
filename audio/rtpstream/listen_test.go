package rtpstream

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/deskphone/phoned/scripts/tier"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// freeRange finds a run of n free ports starting at an even port, by
// binding them; the caller closes the returned sockets to free them.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for base := 40000; base < 60000; base += 64 {
		var held []*net.UDPConn
		ok := true
		for p := base; p < base+n; p++ {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base
		}
	}
	t.Skip("no free port range on loopback")
	return 0
}

func port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

func TestListenEvenAndSkipsBusy(t *testing.T) {
	tier.Component(t, "real sockets on loopback, in real time")
	base := freeRange(t, 8)
	// An odd lower bound starts at the next even port.
	a, err := Listen(loopback, base+1, base+7)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if port(a) != base+2 {
		t.Fatalf("port %d, want %d", port(a), base+2)
	}
	// The next call skips the busy port.
	b, err := Listen(loopback, base+1, base+7)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if port(b) != base+4 {
		t.Fatalf("port %d, want %d", port(b), base+4)
	}
	c, err := Listen(loopback, base+1, base+7)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// base+6's RTCP partner base+7 is in range; now the range is exhausted.
	if port(c) != base+6 {
		t.Fatalf("port %d, want %d", port(c), base+6)
	}
	_, err = Listen(loopback, base+1, base+7)
	if !errors.Is(err, ErrNoPort) {
		t.Fatalf("exhausted range: %v", err)
	}
}

func TestListenBadRange(t *testing.T) {
	for _, r := range [][2]int{{0, 10}, {5000, 4000}, {1, 70000}, {5001, 5002}, {5000, 5000}} {
		if _, err := Listen(loopback, r[0], r[1]); !errors.Is(err, ErrPortRange) {
			t.Errorf("range %v: %v", r, err)
		}
	}
	if _, err := Listen(netip.Addr{}, 5000, 5010); !errors.Is(err, ErrPortRange) {
		t.Errorf("no address: %v", err)
	}
	// Not busy but unusable (an address this host does not have): reported, not skipped.
	if _, err := Listen(netip.MustParseAddr("192.0.2.1"), 40000, 40010); err == nil || errors.Is(err, ErrNoPort) {
		t.Errorf("foreign address: %v", err)
	}
}
