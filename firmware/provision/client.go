package provision

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// MaxRedirects is the number of redirects followed for one file.
const MaxRedirects = 5

// httpClient is a small HTTP/1.1 GET client: one connection per request
// (Connection: close), TLS verified against the configured roots with the
// client certificate when set, redirects and 401 challenges handled here.
// It is not net/http's Client: http.Transport (connection pool, proxies,
// gzip, HTTP/2 glue) would add about 500 KiB to the armv7 binary, which
// has no room for it; a phone fetches two small files a day.
type httpClient struct {
	tls     *tls.Config
	timeout time.Duration
	auth    credentials
	dirHost string // host[:port] of the directory URL: the only host given credentials
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// newClient builds the client for s: TLS verified against s.CA (else the
// system roots) with the client certificate when set.
func newClient(s Source, host string) (*httpClient, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CA != "" {
		pem, err := os.ReadFile(s.CA)
		if err != nil {
			return nil, fmt.Errorf("%w: ca: %w", ErrSource, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca %s: no PEM certificate in it", ErrSource, s.CA)
		}
		tlsConf.RootCAs = pool
	}
	if (s.ClientCert == "") != (s.ClientKey == "") {
		return nil, fmt.Errorf("%w: client_cert and client_key go together (one is set, the other is not)", ErrSource)
	}
	if s.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("%w: client_cert %s / client_key %s: %w", ErrSource, s.ClientCert, s.ClientKey, err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &net.Dialer{Timeout: timeout}
	return &httpClient{tls: tlsConf, timeout: timeout, auth: credentials{user: s.User, password: s.Password},
		dirHost: host, dial: d.DialContext}, nil
}

// get fetches u, following redirects (checkRedirect) and answering one 401
// from the directory's host with credentials (authorize). The caller
// closes the body.
func (c *httpClient) get(ctx context.Context, u *url.URL, hdr http.Header) (*http.Response, error) {
	var via []*url.URL
	for {
		resp, err := c.do(ctx, u, hdr, "")
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && u.Host == c.dirHost && c.auth.user != "" {
			challenge := resp.Header.Clone()
			resp.Body.Close()
			authz, err := c.auth.authorize(challenge, http.MethodGet, u)
			if err != nil {
				return nil, err
			}
			if resp, err = c.do(ctx, u, hdr, authz); err != nil {
				return nil, err
			}
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		next, err := u.Parse(loc)
		if loc == "" || err != nil {
			return nil, fmt.Errorf("%w: %d without a usable Location", ErrRedirect, resp.StatusCode)
		}
		via = append(via, u)
		if err := checkRedirect(next, via); err != nil {
			return nil, err
		}
		u = next
	}
}

// checkRedirect follows at most MaxRedirects redirects and never one from
// https to anything else (RFC 9110 §15.4 leaves the policy to the client:
// a downgrade would hand the config, and any credentials asked for, to
// whoever can rewrite plain HTTP).
func checkRedirect(next *url.URL, via []*url.URL) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects (last to %s)", ErrRedirect, MaxRedirects, next.Redacted())
	}
	if prev := via[len(via)-1]; prev.Scheme == "https" && next.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s (%s)", ErrRedirect, next.Scheme, next.Redacted())
	}
	if next.Scheme != "http" && next.Scheme != "https" {
		return fmt.Errorf("%w: to scheme %q", ErrRedirect, clip(next.Scheme, 20))
	}
	return nil
}

// do sends one GET (RFC 9112 §3) on a new connection and reads the
// response head; the body reads from the connection and closing it closes
// the connection.
func (c *httpClient) do(ctx context.Context, u *url.URL, hdr http.Header, authz string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	conn, err := c.dial(ctx, "tcp", host)
	if err != nil {
		err = c.timedOut(ctx, err)
		cancel()
		return nil, err
	}
	// The context bounds the whole exchange, body included.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	closeAll := func() { stop(); conn.Close(); cancel() }
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var state *tls.ConnectionState
	if u.Scheme == "https" {
		conf := c.tls.Clone()
		conf.ServerName = u.Hostname()
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			err = c.timedOut(ctx, err)
			closeAll()
			return nil, err
		}
		st := tc.ConnectionState()
		state, conn = &st, tc
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", u.RequestURI(), u.Host)
	if strings.ContainsAny(u.RequestURI()+u.Host, "\r\n\x00 ") || strings.ContainsAny(authz, "\r\n\x00") {
		closeAll()
		return nil, fmt.Errorf("%w: a space or line break in the request target, Host or Authorization", ErrSource)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n\x00") { // RFC 9110 §5.5: no CR, LF or NUL in a field
				closeAll()
				return nil, fmt.Errorf("%w: header %s holds a line break", ErrSource, k)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if authz != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authz)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		err = c.timedOut(ctx, err)
		closeAll()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		err = c.timedOut(ctx, err)
		closeAll()
		return nil, err
	}
	resp.TLS = state
	resp.Body = &connBody{ReadCloser: resp.Body, close: closeAll, timedOut: func(err error) error { return c.timedOut(ctx, err) }}
	return resp, nil
}

// timedOut says "timed out" for an error caused by the deadline or a
// cancelled context, rather than "i/o timeout" or "use of closed
// network connection".
func (c *httpClient) timedOut(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: no answer within %v (provisioning timeout)", ErrTimeout, c.timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// connBody closes the connection with the body; a read that fails on the
// deadline says "timed out".
type connBody struct {
	io.ReadCloser
	close    func()
	timedOut func(error) error
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.timedOut(err)
	}
	return n, err
}

func (b *connBody) Close() error {
	err := b.ReadCloser.Close()
	b.close()
	return err
}

// tlsReason says in plain words why a TLS handshake failed, or "" when err
// is not a TLS failure.
func tlsReason(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	switch {
	case errors.As(err, &unknown):
		return "the server's certificate is signed by an unknown authority (check provisioning.ca)"
	case errors.As(err, &host):
		return fmt.Sprintf("the server's certificate is not valid for host %q (wrong host name)", host.Host)
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "the server's certificate has expired or is not yet valid (check the phone's clock)"
		}
		return "the server's certificate is not valid: " + invalid.Error()
	case errors.As(err, &verify):
		return "the server's certificate did not verify: " + verify.Err.Error()
	case errors.As(err, &alert):
		return clientCertAlert(alert.Error())
	}
	// Alerts the server sends arrive as "remote error: tls: ..." (a
	// net.OpError wrapping an unexported alert type).
	if s := err.Error(); strings.Contains(s, "remote error: tls:") {
		return clientCertAlert(s[strings.Index(s, "remote error: tls:"):])
	}
	if s := err.Error(); strings.Contains(s, "tls:") {
		return "TLS handshake failed: " + s[strings.Index(s, "tls:"):]
	}
	return ""
}

func clientCertAlert(msg string) string {
	for _, k := range []string{"certificate required", "bad certificate", "unknown certificate authority", "certificate unknown", "unsupported certificate", "certificate revoked", "certificate expired", "access denied"} {
		if strings.Contains(msg, k) {
			return "the server refused the client certificate (" + msg + "; check provisioning.client_cert)"
		}
	}
	return "the server ended the TLS handshake (" + msg + ")"
}
