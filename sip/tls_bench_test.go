package sip

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// The figure of issue 12 for SIP over TLS: registration time (start →
// 200 OK: TCP connect and TLS handshake, REGISTER, 401, REGISTER with
// credentials, 200) against Kamailio over TLS and over UDP, in the same
// run against the same Kamailio, a fresh UA (and connection) per
// iteration:
//
//	go test -run='^$' -bench=RegisterTLS -benchtime=20x ./sip/
//
// Reported as medians; nothing here asserts a time.
func BenchmarkRegisterTLSvsUDP(b *testing.B) {
	tier.Interop(b, "kamailio")
	ca := lab.NewTestCA(b, "bench")
	srv := ca.Issue(b, "kamailio", lab.Loopback())
	k := lab.StartKamailio(b, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"},
		TLS: &lab.KamailioTLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile}})
	run := func(b *testing.B, transport string, registrar netip.AddrPort) {
		var ds []time.Duration
		for range b.N {
			ev := make(chan Event, 16)
			ua, err := New(Config{Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: "1001", Domain: "127.0.0.1",
				Transport: transport, TLS: TLSConfig{RootCAs: ca.Pool()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(e Event) { ev <- e })
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := ua.StartRegistration(RegConfig{Registrars: []string{registrar.String()},
				Credentials: Credentials{User: "1001", Password: "pw1001"}, Expires: time.Minute}); err != nil {
				b.Fatal(err)
			}
		wait:
			for {
				select {
				case e := <-ev:
					if r, ok := e.(Registration); ok && r.State == RegRegistered {
						ds = append(ds, time.Since(start))
						break wait
					} else if ok && r.State == RegFailed {
						b.Fatalf("registration failed: %+v", r)
					}
				case <-time.After(10 * time.Second):
					b.Fatal("no registration within 10 s")
				}
			}
			ua.Close()
		}
		b.ReportMetric(float64(lab.Median(ds).Microseconds()), "µs-register-median")
	}
	b.Run("udp", func(b *testing.B) { run(b, "udp", k.Addr()) })
	b.Run("tls", func(b *testing.B) { run(b, "tls", k.TLSAddr()) })
}
