package interop

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
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

// Credentials appear nowhere (issue 12, item 7): the phone registers with
// digest auth at Kamailio and calls baresip through it (its INVITE
// challenged too) with every log level on, a wrong-typed password makes a
// config error, the status is read, and a SIGQUIT dumps every goroutine;
// the marker password is in none of it, nor are its hex or base64 forms.
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
[log]
level = "debug"
`, sipPort, secretMarker, k.Addr().String(), lab.ToneWAV(t, 700, 2*time.Second), apiPort)
	})
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

	res, err := http.Get("http://" + p.APIAddr + "/api/status")
	must(t, err)
	status, _ := io.ReadAll(res.Body)
	res.Body.Close()

	// Crash output: SIGQUIT makes the Go runtime dump every goroutine.
	must(t, syscall.Kill(p.Pid(), syscall.SIGQUIT))
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Log(), "goroutine ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Kill()
	log := p.Log()
	if !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, "goroutine ") {
		t.Fatalf("want a debug log and a goroutine dump, got:\n%s", tail(log, 40))
	}

	// A config error around the password.
	bad := filepath.Join(dir, "bad.toml")
	must(t, os.WriteFile(bad, []byte(fmt.Sprintf("schema = 1\n[account]\npassword = [%q]\n", secretMarker)), 0o644))
	cfgErr, _ := exec.Command(phonedBin, "-config", bad).CombinedOutput()
	if !strings.Contains(string(cfgErr), "account.password") {
		t.Fatalf("the config error does not name account.password:\n%s", cfgErr)
	}

	for what, text := range map[string]string{"log": log, "status": string(status), "config error": string(cfgErr)} {
		for _, form := range secretForms(secretMarker) {
			if strings.Contains(text, form) {
				t.Errorf("the password (as %q) is in the %s", form, what)
			}
		}
	}
}

// secretForms are the ways a password could be printed.
func secretForms(s string) []string {
	return []string{s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), base64.StdEncoding.EncodeToString([]byte(s)), strings.Trim(fmt.Sprintf("%q", s), `"`)}
}
