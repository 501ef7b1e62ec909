package sip

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrAuth is a challenge we cannot or may not answer: no password, an
// unsupported algorithm, or a second challenge after our credentials.
var ErrAuth = errors.New("sip: authentication failed")

// Credentials answer digest challenges (RFC 3261 §22). The password never
// leaves this struct except inside a digest response: no fmt verb, slog
// or JSON shows it.
type Credentials struct {
	User     string // auth user name
	Password string
	// Realm, when set, is the only realm whose challenges are answered.
	// Empty: the realm the registrar challenged with (learned at the first
	// REGISTER challenge), or before that the account's domain or the
	// outbound proxy's host. See realmPolicy.
	Realm string
}

func (c Credentials) String() string {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return fmt.Sprintf("Credentials{User: %q, Password: %q, Realm: %q}", c.User, pw, c.Realm)
}

// GoString implements fmt.GoStringer (%#v): the password redacted.
func (c Credentials) GoString() string { return "sip." + c.String() }

// Format implements fmt.Formatter so that no verb (%x, %s, %+v...) shows
// the password.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON shows the credentials without the password.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"user": c.User, "password_set": c.Password != "", "realm": c.Realm})
}

// realmPolicy decides which challenges the credentials answer (RFC 3261
// §22.2 leaves the choice to the UAC): a stranger's 401 must not get a
// digest of the account's password to attack offline. Challenges to a
// REGISTER come from the configured registrar and teach the realm; every
// other challenge must name that realm (or the configured one).
type realmPolicy struct {
	configured string
	fallback   []string // before any REGISTER challenge: domain, proxy host
	learned    atomic.Pointer[string]
}

// allows reports whether a challenge for realm may be answered; register
// is true for a REGISTER's challenge, which also teaches the realm.
func (p *realmPolicy) allows(realm string, register bool) bool {
	if p == nil {
		return true
	}
	if p.configured != "" {
		return realm == p.configured
	}
	if register {
		p.learned.Store(&realm)
		return true
	}
	if l := p.learned.Load(); l != nil {
		return realm == *l
	}
	for _, f := range p.fallback {
		if f != "" && strings.EqualFold(realm, f) {
			return true
		}
	}
	return false
}

// expected names the realms allowed, for an error message.
func (p *realmPolicy) expected() string {
	if p.configured != "" {
		return fmt.Sprintf("%q (account.realm)", p.configured)
	}
	if l := p.learned.Load(); l != nil {
		return fmt.Sprintf("%q (the registrar's)", *l)
	}
	return fmt.Sprintf("one of %q (no registrar challenge yet)", p.fallback)
}

// algoRank orders digest algorithms by strength; RFC 8760 §2.4: a UAC that
// gets several challenges uses the strongest algorithm it supports.
var algoRank = map[string]int{"": 1, "MD5": 1, "SHA-256": 3, "SHA-512-256": 2}

// authorize adds credentials for the 401 or 407 res to a copy of req, with
// a new Via branch and CSeq+1 (RFC 3261 §22.2, §8.1.3.5). nc counts uses of
// the same nonce.
// Only challenges whose realm policy allows are answered (nil: any).
func authorize(req *gosip.Request, res *gosip.Response, cred Credentials, policy *realmPolicy) (*gosip.Request, error) {
	if cred.Password == "" {
		return nil, fmt.Errorf("%w: %d challenge and no password configured", ErrAuth, res.StatusCode)
	}
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best *digest.Challenge
	var refused []string
	for _, h := range res.GetHeaders(chName) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil || !digest.CanDigest(ch) {
			continue
		}
		if !policy.allows(ch.Realm, req.Method == gosip.REGISTER) {
			refused = append(refused, ch.Realm)
			continue
		}
		if r, ok := algoRank[strings.ToUpper(ch.Algorithm)]; ok && (best == nil || r > algoRank[strings.ToUpper(best.Algorithm)]) {
			best = ch
		}
	}
	if best == nil && len(refused) > 0 {
		return nil, fmt.Errorf("%w: %d challenge for realm %q, not %s: credentials not sent", ErrAuth, res.StatusCode, refused[0], policy.expected())
	}
	if best == nil {
		return nil, fmt.Errorf("%w: %d without a usable %s (MD5 or SHA-256 digest)", ErrAuth, res.StatusCode, chName)
	}
	creds, err := digest.Digest(best, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.Addr(),
		Username: cred.User,
		Password: cred.Password,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	out := req.Clone()
	out.RemoveHeader(authName)
	out.AppendHeader(gosip.NewHeader(authName, creds.String()))
	if via := out.Via(); via != nil {
		via.Params.Add("branch", gosip.GenerateBranchN(16))
	}
	if cseq := out.CSeq(); cseq != nil {
		cseq.SeqNo++
	}
	return out, nil
}
