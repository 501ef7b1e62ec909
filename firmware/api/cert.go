package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of the generated certificate in the state directory.
const (
	CertFile = "api-cert.pem"
	KeyFile  = "api-key.pem"
)

// CertValidity is how long a generated certificate is valid.
const CertValidity = 10 * 365 * 24 * time.Hour

// ErrCert is wrapped by errors loading or making the API's certificate.
var ErrCert = errors.New("api certificate")

// Certificate returns the API's HTTPS certificate: from certFile and
// keyFile when they are set (api.cert, api.key), else the self-signed one
// kept in stateDir, made on first use (an ECDSA P-256 key, the files
// written 0600 and atomically) and reused after. generated tells the
// caller a new one was made. A kept pair that does not load is an error,
// not replaced: its fingerprint is what technicians trust.
func Certificate(certFile, keyFile, stateDir string, listen netip.Addr, now time.Time) (cert tls.Certificate, generated bool, err error) {
	if certFile != "" || keyFile != "" {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return cert, false, fmt.Errorf("%w: api.cert %s, api.key %s: %w", ErrCert, certFile, keyFile, err)
		}
		return cert, false, nil
	}
	cf, kf := filepath.Join(stateDir, CertFile), filepath.Join(stateDir, KeyFile)
	cert, err = tls.LoadX509KeyPair(cf, kf)
	if err == nil {
		return cert, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return cert, false, fmt.Errorf("%w: %s, %s: %w (remove both to make a new one)", ErrCert, cf, kf, err)
	}
	if _, e1 := os.Stat(cf); e1 == nil {
		return cert, false, fmt.Errorf("%w: %s is there but %s is not (remove it to make a new pair)", ErrCert, cf, kf)
	}
	certPEM, keyPEM, err := selfSigned(listen, now)
	if err != nil {
		return cert, false, fmt.Errorf("%w: %w", ErrCert, err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return cert, false, fmt.Errorf("%w: %w", ErrCert, err)
	}
	// The key first: a cert without its key is refused above, a key
	// without its cert is made again.
	if err := writeAtomic(kf, keyPEM); err != nil {
		return cert, false, fmt.Errorf("%w: %w", ErrCert, err)
	}
	if err := writeAtomic(cf, certPEM); err != nil {
		return cert, false, fmt.Errorf("%w: %w", ErrCert, err)
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return cert, false, fmt.Errorf("%w: %w", ErrCert, err)
	}
	return cert, true, nil
}

// selfSigned makes a self-signed ECDSA P-256 certificate naming
// localhost, the loopback addresses and the listen address when it is a
// specific one.
func selfSigned(listen netip.Addr, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "phoned " + host, Organization: []string{"phoned"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if listen.IsValid() && !listen.IsUnspecified() && !listen.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, listen.Unmap().AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// writeAtomic writes data to path with mode 0600: a temporary file in the
// same directory, synced, then renamed over path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as upper-case
// hex pairs joined with colons ("AB:CD:...").
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
