package provision

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// TestNginxMTLS fetches both files from nginx over HTTPS with
// `ssl_verify_client on`, with a test CA made here.
func TestNginxMTLS(t *testing.T) {
	tier.Interop(t, "nginx")
	dir := t.TempDir()
	ca := newTestCA(t, dir, "prov")
	foreign := newTestCA(t, dir, "foreign")
	srvCert, srvKey := ca.issue(t, dir, "server", false, "127.0.0.1")
	cliCert, cliKey := ca.issue(t, dir, "client", true)
	badCert, badKey := foreign.issue(t, dir, "foreign-client", true)
	root := filepath.Join(dir, "www", "phones")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "common.toml"), []byte("schema = 1\n"), 0o644)
	os.WriteFile(filepath.Join(root, testMAC+".toml"), []byte("schema = 1\n# mac\n"), 0o644)
	ng := lab.StartNginx(t, dir, lab.NginxOptions{Root: filepath.Join(dir, "www"), CertFile: srvCert, KeyFile: srvKey, ClientCA: ca.CertPEM})

	src := testSource(ng.URL() + "/phones/")
	src.CA, src.ClientCert, src.ClientKey = ca.CertPEM, cliCert, cliKey
	f := newTestFetcher(t, src)
	r, err := fetch(t, f)
	if err != nil {
		t.Fatalf("mTLS fetch: %v", err)
	}
	if strings.Join(names(r), ",") != "common.toml,"+testMAC+".toml" || string(r.Files[1].Data) != "schema = 1\n# mac\n" {
		t.Fatalf("files %v", names(r))
	}
	if r.Files[0].ETag == "" {
		t.Fatal("nginx sent no ETag")
	}
	f.Applied(r)
	r2, err := fetch(t, f)
	if err != nil || !r2.Unchanged {
		t.Fatalf("second fetch: %v unchanged=%v, want unchanged", err, r2.Unchanged)
	}
	if log, ok := ng.WaitAccessLog(func(l string) bool { return strings.Count(l, "\" 304 ") == 2 }, 5*time.Second); !ok {
		t.Fatalf("want two 304s in nginx's access log:\n%s", log)
	}

	for _, tc := range []struct {
		name string
		mod  func(*Source)
		want string
	}{
		{"no client certificate", func(s *Source) { s.ClientCert, s.ClientKey = "", "" }, "the server refused the client certificate"},
		{"client certificate of a foreign CA", func(s *Source) { s.ClientCert, s.ClientKey = badCert, badKey }, "the server refused the client certificate"},
		{"server CA not the one configured", func(s *Source) { s.CA = foreign.CertPEM }, "signed by an unknown authority"},
	} {
		s := src
		tc.mod(&s)
		_, err := fetch(t, newTestFetcher(t, s))
		if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "common.toml") {
			t.Errorf("%s: %v, want ErrTLS naming common.toml and saying %q", tc.name, err, tc.want)
		}
	}
}

// TestApacheDigest fetches through Apache's mod_auth_digest.
func TestApacheDigest(t *testing.T) {
	tier.Interop(t, "apache2")
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, testMAC+".toml"), []byte("schema = 1\n"), 0o644)
	ap := lab.StartApache(t, dir, lab.ApacheOptions{Root: root, Users: map[string]string{"admin": testPassword}})

	src := testSource(ap.URL())
	src.User, src.Password = "admin", testPassword
	r, err := fetch(t, newTestFetcher(t, src))
	if err != nil || strings.Join(names(r), ",") != testMAC+".toml" {
		t.Fatalf("right password: %v %v", names(r), err)
	}
	src.Password = "not-" + testPassword
	_, err = fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "common.toml") {
		t.Fatalf("wrong password: %v, want a 401 ErrAuth naming the file", err)
	}
	src.User, src.Password = "", ""
	if _, err = fetch(t, newTestFetcher(t, src)); !errors.Is(err, ErrAuth) {
		t.Fatalf("no credentials: %v", err)
	}
}
