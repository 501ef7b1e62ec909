package api

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"github.com/deskphone/phoned/scripts/tier"
)

func TestServerLimits(t *testing.T) {
	s := Server(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Fatalf("server without a limit: %+v", s)
	}
}

func TestNetwork(t *testing.T) {
	for ap, want := range map[string]string{"0.0.0.0:1": "tcp4", "127.0.0.1:1": "tcp4", "[::ffff:10.0.0.1]:1": "tcp4", "[::]:1": "tcp6", "[::1]:1": "tcp6"} {
		if got := Network(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("Network(%s) = %s, want %s", ap, got, want)
		}
	}
}

// An IPv4 wildcard listens on IPv4 only: [::1] on its port is refused.
func TestListenIPv4OnlyOnWildcard(t *testing.T) {
	tier.Component(t, "binds a real socket")
	ln, err := Listen(netip.MustParseAddrPort("0.0.0.0:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c, err := net.Dial("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String())
	if err != nil {
		t.Fatalf("IPv4 loopback: %v", err)
	}
	c.Close()
	if c, err := net.Dial("tcp6", netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port)).String()); err == nil {
		c.Close()
		t.Fatal("0.0.0.0 also took an IPv6 connection")
	}
}

// At most n connections are held: the n+1th waits for one to close.
func TestLimitListener(t *testing.T) {
	tier.Component(t, "real loopback connections")
	raw, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(raw, 2).(*limitListener)
	defer ln.Close()
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp4", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for range 2 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Full: a third Accept could not take a slot now.
	select {
	case ln.sem <- struct{}{}:
		t.Fatal("a third slot was free with 2 connections held")
	default:
	}
	held[0].Close()
	held[0].Close() // a second Close frees nothing more
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(ln.sem) != 2 {
		t.Fatalf("%d slots taken, want 2", len(ln.sem))
	}
	// Close wakes an Accept waiting for a slot.
	done := make(chan error)
	go func() { _, err := ln.Accept(); done <- err }()
	ln.Close()
	if err := <-done; err == nil {
		t.Fatal("Accept after Close returned a connection")
	}
}

// Listen bounds the connections (the limit is not only a helper).
func TestListenIsLimited(t *testing.T) {
	tier.Component(t, "binds a real socket")
	ln, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l, ok := ln.(*limitListener)
	if !ok || cap(l.sem) != MaxConns {
		t.Fatalf("Listen gave %T, want a listener limited to %d connections", ln, MaxConns)
	}
}
