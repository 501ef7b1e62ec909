package sip

import (
	"errors"
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrAuth is a challenge we cannot or may not answer: no password, an
// unsupported algorithm, or a second challenge after our credentials.
var ErrAuth = errors.New("sip: authentication failed")

// Credentials answer digest challenges (RFC 3261 §22). The password never
// leaves this struct except inside a digest response.
type Credentials struct {
	User     string // auth user name
	Password string
}

func (c Credentials) String() string { return "Credentials{User: " + c.User + "}" }

// algoRank orders digest algorithms by strength; RFC 8760 §2.4: a UAC that
// gets several challenges uses the strongest algorithm it supports.
var algoRank = map[string]int{"": 1, "MD5": 1, "SHA-256": 3, "SHA-512-256": 2}

// authorize adds credentials for the 401 or 407 res to a copy of req, with
// a new Via branch and CSeq+1 (RFC 3261 §22.2, §8.1.3.5). nc counts uses of
// the same nonce.
func authorize(req *gosip.Request, res *gosip.Response, cred Credentials) (*gosip.Request, error) {
	if cred.Password == "" {
		return nil, fmt.Errorf("%w: %d challenge and no password configured", ErrAuth, res.StatusCode)
	}
	chName, authName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chName, authName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best *digest.Challenge
	for _, h := range res.GetHeaders(chName) {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil || !digest.CanDigest(ch) {
			continue
		}
		if r, ok := algoRank[strings.ToUpper(ch.Algorithm)]; ok && (best == nil || r > algoRank[strings.ToUpper(best.Algorithm)]) {
			best = ch
		}
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
