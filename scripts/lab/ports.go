package lab

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Ports handed to peers come from below Linux's ephemeral range
// (32768-60999), so a socket bound to port 0 by another test (ours or a
// parallel package's) cannot take a port between our probe and the peer's
// bind. The RTP ranges used by the firmware's tests (20000-30000) are kept
// clear too.
const (
	portLow  = 10000
	portHigh = 19999
	// Media ports given to baresip and SIPp.
	rtpLow  = 40000
	rtpHigh = 44999
)

var (
	portsMu sync.Mutex
	given   = map[int]bool{}
)

// FreePort returns a port on 127.0.0.1 where UDP and TCP are both free
// for span consecutive ports (span 1 for one port; baresip needs 2 because it
// binds PORT+1 for TLS). Ports are never handed out twice in one process.
func FreePort(span int) (int, error) {
	if span < 1 {
		span = 1
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for try := 0; try < 200; try++ {
		base := portLow + rand.IntN(portHigh-portLow-span)
		if probe(base, span) {
			for i := range span {
				given[base+i] = true
			}
			return base, nil
		}
	}
	return 0, fmt.Errorf("lab: %w: no %d free consecutive ports in %d-%d", ErrStart, span, portLow, portHigh)
}

func probe(base, span int) bool {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for p := base; p < base+span; p++ {
		if given[p] {
			return false
		}
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			return false
		}
		closers = append(closers, u.Close)
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			return false
		}
		closers = append(closers, l.Close)
	}
	return true
}
