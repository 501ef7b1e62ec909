package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SIP over TLS (RFC 3261 §26, RFC 5630): sip.transport = "tls", or a
// sips: registrar, backup registrar or outbound proxy; sip.ca,
// sip.client_cert and sip.client_key name PEM files, read and checked when
// the config is loaded so a bad file is refused with its key and line, not
// found at the first call.

// maxPEM bounds a certificate or key file (a CA bundle of a few hundred
// certificates fits).
const maxPEM = 1 << 20

func hasSIPSScheme(s string) bool { return len(s) >= 5 && strings.EqualFold(s[:5], "sips:") }

// SIPTransport is the transport the phone uses: "tls" when sip.transport
// says so or when the registrar, a backup registrar or the outbound proxy
// is a sips: URI (which means TLS on every hop, RFC 3261 §19.1; a sips:
// server never makes the phone use less), else sip.transport.
func (c *Config) SIPTransport() string {
	servers := append([]string{c.Account.Registrar, c.Account.OutboundProxy}, c.Account.BackupRegistrars...)
	for _, s := range servers {
		if hasSIPSScheme(s) {
			return "tls"
		}
	}
	return c.SIP.Transport
}

// absPaths makes the TLS file paths absolute against dir ("" leaves them).
func (s *SIP) absPaths(dir string) {
	if dir == "" {
		return
	}
	for _, p := range []*string{&s.CA, &s.ClientCert, &s.ClientKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// SIPTLS reads sip.ca (nil pool: the system roots) and the client
// certificate sip.client_cert + sip.client_key (nil when not set).
func (c *Config) SIPTLS() (*x509.CertPool, *tls.Certificate, error) {
	var roots *x509.CertPool
	if c.SIP.CA != "" {
		var err error
		if roots, err = loadCA(c.SIP.CA); err != nil {
			return nil, nil, fmt.Errorf("sip.ca: %w", err)
		}
	}
	if c.SIP.ClientCert == "" && c.SIP.ClientKey == "" {
		return roots, nil, nil
	}
	cert, err := loadPair(c.SIP.ClientCert, c.SIP.ClientKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sip.client_cert: %w", err)
	}
	return roots, cert, nil
}

var errNoCert = errors.New("no PEM certificate in it")

func readPEM(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPEM)
	}
	return b, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	b, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: %w", path, errNoCert)
	}
	return pool, nil
}

// loadPair reads a certificate and its key. Its errors never quote the
// key file's content.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cb, err := readPEM(certFile)
	if err != nil {
		return nil, err
	}
	kb, err := readPEM(keyFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(cb, kb)
	if err != nil {
		return nil, fmt.Errorf("%s and %s do not make a certificate and its key: %s", certFile, keyFile, pemReason(err))
	}
	return &pair, nil
}

// pemReason words crypto/tls's key pair errors without the file content.
func pemReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to find any PEM data in certificate"):
		return "no PEM certificate in the certificate file"
	case strings.Contains(msg, "failed to find any PEM data in key"), strings.Contains(msg, "failed to find \"PRIVATE KEY\""):
		return "no PEM private key in the key file"
	case strings.Contains(msg, "does not match"):
		return "the key does not match the certificate"
	case strings.Contains(msg, "failed to parse private key"), strings.Contains(msg, "unknown private key type"):
		return "the private key does not parse"
	}
	return "they do not parse"
}

// tlsFiles checks sip.ca, sip.client_cert and sip.client_key: both of the
// pair or neither, every file readable and parsing.
func (v *validator) tlsFiles(c *Config) {
	s := c.SIP
	if s.CA != "" {
		if _, err := loadCA(s.CA); err != nil {
			v.fail([]string{"sip", "ca"}, "%v", err)
		}
	}
	switch {
	case s.ClientCert == "" && s.ClientKey == "":
	case s.ClientCert == "":
		v.fail([]string{"sip", "client_key"}, "needs sip.client_cert too")
	case s.ClientKey == "":
		v.fail([]string{"sip", "client_cert"}, "needs sip.client_key too")
	default:
		if _, err := loadPair(s.ClientCert, s.ClientKey); err != nil {
			v.fail([]string{"sip", "client_cert"}, "%v", err)
		}
	}
}
