package api

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Server limits: a client that holds connections open or sends slowly
// cannot tie the API up.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 10 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 16 << 10
	// MaxConns bounds the connections open at once: past it new ones
	// wait in the kernel's accept queue, so no file descriptors are spent
	// on them.
	MaxConns = 32
)

// Server returns an http.Server for h with the timeouts above; its TLS
// handshakes are bounded by them too.
func Server(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Network is the network to listen on for ap: "tcp4" for an IPv4 address
// (0.0.0.0 then does not take IPv6 connections too), "tcp6" for IPv6
// (which Go binds IPv6-only).
func Network(ap netip.AddrPort) string {
	if ap.Addr().Unmap().Is4() {
		return "tcp4"
	}
	return "tcp6"
}

// Listen listens on ap, at most MaxConns connections at once, with TLS
// when tlsCfg is not nil.
func Listen(ap netip.AddrPort, tlsCfg *tls.Config) (net.Listener, error) {
	a := ap.Addr()
	if a.Is4In6() {
		ap = netip.AddrPortFrom(a.Unmap(), ap.Port())
	}
	ln, err := net.Listen(Network(ap), ap.String())
	if err != nil {
		return nil, err
	}
	ln = LimitListener(ln, MaxConns)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	return ln, nil
}

// TLSConfig serves cert with TLS 1.2 or later.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// LimitListener returns a listener that holds at most n accepted
// connections open at once (like golang.org/x/net/netutil, which is not a
// dependency): Accept waits for one to close.
func LimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
