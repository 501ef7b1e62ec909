package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// First start makes an ECDSA P-256 pair, 0600, in the state directory;
// the next start reuses it (same fingerprint).
func TestCertificateGeneratedAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // made on demand
	c1, gen, err := Certificate("", "", dir, netip.MustParseAddr("192.0.2.7"), now)
	if err != nil || !gen {
		t.Fatalf("first: generated %v, %v", gen, err)
	}
	for _, f := range []string{CertFile, KeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	x, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := x.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key %T, want ECDSA P-256", x.PublicKey)
	}
	if err := x.VerifyHostname("192.0.2.7"); err != nil {
		t.Errorf("certificate does not name the listen address: %v", err)
	}
	if err := x.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not name loopback: %v", err)
	}
	if !x.NotBefore.Before(now) || !x.NotAfter.After(now.Add(5*365*24*time.Hour)) {
		t.Errorf("validity %v..%v", x.NotBefore, x.NotAfter)
	}
	c2, gen, err := Certificate("", "", dir, netip.MustParseAddr("192.0.2.7"), now.Add(time.Hour))
	if err != nil || gen {
		t.Fatalf("second: generated %v, %v", gen, err)
	}
	if Fingerprint(c1.Certificate[0]) != Fingerprint(c2.Certificate[0]) {
		t.Fatal("second start made a new certificate")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("state dir holds %d files, want 2 (no temporaries left)", len(entries))
	}
}

func TestCertificateFromConfig(t *testing.T) {
	dir := t.TempDir()
	made, _, err := Certificate("", "", dir, netip.Addr{}, now)
	if err != nil {
		t.Fatal(err)
	}
	// api.cert/api.key name files elsewhere: used as they are.
	other := t.TempDir()
	cf, kf := filepath.Join(other, "c.pem"), filepath.Join(other, "k.pem")
	os.Rename(filepath.Join(dir, CertFile), cf)
	os.Rename(filepath.Join(dir, KeyFile), kf)
	got, gen, err := Certificate(cf, kf, dir, netip.Addr{}, now)
	if err != nil || gen || Fingerprint(got.Certificate[0]) != Fingerprint(made.Certificate[0]) {
		t.Fatalf("from config: %v generated %v", err, gen)
	}
	if _, err := os.Stat(filepath.Join(dir, CertFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a certificate was made although api.cert is set")
	}
	if _, _, err := Certificate(filepath.Join(other, "missing.pem"), kf, dir, netip.Addr{}, now); !errors.Is(err, ErrCert) {
		t.Fatalf("missing api.cert: %v", err)
	}
}

// A kept pair that does not load is refused, not replaced (its
// fingerprint is what technicians trust); a key alone is made again.
func TestCertificateDamaged(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Certificate("", "", dir, netip.Addr{}, now); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, CertFile), []byte("not PEM"), 0o600)
	if _, _, err := Certificate("", "", dir, netip.Addr{}, now); !errors.Is(err, ErrCert) {
		t.Fatalf("damaged cert: %v", err)
	}
	os.Remove(filepath.Join(dir, KeyFile))
	if _, _, err := Certificate("", "", dir, netip.Addr{}, now); !errors.Is(err, ErrCert) {
		t.Fatalf("cert without key: %v", err)
	}
	os.Remove(filepath.Join(dir, CertFile))
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("stale"), 0o600)
	if _, gen, err := Certificate("", "", dir, netip.Addr{}, now); err != nil || !gen {
		t.Fatalf("key without cert: generated %v, %v", gen, err)
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]byte("x"))
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q", fp)
	}
	if fp != "2D:71:16:42:B7:26:B0:44:01:62:7C:A9:FB:AC:32:F5:C8:53:0F:B1:90:3C:C4:DB:02:25:87:17:92:1A:48:81" {
		t.Fatalf("fingerprint %q is not SHA-256 of the bytes", fp)
	}
}
