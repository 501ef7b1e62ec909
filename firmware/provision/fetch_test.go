package provision

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/config"
	"github.com/deskphone/phoned/scripts/tier"
)

const (
	testMAC      = "001122334455"
	testPassword = "Secr3t-MARKER-pw"
)

// fileServer serves files under /prov/ with ETags, and records requests.
type fileServer struct {
	mu       sync.Mutex
	files    map[string][]byte // by name under /prov/
	noETag   bool
	requests []*http.Request
}

func (s *fileServer) set(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == nil {
		delete(s.files, name)
		return
	}
	s.files[name] = data
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	data, ok := s.files[strings.TrimPrefix(r.URL.Path, "/prov/")]
	noETag := s.noETag
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !noETag {
		sum := sha256.Sum256(data)
		tag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Write(data)
}

func (s *fileServer) seen() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

func newFileServer(files map[string][]byte) *fileServer {
	if files == nil {
		files = map[string][]byte{}
	}
	return &fileServer{files: files}
}

func testSource(url string) Source {
	return Source{URL: url, MAC: testMAC, Model: "sim", Version: "1.2.3", Timeout: 10 * time.Second}
}

func newTestFetcher(t *testing.T, src Source) *Fetcher {
	t.Helper()
	f, err := NewFetcher(src, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// noPassword fails the test when err mentions the password.
func noPassword(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error shows the password: %v", err)
	}
}

func fetch(t *testing.T, f *Fetcher) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := f.Fetch(ctx)
	noPassword(t, err)
	return r, err
}

func names(r Result) []string {
	var n []string
	for _, f := range r.Files {
		n = append(n, f.Name)
	}
	return n
}

func TestFetchBothFilesInOrder(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	fs := newFileServer(map[string][]byte{"common.toml": []byte("schema = 1\n"), testMAC + ".toml": []byte("schema = 1\n# mac\n")})
	srv := httptest.NewServer(fs)
	defer srv.Close()
	f := newTestFetcher(t, testSource(srv.URL+"/prov"))
	r, err := fetch(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(r), ","); got != "common.toml,"+testMAC+".toml" {
		t.Fatalf("files %s, want common first, then the MAC file", got)
	}
	if r.Unchanged {
		t.Fatal("first fetch reported unchanged")
	}
	if r.Files[1].Hash != sha256.Sum256([]byte("schema = 1\n# mac\n")) || string(r.Files[1].Data) != "schema = 1\n# mac\n" {
		t.Fatal("MAC file data or hash wrong")
	}
	if r.Files[0].URL != srv.URL+"/prov/common.toml" {
		t.Fatalf("URL %s", r.Files[0].URL)
	}
	for _, req := range fs.seen() {
		if ua := req.Header.Get("User-Agent"); ua != "phoned/1.2.3 (sim; 001122334455)" {
			t.Fatalf("User-Agent %q", ua)
		}
	}
}

func TestFetchEitherFileMayBeAbsentNotBoth(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	fs := newFileServer(map[string][]byte{"common.toml": []byte("a")})
	srv := httptest.NewServer(fs)
	defer srv.Close()
	f := newTestFetcher(t, testSource(srv.URL+"/prov/"))
	if r, err := fetch(t, f); err != nil || strings.Join(names(r), ",") != "common.toml" {
		t.Fatalf("common only: %v %v", names(r), err)
	}
	fs.set("common.toml", nil)
	fs.set(testMAC+".toml", []byte("b"))
	if r, err := fetch(t, f); err != nil || strings.Join(names(r), ",") != testMAC+".toml" {
		t.Fatalf("MAC only: %v %v", names(r), err)
	}
	fs.set(testMAC+".toml", nil)
	_, err := fetch(t, f)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), srv.URL+"/prov/common.toml") || !strings.Contains(err.Error(), srv.URL+"/prov/"+testMAC+".toml") {
		t.Fatalf("neither: %v, want ErrNotFound naming both URLs", err)
	}
}

func TestFetchErrors(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	mux := http.NewServeMux()
	mux.HandleFunc("/500/common.toml", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<title>Oops</title>", http.StatusInternalServerError)
	})
	mux.HandleFunc("/big/common.toml", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("#", config.MaxSize+1)))
	})
	mux.HandleFunc("/max/common.toml", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("#", config.MaxSize)))
	})
	var loops atomic.Int32
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		loops.Add(1)
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		dir  string
		want error
		text string
	}{
		{"500", ErrStatus, "/500/common.toml: unexpected HTTP status: 500 Internal Server Error (Oops)"},
		{"big", ErrTooLarge, "/big/common.toml: file too large: more than 1048576 bytes"},
		{"loop", ErrRedirect, "/loop/common.toml: refused redirect: more than 5 redirects"},
	} {
		_, err := fetch(t, newTestFetcher(t, testSource(srv.URL+"/"+tc.dir)))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v with %q", tc.dir, err, tc.want, tc.text)
		}
	}
	if n := loops.Load(); n != 1+MaxRedirects {
		t.Errorf("the redirect loop was asked %d times, want 1 + %d redirects", n, MaxRedirects)
	}
	r, err := fetch(t, newTestFetcher(t, testSource(srv.URL+"/max")))
	if err != nil || len(r.Files[0].Data) != config.MaxSize {
		t.Fatalf("a file of exactly MaxSize: %v", err)
	}
}

func TestRedirectHTTPSToHTTPRefused(t *testing.T) {
	tier.Component(t, "HTTPS over loopback")
	plain := httptest.NewServer(newFileServer(map[string][]byte{"common.toml": []byte("plain")}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/prov/"+strings.TrimPrefix(r.URL.Path, "/d/"), http.StatusMovedPermanently)
	}))
	defer tlsSrv.Close()
	src := testSource(tlsSrv.URL + "/d/")
	src.CA = serverCAFile(t, tlsSrv)
	_, err := fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "from https to http") {
		t.Fatalf("301 to http: %v, want ErrRedirect from https to http", err)
	}
	// An http -> http redirect is followed.
	hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/prov/"+strings.TrimPrefix(r.URL.Path, "/d/"), http.StatusMovedPermanently)
	}))
	defer hop.Close()
	r, err := fetch(t, newTestFetcher(t, testSource(hop.URL+"/d/")))
	if err != nil || string(r.Files[0].Data) != "plain" {
		t.Fatalf("http redirect: %v", err)
	}
}

// serverCAFile writes an httptest TLS server's certificate as a CA file.
func serverCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, p, "CERTIFICATE", srv.Certificate().Raw)
	return p
}

func TestETagAndHashMakeUnchanged(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	fs := newFileServer(map[string][]byte{"common.toml": []byte("one"), testMAC + ".toml": []byte("mac")})
	srv := httptest.NewServer(fs)
	defer srv.Close()
	f := newTestFetcher(t, testSource(srv.URL+"/prov"))
	r1, err := fetch(t, f)
	if err != nil || r1.Unchanged {
		t.Fatalf("first: %v unchanged=%v", err, r1.Unchanged)
	}
	// Not applied yet: the same files are not "unchanged" (the caller
	// refused or has not applied them).
	if r, err := fetch(t, f); err != nil || r.Unchanged {
		t.Fatalf("before Applied: %v unchanged=%v", err, r.Unchanged)
	}
	f.Applied(r1)
	before := len(fs.seen())
	r2, err := fetch(t, f)
	if err != nil || !r2.Unchanged {
		t.Fatalf("after Applied: %v unchanged=%v, want unchanged", err, r2.Unchanged)
	}
	reqs := fs.seen()[before:]
	if len(reqs) != 2 || reqs[0].Header.Get("If-None-Match") == "" {
		t.Fatalf("second fetch sent %d requests, If-None-Match %q", len(reqs), reqs[0].Header.Get("If-None-Match"))
	}
	if string(r2.Files[0].Data) != "one" || string(r2.Files[1].Data) != "mac" {
		t.Fatal("a 304 must return the applied bytes")
	}
	// A changed MAC file: not unchanged, new bytes.
	fs.set(testMAC+".toml", []byte("mac2"))
	r3, err := fetch(t, f)
	if err != nil || r3.Unchanged || string(r3.Files[1].Data) != "mac2" {
		t.Fatalf("changed: %v unchanged=%v", err, r3.Unchanged)
	}
	// The MAC file removed: the merge changes.
	fs.set(testMAC+".toml", nil)
	if r, err := fetch(t, f); err != nil || r.Unchanged {
		t.Fatalf("removed file: %v unchanged=%v", err, r.Unchanged)
	}
	// Without ETags, the same bytes are unchanged by their hash.
	fs.set(testMAC+".toml", []byte("mac"))
	fs.mu.Lock()
	fs.noETag = true
	fs.mu.Unlock()
	if r, err := fetch(t, f); err != nil || !r.Unchanged {
		t.Fatalf("same bytes without ETag: %v unchanged=%v, want unchanged", err, r.Unchanged)
	}
}

func TestBasicAuth(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	fs := newFileServer(map[string][]byte{"common.toml": []byte("ok")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "admin" || p != testPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="prov"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := testSource(srv.URL + "/prov/")
	src.User, src.Password = "admin", testPassword
	if r, err := fetch(t, newTestFetcher(t, src)); err != nil || string(r.Files[0].Data) != "ok" {
		t.Fatalf("right password over loopback http: %v", err)
	}
	src.Password = "wrong-" + testPassword
	_, err := fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), `refused the credentials of user "admin"`) {
		t.Fatalf("wrong password: %v", err)
	}
	src.User = ""
	if _, err := fetch(t, newTestFetcher(t, src)); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "provisioning.user is not set") {
		t.Fatalf("no user: %v", err)
	}
}

func TestAuthorizeDecision(t *testing.T) {
	c := credentials{user: "u", password: testPassword}
	basic := http.Header{}
	basic.Set("WWW-Authenticate", `Basic realm="x"`)
	for _, tc := range []struct {
		url, want string
		err       error
	}{
		{"http://192.0.2.1/common.toml", "", ErrAuth},
		{"https://192.0.2.1/common.toml", "Basic ", nil},
		{"http://127.0.0.1:8080/common.toml", "Basic ", nil},
		{"http://[::1]/common.toml", "Basic ", nil},
	} {
		u, _ := url.Parse(tc.url)
		got, err := c.authorize(basic, "GET", u)
		noPassword(t, err)
		if !errors.Is(err, tc.err) || !strings.HasPrefix(got, tc.want) {
			t.Errorf("Basic to %s: %q %v", tc.url, got, err)
		}
		if tc.err != nil && (err == nil || !strings.Contains(err.Error(), "over plain http: refused")) {
			t.Errorf("Basic to %s: %v, want the reason", tc.url, err)
		}
	}
	// Digest is chosen over Basic when both are offered, over plain http too.
	both := http.Header{}
	both.Add("WWW-Authenticate", `Basic realm="x"`)
	both.Add("WWW-Authenticate", `Digest realm="x", nonce="abc", qop="auth", algorithm=SHA-256`)
	u, _ := url.Parse("http://192.0.2.1/p/common.toml")
	got, err := c.authorize(both, "GET", u)
	if err != nil || !strings.HasPrefix(got, "Digest ") || !strings.Contains(got, `uri="/p/common.toml"`) || strings.Contains(got, testPassword) {
		t.Fatalf("Digest: %q %v", got, err)
	}
	other := http.Header{}
	other.Set("WWW-Authenticate", `Bearer realm="x"`)
	if _, err := c.authorize(other, "GET", u); !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "no Basic or Digest challenge") {
		t.Fatalf("Bearer: %v", err)
	}
}

func TestCredentialsOnlyToTheDirectoryHost(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	var sawAuth sync.Map
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Store("yes", true)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer elsewhere.Close()
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	defer dir.Close()
	src := testSource(dir.URL + "/prov/")
	src.User, src.Password = "admin", testPassword
	_, err := fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("redirected to another host that wants a login: %v, want ErrAuth", err)
	}
	if _, ok := sawAuth.Load("yes"); ok {
		t.Fatal("credentials sent to a host that is not the directory's")
	}
}

func TestSignatures(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	pub, priv, _ := ed25519.GenerateKey(nil)
	common, mac := []byte("schema = 1\n"), []byte("schema = 1\n#m\n")
	fs := newFileServer(map[string][]byte{
		"common.toml":         common,
		"common.toml.sig":     ed25519.Sign(priv, common), // raw
		testMAC + ".toml":     mac,
		testMAC + ".toml.sig": []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, mac)) + "\n"),
	})
	srv := httptest.NewServer(fs)
	defer srv.Close()
	src := testSource(srv.URL + "/prov")
	src.PublicKey = pub
	f := newTestFetcher(t, src)
	if _, err := fetch(t, f); err != nil {
		t.Fatalf("good signatures (raw and base64): %v", err)
	}
	fs.set(testMAC+".toml", []byte("schema = 1\n#tampered\n"))
	_, err := fetch(t, f)
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), testMAC+".toml: signature refused: the signature does not match") {
		t.Fatalf("tampered file: %v", err)
	}
	fs.set(testMAC+".toml", mac)
	fs.set("common.toml.sig", nil)
	_, err = fetch(t, f)
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "common.toml.sig is missing") {
		t.Fatalf("missing signature: %v", err)
	}
	fs.set("common.toml.sig", []byte("not a signature"))
	if _, err = fetch(t, f); !errors.Is(err, ErrSignature) {
		t.Fatalf("garbage signature: %v", err)
	}
}

func TestTLSFailuresInPlainWords(t *testing.T) {
	tier.Component(t, "HTTPS over loopback")
	dir := t.TempDir()
	ca := newTestCA(t, dir, "prov")
	other := newTestCA(t, dir, "other")
	srvCert, srvKey := ca.issue(t, dir, "server", false, "127.0.0.1")
	wrongHost, wrongHostKey := ca.issue(t, dir, "wronghost", false, "prov.example.com")
	cliCert, cliKey := ca.issue(t, dir, "client", true)
	fs := newFileServer(map[string][]byte{"common.toml": []byte("ok")})

	start := func(cert, key string, clientAuth tls.ClientAuthType) *httptest.Server {
		s := httptest.NewUnstartedServer(fs)
		s.TLS = &tls.Config{Certificates: []tls.Certificate{loadPair(t, cert, key)}, ClientAuth: clientAuth, ClientCAs: ca.pool()}
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
	good := start(srvCert, srvKey, tls.RequireAndVerifyClientCert)
	host := start(wrongHost, wrongHostKey, tls.NoClientCert)

	src := testSource(good.URL + "/prov")
	src.CA, src.ClientCert, src.ClientKey = ca.CertPEM, cliCert, cliKey
	if _, err := fetch(t, newTestFetcher(t, src)); err != nil {
		t.Fatalf("mTLS: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Source)
		want string
	}{
		{"unknown authority", func(s *Source) { s.CA = other.CertPEM }, "signed by an unknown authority"},
		{"no client cert", func(s *Source) { s.ClientCert, s.ClientKey = "", "" }, "the server refused the client certificate"},
		{"wrong host", func(s *Source) { s.URL = host.URL + "/prov" }, `not valid for host "127.0.0.1" (wrong host name)`},
	} {
		s := src
		tc.mod(&s)
		_, err := fetch(t, newTestFetcher(t, s))
		if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrTLS saying %q", tc.name, err, tc.want)
		}
	}
}

func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sim", "1.2.3")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, testMAC+".toml"), []byte("mac"), 0o600)
	f := newTestFetcher(t, testSource("file://"+dir+"/{model}/{version}/"))
	r, err := fetch(t, f)
	if err != nil || strings.Join(names(r), ",") != testMAC+".toml" {
		t.Fatalf("file://: %v %v", names(r), err)
	}
	f.Applied(r)
	if r, err := fetch(t, f); err != nil || !r.Unchanged {
		t.Fatalf("file:// unchanged by hash: %v %v", r.Unchanged, err)
	}
	os.WriteFile(filepath.Join(sub, "common.toml"), []byte(strings.Repeat("x", config.MaxSize+1)), 0o600)
	if _, err := fetch(t, f); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "common.toml") {
		t.Fatalf("big file: %v", err)
	}
	os.Remove(filepath.Join(sub, "common.toml"))
	os.Remove(filepath.Join(sub, testMAC+".toml"))
	if _, err := fetch(t, f); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no files: %v", err)
	}
}

func TestNewFetcherRefusesBadSources(t *testing.T) {
	for _, tc := range []struct {
		src  Source
		want string
	}{
		{Source{URL: "https://admin:" + testPassword + "@prov.example.com/", MAC: testMAC}, "credentials belong in provisioning.user"},
		{Source{URL: "ftp://prov.example.com/", MAC: testMAC}, "scheme must be https, http or file"},
		{Source{URL: "https://prov.example.com/{serial}/", MAC: testMAC}, "unknown macro {serial}"},
		{Source{URL: "https://prov.example.com/", MAC: "00:11:22:33:44:55"}, "want 12 lower-case hex digits"},
		{Source{URL: "https://prov.example.com/", MAC: testMAC, ClientCert: "/x.pem"}, "client_cert and client_key go together"},
		{Source{URL: "https://prov.example.com/", MAC: testMAC, CA: "/nonexistent/ca.pem"}, "ca: open /nonexistent/ca.pem"},
		{Source{URL: "https://prov.example.com/", MAC: testMAC, PublicKey: make([]byte, 5)}, "want 32"},
		{Source{URL: "https:///dir/", MAC: testMAC}, "no host"},
	} {
		_, err := NewFetcher(tc.src, clock.Real{}, nil)
		noPassword(t, err)
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.src.URL, err, tc.want)
		}
	}
}

func TestExpandURL(t *testing.T) {
	got, err := ExpandURL("https://p/{model}/{version}/x{mac}/", "001122334455", "desk 1", "1.0/b")
	if err != nil || got != "https://p/desk%201/1.0%2Fb/x001122334455/" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{"https://p/{", "https://p/}", "https://p/{MAC}/", "https://p/{}/"} {
		if _, err := ExpandURL(bad, "m", "", ""); !errors.Is(err, ErrSource) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzExpandURL(f *testing.F) {
	for _, s := range []string{"https://p/{mac}/", "{model}{version}", "{", "}", "{x}", "{{mac}}", ""} {
		f.Add(s, "001122334455")
	}
	f.Fuzz(func(t *testing.T, tmpl, mac string) {
		out, err := ExpandURL(tmpl, mac, "m", "v")
		if err == nil && strings.ContainsAny(out, "{}") && !strings.ContainsAny(mac, "{}") {
			t.Fatalf("%q expanded to %q with braces left", tmpl, out)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add([]byte(base64.StdEncoding.EncodeToString(make([]byte, 64))))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := ParseSignature(b)
		if err == nil && len(sig) != 64 {
			t.Fatalf("signature of %d bytes accepted", len(sig))
		}
	})
}

func TestParsePublicKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	if k, err := ParsePublicKey(" " + base64.StdEncoding.EncodeToString(pub) + "\n"); err != nil || !k.Equal(pub) {
		t.Fatalf("base64: %v", err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	if k, err := ParsePublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))); err != nil || !k.Equal(pub) {
		t.Fatalf("PEM: %v", err)
	}
	for _, bad := range []string{"", "abc", base64.StdEncoding.EncodeToString(make([]byte, 31)), "-----BEGIN X-----\n-----END X-----\n"} {
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrSource) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestTimeoutIsAnError(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // never answers while the fetch waits
	}))
	defer srv.Close()
	defer close(release)
	src := testSource(srv.URL + "/prov/")
	src.Timeout = 100 * time.Millisecond
	_, err := fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "common.toml: timed out: no answer within 100ms") {
		t.Fatalf("a server that never answers: %v, want a deadline error naming the file", err)
	}
}

func TestBodyTimeoutIsAnError(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("schema = 1\n"))
		w.(http.Flusher).Flush()
		<-release // the rest of the body never comes
	}))
	defer srv.Close()
	defer close(release)
	src := testSource(srv.URL + "/prov/")
	src.Timeout = 100 * time.Millisecond
	_, err := fetch(t, newTestFetcher(t, src))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "common.toml: reading the body: timed out") {
		t.Fatalf("a body that stops: %v, want a timeout naming the file", err)
	}
}

func TestUserAgentStaysOneHeader(t *testing.T) {
	tier.Component(t, "HTTP over loopback")
	fs := newFileServer(map[string][]byte{"common.toml": []byte("a")})
	srv := httptest.NewServer(fs)
	defer srv.Close()
	src := testSource(srv.URL + "/prov/")
	src.Model, src.Version = "desk\r\nX-Evil: 1", "2.0 (beta)"
	if _, err := fetch(t, newTestFetcher(t, src)); err != nil {
		t.Fatal(err)
	}
	req := fs.seen()[0]
	if ua := req.Header.Get("User-Agent"); ua != "phoned/2.0__beta_ (desk__X-Evil:_1; 001122334455)" || req.Header.Get("X-Evil") != "" {
		t.Fatalf("User-Agent %q, X-Evil %q", ua, req.Header.Get("X-Evil"))
	}
}

func TestDefaultMACHere(t *testing.T) {
	tier.Component(t, "reads /proc/net/route and this machine's interfaces")
	mac, err := DefaultMAC()
	if err != nil {
		if !errors.Is(err, ErrNoMAC) {
			t.Fatalf("%v, want ErrNoMAC when there is none", err)
		}
		t.Logf("no default route here: %v", err)
		return
	}
	if !isMAC(mac) {
		t.Fatalf("DefaultMAC %q: want 12 lower-case hex digits", mac)
	}
	t.Logf("default-route MAC %s", mac)
}

func FuzzParsePublicKey(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	f.Add(base64.StdEncoding.EncodeToString(pub))
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	f.Add("-----BEGIN PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("key of %d bytes accepted", len(k))
		}
	})
}
