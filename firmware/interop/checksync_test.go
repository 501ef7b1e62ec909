package interop

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
)

// checkSyncPhone is phoned registered at a SIPp registrar on regPort,
// provisioned from the file:// directory dir.
func checkSyncPhone(t *testing.T, regPort int, dir string) (*phoneproc.Phone, int) {
	t.Helper()
	p, sipPort := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
accept_from = "any" # the check-sync's own refusal of strangers is tested here
[account]
user = "1001"
password = "pw1001"
registrar = "127.0.0.1:%d"
keepalive = "0s" # the SIPp registrar does not answer the keep-alive's OPTIONS
[api]
listen = "127.0.0.1:%d"
[system]
state_dir = "state"
[provisioning]
url = %q
mac = %q
boot_delay_max = "0s"
`, sipPort, regPort, apiPort, "file://"+dir+"/", provMAC)
	})
	_, err := p.Until(within, "the boot check", func(s phonedStatus) bool { return provResult(s) == "applied" })
	must(t, err)
	return p, sipPort
}

func provFiles(t *testing.T, entry string) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "common.toml"), []byte("schema = 1\n[directory]\n\"5\" = \""+entry+"\"\n"), 0o644))
	return dir
}

// check-sync (issue 13): the registrar's NOTIFY is challenged, answered
// with the account's credentials, and makes the phone check its
// provisioning at once; the same NOTIFY from another host gets 403 and
// makes no check. (The registrar, SIPp, sends its NOTIFY 2 s after the
// REGISTER; the test reads when from SIPp's trace.)
func TestCheckSync(t *testing.T) {
	dir := provFiles(t, "sip:five@127.0.0.1:9")
	regPort, err := lab.FreePort(1)
	must(t, err)
	reg := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "registrar_checksync", LocalPort: regPort, Timeout: 20 * time.Second,
		Params: map[string]string{"user": "1001", "password": "pw1001", "delay": "2000"}})
	p, sipPort := checkSyncPhone(t, regPort, dir)
	// A new file for the check the registrar's NOTIFY will cause.
	must(t, os.WriteFile(filepath.Join(dir, "common.toml"), []byte("schema = 1\n[directory]\n\"5\" = \"sip:six@127.0.0.1:9\"\n"), 0o644))

	// A stranger (another loopback host): 403 (SIPp checks it), and the
	// phone says why.
	lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_checksync", LocalIP: netip.MustParseAddr("127.0.0.2"),
		Target: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)), Params: map[string]string{"user": "1001"}}).WaitOK(t)
	// The 403 leaves before the log line is written: wait for it.
	refused := func() bool {
		for _, line := range strings.Split(p.Log(), "\n") {
			if strings.Contains(line, `msg="check-sync refused"`) && strings.Contains(line, "from=127.0.0.2:") {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(within); !refused() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !refused() {
		t.Fatalf("no refusal of the stranger's check-sync in the log:\n%s", tail(p.Log(), 20))
	}

	// The registrar's: challenged, answered, and a check follows it.
	reg.WaitOK(t)
	trace, err := reg.Trace()
	must(t, err)
	var notify time.Time
	for _, m := range trace {
		if m.Sent && m.Method == "NOTIFY" {
			notify = m.Time
			break
		}
	}
	if notify.IsZero() {
		t.Fatal("no NOTIFY in SIPp's trace")
	}
	st, err := p.Until(within, "a check after the check-sync", func(s phonedStatus) bool {
		return s.Provisioning != nil && s.Provisioning.LastCheck != nil && !s.Provisioning.LastCheck.Before(notify)
	})
	must(t, err)
	if r := st.Provisioning.LastResult; r != "applied" {
		t.Fatalf("after check-sync: %+v", st.Provisioning)
	}
	if st.Config != nil && st.Config.AppliedAt != nil && st.Config.Source == "provisioning" {
		t.Logf("check-sync: first NOTIFY to config applied: %s", st.Config.AppliedAt.Sub(notify).Round(100*time.Microsecond))
	}
}

// The registrar's NOTIFY with the wrong password gets 403, and no check.
func TestCheckSyncWrongPassword(t *testing.T) {
	dir := provFiles(t, "sip:five@127.0.0.1:9")
	regPort, err := lab.FreePort(1)
	must(t, err)
	reg := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "registrar_checksync", LocalPort: regPort, Timeout: 20 * time.Second,
		Params: map[string]string{"user": "1001", "password": "not-it", "final": "403", "delay": "1000"}})
	p, _ := checkSyncPhone(t, regPort, dir)
	st, err := p.Status()
	must(t, err)
	first := *st.Provisioning.LastCheck
	reg.WaitOK(t)
	st, err = p.Status()
	must(t, err)
	if !st.Provisioning.LastCheck.Equal(first) {
		t.Fatalf("a refused check-sync made a check: %+v", st.Provisioning)
	}
}
