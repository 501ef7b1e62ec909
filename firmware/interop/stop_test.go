package interop

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/sip"
)

// stopBound is what a stop may take in these tests: the stop deadline
// (sip.StopTimeout, 3 s) plus 2 s for the process to start and end,
// against the 32 s (Timer F) an unanswered unregister or BYE would hold
// it without the deadline.
const stopBound = sip.StopTimeout + 2*time.Second

// silentRegistrar is a SIPp registrar that answers the phone's first
// REGISTER and never another (it went down without closing its port).
func silentRegistrar(t *testing.T) *lab.SIPp {
	return lab.RunSIPp(t, lab.SIPpOptions{Scenario: "registrar_once", Timeout: 90 * time.Second})
}

// registeredPhone starts phoned registered at reg, with number 2000 in
// its directory dialling uri. The keep-alive is off: the SIPp registrar
// scenarios do not answer its OPTIONS (sip/alive.go).
func registeredPhone(t *testing.T, reg *lab.SIPp, uri string) *ourPhone {
	p := startPhoneAccount(t, fmt.Sprintf("registrar = %q\nkeepalive = \"0s\"\n", reg.Addr().String()), lab.ToneWAV(t, 700, 2*time.Second), "",
		fmt.Sprintf("[directory]\n\"2000\" = %q\n", uri))
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	return p
}

// waitLog waits up to d for the phone's log to contain s.
func waitLog(t *testing.T, p *ourPhone, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the phone's log within %v:\n%s", s, d, tail(p.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 18 item 8: SIGTERM in a call whose far end stopped answering, at
// a registrar that stopped answering: the phone tries the BYE and the
// unregister, gives both up at the stop deadline, says so in its log, and
// exits cleanly within stopBound (phoneproc's Stop: 5 s).
func TestSIGTERMBoundedWithPeersSilent(t *testing.T) {
	reg := silentRegistrar(t)
	// 127.0.0.2 is not the account's domain (127.0.0.1): the call goes
	// straight to the far end, not through the registrar.
	far := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uas_silent_bye", LocalIP: netip.MustParseAddr("127.0.0.2"), Timeout: 90 * time.Second})
	p := registeredPhone(t, reg, fmt.Sprintf("sip:2000@%s", far.Addr()))
	must(t, p.Hook(true))
	must(t, p.Keys("2000#"))
	wait(t, p, "talking")

	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("%v (stop bound %v)", err, stopBound)
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	log := p.Log()
	for _, want := range []string{"gave up waiting for the hang-up", "gave up unregistering"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, tail(log, 30))
		}
	}
	// Both were tried: SIPp got the BYE and the unregister.
	if m := far.Messages(); !strings.Contains(m, "BYE sip:") {
		t.Errorf("the far end got no BYE:\n%s", tail(m, 30))
	}
	if m := reg.Messages(); !strings.Contains(m, "Expires: 0") {
		t.Errorf("the registrar got no unregister:\n%s", tail(m, 30))
	}
}

// Issue 18 item 8: the in-process restart a new sip.listen needs, with the
// registrar silent, does not hang on the unregister: the phone listens on
// the new address within stopBound plus start-up.
func TestRestartBoundedWithRegistrarSilent(t *testing.T) {
	reg := silentRegistrar(t)
	p := registeredPhone(t, reg, "sip:2000@127.0.0.2")
	newPort, err := phoneproc.FreePort("udp")
	must(t, err)
	p.rewrite(t, func(s string) string {
		return strings.Replace(s, fmt.Sprintf("listen = \"127.0.0.1:%d\"", p.sipPort), fmt.Sprintf("listen = \"127.0.0.1:%d\"", newPort), 1)
	})
	waitLog(t, p, "gave up unregistering", stopBound)
	waitLog(t, p, fmt.Sprintf("listen=127.0.0.1:%d", newPort), stopBound+within)
	if _, err := p.Until(within, "the API after the restart", func(phonedStatus) bool { return true }); err != nil {
		t.Fatal(err)
	}
}
