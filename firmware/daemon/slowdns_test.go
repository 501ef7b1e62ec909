package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/audio/device"
	"github.com/deskphone/phoned/audio/engine"
	"github.com/deskphone/phoned/audio/tone"
	"github.com/deskphone/phoned/drivers/output"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
	"github.com/deskphone/phoned/scripts/tier"
	"github.com/deskphone/phoned/sip"
	"github.com/deskphone/phoned/sip/dnscache"
	"github.com/deskphone/phoned/sip/dnscache/dnstest"
	"github.com/deskphone/phoned/sip/sdp"
)

// Issue 12 item 5: the name server holds its answer (until the test
// releases it, far longer than the 5 s of the probe); the phone,
// registering at a registrar named by host name and dialling a number of
// its domain, handles every hook change and key meanwhile. Each state
// below is reached while the answer is still held.
func TestKeysHandledDuringSlowDNS(t *testing.T) {
	tier.Component(t, "the daemon with a real SIP UA and a name server on loopback")
	dns := dnstest.New(t, func(name string, qtype uint16) dnstest.Answer {
		if qtype == dnstest.TypeA && strings.HasSuffix(name, "pbx.test") {
			return dnstest.Answer{Answers: []dnstest.RR{{Name: name, Type: dnstest.TypeA, TTL: 60, Addr: netip.MustParseAddr("127.0.0.1")}}}
		}
		return dnstest.Answer{Rcode: 3}
	})
	dns.Hold() // released at cleanup

	events := make(chan sip.Event, 64)
	ua, err := sip.New(sip.Config{
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), User: "1001", Domain: "pbx.test",
		Codecs: []sdp.Codec{sdp.PCMU}, Logger: quietLogger(),
		Resolver: dnscache.New(dnscache.Config{Servers: []netip.AddrPort{dns.Addr},
			HostsFile: filepath.Join(t.TempDir(), "none"), Timeout: time.Minute, Attempts: 1}),
	}, func(ev sip.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	if err := ua.StartRegistration(sip.RegConfig{Registrars: []string{"sip:pbx.test:5999"},
		Credentials: sip.Credentials{User: "1001", Password: "x"}}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(device.NewNull(clock.Real{}), clock.Real{}, quietLogger())
	ctx, cancel := context.WithCancel(context.Background())
	d := New(Options{
		Machine: phone.DefaultConfig(), User: "1001", Domain: "pbx.test", Directory: map[string]string{},
		MediaIP: netip.MustParseAddr("127.0.0.1"), RTPMin: 20000, RTPMax: 30000,
		Codecs: []sdp.Codec{sdp.PCMU}, DTMF: 101, Tones: tone.US, Clock: clock.Real{}, Logger: quietLogger(),
		Registering: true,
	}, Deps{Calls: ua, SIPEvents: events, Tones: eng, Media: eng, Ringer: output.Ringer{Line: &output.Memory{Name: "ringer"}}})
	engDone, loopDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(engDone); eng.Run(ctx) }()
	go func() { defer close(loopDone); d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-loopDone
		ua.Close() // ends the registrar's lookup, still held
		<-engDone
	})
	p := &testPhone{t: t, d: d, ua: ua, eng: eng}

	p.waitFor("the registrar's lookup reached the name server", func(Status) bool { return dns.Queries() > 0 })
	p.post(phone.Hook{OffHook: true})
	p.waitState("dialtone")
	p.post(keys("2000#")...) // dials sip:2000@pbx.test: a lookup the server holds
	p.waitFor("calling 2000", func(s Status) bool { return s.Call != nil && s.Call.Remote == "2000" })
	p.post(phone.Hook{OffHook: false}) // hang up during the lookup
	p.waitState("idle")
	p.post(phone.Hook{OffHook: true})
	p.waitState("dialtone")
	p.post(keys("12")...)
	p.waitFor("digits 12", func(s Status) bool { return s.Digits == "12" })
	if n := dns.Queries(); n == 0 {
		t.Fatal("no query reached the name server")
	}
}
