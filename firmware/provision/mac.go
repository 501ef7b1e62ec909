package provision

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// RouteFile is the kernel's IPv4 routing table.
const RouteFile = "/proc/net/route"

// DefaultMAC is the MAC address of the interface that holds the IPv4
// default route (the lowest metric in /proc/net/route), as 12 lower-case
// hex digits: the {mac} of the provisioning URL.
func DefaultMAC() (string, error) {
	f, err := os.Open(RouteFile)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoMAC, err)
	}
	defer f.Close()
	name, err := defaultRouteIface(f)
	if err != nil {
		return "", err
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return "", fmt.Errorf("%w: interface %s of the default route: %w", ErrNoMAC, name, err)
	}
	return FormatMAC(ifi.HardwareAddr, name)
}

// FormatMAC writes a 6-byte hardware address as 12 lower-case hex digits.
func FormatMAC(hw net.HardwareAddr, iface string) (string, error) {
	if len(hw) != 6 {
		return "", fmt.Errorf("%w: interface %s has no 6-byte hardware address (%d bytes)", ErrNoMAC, iface, len(hw))
	}
	return hex.EncodeToString(hw), nil
}

// defaultRouteIface reads /proc/net/route (columns: Iface Destination
// Gateway Flags RefCnt Use Metric Mask ...; addresses in host-order hex)
// and returns the interface of the up default route with the lowest metric.
func defaultRouteIface(r io.Reader) (string, error) {
	const rtfUp = 0x1
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	best, bestMetric := "", int64(-1)
	first := true
	for sc.Scan() {
		if first { // header line
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseInt(f[6], 10, 64)
		if err1 != nil || err2 != nil || flags&rtfUp == 0 || metric < 0 {
			continue
		}
		if bestMetric < 0 || metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no IPv4 default route in %s (set provisioning.mac)", ErrNoMAC, RouteFile)
	}
	return best, nil
}
