package interop

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/tier"
)

// phonedWith starts phoned in dir ("" for a new temporary one) on the
// config body writes for a free SIP (UDP) port and API (TCP) port, with
// env added to its environment; the tail of its log is printed when t
// fails. It returns the phone and its SIP port.
func phonedWith(t testing.TB, dir string, env []string, body func(sipPort, apiPort int) string) (*phoneproc.Phone, int) {
	t.Helper()
	tier.Interop(t)
	sipPort, err := phoneproc.FreePort("udp")
	must(t, err)
	apiPort, err := phoneproc.FreePort("tcp")
	must(t, err)
	if dir == "" {
		dir = t.TempDir()
	}
	p, err := phoneproc.StartEnv(phonedBin, dir, "phone", body(sipPort, apiPort), fmt.Sprintf("127.0.0.1:%d", apiPort), env)
	must(t, err)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("phoned log:\n%s", tail(p.Log(), 40))
		}
	})
	return p, sipPort
}

// configPath is the file phoneproc wrote the phone's config to.
func configPath(p *phoneproc.Phone) string {
	return filepath.Join(filepath.Dir(p.LogPath()), "phone.toml")
}
