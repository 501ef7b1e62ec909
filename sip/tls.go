package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// ErrTLS is a TLS failure: an untrusted or misnamed certificate, a failed
// handshake. Errors wrap it with %w and say what failed in plain words.
var ErrTLS = errors.New("TLS")

// TLSConfig is what SIP over TLS (RFC 3261 §26, RFC 5630) needs beyond
// Config.Transport = "tls".
type TLSConfig struct {
	// RootCAs verify the server certificates of the registrar, proxy and
	// peers; nil means the system roots.
	RootCAs *x509.CertPool
	// Certificate, when set, is offered as our client certificate and
	// served by the TLS listener; when nil the listener serves a
	// self-signed certificate made at start and no client certificate is
	// offered.
	Certificate *tls.Certificate
}

// flowDialTimeout bounds the TCP connect plus TLS handshake of a flow.
const flowDialTimeout = 10 * time.Second

// tlsState is the UA's TLS side: the client configuration, the listener on
// sip.listen's port, and the flows (RFC 5626) we opened ourselves.
type tlsState struct {
	client *tls.Config
	ln     net.Listener  // accepts peers' connections on our port
	flowLn *flowListener // hands our own connections to sipgo

	mu    sync.Mutex
	flows map[string]*flowConn // by remote address
}

// clientTLS is the client side configuration: certificates verified
// against roots, the server name set per connection (flow dial) or by
// sipgo from the destination host, TLS 1.2 at least (RFC 5630 §3.1).
func clientTLS(c TLSConfig) *tls.Config {
	conf := &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	if c.Certificate != nil {
		conf.Certificates = []tls.Certificate{*c.Certificate}
	}
	return conf
}

// serverTLS is the listener's configuration: the configured certificate,
// else a self-signed one for host.
func serverTLS(c TLSConfig, host netip.Addr) (*tls.Config, error) {
	cert := c.Certificate
	if cert == nil {
		self, err := selfSigned(host, time.Now())
		if err != nil {
			return nil, err
		}
		cert = &self
	}
	return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}, nil
}

// selfSigned makes an ECDSA P-256 certificate for host, valid for ten
// years from now, kept in memory only.
func selfSigned(host netip.Addr, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sip: TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sip: TLS serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "phoned"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if host.IsValid() && !host.IsUnspecified() {
		tmpl.IPAddresses = []net.IP{host.AsSlice()}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sip: TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// TLSError is a TLS failure in plain words ("TLS: certificate is for X,
// not Y"); errors.Is(err, ErrTLS) holds for it.
type TLSError struct{ msg string }

func (e *TLSError) Error() string        { return e.msg }
func (e *TLSError) Is(target error) bool { return target == ErrTLS }

func tlsErrorf(format string, args ...any) error {
	return &TLSError{msg: fmt.Sprintf("TLS: "+format, args...)}
}

// tlsError turns a TLS handshake failure into an ErrTLS error that says in
// plain words what was wrong; role names the far end ("registrar",
// "peer"). Other errors come back as they are.
func tlsError(role string, err error) error {
	if err == nil || errors.Is(err, ErrTLS) {
		return err
	}
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		return tlsErrorf("%s certificate not trusted (signed by unknown authority)", role)
	case errors.As(err, &name):
		return tlsErrorf("certificate is for %s, not %s", certNames(name.Certificate), name.Host)
	case errors.As(err, &invalid):
		return tlsErrorf("%s certificate invalid (%s)", role, invalid.Error())
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"):
		// TLS 1.3: the server checks our certificate after our side of the
		// handshake, and says so with an alert on the first read.
		return tlsErrorf("%s refused our client certificate (%v)", role, err)
	case errors.As(err, &alert):
		return tlsErrorf("%s refused the handshake (%v)", role, alert)
	case errors.As(err, &record):
		return tlsErrorf("%s does not speak TLS", role)
	case strings.Contains(err.Error(), "TLS handshake"), strings.Contains(err.Error(), "tls:"):
		return tlsErrorf("handshake with %s failed (%v)", role, err)
	}
	return err
}

// certNames lists the names a certificate is for: DNS SANs, IP SANs, and
// the common name when there are no SANs.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "another host"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}

// flowConn is a TLS connection we opened (a flow, RFC 5626 §3): it tells
// the UA when it closes, so registration can open a new one at once.
type flowConn struct {
	*tls.Conn
	once    sync.Once
	onClose func()
	closed  chan struct{}         // closed by Close
	readErr atomic.Pointer[error] // the first read error: a TLS alert says why the server gave up
}

func newFlowConn(c *tls.Conn) *flowConn {
	return &flowConn{Conn: c, closed: make(chan struct{})}
}

func (c *flowConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.readErr.CompareAndSwap(nil, &err)
	}
	return n, err
}

func (c *flowConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		close(c.closed)
		c.onClose()
	})
	return err
}

// failure says why the flow ended, for a request that was waiting on it.
func (c *flowConn) failure(role string) error {
	if p := c.readErr.Load(); p != nil {
		if err := tlsError(role, *p); errors.Is(err, ErrTLS) {
			return err
		}
		return fmt.Errorf("sip: %s closed the connection: %w", role, *p)
	}
	return fmt.Errorf("sip: connection to %s closed", role)
}

// flowListener hands connections we dialled to sipgo's TLS transport,
// which then reads them, answers on them and sends requests to their
// remote address over them (its connection pool is keyed by address).
type flowListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func newFlowListener(addr net.Addr) *flowListener {
	return &flowListener{conns: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (l *flowListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *flowListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *flowListener) Addr() net.Addr { return l.addr }

// hand gives c to the transport; false when the listener is closed.
func (l *flowListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// TLSAccepted is how many TLS connections peers opened to our listener
// (not counting the flows we opened): a registrar that reaches us over
// our registration flow (RFC 5626) opens none.
func (u *UA) TLSAccepted() int64 {
	if u.tls == nil {
		return 0
	}
	return u.tcpCap.accepted.Load() // the TLS listener's (ua.go)
}

// ensureFlow makes sure a TLS connection to addr is open and known to the
// transport, dialling it with serverName checked against the certificate
// (RFC 5922 §7: the host name of the URI, or the IP for an IP literal).
// role names the far end in errors.
func (u *UA) ensureFlow(ctx context.Context, addr netip.AddrPort, serverName, role string) error {
	key := addr.String()
	pool := u.sua.TransportLayer().Pool("tls")
	if pool != nil {
		if c := pool.Get(key); c != nil {
			c.TryClose() // Get took a reference
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, flowDialTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", key)
	if err != nil {
		return fmt.Errorf("sip: connect to %s %s: %w", role, key, err)
	}
	conf := u.tls.client.Clone()
	conf.ServerName = serverName // RFC 5922 §7.2: the host we meant to reach
	tc := tls.Client(raw, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return tlsError(role, err)
	}
	fc := newFlowConn(tc)
	fc.onClose = func() { u.flowClosed(key, fc) }
	u.tls.mu.Lock()
	u.tls.flows[key] = fc
	u.tls.mu.Unlock()
	if !u.tls.flowLn.hand(fc) {
		fc.Close()
		return ErrClosed
	}
	// The transport pools the connection from its accept goroutine; wait
	// until it is there so the request finds it rather than dialling anew.
	// A server that refuses our certificate (TLS 1.3: after our side of
	// the handshake) closes it at once instead.
	for deadline := time.Now().Add(time.Second); ; {
		select {
		case <-fc.closed:
			return fc.failure(role)
		default:
		}
		if c := pool.Get(key); c != nil {
			c.TryClose()
			break
		}
		if time.Now().After(deadline) {
			fc.Close()
			return fmt.Errorf("sip: TLS connection to %s %s not taken up by the transport", role, key)
		}
		time.Sleep(time.Millisecond)
	}
	u.log.Info("TLS flow open", "to", key, "server_name", serverName)
	return nil
}

// flowClosed forgets a closed flow and, when it carried our registration,
// re-registers at once so the registrar can reach us again.
func (u *UA) flowClosed(key string, fc *flowConn) {
	u.tls.mu.Lock()
	if u.tls.flows[key] == fc {
		delete(u.tls.flows, key)
	}
	u.tls.mu.Unlock()
	u.mu.Lock()
	r, closed := u.reg, u.closed
	u.mu.Unlock()
	if r == nil || closed {
		return
	}
	r.mu.Lock()
	active := r.activeT >= 0 && r.active.String() == key
	r.mu.Unlock()
	if active {
		u.log.Info("registration flow closed: re-registering", "to", key)
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// roundTripFlow is roundTrip over the TLS flow to addr: it also ends when
// the flow closes under the request (a server that refused our client
// certificate, a dropped connection), with the reason, instead of waiting
// for the transaction timeout.
func (u *UA) roundTripFlow(ctx context.Context, req *gosip.Request, addr netip.AddrPort) (*gosip.Response, error) {
	req.SetDestination(addr.String())
	u.tls.mu.Lock()
	fc := u.tls.flows[addr.String()]
	u.tls.mu.Unlock()
	if fc == nil {
		// Never let the transport dial on its own: it would check the
		// certificate against the address, not the registrar's name.
		return nil, fmt.Errorf("sip: connection to registrar %s closed", addr)
	}
	tx, err := u.cli.TransactionRequest(ctx, req, u.prebuilt)
	if err != nil {
		return nil, tlsError("registrar", err)
	}
	defer tx.Terminate()
	// Ends when the flow closes or ctx ends (the stop deadline).
	abort, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-fc.closed:
			cancel()
		case <-abort.Done():
		}
	}()
	res, aborted, err := finalOf(tx, req, abort.Done())
	if aborted {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sip: %s to %s: %w", req.Method, addr, ctx.Err())
		}
		return nil, fc.failure("registrar")
	}
	return res, err
}

// closeFlows closes the flows we opened.
func (t *tlsState) closeFlows() {
	t.mu.Lock()
	fs := make([]*flowConn, 0, len(t.flows))
	for _, f := range t.flows {
		fs = append(fs, f)
	}
	t.mu.Unlock()
	for _, f := range fs {
		f.Close()
	}
}

// contactTransport is the transport parameter of our Contact (RFC 3261
// §19.1.1) on a connection-oriented transport.
func (u *UA) contactTransport() string {
	if u.tls != nil {
		return "tls"
	}
	return "tcp"
}

// flowTo opens the TLS flow to a registrar before a REGISTER goes over it,
// checking the certificate against the registrar's host: its name, or the
// IP literal (in the certificate's IP SANs). Nothing to do without TLS.
func (u *UA) flowTo(ctx context.Context, t regTarget, addr netip.AddrPort) error {
	if u.tls == nil {
		return nil
	}
	return u.ensureFlow(ctx, addr, t.uri.Host, "registrar")
}

// flowOf is the flow a message came over: its source address when it came
// over TLS; "" otherwise.
func (u *UA) flowOf(transport, source string) string {
	if u.tls == nil || !strings.EqualFold(transport, "TLS") {
		return ""
	}
	return source
}

// overFlow pins an in-dialog request to the connection the dialog came
// over while that connection is open (RFC 5626 §5.3, sipgo issue #361):
// a peer behind a proxy that reached us over our registration flow is
// reachable only that way, and a new connection would need a certificate
// check against a host name the dialog does not carry (sipgo issue #362).
func (u *UA) overFlow(d *dialog, req *gosip.Request) {
	if d.flow == "" {
		return
	}
	pool := u.sua.TransportLayer().Pool("tls")
	if pool == nil {
		return
	}
	if c := pool.Get(d.flow); c != nil {
		c.TryClose()
		req.SetDestination(d.flow)
	}
}
