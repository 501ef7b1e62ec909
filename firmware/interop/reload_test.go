package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
)

// rewrite replaces the phone's config file (atomically, as an admin's
// tool would) and sends SIGHUP.
func (p *ourPhone) rewrite(t *testing.T, edit func(string) string) {
	t.Helper()
	path := filepath.Join(p.dir, "phone.toml")
	b, err := os.ReadFile(path)
	must(t, err)
	tmp := path + ".new"
	must(t, os.WriteFile(tmp, []byte(edit(string(b))), 0o644))
	must(t, os.Rename(tmp, path))
	must(t, syscall.Kill(p.Pid(), syscall.SIGHUP))
}

// Live reconfiguration of the real binary (issue 13, item 1): a hot
// change applies at once on SIGHUP; a bad file is refused and the phone
// runs on; a change that needs a restart waits for the call to end, then
// the phone restarts itself in-process on the new listen address, with
// the same process and API.
func TestReloadOnSIGHUP(t *testing.T) {
	newPort, err := phoneproc.FreePort("udp")
	must(t, err)
	b := startPhoneUser(t, "1002", "", lab.ToneWAV(t, 440, 2*time.Second), "", fmt.Sprintf("[directory]\n\"11\" = \"sip:1001@127.0.0.1:%d\"\n", newPort))
	a := startPhoneUser(t, "1001", "", lab.ToneWAV(t, 440, 2*time.Second), "", fmt.Sprintf("[directory]\n\"22\" = \"sip:1002@127.0.0.1:%d\"\n", b.sipPort))
	pid := a.Pid()

	// Hot: a directory entry and the log level.
	a.rewrite(t, func(s string) string {
		return s + fmt.Sprintf("\"23\" = \"sip:1002@127.0.0.1:%d\"\n[log]\nlevel = \"debug\"\n", b.sipPort)
	})
	st, err := a.Until(within, "config applied", func(s phonedStatus) bool { return s.Config != nil && s.Config.AppliedAt != nil })
	must(t, err)
	if !slices.Equal(st.Config.AppliedKey, []string{"directory", "log.level"}) || st.Config.Source != "SIGHUP" {
		t.Fatalf("config status %+v", st.Config)
	}
	must(t, a.Hook(true))
	must(t, a.Keys("23#")) // only the new config knows 23
	_, err = b.Wait("ringing", within)
	must(t, err)
	must(t, b.Hook(true))
	_, err = a.Wait("talking", within)
	must(t, err)

	// A bad file: refused, named by file and line, the phone runs on.
	a.rewrite(t, func(s string) string { return s + "[phone]\nmax_calls = \"four\"\n" })
	deadline := time.Now().Add(within)
	for !strings.Contains(a.Log(), "config refused") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if log := a.Log(); !strings.Contains(log, "phone.toml:") || !strings.Contains(log, "phone.max_calls") {
		t.Fatalf("no refusal naming the file and key in the log:\n%s", tail(log, 20))
	}
	if st, err := a.Status(); err != nil || st.State != "talking" {
		t.Fatalf("after a refused file: %v, state %q", err, st.State)
	}

	// A new listen address during the call: pending until idle.
	a.rewrite(t, func(s string) string {
		s = strings.Replace(s, "[phone]\nmax_calls = \"four\"\n", "", 1) // the fix of the bad file
		return strings.Replace(s, fmt.Sprintf("listen = \"127.0.0.1:%d\"", a.sipPort), fmt.Sprintf("listen = \"127.0.0.1:%d\"", newPort), 1)
	})
	st, err = a.Until(within, "config pending", func(s phonedStatus) bool { return s.Config != nil && len(s.Config.Pending) > 0 })
	must(t, err)
	if !slices.Equal(st.Config.Pending, []string{"sip.listen"}) || !st.Config.Restart || st.State != "talking" {
		t.Fatalf("during the call: state %s, config %+v", st.State, st.Config)
	}
	must(t, b.Hook(false))
	_, err = a.Wait("busy", within)
	must(t, err)
	must(t, a.Hook(false))
	st, err = a.Until(within, "restarted", func(s phonedStatus) bool {
		return s.Config != nil && slices.Equal(s.Config.AppliedKey, []string{"sip.listen"})
	})
	must(t, err)
	if a.Pid() != pid {
		t.Fatal("the process changed")
	}
	// B reaches A at its new address.
	must(t, b.Hook(true))
	must(t, b.Keys("11#"))
	_, err = a.Wait("ringing", within)
	must(t, err)
}
