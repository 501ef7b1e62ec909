package sip

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/deskphone/phoned/sip/sdp"
)

// challengeInvite answers the INVITE the raw peer reads with a 401 for
// realm and returns it.
func challengeInvite(t *testing.T, uas *rawPeer, realm string) rawMsg {
	t.Helper()
	m := uas.read("INVITE", isReq(gosip.INVITE))
	res := gosip.NewResponseFromRequest(m.msg.(*gosip.Request), 401, "Unauthorized", nil)
	res.To().Params.Add("tag", "u1")
	res.AppendHeader(gosip.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm=%q, nonce="n1"`, realm)))
	uas.send(m.from, res)
	return m
}

// A challenge from a realm that is not the account's gets no digest of
// the password (a stranger could attack it offline): the call fails with
// the reason. The account's domain is answered before any registrar
// taught another realm. Mutation: policy.allows always true makes the
// stranger's challenge answered (a second INVITE instead of Failed).
func TestChallengeRealmPolicy(t *testing.T) {
	a := newPhone(t, "1001", "Alice", func(c *Config) { c.Credentials = Credentials{User: "1001", Password: "pw"} })
	stranger := newRawPeer(t)
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", stranger.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	challengeInvite(t, stranger, "evil")
	if f := next[Failed](t, a); f.Code != 401 {
		t.Fatalf("failed %+v, want 401", f)
	}

	uas := newRawPeer(t)
	if _, err := a.Dial(fmt.Sprintf("sip:1002@%s", uas.addr()), media(4000, sdp.PCMU)); err != nil {
		t.Fatal(err)
	}
	challengeInvite(t, uas, "example.test")
	m := uas.read("authorized INVITE", func(m gosip.Message) bool {
		r, ok := m.(*gosip.Request)
		return ok && r.Method == gosip.INVITE && r.GetHeader("Authorization") != nil
	})
	uas.reply(m, 486, "Busy Here", nil)
	next[Failed](t, a)
}

// The realm of the registrar's challenge is learned; afterwards only it
// is answered. A configured realm is the only one, REGISTER included.
func TestRealmPolicyDecisions(t *testing.T) {
	p := &realmPolicy{fallback: []string{"example.test"}}
	if !p.allows("Example.Test", false) || p.allows("pbx", false) {
		t.Fatal("before registration: the domain only")
	}
	if !p.allows("pbx", true) {
		t.Fatal("the registrar's challenge refused")
	}
	if !p.allows("pbx", false) || p.allows("example.test", false) {
		t.Fatal("after registration: the registrar's realm only")
	}
	c := &realmPolicy{configured: "corp"}
	if c.allows("other", true) || !c.allows("corp", false) {
		t.Fatal("configured realm not enforced")
	}
	_, err := authorize(gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "h"}),
		withChallenge(401, `Digest realm="evil", nonce="n"`), Credentials{User: "u", Password: "pw"}, c)
	if err == nil || !strings.Contains(err.Error(), `realm "evil"`) || !strings.Contains(err.Error(), `"corp"`) {
		t.Fatalf("error %v, want it to name both realms", err)
	}
}

func withChallenge(code int, ch string) *gosip.Response {
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "h"})
	res := gosip.NewResponseFromRequest(req, code, "Unauthorized", nil)
	res.AppendHeader(gosip.NewHeader("WWW-Authenticate", ch))
	return res
}

// sip.Credentials never prints its password, whatever the verb, nested in
// a Config or not, and neither does a UA holding it. Mutation: deleting
// Format lets %x and %+v of the Config show it.
func TestCredentialsNeverPrinted(t *testing.T) {
	const pw = "S3cr3t-marker"
	c := Credentials{User: "1001", Password: pw, Realm: "r"}
	cfg := Config{User: "1001", Credentials: c}
	rc := RegConfig{Credentials: c}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg), fmt.Sprintf(verb, rc))
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "cred", c, "cfg", cfg)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "cred", c, "cfg", cfg)
	outs = append(outs, sb.String())
	j, _ := json.Marshal(cfg)
	outs = append(outs, string(j))
	for _, o := range outs {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) || strings.Contains(strings.ToLower(o), strings.ToLower(fmt.Sprintf("%X", pw))) {
			t.Fatalf("password printed: %s", o)
		}
	}
	if !strings.Contains(fmt.Sprint(c), "[redacted]") {
		t.Errorf("a set password must show as [redacted]: %v", c)
	}
}
