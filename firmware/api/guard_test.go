package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phone"
)

// req builds a request to path with the given headers ("" leaves a
// header out; Host "" means the listen address).
type req struct {
	method, path, host, origin, ctype, auth, body string
	from                                          string // RemoteAddr; "" is 127.0.0.1:40000
}

func (q req) build() *http.Request {
	method := q.method
	if method == "" {
		method = http.MethodPost
	}
	body := q.body
	if body == "" && method == http.MethodPost {
		body = `{"offhook":true}`
	}
	path := q.path
	if path == "" {
		path = "/api/v1/hook"
	}
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Host = listen.String()
	if q.host != "" {
		r.Host = q.host
	}
	if q.origin != "" {
		r.Header.Set("Origin", q.origin)
	}
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	if q.auth != "" {
		r.Header.Set("Authorization", q.auth)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	if q.from != "" {
		r.RemoteAddr = q.from
	}
	return r
}

const ctJSON = "application/json"

// Loopback without a password: Host, Origin and Content-Type are the
// defences (issue 12 item 1: the text/plain POST from a web page).
func TestGuardLoopback(t *testing.T) {
	cases := []struct {
		name string
		q    req
		code int
	}{
		{"json post", req{ctype: ctJSON}, 202},
		{"json with charset", req{ctype: "application/json; charset=utf-8"}, 202},
		{"JSON upper case", req{ctype: "Application/JSON"}, 202},
		{"alias path", req{path: "/api/hook", ctype: ctJSON}, 202},
		{"text/plain (no-cors fetch)", req{ctype: "text/plain"}, 415},
		{"text/plain with charset", req{ctype: "text/plain;charset=UTF-8"}, 415},
		{"form post", req{ctype: "application/x-www-form-urlencoded"}, 415},
		{"multipart form", req{ctype: "multipart/form-data; boundary=x"}, 415},
		{"no content type", req{}, 415},
		{"json lookalike", req{ctype: "application/jsonx"}, 415},
		{"keys text/plain", req{path: "/api/v1/keys", body: `{"keys":"1"}`, ctype: "text/plain"}, 415},
		{"GET status needs no content type", req{method: "GET", path: "/api/v1/status"}, 200},
		{"localhost", req{host: "localhost:8080", ctype: ctJSON}, 202},
		{"LOCALHOST", req{host: "LOCALHOST:8080", ctype: ctJSON}, 202},
		{"rebinding host", req{host: "evil.example:8080", ctype: ctJSON}, 421},
		{"rebinding host on status", req{method: "GET", path: "/api/v1/status", host: "evil.example:8080"}, 421},
		{"host without port", req{host: "127.0.0.1", ctype: ctJSON}, 421},
		{"other port", req{host: "127.0.0.1:8081", ctype: ctJSON}, 421},
		{"other loopback address", req{host: "127.0.0.2:8080", ctype: ctJSON}, 421},
		{"same origin", req{origin: "http://127.0.0.1:8080", ctype: ctJSON}, 202},
		{"same origin by name", req{host: "localhost:8080", origin: "http://localhost:8080", ctype: ctJSON}, 202},
		{"cross origin", req{origin: "http://127.0.0.2:9000", ctype: ctJSON}, 403},
		{"cross origin on status", req{method: "GET", path: "/api/v1/status", origin: "http://evil.example"}, 403},
		{"origin other port", req{origin: "http://127.0.0.1:8081", ctype: ctJSON}, 403},
		{"origin https", req{origin: "https://127.0.0.1:8080", ctype: ctJSON}, 403},
		{"origin null", req{origin: "null", ctype: ctJSON}, 403},
		{"origin with path", req{origin: "http://127.0.0.1:8080/x", ctype: ctJSON}, 403},
		{"origin naming another host than Host", req{host: "localhost:8080", origin: "http://127.0.0.1:8080", ctype: ctJSON}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakePhone{}
			code, body := send(t, newHandler(p), c.q.build())
			if code != c.code {
				t.Fatalf("code %d, want %d (%v)", code, c.code, body)
			}
			if code >= 400 && len(p.posted) != 0 {
				t.Fatalf("refused with %d but posted %v", code, p.posted)
			}
			if code == 202 && len(p.posted) == 0 {
				t.Fatal("accepted but nothing posted")
			}
		})
	}
}

func TestGuardV6Loopback(t *testing.T) {
	h := Handler(&fakePhone{}, slog.New(slog.DiscardHandler), Options{Listen: netip.MustParseAddrPort("[::1]:8080")})
	for host, want := range map[string]int{"[::1]:8080": 200, "localhost:8080": 200, "127.0.0.1:8080": 421, "[::2]:8080": 421} {
		code, _ := send(t, h, req{method: "GET", path: "/api/status", host: host}.build())
		if code != want {
			t.Errorf("Host %s: %d, want %d", host, code, want)
		}
	}
}

const secret = "Correct-Horse-9"

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func passwordHandler(p Phone, listenAt string, clk Clock, l *Lockout) http.Handler {
	ap := netip.MustParseAddrPort(listenAt)
	return Handler(p, slog.New(slog.DiscardHandler), Options{Listen: ap, Password: secret, HTTPS: !ap.Addr().IsLoopback(), Clock: clk, Lockout: l})
}

func TestGuardPassword(t *testing.T) {
	cases := []struct {
		name   string
		listen string
		q      req
		code   int
	}{
		{"no credentials", "127.0.0.1:8080", req{ctype: ctJSON}, 401},
		{"status needs it too", "127.0.0.1:8080", req{method: "GET", path: "/api/v1/status"}, 401},
		{"alias needs it too", "127.0.0.1:8080", req{method: "GET", path: "/api/status"}, 401},
		{"unknown path needs it too", "127.0.0.1:8080", req{method: "GET", path: "/api/v1/secret"}, 401},
		{"basic admin", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("admin", secret)}, 202},
		{"basic status", "127.0.0.1:8080", req{method: "GET", path: "/api/v1/status", auth: basic("admin", secret)}, 200},
		{"basic wrong user", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("root", secret)}, 401},
		{"basic wrong password", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("admin", "Correct-Horse-8")}, 401},
		{"basic prefix of password", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("admin", secret[:5])}, 401},
		{"basic empty password", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("admin", "")}, 401},
		{"bearer", "127.0.0.1:8080", req{ctype: ctJSON, auth: "Bearer " + secret}, 202},
		{"bearer lower case", "127.0.0.1:8080", req{ctype: ctJSON, auth: "bearer " + secret}, 202},
		{"bearer wrong", "127.0.0.1:8080", req{ctype: ctJSON, auth: "Bearer nope"}, 401},
		{"bearer empty", "127.0.0.1:8080", req{ctype: ctJSON, auth: "Bearer "}, 401},
		{"other scheme", "127.0.0.1:8080", req{ctype: ctJSON, auth: "Digest username=admin"}, 401},
		{"garbage", "127.0.0.1:8080", req{ctype: ctJSON, auth: "xyz"}, 401},
		// Defence in depth on loopback: credentials do not lift the checks.
		{"loopback: authed rebinding host", "127.0.0.1:8080", req{ctype: ctJSON, auth: "Bearer " + secret, host: "evil.example:8080"}, 421},
		{"loopback: authed text/plain", "127.0.0.1:8080", req{ctype: "text/plain", auth: "Bearer " + secret}, 415},
		{"loopback: authed cross origin", "127.0.0.1:8080", req{ctype: ctJSON, auth: basic("admin", secret), origin: "http://evil.example"}, 403},
		// Beyond loopback: a technician types the phone's address.
		{"lan: authed any host", "0.0.0.0:8443", req{ctype: ctJSON, auth: "Bearer " + secret, host: "192.0.2.7:8443"}, 202},
		{"lan: authed host name", "192.0.2.7:8443", req{method: "GET", path: "/api/v1/status", auth: basic("admin", secret), host: "phone-12.office.example"}, 200},
		{"lan: unauthed any host", "0.0.0.0:8443", req{ctype: ctJSON, host: "192.0.2.7:8443"}, 401},
		{"lan: same origin", "0.0.0.0:8443", req{ctype: ctJSON, auth: basic("admin", secret), host: "192.0.2.7:8443", origin: "https://192.0.2.7:8443"}, 202},
		{"lan: default port", "0.0.0.0:443", req{ctype: ctJSON, auth: basic("admin", secret), host: "192.0.2.7", origin: "https://192.0.2.7"}, 202},
		// A browser sends cached Basic credentials cross-site: Origin stops it.
		{"lan: cached credentials cross site", "0.0.0.0:8443", req{ctype: ctJSON, auth: basic("admin", secret), host: "192.0.2.7:8443", origin: "https://evil.example"}, 403},
		{"lan: http origin on https", "0.0.0.0:8443", req{ctype: ctJSON, auth: basic("admin", secret), host: "192.0.2.7:8443", origin: "http://192.0.2.7:8443"}, 403},
		{"lan: form post with cached credentials", "0.0.0.0:8443", req{ctype: "application/x-www-form-urlencoded", auth: basic("admin", secret), host: "192.0.2.7:8443"}, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakePhone{}
			rec := httptest.NewRecorder()
			passwordHandler(p, c.listen, nil, nil).ServeHTTP(rec, c.q.build())
			if rec.Code != c.code {
				t.Fatalf("code %d, want %d (%s)", rec.Code, c.code, rec.Body)
			}
			if rec.Code >= 400 && len(p.posted) != 0 {
				t.Fatalf("refused with %d but posted %v", rec.Code, p.posted)
			}
			if rec.Code == 401 {
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="phoned"`) {
					t.Fatalf("WWW-Authenticate = %q", got)
				}
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Fatalf("answer shows the password: %s", rec.Body)
			}
		})
	}
}

// Every password check goes through equalSecret (constant time): a
// mutation comparing with == is caught here.
func TestGuardComparesThroughConstantTimeHelper(t *testing.T) {
	var calls []string
	orig := equalSecret
	equalSecret = func(a, b string) bool { calls = append(calls, a); return orig(a, b) }
	t.Cleanup(func() { equalSecret = orig })
	h := passwordHandler(&fakePhone{}, "127.0.0.1:8080", nil, nil)
	for _, auth := range []string{basic("admin", secret), "Bearer " + secret, basic("admin", "x"), "Bearer y", basic("root", secret)} {
		h.ServeHTTP(httptest.NewRecorder(), req{ctype: ctJSON, auth: auth}.build())
	}
	want := []string{secret, secret, "x", "y", secret}
	if strings.Join(calls, ",") != strings.Join(want, ",") {
		t.Fatalf("equalSecret saw %q, want %q", calls, want)
	}
}

func TestConstantTimeEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		eq   bool
	}{
		{"a", "a", true}, {"", "", true}, {secret, secret, true},
		{"a", "b", false}, {"a", "aa", false}, {secret, secret[:len(secret)-1], false}, {"", "x", false},
	} {
		if got := constantTimeEqual(c.a, c.b); got != c.eq {
			t.Errorf("constantTimeEqual(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// After DefaultFree failures a source is locked 1 s, doubling, answered
// 429 with Retry-After, the right password included; other sources are
// not; a good login clears the count. Time is a fake clock.
func TestGuardLockout(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	lock := NewLockout()
	p := &fakePhone{}
	h := passwordHandler(p, "127.0.0.1:8080", clk, lock)
	try := func(pass, from string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req{ctype: ctJSON, auth: basic("admin", pass), from: from}.build())
		return rec
	}
	const me, other = "127.0.0.1:40000", "127.0.0.5:40000"
	for i := 1; i < DefaultFree; i++ {
		if rec := try("wrong", me); rec.Code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, rec.Code)
		}
	}
	expect := func(rec *httptest.ResponseRecorder, code int, retry string) {
		t.Helper()
		if rec.Code != code || rec.Header().Get("Retry-After") != retry {
			t.Fatalf("code %d Retry-After %q, want %d %q (%s)", rec.Code, rec.Header().Get("Retry-After"), code, retry, rec.Body)
		}
	}
	expect(try("wrong", me), 429, "1")
	expect(try(secret, me), 429, "1") // locked: the right password waits too
	expect(try(secret, other), 202, "")
	clk.t = clk.t.Add(500 * time.Millisecond)
	expect(try(secret, me), 429, "1") // 0.5 s left, rounded up
	clk.t = clk.t.Add(500 * time.Millisecond)
	expect(try("wrong", me), 429, "2") // sixth failure: 2 s
	clk.t = clk.t.Add(2 * time.Second)
	expect(try("wrong", me), 429, "4") // seventh: 4 s
	clk.t = clk.t.Add(4 * time.Second)
	expect(try(secret, me), 202, "") // good login: cleared
	expect(try("wrong", me), 401, "")
	if len(p.posted) != 2 {
		t.Fatalf("posted %v, want the 2 accepted requests", p.posted)
	}
}

func TestLockoutCapAndGrowth(t *testing.T) {
	l := &Lockout{Free: 2, Base: time.Second, Cap: 10 * time.Second, Max: 8}
	a := netip.MustParseAddr("192.0.2.1")
	now := time.Unix(0, 0)
	var got []time.Duration
	for range 8 {
		got = append(got, l.Fail(a, now))
	}
	want := []time.Duration{0, 1e9, 2e9, 4e9, 8e9, 10e9, 10e9, 10e9}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("locks %v, want %v", got, want)
		}
	}
	if d := l.Locked(a, now.Add(9*time.Second)); d != time.Second {
		t.Fatalf("Locked 9 s into a 10 s lock = %v", d)
	}
	if d := l.Locked(a, now.Add(10*time.Second)); d != 0 {
		t.Fatalf("Locked at its end = %v", d)
	}
}

// The table is bounded: a flood of sources evicts the oldest, never grows
// past Max; IPv6 sources count per /64.
func TestLockoutBounded(t *testing.T) {
	l := &Lockout{Free: 1, Base: time.Minute, Cap: time.Hour, Max: 4}
	now := time.Unix(0, 0)
	for i := range 100 {
		l.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now.Add(time.Duration(i)*time.Second))
	}
	if l.Len() != 4 {
		t.Fatalf("%d sources remembered, want 4", l.Len())
	}
	at := now.Add(100 * time.Second)
	if l.Locked(netip.AddrFrom4([4]byte{10, 0, 0, 99}), at) == 0 || l.Locked(netip.AddrFrom4([4]byte{10, 0, 0, 0}), at) != 0 {
		t.Fatal("want the newest kept and the oldest evicted")
	}
	l6 := &Lockout{Free: 1, Base: time.Minute, Cap: time.Hour, Max: 4}
	l6.Fail(netip.MustParseAddr("2001:db8:1:2::1"), now)
	if l6.Locked(netip.MustParseAddr("2001:db8:1:2:ffff::9"), now) == 0 {
		t.Fatal("another address of the same /64 is not locked")
	}
	if l6.Locked(netip.MustParseAddr("2001:db8:1:3::1"), now) != 0 {
		t.Fatal("another /64 is locked")
	}
	l6.Fail(netip.MustParseAddr("::ffff:192.0.2.9"), now)
	if l6.Locked(netip.MustParseAddr("192.0.2.9"), now) == 0 {
		t.Fatal("a v4-mapped source is not the same as its IPv4 address")
	}
}

// Without credentials nothing counts as a failure: a browser's first
// request (no Authorization yet) does not lock the technician out.
func TestLockoutIgnoresMissingCredentials(t *testing.T) {
	lock := NewLockout()
	h := passwordHandler(&fakePhone{}, "127.0.0.1:8080", nil, lock)
	for range 2 * DefaultFree {
		h.ServeHTTP(httptest.NewRecorder(), req{ctype: ctJSON}.build())
	}
	if lock.Len() != 0 {
		t.Fatalf("%d sources counted for requests without credentials", lock.Len())
	}
}

// The status shows the API's own part.
func TestStatusAPIPart(t *testing.T) {
	h := Handler(&fakePhone{}, slog.New(slog.DiscardHandler), Options{Listen: netip.MustParseAddrPort("0.0.0.0:8443"),
		Password: secret, HTTPS: true, CertSHA256: "AB:CD"})
	code, body := send(t, h, req{method: "GET", path: "/api/v1/status", auth: "Bearer " + secret, host: "10.1.2.3:8443"}.build())
	api, _ := body["api"].(map[string]any)
	if code != 200 || api["listen"] != "0.0.0.0:8443" || api["https"] != true || api["cert_sha256"] != "AB:CD" {
		t.Fatalf("%d %v", code, body)
	}
	if body["state"] != "idle" {
		t.Fatalf("the phone's status is not inline: %v", body)
	}
}

// FuzzGuard: whatever the headers, no panic, and nothing reaches the
// phone without the password, the listen Host, a same or no Origin and
// a JSON content type.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:8080", "", "application/json", "Bearer "+secret, "POST")
	f.Add("evil.example", "http://evil.example", "text/plain", "Basic YWRtaW46", "POST")
	f.Add("[::1]:8080", "null", "application/json; charset=\"", "Bearer", "GET")
	f.Add("localhost:8080", "http://localhost:8080", "application/json", basic("admin", secret), "PUT")
	f.Fuzz(func(t *testing.T, host, origin, ctype, auth, method string) {
		p := &fakePhone{}
		h := passwordHandler(p, "127.0.0.1:8080", nil, nil)
		r, err := http.NewRequest(method, "http://127.0.0.1:8080/api/v1/hook", strings.NewReader(`{"offhook":true}`))
		if err != nil {
			return
		}
		r.Host, r.RemoteAddr = host, "127.0.0.1:1"
		r.Header.Set("Origin", origin)
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if len(p.posted) == 0 {
			return
		}
		if p.posted[0] != (phone.Hook{OffHook: true}) || method != "POST" {
			t.Fatalf("posted %v for %s", p.posted, method)
		}
		okAuth := auth == "Bearer "+secret || strings.EqualFold(auth[:min(len(auth), 7)], "bearer ") || strings.HasPrefix(auth, "Basic ")
		okHost := map[string]bool{"127.0.0.1:8080": true, "localhost:8080": true}[strings.ToLower(host)]
		okOrigin := origin == "" || strings.EqualFold(strings.TrimPrefix(origin, "http://"), host)
		if !okAuth || !okHost || !okOrigin || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ctype)), "application/json") {
			t.Fatalf("let through: host %q origin %q ctype %q auth %q", host, origin, ctype, auth)
		}
	})
}

// Failed logins are logged with their source, never with what was
// presented nor the password.
func TestGuardLogsNoSecrets(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := Handler(&fakePhone{}, log, Options{Listen: listen, Password: secret})
	const guess = "Guess-Marker-3141"
	for range DefaultFree + 1 {
		h.ServeHTTP(httptest.NewRecorder(), req{ctype: ctJSON, auth: basic("admin", guess)}.build())
		h.ServeHTTP(httptest.NewRecorder(), req{ctype: ctJSON, auth: "Bearer " + guess}.build())
	}
	h.ServeHTTP(httptest.NewRecorder(), req{ctype: "text/plain", auth: "Bearer " + secret, from: "127.0.0.9:1"}.build())
	out := buf.String()
	if !strings.Contains(out, "failed login") || !strings.Contains(out, "source locked") || !strings.Contains(out, "api request refused") {
		t.Fatalf("log lacks the failures, the lock or the refusal:\n%s", out)
	}
	if strings.Contains(out, guess) || strings.Contains(out, secret) {
		t.Fatalf("log shows a secret:\n%s", out)
	}
}

// BenchmarkGuard: what the guard adds to a status request (figures only).
func BenchmarkGuard(b *testing.B) {
	for _, c := range []struct {
		name string
		o    Options
		auth string
	}{
		{"loopback-no-password", Options{Listen: listen}, ""},
		{"bearer", Options{Listen: listen, Password: secret}, "Bearer " + secret},
		{"basic", Options{Listen: listen, Password: secret}, basic("admin", secret)},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := Handler(&fakePhone{}, slog.New(slog.DiscardHandler), c.o)
			r := req{method: "GET", path: "/api/v1/status", auth: c.auth}.build()
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

func BenchmarkConstantTimeEqual(b *testing.B) {
	for b.Loop() {
		constantTimeEqual(secret, "Correct-Horse-8")
	}
}
