package dnscache

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/dnscache/dnstest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestResolver(t *testing.T, s *dnstest.Server, clk clock.Clock) *Resolver {
	t.Helper()
	return New(Config{
		Servers:   []netip.AddrPort{s.Addr},
		HostsFile: filepath.Join(t.TempDir(), "none"),
		Clock:     clk,
		Timeout:   5 * time.Second,
		Attempts:  1,
	})
}

func pbx(name string, qtype uint16) dnstest.Answer {
	switch {
	case name == "pbx.test" && qtype == typeA:
		return dnstest.Answer{Answers: []dnstest.RR{{Name: "pbx.test", Type: typeA, TTL: 60, Addr: netip.MustParseAddr("192.0.2.10")}}}
	case name == "_sip._udp.pbx.test" && qtype == typeSRV:
		return dnstest.Answer{Answers: []dnstest.RR{
			{Name: name, Type: typeSRV, TTL: 300, Priority: 20, Weight: 0, Port: 5070, Target: "backup.pbx.test"},
			{Name: name, Type: typeSRV, TTL: 300, Priority: 10, Weight: 5, Port: 5060, Target: "main.pbx.test"},
		}}
	case name == "alias.test" && qtype == typeA:
		return dnstest.Answer{Answers: []dnstest.RR{
			{Name: "alias.test", Type: typeCNAME, TTL: 30, Target: "pbx.test"},
			{Name: "pbx.test", Type: typeA, TTL: 60, Addr: netip.MustParseAddr("192.0.2.10")},
		}}
	case name == "big.test" && qtype == typeA:
		var rrs []dnstest.RR
		for i := range 100 {
			rrs = append(rrs, dnstest.RR{Name: name, Type: typeA, TTL: 60, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})})
		}
		return dnstest.Answer{Answers: rrs, Truncate: true}
	case name == "nocache.test" && qtype == typeA:
		return dnstest.Answer{Answers: []dnstest.RR{{Name: name, Type: typeA, TTL: 0, Addr: netip.MustParseAddr("192.0.2.11")}}}
	case name == "fail.test":
		return dnstest.Answer{Rcode: 2} // SERVFAIL
	}
	// NXDOMAIN with an SOA: negative answer kept 30 s (RFC 2308 §5).
	return dnstest.Answer{Rcode: rcodeNXDomain, Authority: []dnstest.RR{{Name: "test", Type: typeSOA, TTL: 3600, Minimum: 30}}}
}

// TestCacheTTL: a second lookup within the TTL is served from the cache
// (the server counts one query); after the TTL (fake clock) it asks again.
func TestCacheTTL(t *testing.T) {
	s := dnstest.New(t, pbx)
	clk := clock.NewFake(t0)
	r := newTestResolver(t, s, clk)
	ctx := context.Background()
	for i := range 2 {
		got, err := r.LookupNetIP(ctx, "ip4", "PBX.test.")
		if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.10") {
			t.Fatalf("lookup %d: %v %v", i, got, err)
		}
	}
	if n := s.Queries(); n != 1 {
		t.Fatalf("server got %d queries within the TTL, want 1", n)
	}
	clk.Advance(59 * time.Second)
	r.LookupNetIP(ctx, "ip4", "pbx.test")
	if n := s.Queries(); n != 1 {
		t.Fatalf("server got %d queries at 59 s of a 60 s TTL, want 1", n)
	}
	clk.Advance(time.Second)
	if _, err := r.LookupNetIP(ctx, "ip4", "pbx.test"); err != nil {
		t.Fatal(err)
	}
	if n := s.Queries(); n != 2 {
		t.Fatalf("server got %d queries after the TTL, want 2", n)
	}
}

// TestNegativeCache: NXDOMAIN is kept for the SOA minimum (RFC 2308 §5).
func TestNegativeCache(t *testing.T) {
	s := dnstest.New(t, pbx)
	clk := clock.NewFake(t0)
	r := newTestResolver(t, s, clk)
	ctx := context.Background()
	for range 3 {
		if _, err := r.LookupNetIP(ctx, "ip4", "nowhere.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
	}
	if n := s.Queries(); n != 1 {
		t.Fatalf("server got %d queries for a cached NXDOMAIN, want 1", n)
	}
	clk.Advance(30 * time.Second)
	r.LookupNetIP(ctx, "ip4", "nowhere.test")
	if n := s.Queries(); n != 2 {
		t.Fatalf("server got %d queries after the negative TTL, want 2", n)
	}
}

// TestServerFailureNotCached: SERVFAIL is an error and is asked again.
func TestServerFailureNotCached(t *testing.T) {
	s := dnstest.New(t, pbx)
	r := newTestResolver(t, s, clock.NewFake(t0))
	for range 2 {
		if _, err := r.LookupNetIP(context.Background(), "ip4", "fail.test"); !errors.Is(err, ErrServer) {
			t.Fatalf("err %v, want ErrServer", err)
		}
	}
	if n := s.Queries(); n != 2 {
		t.Fatalf("server got %d queries, want 2 (failures are not cached)", n)
	}
}

func TestSRVOrderAndCNAME(t *testing.T) {
	s := dnstest.New(t, pbx)
	r := newTestResolver(t, s, clock.NewFake(t0))
	ctx := context.Background()
	_, srvs, err := r.LookupSRV(ctx, "sip", "udp", "pbx.test")
	if err != nil || len(srvs) != 2 {
		t.Fatalf("SRV: %v %v", srvs, err)
	}
	if srvs[0].Target != "main.pbx.test." || srvs[0].Port != 5060 || srvs[1].Target != "backup.pbx.test." {
		t.Fatalf("SRV order: %+v %+v", *srvs[0], *srvs[1])
	}
	got, err := r.LookupNetIP(ctx, "ip4", "alias.test")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.10") {
		t.Fatalf("CNAME: %v %v", got, err)
	}
}

// TestTruncatedRetriesOverTCP: TC over UDP, the whole answer over TCP.
func TestTruncatedRetriesOverTCP(t *testing.T) {
	s := dnstest.New(t, pbx)
	r := newTestResolver(t, s, clock.NewFake(t0))
	got, err := r.LookupNetIP(context.Background(), "ip4", "big.test")
	if err != nil || len(got) != 100 {
		t.Fatalf("got %d addresses, %v; want 100 over TCP", len(got), err)
	}
}

// TestSharedQuery: concurrent lookups of one name send one query. The
// answer has TTL 0, so only sharing (not the cache) keeps it to one.
func TestSharedQuery(t *testing.T) {
	s := dnstest.New(t, pbx)
	release := s.Hold()
	r := newTestResolver(t, s, clock.NewFake(t0))
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.LookupNetIP(context.Background(), "ip4", "nocache.test")
			errs <- err
		}()
	}
	// All ten wait on the held query before it is released.
	waitUntil(t, "ten callers joined the query", func() bool { return r.flights.joined(key{"nocache.test", typeA}) == 10 })
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Queries(); n != 1 {
		t.Fatalf("server got %d queries for 10 concurrent lookups, want 1", n)
	}
}

// TestCallerGivesUp: a caller's deadline ends its wait, not the query.
func TestCallerGivesUp(t *testing.T) {
	s := dnstest.New(t, pbx)
	release := s.Hold()
	defer release()
	r := newTestResolver(t, s, clock.NewFake(t0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.LookupNetIP(ctx, "ip4", "pbx.test"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestHostsFileFirst(t *testing.T) {
	s := dnstest.New(t, pbx)
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("# comment\n127.0.0.7 pbx.test other # trailing\n::1 pbx.test\n"), 0o644)
	r := New(Config{Servers: []netip.AddrPort{s.Addr}, HostsFile: hosts, Clock: clock.NewFake(t0)})
	got, err := r.LookupNetIP(context.Background(), "ip4", "PBX.test")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("127.0.0.7") {
		t.Fatalf("got %v %v, want 127.0.0.7 from the hosts file", got, err)
	}
	if n := s.Queries(); n != 0 {
		t.Fatalf("server asked %d times for a name in the hosts file", n)
	}
}

// TestCacheBounded: the cache never holds more than MaxEntries.
func TestCacheBounded(t *testing.T) {
	c := newCache(4)
	for i := range 20 {
		c.put(key{name: string(rune('a' + i)), qtype: typeA}, result{ttl: time.Duration(i+1) * time.Second}, t0)
	}
	if n := c.len(); n != 4 {
		t.Fatalf("cache holds %d entries, want at most 4", n)
	}
}

func TestResolvConfAndServer(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("search x\nnameserver 10.0.0.1\nnameserver ::1\nnameserver bogus\n"), 0o644)
	got := resolvConf(p)
	if len(got) != 2 || got[0] != netip.MustParseAddrPort("10.0.0.1:53") || got[1] != netip.MustParseAddrPort("[::1]:53") {
		t.Fatalf("resolv.conf: %v", got)
	}
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1:53", "127.0.0.1:5353": "127.0.0.1:5353", "[::1]:54": "[::1]:54"} {
		if ap, err := ParseServer(in); err != nil || ap.String() != want {
			t.Errorf("ParseServer(%q) = %v %v, want %s", in, ap, err, want)
		}
	}
	if _, err := ParseServer("pbx.test"); err == nil {
		t.Error("ParseServer accepted a host name")
	}
}

// waitUntil polls cond until it holds, failing after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
