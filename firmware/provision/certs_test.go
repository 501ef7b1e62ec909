package provision

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"testing"

	"github.com/deskphone/phoned/scripts/lab"
)

// testCA is scripts/lab's test CA with the paths and calls these tests use.
type testCA struct {
	*lab.TestCA
	CertPEM string // path of the CA certificate
}

func newTestCA(t testing.TB, _, name string) *testCA {
	t.Helper()
	ca := lab.NewTestCA(t, name)
	return &testCA{TestCA: ca, CertPEM: ca.CAFile}
}

// issue makes a leaf certificate for hosts (IPs or names); client says
// what it is for (lab's certificates serve both). It returns the cert and
// key paths.
func (ca *testCA) issue(t testing.TB, _, name string, _ bool, hosts ...string) (certPath, keyPath string) {
	t.Helper()
	var ips []net.IP
	var names []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	is := ca.Issue(t, name, ips, names...)
	return is.CertFile, is.KeyFile
}

func (ca *testCA) pool() *x509.CertPool { return ca.Pool() }

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func loadPair(t testing.TB, certPath, keyPath string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
