package interop

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
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
[account]
user = "1001"
password = "pw1001"
registrar = "127.0.0.1:%d"
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
// with the account's credentials, and makes the phone fetch and apply its
// files at once; the same NOTIFY from another host, or with the wrong
// password, gets 403 and changes nothing.
func TestCheckSync(t *testing.T) {
	dir := provFiles(t, "sip:five@127.0.0.1:9")
	regPort, err := lab.FreePort(1)
	must(t, err)
	reg := lab.RunSIPp(t, lab.SIPpOptions{Scenario: "registrar_checksync", LocalPort: regPort, Timeout: 20 * time.Second,
		Params: map[string]string{"user": "1001", "password": "pw1001", "delay": "1000"}})
	p, sipPort := checkSyncPhone(t, regPort, dir)
	st, err := p.Status()
	must(t, err)
	first := *st.Provisioning.LastCheck

	// A stranger (another loopback host) first: 403, no check.
	lab.RunSIPp(t, lab.SIPpOptions{Scenario: "uac_checksync", LocalIP: netip.MustParseAddr("127.0.0.2"),
		Target: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)), Params: map[string]string{"user": "1001"}}).WaitOK(t)

	// The registrar: after the file changed, its check-sync is applied.
	must(t, os.WriteFile(filepath.Join(dir, "common.toml"), []byte("schema = 1\n[directory]\n\"5\" = \"sip:six@127.0.0.1:9\"\n"), 0o644))
	reg.WaitOK(t)
	st, err = p.Until(within, "the check-sync's check", func(s phonedStatus) bool {
		return s.Provisioning != nil && s.Provisioning.LastCheck.After(first)
	})
	must(t, err)
	if st.Provisioning.LastResult != "applied" || st.Config == nil || st.Config.Source != "provisioning" || st.Config.AppliedAt == nil {
		t.Fatalf("after check-sync: %+v, config %+v", st.Provisioning, st.Config)
	}
	// The figure: from the registrar's first NOTIFY (SIPp's clock, this
	// machine's) to the new config applied in the phone.
	trace, err := reg.Trace()
	must(t, err)
	for _, m := range trace {
		if m.Sent && m.Method == "NOTIFY" {
			t.Logf("check-sync: first NOTIFY to config applied: %s", st.Config.AppliedAt.Sub(m.Time).Round(100*time.Microsecond))
			break
		}
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
