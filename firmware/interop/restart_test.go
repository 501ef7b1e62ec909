package interop

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

// registeredLines counts the phone's "registered" log lines: one per
// successful REGISTER.
func registeredLines(p *ourPhone) int { return strings.Count(p.Log(), "msg=registered ") }

// reregistered waits until the phone logs a registration beyond the n it
// had, and returns how long that took from since.
func reregistered(t *testing.T, p *ourPhone, n int, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for registeredLines(p) <= n {
		if time.Since(since) > limit {
			t.Fatalf("not registered again within %v of the registrar's return:\n%s", limit, tail(p.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// baresipBack waits until baresip's refresh (regint 3 s) reached the
// restarted Kamailio: it is registered again too.
func baresipBack(t *testing.T, b *lab.Baresip, k *lab.Kamailio) {
	t.Helper()
	if !k.WaitLog("lab: REGISTER", 2*within) || !k.WaitLog("from "+b.Addr().String(), 2*within) {
		t.Fatalf("baresip did not register again:\n%s", tail(k.Log(), 20))
	}
}

// callsPhone checks that baresip reaches the phone through the registrar:
// the registrar has its binding again.
func callsPhone(t *testing.T, p *ourPhone, b *lab.Baresip, k *lab.Kamailio) {
	t.Helper()
	must(t, b.Dial("sip:1001@"+k.Domain()))
	wait(t, p, "ringing")
	b.WaitEvent(t, "CALL_RINGING", within)
	must(t, b.Hangup())
	wait(t, p, "idle")
}

// Issue 18 item 4: Kamailio (no database: a restart loses every binding)
// restarts while phoned is registered. Slow restart (down across a
// keep-alive): the status leaves "registered" while it is down
// ("unconfirmed" over UDP and TCP; over TLS the closed flow re-registers
// at once, which fails: "failed"), and the phone registers again within
// 10 s of its return. Quick restart (between two keep-alives, default
// account.keepalive 8 s): the next keep-alive's 404 re-registers (over
// TLS the closed flow does). Each time baresip, registered again too,
// then calls the phone through the registrar. Figures: registrar back ->
// phone registered again, in seconds (logged).
func TestRegistrarRestart(t *testing.T) {
	tier.Interop(t, "kamailio", "baresip")
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) { registrarRestart(t, transport) })
	}
}

func registrarRestart(t *testing.T, transport string) {
	limit := 10 * time.Second // the requirement
	if os.Getenv(tier.EmulatedEnv) != "" {
		limit = 20 * time.Second // qemu-user: everything ~5x slower
	}
	kopts := lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}, TCP: transport == "tcp"}
	var ca *lab.TestCA
	if transport == "tls" {
		ca = lab.NewTestCA(t, "lab")
		srv := ca.Issue(t, "kamailio", lab.Loopback())
		kopts.TLS = &lab.KamailioTLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	}
	k := lab.StartKamailio(t, kopts)
	// baresip refreshes every few seconds, so it is registered again soon
	// after each restart too.
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(), RegisterInterval: 3})
	mic := lab.ToneWAV(t, 700, 2*time.Second)
	var p *ourPhone
	switch transport {
	case "tls":
		p = tlsPhone(t, k, ca, mic)
	case "tcp":
		p = startPhoneMic(t, k, mic, `transport = "tcp"`, "")
	default:
		p = startPhoneMic(t, k, mic, "", "")
	}
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	callsPhone(t, p, b, k)

	// Slow restart: down until the phone notices.
	k.Stop()
	down := time.Now()
	st, err := p.Until(30*time.Second, "registration not confirmed", func(s phonedStatus) bool {
		return s.Registration.State == "unconfirmed" || transport == "tls" && s.Registration.State == "failed"
	})
	must(t, err)
	if !strings.Contains(st.Display, st.Registration.State) {
		t.Errorf("display %q does not show the registration %q", st.Display, st.Registration.State)
	}
	t.Logf("registrar down: status %s after %v (reason %q)", st.Registration.State, time.Since(down).Round(time.Millisecond), st.Registration.Reason)
	n := registeredLines(p)
	k.Start(t)
	back := time.Now()
	d := reregistered(t, p, n, back, limit)
	t.Logf("figure: %s: slow registrar restart -> phone registered again %.2f s after its return", transport, d.Seconds())
	_, err = p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)
	baresipBack(t, b, k)
	callsPhone(t, p, b, k)

	// Quick restart: back before the next keep-alive.
	n = registeredLines(p)
	k.Restart(t)
	back = time.Now()
	d = reregistered(t, p, n, back, limit)
	t.Logf("figure: %s: quick registrar restart -> phone registered again %.2f s after its return (account.keepalive 8 s)", transport, d.Seconds())
	baresipBack(t, b, k)
	callsPhone(t, p, b, k)
}
