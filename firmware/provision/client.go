package provision

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// MaxRedirects is the number of redirects followed for one file.
const MaxRedirects = 5

// newClient builds the HTTP client for s: TLS verified against s.CA (else
// the system roots) with the client certificate when set, at most
// MaxRedirects redirects and never from https to http, and Basic/Digest
// authentication answered for the directory's host only.
func newClient(s Source, host string) (*http.Client, error) {
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
	base := &http.Transport{
		Proxy:                 nil, // a phone talks to its provisioning server directly
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	var rt http.RoundTripper = base
	if s.User != "" {
		rt = &authTransport{next: base, user: s.User, password: s.Password, host: host}
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: checkRedirect,
	}, nil
}

// checkRedirect follows at most MaxRedirects redirects and never one from
// https to http (RFC 9110 §15.4 leaves the policy to the client: a
// downgrade would hand the config, and any credentials asked for, to
// whoever can rewrite plain HTTP).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects (last to %s)", ErrRedirect, MaxRedirects, req.URL.Redacted())
	}
	prev := via[len(via)-1]
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s (%s)", ErrRedirect, req.URL.Scheme, req.URL.Redacted())
	}
	return nil
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
