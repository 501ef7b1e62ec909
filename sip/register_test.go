package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/phoned/firmware/clock"
)

// registrarPeer is a raw-socket registrar for tests.
type registrarPeer struct{ *rawPeer }

func newRegistrar(t *testing.T) registrarPeer { return registrarPeer{newRawPeer(t)} }

func (r registrarPeer) uri() string { return fmt.Sprintf("sip:%s", r.addr()) }

// next reads the next REGISTER.
func (r registrarPeer) next() (rawMsg, *gosip.Request) {
	r.t.Helper()
	m := r.read("REGISTER", isReq(gosip.REGISTER))
	return m, m.msg.(*gosip.Request)
}

// answer replies to req; mod may add headers to the response.
func (r registrarPeer) answer(m rawMsg, code int, reason string, mod func(*gosip.Response)) {
	res := gosip.NewResponseFromRequest(m.msg.(*gosip.Request), code, reason, nil)
	if mod != nil {
		mod(res)
	}
	res.SetBody(nil)
	r.send(m.from, res)
}

func regPhone(t *testing.T, clk clock.Clock, rc RegConfig) *phone {
	t.Helper()
	p := newPhone(t, "1001", "Alice")
	rc.Clock = clk
	if rc.Credentials.User == "" {
		rc.Credentials = Credentials{User: "1001", Password: "s3cret"}
	}
	if err := p.StartRegistration(rc); err != nil {
		t.Fatal(err)
	}
	return p
}

func nextReg(t *testing.T, p *phone, want RegState) Registration {
	t.Helper()
	for {
		r := next[Registration](t, p)
		if r.State == want {
			return r
		}
		if want != RegRegistering && r.State == RegRegistering {
			continue
		}
		t.Fatalf("registration %+v, want %s", r, want)
	}
}

// waitTimer waits until the registrar's loop is sleeping on the fake clock.
func waitTimer(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for clk.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no timer pending on the fake clock")
		}
		time.Sleep(time.Millisecond)
	}
}

func header(req *gosip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// RFC 3261 §10.2, §22; RFC 8760: the strongest algorithm offered is used.
func TestRegisterDigestSHA256RefreshUnregister(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := regPhone(t, clk, RegConfig{Registrars: []string{reg.uri()}, Expires: 120 * time.Second})

	m1, r1 := reg.next()
	checkSource(t, "REGISTER", m1, p.UA)
	if r1.Recipient.String() != reg.uri() || r1.To().Address.String() != "sip:1001@example.test" || r1.From().Address.String() != "sip:1001@example.test" {
		t.Fatalf("REGISTER addressing:\n%s", m1.raw)
	}
	if got, want := r1.Contact().Address.String(), fmt.Sprintf("sip:1001@%s", p.Addr()); got != want {
		t.Fatalf("Contact %s, want %s", got, want)
	}
	if header(r1, "Expires") != "120" || r1.GetHeader("Authorization") != nil {
		t.Fatalf("first REGISTER:\n%s", m1.raw)
	}
	reg.answer(m1, 401, "Unauthorized", func(res *gosip.Response) {
		res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="example.test", nonce="n1", qop="auth", algorithm=MD5`))
		res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="example.test", nonce="n1", qop="auth", algorithm=SHA-256`))
	})
	m2, r2 := reg.next()
	cred, err := digest.ParseCredentials(header(r2, "Authorization"))
	if err != nil {
		t.Fatalf("Authorization: %v\n%s", err, m2.raw)
	}
	if cred.Algorithm != "SHA-256" || cred.Username != "1001" || cred.Realm != "example.test" || cred.URI != reg.uri() {
		t.Fatalf("credentials %+v", cred)
	}
	want, _ := digest.Digest(&digest.Challenge{Realm: "example.test", Nonce: "n1", QOP: []string{"auth"}, Algorithm: "SHA-256"},
		digest.Options{Method: "REGISTER", URI: cred.URI, Username: "1001", Password: "s3cret", Cnonce: cred.Cnonce, Count: cred.Nc})
	if cred.Response != want.Response {
		t.Fatalf("digest response %s, want %s", cred.Response, want.Response)
	}
	if r2.CallID().Value() != r1.CallID().Value() || r2.CSeq().SeqNo != r1.CSeq().SeqNo+1 {
		t.Fatalf("retry must keep Call-ID and raise CSeq: %v/%d then %v/%d", r1.CallID(), r1.CSeq().SeqNo, r2.CallID(), r2.CSeq().SeqNo)
	}
	if b1, _ := r1.Via().Params.Get("branch"); b1 == header(r2, "Via") {
		t.Fatal("retry reused the branch")
	}
	if strings.Contains(m2.raw, "s3cret") {
		t.Fatal("password on the wire")
	}
	reg.answer(m2, 200, "OK", func(res *gosip.Response) {
		res.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<sip:1001@%s>;expires=60", p.Addr())))
	})
	if r := nextReg(t, p, RegRegistered); r.Expires != 60*time.Second || r.Registrar != reg.uri() {
		t.Fatalf("registered %+v", r)
	}

	// Refresh before the granted 60 s run out.
	waitTimer(t, clk, 1)
	clk.Advance(53 * time.Second)
	select {
	case m := <-readAsync(reg):
		t.Fatalf("refreshed too early:\n%s", m.raw)
	case <-time.After(50 * time.Millisecond):
	}
	clk.Advance(2 * time.Second)
	m3, r3 := reg.next()
	if r3.CallID().Value() != r1.CallID().Value() || r3.CSeq().SeqNo <= r2.CSeq().SeqNo {
		t.Fatalf("refresh must keep Call-ID and raise CSeq:\n%s", m3.raw)
	}
	reg.answer(m3, 200, "OK", func(res *gosip.Response) { res.AppendHeader(gosip.NewHeader("Expires", "60")) })
	nextReg(t, p, RegRegistered)

	// Close unregisters our binding (Expires: 0).
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	m4, r4 := reg.next()
	if header(r4, "Expires") != "0" || r4.Contact() == nil || r4.Contact().Address.Port != int(p.Addr().Port()) {
		t.Fatalf("unregister:\n%s", m4.raw)
	}
	reg.answer(m4, 200, "OK", nil)
	<-done
	nextReg(t, p, RegUnregistered)
}

func readAsync(r registrarPeer) <-chan rawMsg {
	ch := make(chan rawMsg, 1)
	go func() {
		buf := make([]byte, 65535)
		r.conn.SetReadDeadline(time.Now().Add(40 * time.Millisecond))
		n, from, err := r.conn.ReadFromUDP(buf)
		r.conn.SetReadDeadline(time.Time{})
		if err == nil {
			ch <- rawMsg{raw: string(buf[:n]), from: from}
		}
	}()
	return ch
}

// RFC 3263 §4.3: a registrar that answers 503 is failed over; the phone
// returns to the primary as soon as it answers again.
func TestRegisterFailoverAndFailback(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	primary, backup := newRegistrar(t), newRegistrar(t)
	p := regPhone(t, clk, RegConfig{Registrars: []string{primary.uri(), backup.uri()}, Expires: time.Hour, RetryMin: 30 * time.Second})

	m, _ := primary.next()
	primary.answer(m, 503, "Service Unavailable", nil)
	m, _ = backup.next()
	backup.answer(m, 200, "OK", nil)
	if r := nextReg(t, p, RegRegistered); r.Registrar != backup.uri() {
		t.Fatalf("registered at %s, want the backup", r.Registrar)
	}
	// On the backup the phone tries the primary again after RetryMin.
	waitTimer(t, clk, 1)
	clk.Advance(30 * time.Second)
	m, _ = primary.next()
	primary.answer(m, 200, "OK", nil)
	// Fail-back drops the backup binding.
	m, r := backup.next()
	if header(r, "Expires") != "0" {
		t.Fatalf("want an unregister at the backup:\n%s", m.raw)
	}
	backup.answer(m, 200, "OK", nil)
	if r := nextReg(t, p, RegRegistered); r.Registrar != primary.uri() {
		t.Fatalf("registered at %s, want the primary", r.Registrar)
	}
}

// A refusal backs off: RetryMin doubling, each wait between half and all.
func TestRegisterBackoff(t *testing.T) {
	clk := clock.NewFake(time.Unix(1e9, 0))
	reg := newRegistrar(t)
	p := regPhone(t, clk, RegConfig{Registrars: []string{reg.uri()}, RetryMin: 30 * time.Second, RetryMax: 100 * time.Second})
	bounds := [][2]time.Duration{{15 * time.Second, 30 * time.Second}, {30 * time.Second, 60 * time.Second}, {50 * time.Second, 100 * time.Second}, {50 * time.Second, 100 * time.Second}}
	for i, b := range bounds {
		m, _ := reg.next()
		reg.answer(m, 403, "Forbidden", nil)
		f := nextReg(t, p, RegFailed)
		if f.Code != 403 || f.Reason != "Forbidden" || f.RetryIn < b[0] || f.RetryIn > b[1] {
			t.Fatalf("failure %d: %+v, want 403 with retry in [%v, %v]", i+1, f, b[0], b[1])
		}
		waitTimer(t, clk, 1)
		clk.Advance(f.RetryIn)
	}
}

// Credentials refused twice (no stale nonce) is a failure, not a loop.
func TestRegisterAuthRefused(t *testing.T) {
	reg := newRegistrar(t)
	p := regPhone(t, clock.NewFake(time.Unix(1e9, 0)), RegConfig{Registrars: []string{reg.uri()}})
	chal := func(res *gosip.Response) {
		res.AppendHeader(gosip.NewHeader("WWW-Authenticate", `Digest realm="r", nonce="n", algorithm=MD5`))
	}
	for i := 0; i < 2; i++ {
		m, _ := reg.next()
		reg.answer(m, 401, "Unauthorized", chal)
	}
	if f := nextReg(t, p, RegFailed); f.Code != 401 {
		t.Fatalf("failure %+v, want 401", f)
	}
}

// RFC 3261 §10.2.8: 423 Interval Too Brief raises Expires to Min-Expires.
func TestRegisterIntervalTooBrief(t *testing.T) {
	reg := newRegistrar(t)
	p := regPhone(t, clock.NewFake(time.Unix(1e9, 0)), RegConfig{Registrars: []string{reg.uri()}, Expires: 60 * time.Second})
	m, _ := reg.next()
	reg.answer(m, 423, "Interval Too Brief", func(res *gosip.Response) { res.AppendHeader(gosip.NewHeader("Min-Expires", "600")) })
	m, r := reg.next()
	if header(r, "Expires") != "600" {
		t.Fatalf("after 423:\n%s", m.raw)
	}
	reg.answer(m, 200, "OK", nil)
	if r := nextReg(t, p, RegRegistered); r.Expires != 600*time.Second {
		t.Fatalf("registered %+v", r)
	}
}

// RFC 3581: the registrar sees us at another address (NAT): the phone
// registers that address and uses it as Contact on calls.
func TestRegisterBehindNAT(t *testing.T) {
	reg := newRegistrar(t)
	p := regPhone(t, clock.NewFake(time.Unix(1e9, 0)), RegConfig{Registrars: []string{reg.uri()}})
	nat := func(res *gosip.Response) {
		res.Via().Params.Add("received", "127.0.0.2")
		res.Via().Params.Add("rport", "40000")
	}
	m, _ := reg.next()
	reg.answer(m, 200, "OK", nat)
	m, r := reg.next()
	if got := r.Contact().Address.String(); got != "sip:1001@127.0.0.2:40000" {
		t.Fatalf("re-REGISTER Contact %s:\n%s", got, m.raw)
	}
	reg.answer(m, 200, "OK", nat)
	nextReg(t, p, RegRegistered)

	peer := newRawPeer(t)
	if _, err := p.Dial(fmt.Sprintf("sip:2000@%s", peer.addr()), media(4000, 0)); err != nil {
		t.Fatal(err)
	}
	inv := peer.read("INVITE", isReq(gosip.INVITE))
	if got := inv.msg.(*gosip.Request).Contact().Address.String(); got != "sip:1001@127.0.0.2:40000" {
		t.Fatalf("INVITE Contact %s, want the public address", got)
	}
	peer.reply(inv, 486, "Busy Here", nil)
}

type fakeDNS struct {
	srv map[string][]*net.SRV
	ip  map[string][]netip.Addr
}

func (f fakeDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if s, ok := f.srv["_"+service+"._"+proto+"."+name]; ok {
		return "", s, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f.ip[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// RFC 3263 §4.2: SRV when no port is given, in record order; A/AAAA for
// an explicit port or when there are no SRV records.
func TestResolveTargets(t *testing.T) {
	dns := fakeDNS{
		srv: map[string][]*net.SRV{"_sip._udp.pbx.test": {
			{Target: "a.pbx.test", Port: 5070, Priority: 10}, {Target: "b.pbx.test", Port: 5080, Priority: 20}, {Target: ".", Port: 0, Priority: 30},
		}},
		ip: map[string][]netip.Addr{
			"a.pbx.test": {netip.MustParseAddr("127.0.0.10"), netip.MustParseAddr("::1")},
			"b.pbx.test": {netip.MustParseAddr("127.0.0.11")},
			"pbx.test":   {netip.MustParseAddr("127.0.0.12")},
			"plain.test": {netip.MustParseAddr("127.0.0.13")},
		},
	}
	cases := []struct {
		host string
		port int
		want string
	}{
		{"pbx.test", 0, "[127.0.0.10:5070 127.0.0.11:5080]"},
		{"pbx.test", 5090, "[127.0.0.12:5090]"},
		{"plain.test", 0, "[127.0.0.13:5060]"},
		{"127.0.0.1", 0, "[127.0.0.1:5060]"},
		{"::1", 5062, "[[::1]:5062]"},
	}
	for _, c := range cases {
		got, err := resolveTargets(context.Background(), dns, "udp", c.host, c.port, !strings.Contains(c.host, ":"))
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("resolve %s:%d = %v %v, want %s", c.host, c.port, got, err, c.want)
		}
	}
	if _, err := resolveTargets(context.Background(), dns, "udp", "none.test", 0, true); err == nil {
		t.Error("an unknown name resolved")
	}
}
