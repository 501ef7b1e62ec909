package sip

import (
	"os"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// An RFC 2543 request (no z9hG4bK branch, no From tag) gets a branch
// hashed from what RFC 3261 §17.2.3 matches it by: the same for its ACK
// and CANCEL, another for another call.
func TestWithBranch(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc4475/inv2543.dat")
	if err != nil {
		t.Fatal(err)
	}
	p := gosip.NewParser()
	branchOf := func(b []byte) string {
		t.Helper()
		m, err := p.ParseSIP(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		out := withBranch(m)
		if out == nil {
			t.Fatalf("no branch added to\n%s", b)
		}
		m, err = p.ParseSIP(out)
		if err != nil {
			t.Fatalf("rewritten message does not parse: %v\n%s", err, out)
		}
		br, _ := m.(*gosip.Request).Via().Params.Get("branch")
		if _, err := gosip.ServerTxKeyMake(m); err != nil {
			t.Fatalf("no transaction key: %v", err)
		}
		return br
	}
	inv := branchOf(raw)
	if !strings.HasPrefix(inv, "z9hG4bK2543.") {
		t.Fatalf("branch %q", inv)
	}
	ack := strings.Replace(strings.Replace(string(raw), "INVITE sip:", "ACK sip:", 1), "CSeq: 56 INVITE", "CSeq: 56 ACK", 1)
	if b := branchOf([]byte(ack)); b != inv {
		t.Fatalf("ACK branch %q, INVITE's %q", b, inv)
	}
	other := strings.Replace(string(raw), "inv2543.1717", "another", 1)
	if b := branchOf([]byte(other)); b == inv {
		t.Fatal("another call got the same branch")
	}
	m, _ := p.ParseSIP([]byte(strings.Replace(string(raw), "Via: SIP/2.0/UDP iftgw.example.com", "Via: SIP/2.0/UDP iftgw.example.com;branch=z9hG4bKx", 1)))
	if withBranch(m) != nil {
		t.Fatal("an RFC 3261 request was rewritten")
	}
}
