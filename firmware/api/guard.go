package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options are the API's security settings.
type Options struct {
	// Listen is the address as bound (with the real port when 0 was asked).
	Listen netip.AddrPort
	// Password, when not "", is required of every request.
	Password string
	// HTTPS says the API is served over TLS (the scheme of its origin).
	HTTPS bool
	// CertSHA256 is the served certificate's fingerprint, for the status.
	CertSHA256 string
	// Clock times the login lockout; nil is the wall clock.
	Clock Clock
	// Lockout rates failed logins; nil is NewLockout().
	Lockout *Lockout
	// Config takes PUT /api/v1/config; nil: not offered.
	Config ConfigPusher
	// Provisioning takes POST /api/v1/provisioning/check; nil: 501.
	Provisioning Checker
	// Logs serves GET /api/v1/log and its stream; nil: 501.
	Logs Logs
	// Diagnostics serves the SIP trace switch and the packet capture;
	// nil: 501.
	Diagnostics Diagnostics
	// Volume takes POST /api/v1/volume; nil: 501.
	Volume Volume
}

// Clock is what the guard needs of time.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (o Options) info() Info {
	return Info{Listen: o.Listen.String(), HTTPS: o.HTTPS, CertSHA256: o.CertSHA256}
}

// configPath is the pushed config's endpoint.
const configPath = "/api/v1/config"

// User is the HTTP Basic user name.
const User = "admin"

// Realm is the HTTP Basic realm (RFC 7617 §2).
const Realm = "phoned"

// isLoopback decides whether the listen address is loopback (all of
// 127.0.0.0/8 and ::1); config.IsLoopback is the same rule.
func isLoopback(a netip.Addr) bool { return a.Unmap().IsLoopback() }

// equalSecret compares a presented secret with the password. A variable
// so that a test can see that every check goes through it.
var equalSecret = constantTimeEqual

// constantTimeEqual compares SHA-256 hashes of a and b in constant time:
// neither the content nor the length of the password leaks through the
// time an answer takes.
func constantTimeEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

type guard struct {
	next     http.Handler
	log      *slog.Logger
	password string
	scheme   string
	beyond   bool                // bound beyond loopback
	hosts    map[string]struct{} // Host values naming this API, lower case with port
	listen   string
	clock    Clock
	lock     *Lockout
}

func newGuard(next http.Handler, log *slog.Logger, o Options) *guard {
	g := &guard{next: next, log: log, password: o.Password, scheme: "http", listen: o.Listen.String(),
		beyond: !isLoopback(o.Listen.Addr()), hosts: map[string]struct{}{}, clock: o.Clock, lock: o.Lockout}
	if o.HTTPS {
		g.scheme = "https"
	}
	if g.clock == nil {
		g.clock = wallClock{}
	}
	if g.lock == nil {
		g.lock = NewLockout()
	}
	port := strconv.Itoa(int(o.Listen.Port()))
	a := o.Listen.Addr()
	names := []string{o.Listen.String(), netip.AddrPortFrom(a.Unmap(), o.Listen.Port()).String()}
	if a.IsLoopback() || a.IsUnspecified() {
		names = append(names, "localhost:"+port)
	}
	if a.IsUnspecified() {
		// Reached over loopback on a wildcard bind.
		names = append(names, "127.0.0.1:"+port, "[::1]:"+port)
	}
	for _, n := range names {
		g.hosts[strings.ToLower(n)] = struct{}{}
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.password == "" && r.URL.Path == configPath {
		// A pushed config changes everything, the account included: never
		// without the password, even on loopback.
		unauthorized(w, "pushing a config needs api.password set on the phone")
		return
	}
	authed := false
	if g.password != "" {
		if !g.authenticate(w, r) {
			return
		}
		authed = true
	}
	if code, msg := g.check(r, authed); code != 0 {
		g.log.Debug("api request refused", "code", code, "method", r.Method, "path", r.URL.Path, "from", r.RemoteAddr, "why", msg)
		writeError(w, code, msg)
		return
	}
	g.next.ServeHTTP(w, r)
}

// credentials is what a request presents.
type credentials int

const (
	credNone credentials = iota // no Authorization header
	credBad                     // wrong or malformed
	credOK
)

// credentials checks the Authorization header: Basic with user "admin"
// (RFC 7617) or Bearer (RFC 6750 §2.1) with the password.
func (g *guard) credentials(r *http.Request) credentials {
	h := r.Header.Get("Authorization")
	if h == "" {
		return credNone
	}
	if user, pass, ok := r.BasicAuth(); ok {
		// Both compared whatever the user, so the answer's time does not
		// tell a wrong user from a wrong password.
		userOK := subtle.ConstantTimeCompare([]byte(user), []byte(User)) == 1
		if equalSecret(pass, g.password) && userOK {
			return credOK
		}
		return credBad
	}
	if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if equalSecret(strings.TrimSpace(token), g.password) {
			return credOK
		}
	}
	return credBad
}

// authenticate answers 401 or 429 and returns false unless the request
// carries the password and its source is not locked out.
func (g *guard) authenticate(w http.ResponseWriter, r *http.Request) bool {
	src := remoteIP(r)
	now := g.clock.Now()
	if d := g.lock.Locked(src, now); d > 0 {
		tooMany(w, d)
		return false
	}
	switch g.credentials(r) {
	case credOK:
		g.lock.Succeed(src)
		return true
	case credBad:
		d := g.lock.Fail(src, now)
		// The presented value is never logged. A lock is a warning; single
		// failures are info, so a guessing source cannot flood warnings.
		if d > 0 {
			g.log.Warn("api: failed logins, source locked", "from", src, "locked_for", d)
		} else {
			g.log.Info("api: failed login", "from", src)
		}
		if d > 0 {
			tooMany(w, d)
			return false
		}
		unauthorized(w, "wrong user or password")
	default:
		unauthorized(w, `this API needs a password: HTTP Basic with user "admin", or "Authorization: Bearer <password>"`)
	}
	return false
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	writeError(w, http.StatusUnauthorized, msg)
}

func tooMany(w http.ResponseWriter, d time.Duration) {
	s := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(s))
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins from this address: try again in %d s", s))
}

func remoteIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr()
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	a, _ := netip.ParseAddr(host)
	return a
}

// check applies the Host, Origin and Content-Type rules (see the package
// doc); code 0 lets the request through.
func (g *guard) check(r *http.Request, authed bool) (code int, msg string) {
	anyHost := authed && g.beyond
	host := g.normalHost(r.Host)
	if _, ok := g.hosts[host]; !ok && !anyHost {
		// DNS rebinding: a name the attacker controls, resolved to us.
		return http.StatusMisdirectedRequest, fmt.Sprintf("Host %q does not name this API (%s)", r.Host, g.listen)
	}
	if origins, ok := r.Header["Origin"]; ok {
		if len(origins) != 1 || !g.sameOrigin(origins[0], host) {
			return http.StatusForbidden, fmt.Sprintf("Origin %q is not this API's origin (%s://%s): cross-site requests are refused", strings.Join(origins, ", "), g.scheme, r.Host)
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Neither type can come from a cross-site form without a CORS
		// preflight, which this API never answers.
		want := "application/json"
		if r.URL.Path == configPath {
			want = "application/toml"
		}
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
			return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be %s, got %q", want, ct)
		}
	}
	return 0, ""
}

// normalHost lower-cases a Host value and adds the scheme's default port
// when it has none (browsers leave out :80 and :443).
func (g *guard) normalHost(h string) string {
	h = strings.ToLower(h)
	if _, _, err := net.SplitHostPort(h); err != nil {
		port := "80"
		if g.scheme == "https" {
			port = "443"
		}
		h = net.JoinHostPort(strings.Trim(h, "[]"), port)
	}
	return h
}

// sameOrigin reports whether origin (RFC 6454 §7) is scheme://host of
// this API, host being the request's normalised Host.
func (g *guard) sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != g.scheme || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Host == "" {
		return false // "null" (sandboxed pages, file:) too
	}
	return g.normalHost(u.Host) == host
}
