package dnscache

import (
	"net/netip"
	"testing"

	"github.com/deskphone/phoned/sip/dnscache/dnstest"
)

// FuzzParseReply: no input panics or loops; what parses interprets.
func FuzzParseReply(f *testing.F) {
	s := dnstest.NewWithoutNetwork(pbx)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"pbx.test", typeA}, {"_sip._udp.pbx.test", typeSRV}, {"alias.test", typeA}, {"nowhere.test", typeAAAA}} {
		b, _ := buildQuery(7, q.name, q.qtype)
		f.Add(s.Respond(b, false))
	}
	// A compression pointer to itself and a forward one.
	f.Add([]byte{0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1})
	f.Add([]byte{0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 20, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReply(b)
		if err != nil {
			return
		}
		for _, qt := range []uint16{typeA, typeAAAA, typeSRV} {
			res := interpret(r, r.qname, qt)
			if res.ttl < 0 || res.ttl > maxTTL {
				t.Fatalf("ttl %v out of bounds", res.ttl)
			}
			for _, a := range res.addrs {
				if !a.IsValid() {
					t.Fatalf("invalid address %v", a)
				}
			}
		}
		_ = orderSRV(interpret(r, r.qname, typeSRV).srvs)
	})
}

func TestParseReplyRejects(t *testing.T) {
	good := dnstest.NewWithoutNetwork(pbx).Respond(mustQuery(t, "pbx.test", typeA), false)
	if r, err := parseReply(good); err != nil || len(r.answers) != 1 || r.answers[0].addr != netip.MustParseAddr("192.0.2.10") {
		t.Fatalf("good reply: %+v %v", r, err)
	}
	for name, b := range map[string][]byte{
		"short":         good[:11],
		"cut in answer": good[:len(good)-2],
		"self pointer":  {0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},
		"two questions": append(append([]byte{}, good[:4]...), append([]byte{0, 2}, good[6:]...)...),
	} {
		if _, err := parseReply(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func mustQuery(t *testing.T, name string, qtype uint16) []byte {
	b, err := buildQuery(7, name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
