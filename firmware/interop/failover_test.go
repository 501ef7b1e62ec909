package interop

import (
	"fmt"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// Issue 12 item 6 (RFC 3263 §4.3): calls follow registration. Two
// Kamailio registrars; baresip 1002 is known to the primary only, 1003 to
// the backup only, so a call that is set up proves which registrar it
// went through. The primary goes away: registration fails over (after
// the REGISTER's 32 s timeout) and a call to 1003 goes via the backup.
// The primary comes back at its address: registration fails back and a
// call to 1002 goes via the primary again.
func TestCallsFollowRegistrationFailover(t *testing.T) {
	users := map[string]string{"1001": "pw1001", "1002": "pw1002", "1003": "pw1003"}
	// Registrations last 5 s, so the phone looks for the primary again
	// within seconds when on the backup.
	kopts := lab.KamailioOptions{Users: users, MinExpires: 1, MaxExpires: 5}
	primary := lab.StartKamailio(t, kopts)
	backup := lab.StartKamailio(t, kopts)
	// Each baresip registers just before its call: Kamailio grants 5 s
	// and baresip may refresh later than that.
	callee := func(user string, k *lab.Kamailio) *lab.Baresip {
		return lab.StartBaresip(t, lab.BaresipOptions{User: user, Password: "pw" + user, Registrar: k.Addr(), AnswerMode: lab.AnswerAuto})
	}
	p := startPhoneAccount(t, fmt.Sprintf("registrar = %q\nbackup_registrars = [%q]\nregister_expires = \"60s\"\n",
		primary.Addr().String(), backup.Addr().String()), lab.ToneWAV(t, 700, 2*time.Second), "", "")
	registeredAt := func(k *lab.Kamailio, timeout time.Duration) {
		t.Helper()
		_, err := p.Until(timeout, "registered at "+k.Addr().String(), func(s phonedStatus) bool {
			return s.Registration.State == "registered" && s.Registration.Registrar == "sip:"+k.Addr().String() ||
				s.Registration.State == "registered" && s.Registration.Registrar == k.Addr().String()
		})
		must(t, err)
	}
	// The callee's CALL_ESTABLISHED (our ACK reached it) before we hang
	// up: a BYE right behind the ACK may reach baresip first.
	call := func(number string, b *lab.Baresip) {
		t.Helper()
		must(t, p.Hook(true))
		must(t, p.Keys(number+"#"))
		wait(t, p, "talking")
		b.WaitEvent(t, "CALL_ESTABLISHED", within)
		must(t, p.Hook(false))
		wait(t, p, "idle")
	}
	registeredAt(primary, within)
	first := callee("1002", primary)
	call("1002", first)
	// It would register again at the primary's address when that comes
	// back, beside the 1002 made for the last call, and answer a fork.
	first.Stop()

	primary.Stop()
	registeredAt(backup, 60*time.Second) // a REGISTER times out after 32 s
	call("1003", callee("1003", backup))

	kopts.Port = int(primary.Addr().Port())
	again := lab.StartKamailio(t, kopts)
	registeredAt(again, 30*time.Second)
	call("1002", callee("1002", again))
}
