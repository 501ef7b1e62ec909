package sip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// An unsolicited NOTIFY with Event: check-sync (the de-facto way PBXs such
// as Asterisk tell a desk phone to fetch its config; RFC 6665 §3.2 lets an
// implementation take such a NOTIFY outside a subscription) makes the
// phone check its provisioning. It is a remote control, so it is taken
// only from the host of the registrar the phone is registered at (any
// port: proxies send from several sockets), and only once its sender
// answers our digest challenge (RFC 3261 §22.4, as a UAS) with the
// account's credentials, as Snom's challenge_checksync does. Anything
// else gets 403 and changes nothing.

// CheckSync is an authenticated check-sync: fetch the config now; with
// Reboot, apply it with a restart once idle.
type CheckSync struct{ Reboot bool }

func (CheckSync) CallID() CallID { return "" }

// checkSyncNonceTTL bounds how long a challenge may be answered;
// maxCheckSyncNonces how many are outstanding (a flood only evicts).
const (
	checkSyncNonceTTL  = 30 * time.Second
	maxCheckSyncNonces = 16
)

// nonces are our outstanding check-sync challenges, each used once.
type nonces struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (n *nonces) issue(now time.Time) string {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]time.Time{}
	}
	for k, t := range n.m {
		if now.Sub(t) > checkSyncNonceTTL || len(n.m) >= maxCheckSyncNonces {
			delete(n.m, k)
		}
	}
	n.m[nonce] = now
	return nonce
}

// take reports whether nonce is ours and fresh, and forgets it.
func (n *nonces) take(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.m[nonce]
	delete(n.m, nonce)
	return ok && now.Sub(t) <= checkSyncNonceTTL
}

// isCheckSync reports whether req is an out-of-dialog NOTIFY for the
// check-sync event, and its reboot parameter.
func isCheckSync(req *gosip.Request) (ok, reboot bool) {
	if to := req.To(); to == nil || to.Params.Has("tag") {
		return false, false
	}
	ev := headerValues(req, "Event", "o")
	if len(ev) != 1 {
		return false, false
	}
	pkg, params := cutParams(ev[0])
	if !strings.EqualFold(pkg, "check-sync") {
		return false, false
	}
	return true, strings.EqualFold(params["reboot"], "true")
}

// checkSyncFrom reports whether src is the host of the registrar the
// phone is registered at, or of an outbound proxy given as an address.
func (u *UA) checkSyncFrom(src netip.Addr) bool {
	src = src.Unmap()
	u.mu.Lock()
	r, proxy := u.reg, u.proxy
	u.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		active := r.active
		r.mu.Unlock()
		if active.IsValid() && active.Addr().Unmap() == src {
			return true
		}
	}
	if proxy != nil {
		if a, err := netip.ParseAddr(strings.Trim(proxy.Host, "[]")); err == nil && a.Unmap() == src {
			return true
		}
	}
	return false
}

// onCheckSync answers a check-sync NOTIFY: 403 from anyone but the
// registrar's host, 401 with a fresh challenge without credentials, 200
// and a CheckSync event with the right ones, else 403.
func (u *UA) onCheckSync(req *gosip.Request, tx gosip.ServerTransaction, reboot bool) {
	host, _, _ := net.SplitHostPort(req.Source())
	src, err := netip.ParseAddr(host)
	if err != nil || !u.checkSyncFrom(src) {
		u.refuseCheckSync(req, tx, "not from the registrar's host")
		return
	}
	cred := u.cfg.Credentials
	if cred.Password == "" {
		u.refuseCheckSync(req, tx, "no account password to challenge with")
		return
	}
	realm := u.cfg.Domain
	h := req.GetHeader("Authorization")
	if h == nil {
		ch := &digest.Challenge{Realm: realm, Nonce: u.checkSync.issue(u.clk.Now()), Algorithm: "MD5", QOP: []string{"auth"}}
		u.respondStateless(req, tx, 401, "Unauthorized", gosip.NewHeader("WWW-Authenticate", ch.String()))
		return
	}
	got, err := digest.ParseCredentials(h.Value())
	if err != nil || got.Username != cred.User || got.Realm != realm || got.QOP != "auth" ||
		!u.checkSync.take(got.Nonce, u.clk.Now()) {
		u.refuseCheckSync(req, tx, "credentials not for our challenge")
		return
	}
	want, err := digest.Digest(&digest.Challenge{Realm: realm, Nonce: got.Nonce, Algorithm: got.Algorithm, QOP: []string{"auth"}},
		digest.Options{Method: string(gosip.NOTIFY), URI: got.URI, Username: cred.User, Password: cred.Password, Cnonce: got.Cnonce, Count: got.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(got.Response)) != 1 {
		u.refuseCheckSync(req, tx, "wrong credentials")
		return
	}
	u.respondStateless(req, tx, 200, "OK")
	u.log.Info("check-sync from the registrar", "reboot", reboot, "from", req.Source())
	u.events.push(CheckSync{Reboot: reboot})
}

func (u *UA) refuseCheckSync(req *gosip.Request, tx gosip.ServerTransaction, why string) {
	u.respondStateless(req, tx, 403, "Forbidden")
	if ok, n := u.checkSyncLog.allow(); ok {
		u.log.Warn("check-sync refused", "why", why, "from", req.Source(), "suppressed", n)
	}
}
