package interop

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/sip/dnscache/dnstest"
)

// Issue 12 item 5 with the real binary: phoned resolves its registrar's
// name through sip.dns (a name server written in the test; the machine's
// resolver does not know pbx.test) and registers at Kamailio. Then the
// name server holds its answers: a call to a name not cached yet waits
// for it, and meanwhile the hook and the keys, pressed through the API,
// are all handled; every state below is reached while the answer is held.
func TestKeysHandledDuringSlowDNSWithPhoned(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001"}})
	dns := dnstest.New(t, func(name string, qtype uint16) dnstest.Answer {
		if qtype == dnstest.TypeA && strings.HasSuffix(name, "pbx.test") {
			return dnstest.Answer{Answers: []dnstest.RR{{Name: name, Type: dnstest.TypeA, TTL: 300, Addr: netip.MustParseAddr("127.0.0.1")}}}
		}
		return dnstest.Answer{Rcode: 3, Authority: []dnstest.RR{{Name: "test", Type: dnstest.TypeSOA, TTL: 60, Minimum: 60}}}
	})
	p := startPhoneUser(t, "1001", fmt.Sprintf("registrar = \"pbx.test:%d\"\n", k.Addr().Port()),
		lab.ToneWAV(t, 700, 2*time.Second), fmt.Sprintf("dns = [%q]\n", dns.Addr.String()),
		"[directory]\n\"2000\" = \"sip:2000@slow.pbx.test:5999\"\n")
	_, err := p.Until(within, "registered at pbx.test", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	release := dns.Hold()
	defer release()
	before := dns.Queries()
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	_, err = p.Until(within, "calling 2000", func(s phonedStatus) bool { return s.State == "calling" })
	must(t, err)
	_, err = p.Until(within, "the lookup of slow.pbx.test held", func(phonedStatus) bool { return dns.Queries() > before })
	must(t, err)
	must(t, p.Hook(false))
	wait(t, p, "idle")
	must(t, p.Hook(true))
	wait(t, p, "dialtone")
	must(t, p.Keys("12"))
	_, err = p.Until(within, "digits 12", func(s phonedStatus) bool { return s.Digits == "12" })
	must(t, err)
	must(t, p.Hook(false))
	wait(t, p, "idle")
}
