package interop

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/scripts/lab"
)

// secretMarker is the account password in TestCredentialsNowhere: a string
// that cannot appear by chance.
const secretMarker = "Mk7-never-print-this-9qZ"

// apiMarker and provMarker are the API's and the provisioning server's
// passwords in the same test.
const (
	apiMarker  = "Api7-never-print-this-2wX"
	provMarker = "Prv7-never-print-this-5tQ"
)

// Credentials appear nowhere (issue 12, item 7): the phone registers with
// digest auth at Kamailio and calls baresip through it (its INVITE
// challenged too) with every log level and the SIP trace on, a wrong-typed password makes a
// config error, the status is read, -print-config and -check run, a
// provisioning check fails (its server is not there), and a SIGQUIT dumps
// every goroutine; none of the three passwords (account, API,
// provisioning) is in any of it, nor are their hex or base64 forms.
// Mutation: a debug line in main.go with fmt.Sprintf("%x",
// cfg.Account.Password.Reveal()) makes this fail.
func TestCredentialsNowhere(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": secretMarker, "1002": "pw1002"}, ChallengeInvite: true})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	dir := t.TempDir()
	p, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[account]
user = "1001"
password = %q
registrar = %q
[audio]
device = "wav"
[audio.wav]
input = %q
output = "speaker.wav"
[api]
listen = "127.0.0.1:%d"
password = %q
[provisioning]
url = "http://127.0.0.1:9/phones/"
user = "phone"
password = %q
boot_delay_max = "0s"
[log]
level = "debug"
sip_trace = true
`, sipPort, secretMarker, k.Addr().String(), lab.ToneWAV(t, 700, 2*time.Second), apiPort, apiMarker, provMarker)
	})
	p.Password = apiMarker
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
	must(t, b.Accept())
	_, err = p.Wait("talking", within)
	must(t, err)
	must(t, p.Hook(false))
	_, err = p.Wait("idle", within)
	must(t, err)

	st, err := p.Until(within, "the failed provisioning check", func(s phonedStatus) bool {
		return s.Provisioning != nil && s.Provisioning.LastResult == "failed"
	})
	must(t, err)
	if st.Provisioning.Error == "" {
		t.Fatal("no reason for the failed check")
	}
	res, err := p.Do("GET", "/api/v1/status", "", "")
	must(t, err)
	status, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// The log as the API serves it (the in-memory ring, GET /api/v1/log).
	res, err = p.Do("GET", "/api/v1/log", "", "")
	must(t, err)
	apiLog, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(apiLog), `msg=starting`) || !strings.Contains(string(apiLog), "level=DEBUG") {
		t.Fatalf("GET /api/v1/log: %d, want the phone's debug log from its start:\n%s", res.StatusCode, tail(string(apiLog), 20))
	}
	printed, err := exec.Command(phonedBin, "-config", configPath(p), "-print-config").CombinedOutput()
	must(t, err)
	checked, _ := exec.Command(phonedBin, "-check", configPath(p)).CombinedOutput()

	// Crash output: SIGQUIT makes the Go runtime dump every goroutine.
	must(t, syscall.Kill(p.Pid(), syscall.SIGQUIT))
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Log(), "goroutine ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Kill()
	log := p.Log()
	if !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, "goroutine ") || !strings.Contains(log, `msg="sip trace" part=diag dir=sent transport=UDP`) {
		t.Fatalf("want a debug log, the SIP trace and a goroutine dump, got:\n%s", tail(log, 40))
	}

	// A config error around the password.
	bad := filepath.Join(dir, "bad.toml")
	must(t, os.WriteFile(bad, []byte(fmt.Sprintf("schema = 1\n[account]\npassword = [%q]\n", secretMarker)), 0o644))
	cfgErr, _ := exec.Command(phonedBin, "-config", bad).CombinedOutput()
	if !strings.Contains(string(cfgErr), "account.password") {
		t.Fatalf("the config error does not name account.password:\n%s", cfgErr)
	}

	outputs := map[string]string{"log": log, "api log": string(apiLog), "status": string(status), "config error": string(cfgErr),
		"-print-config": string(printed), "-check": string(checked)}
	for what, text := range outputs {
		for _, pw := range []string{secretMarker, apiMarker, provMarker} {
			for _, form := range secretForms(pw) {
				if strings.Contains(text, form) {
					t.Errorf("a password (as %q) is in the %s", form, what)
				}
			}
		}
	}
}

// secretForms are the ways a password could be printed.
func secretForms(s string) []string {
	return []string{s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), base64.StdEncoding.EncodeToString([]byte(s)), strings.Trim(fmt.Sprintf("%q", s), `"`)}
}
