package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/phoned/scripts/lab"
)

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "phoned.toml")
	if err := os.WriteFile(path, []byte("schema = 1\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The TLS files load relative to the config file, and SIPTLS hands back
// the pool and the pair.
func TestSIPTLSFilesLoad(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	cert := ca.Issue(t, "phone", lab.Loopback())
	path := writeConfig(t, ca.Dir, "[sip]\ntransport = \"tls\"\nca = \""+filepath.Base(ca.CAFile)+
		"\"\nclient_cert = \""+filepath.Base(cert.CertFile)+"\"\nclient_key = \""+filepath.Base(cert.KeyFile)+"\"\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.CA != ca.CAFile || c.SIP.ClientCert != cert.CertFile {
		t.Fatalf("paths %q %q, want absolute against the config's folder", c.SIP.CA, c.SIP.ClientCert)
	}
	roots, pair, err := c.SIPTLS()
	if err != nil || roots == nil || pair == nil {
		t.Fatalf("SIPTLS: %v %v %v", roots, pair, err)
	}
}

// Bad TLS files are refused at load, naming file, line and key; the key
// file's content never appears.
func TestSIPTLSFilesRefused(t *testing.T) {
	ca := lab.NewTestCA(t, "test")
	cert := ca.Issue(t, "phone", lab.Loopback())
	other := ca.Issue(t, "other", lab.Loopback())
	garbage := filepath.Join(ca.Dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("MARKER-not-a-pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"ca missing", "[sip]\nca = \"nope.pem\"\n", "phoned.toml:3: sip.ca: open " + filepath.Join(ca.Dir, "nope.pem") + ": no such file or directory"},
		{"ca garbage", "[sip]\nca = \"garbage.pem\"\n", "phoned.toml:3: sip.ca: " + garbage + ": no PEM certificate in it"},
		{"cert without key", "[sip]\nclient_cert = \"" + cert.CertFile + "\"\n", "phoned.toml:3: sip.client_cert: needs sip.client_key too"},
		{"key without cert", "[sip]\nclient_key = \"" + cert.KeyFile + "\"\n", "phoned.toml:3: sip.client_key: needs sip.client_cert too"},
		{"key mismatch", "[sip]\nclient_cert = \"" + cert.CertFile + "\"\nclient_key = \"" + other.KeyFile + "\"\n", "the key does not match the certificate"},
		{"key garbage", "[sip]\nclient_cert = \"" + cert.CertFile + "\"\nclient_key = \"garbage.pem\"\n", "no PEM private key in the key file"},
		{"sips registrar", "[account]\nregistrar = \"sips:pbx example\"\n", "account.registrar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, ca.Dir, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "MARKER") {
				t.Fatalf("error quotes a file's content: %v", err)
			}
		})
	}
}

// A sips: server means TLS whatever sip.transport says (RFC 3261 §19.1).
func TestSipsImpliesTLS(t *testing.T) {
	c, err := Parse("phoned.toml", []byte("schema = 1\n[sip]\ntransport = \"udp\"\n[account]\nregistrar = \"sips:127.0.0.1:5061\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPTransport() != "tls" || c.RegistrarURI() != "sips:127.0.0.1:5061" {
		t.Fatalf("transport %q registrar %q", c.SIPTransport(), c.RegistrarURI())
	}
	c, err = Parse("phoned.toml", []byte("schema = 1\n[sip]\ntransport = \"tls\"\n"))
	if err != nil || c.SIPTransport() != "tls" {
		t.Fatalf("tls: %v", err)
	}
}
