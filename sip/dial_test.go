package sip

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/sip/dnscache"
	"github.com/deskphone/phoned/sip/dnscache/dnstest"
)

// loopbackDNS answers every name ending in .test with 127.0.0.1, except
// nowhere.test (NXDOMAIN).
func loopbackDNS(t *testing.T) *dnstest.Server {
	return dnstest.New(t, func(name string, qtype uint16) dnstest.Answer {
		if qtype == dnstest.TypeA && strings.HasSuffix(name, ".test") && name != "nowhere.test" {
			return dnstest.Answer{Answers: []dnstest.RR{{Name: name, Type: dnstest.TypeA, TTL: 60, Addr: netip.MustParseAddr("127.0.0.1")}}}
		}
		return dnstest.Answer{Rcode: 3, Authority: []dnstest.RR{{Name: "test", Type: dnstest.TypeSOA, TTL: 60, Minimum: 60}}}
	})
}

func withDNS(t *testing.T, s *dnstest.Server) func(*Config) {
	return func(c *Config) {
		c.Resolver = dnscache.New(dnscache.Config{Servers: []netip.AddrPort{s.Addr}, HostsFile: filepath.Join(t.TempDir(), "none"), Timeout: time.Minute, Attempts: 1})
	}
}

// dialReturns runs Dial and fails if it does not return within wait: the
// caller (the phone's event loop) must not wait for DNS.
func dialReturns(t *testing.T, p *phone, target string) CallID {
	t.Helper()
	type result struct {
		id  CallID
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := p.Dial(target, media(4000, 0))
		done <- result{id, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.id
	case <-time.After(wait):
		t.Fatalf("Dial(%s) did not return while the DNS answer was held", target)
		return ""
	}
}

// Issue 12 item 5: Dial returns while the name server holds its answer;
// the INVITE leaves once the answer comes.
func TestDialReturnsDuringLookup(t *testing.T) {
	dns := loopbackDNS(t)
	release := dns.Hold()
	p := newPhone(t, "1001", "Alice", withDNS(t, dns))
	peer := newRawPeer(t)
	id := dialReturns(t, p, fmt.Sprintf("sip:2000@pbx.test:%d", peer.addr().Port))
	waitFor(t, "the lookup reached the name server", func() bool { return dns.Queries() > 0 })
	release()
	inv := peer.read("INVITE", isReq(gosip.INVITE))
	if got := inv.msg.(*gosip.Request).Recipient.Host; got != "pbx.test" {
		t.Fatalf("Request-URI host %q, want the name dialled", got)
	}
	peer.reply(inv, 486, "Busy Here", nil)
	if f := next[Failed](t, p); f.ID != id || f.Code != 486 {
		t.Fatalf("failed %+v, want 486 for %s", f, id)
	}
}

// A name that does not resolve is the call's Failed event, naming it.
func TestDialUnresolvable(t *testing.T) {
	p := newPhone(t, "1001", "Alice", withDNS(t, loopbackDNS(t)))
	id := dialReturns(t, p, "sip:2000@nowhere.test")
	f := next[Failed](t, p)
	if f.ID != id || f.Code != 503 || !strings.Contains(f.Reason, "cannot resolve nowhere.test") {
		t.Fatalf("failed %+v, want 503 naming nowhere.test", f)
	}
}

// Hanging up during the lookup ends the call at once (487), without
// waiting for the name server.
func TestHangupDuringLookup(t *testing.T) {
	dns := loopbackDNS(t)
	dns.Hold() // released at cleanup only
	p := newPhone(t, "1001", "Alice", withDNS(t, dns))
	id := dialReturns(t, p, "sip:2000@pbx.test:5999")
	waitFor(t, "the lookup reached the name server", func() bool { return dns.Queries() > 0 })
	if err := p.Hangup(id); err != nil {
		t.Fatal(err)
	}
	if f := next[Failed](t, p); f.ID != id || f.Code != 487 {
		t.Fatalf("failed %+v, want 487", f)
	}
}

// Issue 12 item 6 (RFC 3263 §4.3): calls to the account's domain follow
// registration: through the backup once registration failed over to it,
// through the primary again after fail-back, each time with a Route
// naming the registrar in use.
func TestCallsFollowRegistration(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	primary, backup := newRegistrar(t), newRegistrar(t)
	p := regPhone(t, clk, RegConfig{Registrars: []string{primary.uri(), backup.uri()}, Expires: time.Hour, RetryMin: 30 * time.Second})

	m, _ := primary.next()
	primary.answer(m, 503, "Service Unavailable", nil)
	m, _ = backup.next()
	backup.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)

	callVia := func(reg registrarPeer) {
		t.Helper()
		id := dialReturns(t, p, "sip:2000@example.test")
		inv := reg.read("INVITE", isReq(gosip.INVITE))
		req := inv.msg.(*gosip.Request)
		if r := req.GetHeader("Route"); r == nil || !strings.Contains(r.Value(), reg.addr().String()) {
			t.Fatalf("INVITE Route %v, want the registrar in use %s:\n%s", r, reg.addr(), inv.raw)
		}
		reg.rawPeer.reply(inv, 486, "Busy Here", nil)
		if f := next[Failed](t, p); f.ID != id || f.Code != 486 {
			t.Fatalf("failed %+v, want 486", f)
		}
	}
	callVia(backup)

	waitTimer(t, clk, 1)
	clk.Advance(30 * time.Second)
	m, _ = primary.next()
	primary.answer(m, 200, "OK", nil)
	m, _ = backup.next() // unregister at the backup
	backup.answer(m, 200, "OK", nil)
	nextReg(t, p, RegRegistered)
	callVia(primary)
}

// A registrar whose name does not resolve is skipped for calls like one
// that does not answer (RFC 3263 §4.3), also while not registered.
func TestCallSkipsUnresolvableRegistrar(t *testing.T) {
	dns := loopbackDNS(t)
	clk := clock.NewFake(time.Unix(1e9, 0))
	second := newRegistrar(t)
	p := newPhone(t, "1001", "Alice", withDNS(t, dns))
	if err := p.StartRegistration(RegConfig{Registrars: []string{"sip:nowhere.test", second.uri()}, Clock: clk,
		Credentials: Credentials{User: "1001", Password: "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	m, _ := second.next()
	second.answer(m, 403, "Forbidden", nil) // not registered anywhere
	nextReg(t, p, RegFailed)
	dialReturns(t, p, "sip:2000@example.test")
	inv := second.read("INVITE", isReq(gosip.INVITE))
	second.rawPeer.reply(inv, 486, "Busy Here", nil)
	next[Failed](t, p)
}

// waitFor polls cond until it holds, failing after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
