package provision

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/deskphone/phoned/firmware/clock"
)

// BenchmarkFetchUnchanged measures a check that finds nothing new: two
// requests over mTLS on loopback answered 304 (a new connection and
// handshake each, as the phone does).
func BenchmarkFetchUnchanged(b *testing.B) {
	dir := b.TempDir()
	ca := newTestCA(b, dir, "prov")
	srvCert, srvKey := ca.issue(b, dir, "server", false, "127.0.0.1")
	cliCert, cliKey := ca.issue(b, dir, "client", true)
	fs := newFileServer(map[string][]byte{"common.toml": []byte("schema = 1\n"), testMAC + ".toml": []byte("schema = 1\n")})
	srv := httptest.NewUnstartedServer(fs)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{loadPair(b, srvCert, srvKey)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool()}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	defer srv.Close()
	src := Source{URL: srv.URL + "/prov/", MAC: testMAC, Model: "sim", Version: "1", CA: ca.CertPEM, ClientCert: cliCert, ClientKey: cliKey}
	f, err := NewFetcher(src, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	r, err := f.Fetch(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	f.Applied(r)
	b.ResetTimer()
	for b.Loop() {
		r, err := f.Fetch(context.Background())
		if err != nil || !r.Unchanged {
			b.Fatalf("%v unchanged=%v", err, r.Unchanged)
		}
	}
}
